"""The one helper that runs database, disk, browser and network work off the GUI thread.

    task = worker.run(fn, *args, on_result=show, on_error=complain, name="Loading videos")

``fn`` runs on a pool thread; ``on_result`` / ``on_error`` / ``on_progress`` / ``on_done`` are
called later on the GUI thread (the worker's signal is delivered there by Qt's queued
connection). A function that wants to report progress or notice a cancel asks for its task:
``worker.run(fn, ..., with_task=True)`` calls ``fn(task, *args)``; inside it
``task.report(value)`` sends a progress value and ``task.cancel_event`` is set by
``task.cancel()``.

Two pools: short jobs (reads, refresh, thumbnails, exports) and ``long=True`` jobs (uploads,
ingest), so an hour-long upload never delays the next refresh. Pool threads are reused, so the
per-thread SQLite connections a shared ``Database`` hands out stay bounded; work that starts
threads of its own (``Publisher.upload_all_pending``) should open its own ``Database`` and
close it when done.
"""

from __future__ import annotations

import itertools
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from PySide6.QtCore import QObject, Signal, Slot

log = logging.getLogger("asfs.ui.worker")

Callback = Callable[..., Any] | None


class TaskCancelled(Exception):
    """Raised by work that noticed ``task.cancelled``; reported as a cancel, not an error."""


class Task:
    """One piece of background work, as the GUI sees it.

    Attributes:
        name: what it is, for the status bar ("Upload “clip” → TikTok").
        kind: a word the UI groups by ("upload", "bulk", "ingest", "refresh", ...).
        quiet: routine work the status bar does not mention (refresh, thumbnails).
        state: queued, running, done, failed or cancelled.
        result / error: what ``fn`` returned or raised, once finished.
    """

    _ids = itertools.count(1)

    def __init__(self, worker: "Worker", name: str, kind: str, quiet: bool):
        self.id = next(self._ids)
        self.name = name
        self.kind = kind
        self.quiet = quiet
        self.state = "queued"
        self.result: Any = None
        self.error: BaseException | None = None
        self.cancel_event = threading.Event()
        self._worker = worker
        self._callbacks: dict[str, Callback] = {}

    def report(self, value: Any) -> None:
        """Send a progress value to the GUI thread (callable from the task's thread)."""
        self._worker._post(self, "progress", value)

    def cancel(self) -> None:
        """Ask the work to stop; it notices through ``cancel_event`` / ``check()``."""
        self.cancel_event.set()

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    def check(self) -> None:
        """Raise :class:`TaskCancelled` when a cancel was asked for."""
        if self.cancel_event.is_set():
            raise TaskCancelled()

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed", "cancelled")

    def __repr__(self) -> str:
        return f"<Task {self.id} {self.kind} {self.name!r} {self.state}>"


