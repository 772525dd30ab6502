"""Functions a WriterProcess child calls in tests/test_writer_process.py (the child imports them by name)."""

from __future__ import annotations

import os


def note(db, text: str) -> tuple[int, tuple]:
    """Record ``text`` as an event of kind ``test.row``; hand ``text`` on to :func:`then_note`."""
    if text == "boom":
        raise ValueError("the batch said boom")
    db.audit.record("test.row", text, details={"pid": os.getpid()})
    return os.getpid(), (text,)


def then_note(db, text: str) -> None:
    """Runs after :func:`note` for the same batch, on the child's second thread."""
    if text == "late boom":
        raise KeyError("the second step said boom")
    db.audit.record("test.then", text)


def linger(db, flag: str) -> int:
    """Keep the child from exiting (as a long checkpoint would) until the file ``flag`` exists."""
    import atexit
    import time

    def wait() -> None:
        deadline = time.monotonic() + 60
        while not os.path.exists(flag) and time.monotonic() < deadline:
            time.sleep(0.01)

    atexit.register(wait)
    # neither Python's prints nor a write to fd 1 (as C code would) may reach the report's pipe
    print("printed by the child")
    os.write(1, b"written to fd 1 by the child\n")
    return os.getpid()
