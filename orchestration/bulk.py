"""Helpers for bulk runs (a distribution run over a big registry): many Python objects at once,
many rows to write."""

from __future__ import annotations

import gc
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

from database import ASFSError, Database

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause CPython's cyclic garbage collector for the duration of a bulk run.

    A run that keeps tens of thousands of new containers alive (a distribution run's records,
    reasons and audit rows) makes the collector walk the growing heap again and again: a third of
    the run's time in issue 10's benchmark, for objects that form no reference cycles. Reference
    counting still frees everything as usual; only cycle detection waits for the run to end.

    Nested and concurrent uses are counted: the collector comes back when the last one ends, and
    only if it was on before the first began.
    """
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()




@contextmanager
def bulk_writes(db: Database, *, checkpoint: bool = True, wal_pages: int = 0) -> Iterator[None]:
    """``Database.bulk_writes`` of a registry and its audit database together; at the end both
    WALs are copied back (``checkpoint_both``) unless ``checkpoint=False``."""
    try:
        with (db.bulk_writes(checkpoint=False, wal_pages=wal_pages),
              db.audit.db.bulk_writes(checkpoint=False, wal_pages=wal_pages)):
            yield
    finally:
        if checkpoint:
            checkpoint_both(db)


def checkpoint_both(db: Database) -> None:
    """Checkpoint a registry and its audit database at once, on two threads (a checkpoint does
    not hold the GIL)."""
    other = threading.Thread(target=db.audit.db.checkpoint, name="audit-checkpoint")
    other.start()
    try:
        db.checkpoint()
    finally:
        other.join()


# -- a writer process ------------------------------------------------------------------------------

_reapers: list[threading.Thread] = []  # one per writer process that may still be checkpointing
_reapers_lock = threading.Lock()


class WriterProcessError(ASFSError):
    """The writer process of a bulk run stopped before finishing its batches."""


class WriterProcess:
    """A child Python process that writes a bulk run's batches while the run builds the next ones.

    A distribution run over a big registry spends about as long writing its rows (SQLite B-tree
    inserts) as building them (Python). In one process the two cannot overlap: a writer thread
    needs the GIL back after every row's insert and, next to a busy thread, waits up to the
    interpreter's switch interval each time (measured: minutes for 70,000 rows). A child process
    has its own interpreter, so the writes run on another core.

    ``target`` is ``"module:function"``; the child calls ``function(db, *args)`` for each
    :meth:`send` (``db`` is its own :class:`Database` on the same registry, inside
    ``bulk_writes()`` of the registry and its audit database) and :meth:`finish` returns the
    calls' results in order. With ``then`` (``"module:function"`` too), ``target`` returns
    ``(result, then_args)`` and ``then(db, *then_args)`` runs on a second thread of the child, in
    order, while the first goes on with the next batch (a batch's audit events, written after its
    rows): once the run has finished building, the two use both cores.

    Each call runs its own transactions, so a batch is written whole or not at all, as it would
    be in the run's process. A failure in the child is raised by :meth:`send` or :meth:`finish`
    with the child's traceback attached; the batches before it stay written. Leaving the ``with``
    block early (the run failed) lets the child write what it was sent and waits for that.

    A batch travels as a pickle file in a private temporary folder (the pipe carries only its
    name): the run never waits for the child to read, and the child reads a batch in one call.
    """

    def __init__(self, db: Database, target: str, then: str = ""):
        self._dir = Path(tempfile.mkdtemp(prefix="asfs-writer-"))  # mode 0700
        self._sent = 0
        self._done = False
        root = str(Path(__file__).resolve().parent.parent)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-c", "from orchestration.bulk import _writer_main; _writer_main()",
                 str(db.path), target, then],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, close_fds=True)
        except BaseException:
            shutil.rmtree(self._dir, ignore_errors=True)
            raise

    def send(self, *args: Any) -> None:
        """Hand the child one batch (the arguments are pickled)."""
        self._sent += 1
        path = self._dir / f"{self._sent:08d}.pickle"
        with open(path, "wb") as f:
            pickle.dump(args, f, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            self._proc.stdin.write(os.fsencode(path) + b"\n")
            self._proc.stdin.flush()
        except OSError:  # the child stopped: it says why
            self._done = True
            self._raise(self._collect())

    def finish(self) -> list[Any]:
        """Wait for the child to write everything it was sent; the results of its calls."""
        self._done = True
        status, payload = self._collect()
        if status != "ok":
            self._raise((status, payload))
        return payload

    def __enter__(self) -> "WriterProcess":
        return self

    def __exit__(self, *exc) -> None:
        if not self._done:  # the run failed: the child writes what it has, then stops
            self._done = True
            self._collect()

    def _collect(self) -> tuple[str, Any]:
        """The child's report: it sends it once everything is written and committed, then copies
        the WALs back into the database files (checkpoints) before it exits. The run does not
        wait for that housekeeping (readers and writers are not blocked by it); a thread reaps the
        child, and :func:`wait_for_writers` waits for it."""
        try:
            try:
                self._proc.stdin.close()
            except OSError:
                pass
            try:
                out = self._proc.stdout.read()
            finally:
                self._proc.stdout.close()
        finally:
            shutil.rmtree(self._dir, ignore_errors=True)
        reaper = threading.Thread(target=self._proc.wait, name="writer-reaper", daemon=True)
        reaper.start()
        with _reapers_lock:
            _reapers[:] = [t for t in _reapers if t.is_alive()] + [reaper]
        try:
            return pickle.loads(out)
        except Exception:
            reaper.join()
            return "error", (None, f"the writer process ended with exit code {self._proc.returncode} "
                                   "and no report")

    @staticmethod
    def _raise(report: tuple[str, Any]) -> None:
        exc, text = report[1]
        if isinstance(exc, BaseException):
            exc.add_note(f"(in the writer process)\n{text}")
            raise exc
        raise WriterProcessError(f"The writer process failed: {text}")


def _writer_main() -> None:
    """The child's side of :class:`WriterProcess`."""
    import importlib
    import queue
    import traceback

    gc.disable()  # a short life making many objects in no cycles (see gc_paused)
    registry, target, then_target = sys.argv[1:4]
    stdin = sys.stdin.buffer
    # The report travels on a file of its own: the pipe that was fd 1 is then open only there, and
    # closing it tells the parent at once that everything is written. (sys.stdout never closes its
    # fd, so the parent used to wait for this process to exit, i.e. for the checkpoints: 0.5 s of
    # a 70,000-row run.) Whatever is printed, from Python or C, goes to the parent's stderr.
    stdout = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    results: list[Any] = []
    db = None
    try:
        def resolve(name: str):
            module, attr = name.split(":")
            return getattr(importlib.import_module(module), attr)

        func = resolve(target)
        then = resolve(then_target) if then_target else None
        from database import Database

        db = Database(registry)
        second: queue.Queue = queue.Queue()
        failed: list[BaseException] = []

        def run_second() -> None:
            try:
                with bulk_writes(db, checkpoint=False):  # this thread's own connections
                    while (args := second.get()) is not None:
                        if not failed:
                            then(db, *args)
            except BaseException as exc:
                failed.append(exc)

        helper = threading.Thread(target=run_second, name="writer-then")
        if then is not None:
            helper.start()
        try:
            with bulk_writes(db, checkpoint=False):
                for line in stdin:
                    if failed:
                        raise failed[0]
                    path = Path(os.fsdecode(line.rstrip(b"\n")))
                    args = pickle.loads(path.read_bytes())
                    path.unlink()
                    result = func(db, *args)
                    if then is not None:
                        result, then_args = result
                        second.put(then_args)
                    results.append(result)
        finally:
            if then is not None:
                second.put(None)
                helper.join()
        if failed:
            raise failed[0]
        report: tuple[str, Any] = ("ok", results)
    except BaseException as exc:
        text = traceback.format_exc()
        try:
            pickle.dumps(exc)
        except Exception:
            exc = None
        report = ("error", (exc, text))
    pickle.dump(report, stdout, protocol=pickle.HIGHEST_PROTOCOL)
    stdout.close()  # the run goes on; the checkpoints are ours
    if db is not None:
        checkpoint_both(db)
        db.close()


def wait_for_writers(timeout: float | None = None) -> bool:
    """Wait until every writer process has ended (their checkpoints done); False on timeout."""
    deadline = None if timeout is None else time.monotonic() + timeout
    with _reapers_lock:
        reapers = list(_reapers)
    for t in reapers:
        t.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
    return not any(t.is_alive() for t in reapers)