class Worker(QObject):
    """Runs callables on background threads and hands their results back on the GUI thread.

    Signals (all on the GUI thread):
        taskStarted(task), taskFinished(task), taskFailed(task, error) for work without
        an ``on_error``, and busyChanged() whenever the set of unfinished tasks changes.
    """

    taskStarted = Signal(object)
    taskFinished = Signal(object)
    taskFailed = Signal(object, object)
    busyChanged = Signal()
    _posted = Signal(object, str, object)  # emitted from pool threads, delivered queued

    def __init__(self, parent: QObject | None = None, *, threads: int = 4, long_threads: int = 8):
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="asfs-ui")
        self._long_pool = ThreadPoolExecutor(max_workers=long_threads, thread_name_prefix="asfs-ui-long")
        self._tasks: dict[int, Task] = {}
        self._closed = False
        self._posted.connect(self._deliver)

    # -- submitting ---------------------------------------------------------------------------

    def run(
        self,
        fn: Callable[..., Any],
        *args: Any,
        name: str | None = None,
        kind: str = "work",
        on_result: Callback = None,
        on_error: Callback = None,
        on_progress: Callback = None,
        on_done: Callback = None,
        long: bool = False,
        quiet: bool = False,
        with_task: bool = False,
        **kwargs: Any,
    ) -> Task:
        """Run ``fn(*args, **kwargs)`` (or ``fn(task, *args, **kwargs)``) in the background.

        Args:
            on_result: ``f(result)`` when it returned.
            on_error: ``f(exception)`` when it raised (``TaskCancelled`` counts as a cancel
                and calls neither). Without it the error is logged and ``taskFailed`` emitted.
            on_progress: ``f(value)`` for each ``task.report(value)``.
            on_done: ``f(task)`` afterwards, whatever happened.
            long: use the pool for long work (uploads, ingest).
            quiet: routine work the status bar does not list.
            with_task: pass the :class:`Task` as the first argument.
        Returns:
            The task (cancel it with ``task.cancel()``).
        """
        if self._closed:
            raise RuntimeError("the worker has been shut down")
        task = Task(self, name or getattr(fn, "__name__", "work"), kind, quiet)
        task._callbacks = {"result": on_result, "error": on_error, "progress": on_progress, "done": on_done}
        self._tasks[task.id] = task
        pool = self._long_pool if long else self._pool
        pool.submit(self._execute, task, fn, args, kwargs, with_task)
        self.busyChanged.emit()
        return task

    def _execute(self, task: Task, fn, args, kwargs, with_task: bool) -> None:
        if task.cancelled:
            self._post(task, "cancelled", None)
            return
        self._post(task, "started", None)
        try:
            result = fn(task, *args, **kwargs) if with_task else fn(*args, **kwargs)
        except TaskCancelled:
            self._post(task, "cancelled", None)
        except BaseException as exc:  # noqa: BLE001 - everything goes back to the GUI to be shown
            self._post(task, "failed", exc)
        else:
            self._post(task, "done", result)

    def _post(self, task: Task, what: str, payload: Any) -> None:
        if not self._closed:
            self._posted.emit(task, what, payload)

    # -- delivering (GUI thread) ------------------------------------------------------------------

    @Slot(object, str, object)
    def _deliver(self, task: Task, what: str, payload: Any) -> None:
        if self._closed:
            return
        if what == "started":
            task.state = "running"
            self.taskStarted.emit(task)
            self.busyChanged.emit()
            return
        if what == "progress":
            self._call(task, "progress", payload)
            return
        if what == "done":
            task.state, task.result = "done", payload
            self._call(task, "result", payload)
        elif what == "failed":
            task.state, task.error = "failed", payload
            if task._callbacks.get("error"):
                self._call(task, "error", payload)
            else:
                log.error("%s failed: %s", task.name, payload, exc_info=payload)
                self.taskFailed.emit(task, payload)
        else:
            task.state = "cancelled"
        self._tasks.pop(task.id, None)
        self._call(task, "done", task)
        self.taskFinished.emit(task)
        self.busyChanged.emit()

    def _call(self, task: Task, which: str, value: Any) -> None:
        cb = task._callbacks.get(which)
        if cb is None:
            return
        try:
            cb(value)
        except Exception:  # noqa: BLE001 - a broken callback must not take the event loop down
            log.exception("the %s callback of %s failed", which, task.name)

    # -- looking and stopping ---------------------------------------------------------------------

    def tasks(self, *, include_quiet: bool = False, kind: str | None = None) -> list[Task]:
        """Unfinished tasks, oldest first."""
        return [t for t in self._tasks.values()
                if (include_quiet or not t.quiet) and (kind is None or t.kind == kind)]

    def is_idle(self) -> bool:
        """True when every task has finished and its callbacks have run."""
        return not self._tasks

    def cancel_all(self, kind: str | None = None) -> None:
        for task in list(self._tasks.values()):
            if kind is None or task.kind == kind:
                task.cancel()

    @property
    def closed(self) -> bool:
        return self._closed

    def shutdown(self, *, wait: bool = True) -> None:
        """Cancel everything, wait for running work to return, and drop pending callbacks."""
        if self._closed:
            return
        self.cancel_all()
        for pool in (self._pool, self._long_pool):
            pool.shutdown(wait=wait, cancel_futures=True)
        self._closed = True
        self._tasks.clear()


class Refresher:
    """One background read at a time for a view that refreshes (its timer, F5, after a write).

    ``request()`` starts ``read(full)``'s call on the worker, or, while a read runs, returns that
    one and asks for one more after it; ``full`` (everything, not only what changed) sticks until
    the next read starts. ``read`` returns ``(fn, *args)``, or None when there is nothing to read
    now. ``alive()`` says whether the view still wants reads (it has a registry, it is not closed).
    """

    def __init__(self, worker: Worker, read: Callable[[bool], tuple | None], *, name: str,
                 on_result: Callback, on_error: Callback, alive: Callable[[], bool]):
        self.worker = worker
        self._read, self._name, self._alive = read, name, alive
        self._on_result, self._on_error = on_result, on_error
        self.task: Task | None = None
        self._again = False
        self._full = False

    @property
    def running(self) -> bool:
        return self.task is not None

    @property
    def pending(self) -> bool:
        """Another read is asked for after the running one."""
        return self._again

    def request(self, full: bool = False) -> Task | None:
        if not self._alive():
            return None
        if self.task is not None:
            self.again(full)
            return self.task
        call = self._read(full)
        if call is None:
            return None
        self.task = self.worker.run(*call, name=self._name, kind="refresh", quiet=True, on_result=self._on_result,
                                    on_error=self._on_error, on_done=self._done)
        return self.task

    def again(self, full: bool = False) -> None:
        """Read once more after the running read (a result showed it missed something)."""
        self._again = True
        self._full = self._full or full

    def _done(self, _task: Task) -> None:
        self.task = None
        if self._again and self._alive():
            full, self._again, self._full = self._full, False, False
            self.request(full)
