"""Child processes for the scheduling tests (test_schedule_execution.py).

    python -m tests.schedule_worker execute REGISTRY LEDGER PLATFORM
        executes every due schedule with an instant uploader (registered for PLATFORM) that
        appends "video|channel|pid" to LEDGER; prints how many schedules it ran
    python -m tests.schedule_worker hang REGISTRY MARKER PLATFORM
        executes due schedules with an uploader that writes MARKER and never returns (to be SIGKILLed)
"""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path

import uploaders
from database import Database
from orchestration.scheduling import SchedulingService
from orchestration.settings import Settings
from uploaders import PlatformUploader, UploadResult


class Ledger(PlatformUploader):
    def __init__(self, ledger: str, channel):
        self.ledger = ledger
        self.channel = channel

    def upload(self, video_path, metadata):
        line = f"{Path(video_path).stem}|{self.channel['id']}|{os.getpid()}\n".encode()
        fd = os.open(self.ledger, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.write(fd, line)  # one O_APPEND write: lines from two processes never interleave
        finally:
            os.close(fd)
        return UploadResult(True, f"{os.getpid()}-{Path(video_path).stem}-{self.channel['id']}")


class Hang(PlatformUploader):
    def __init__(self, marker: str):
        self.marker = marker

    def upload(self, video_path, metadata):
        Path(self.marker).write_text(str(os.getpid()))
        threading.Event().wait()  # until killed
        return UploadResult(False, error_message="unreachable")


def main(argv: list[str]) -> int:
    cmd, registry, target, platform = argv
    db = Database.open(registry)
    settings = Settings()  # defaults; never the developer's settings.json
    if cmd == "execute":
        uploaders.register(platform, lambda ch: Ledger(target, ch))
        results = SchedulingService(db, settings=settings).execute_pending_schedules()
        print(len(results), sum(1 for r in results if r["status"] == "completed"))
        db.close()
        return 0
    if cmd == "hang":
        uploaders.register(platform, lambda ch: Hang(target))
        SchedulingService(db, settings=settings).execute_pending_schedules()
        return 1  # never reached
    raise SystemExit(f"unknown command {cmd}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
