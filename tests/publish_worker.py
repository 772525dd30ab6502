"""Child processes for the crash-safety tests (test_crash_safety.py).

    python -m tests.publish_worker hang REGISTRY VIDEO CHANNEL MARKER
        uploads with an uploader that writes MARKER and then never returns (to be SIGKILLed)
    python -m tests.publish_worker bulk REGISTRY LEDGER PEERS
        once PEERS workers are ready, runs "upload all pending" with an uploader that appends
        "video|channel|pid" to LEDGER
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import uploaders
from database import Database
from orchestration.publishing import Publisher
from uploaders import PlatformUploader, UploadResult


class Hang(PlatformUploader):
    def __init__(self, marker: str):
        self.marker = marker

    def upload(self, video_path, metadata):
        Path(self.marker).write_text(str(os.getpid()))
        threading.Event().wait()  # until killed
        return UploadResult(False, error_message="unreachable")


class Ledger(PlatformUploader):
    def __init__(self, ledger: str, channel):
        self.ledger = ledger
        self.channel = channel

    def upload(self, video_path, metadata):
        line = f"{Path(video_path).stem}|{self.channel['id']}|{os.getpid()}\n".encode()
        fd = os.open(self.ledger, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.write(fd, line)  # one write with O_APPEND: lines from two processes never interleave
        finally:
            os.close(fd)
        threading.Event().wait(0.01)  # an upload takes a moment: the other worker gets its turn
        return UploadResult(True, f"{os.getpid()}-{Path(video_path).stem}")


def main(argv: list[str]) -> int:
    cmd, registry, *rest = argv
    db = Database.open(registry)
    if cmd == "hang":
        video, channel, marker = rest
        uploaders.register(channel, lambda ch: Hang(marker))
        Publisher(db).publish(video, channel)
        return 1  # never reached
    ledger, peers = rest[0], int(rest[1]) if len(rest) > 1 else 1
    for platform in ("YouTube", "TikTok", "Instagram"):
        uploaders.register(platform, lambda ch: Ledger(ledger, ch))
    # Start together with the other workers (a file barrier), so they really contend even
    # when one process is slow to start on a loaded machine.
    Path(f"{ledger}.ready.{os.getpid()}").touch()
    deadline = time.monotonic() + 60
    while len(list(Path(ledger).parent.glob(Path(ledger).name + ".ready.*"))) < peers:
        if time.monotonic() > deadline:
            raise SystemExit("the other workers never started")
        time.sleep(0.01)
    report = Publisher(db).upload_all_pending(max_parallel=3)
    print(f"{report.succeeded} {report.failed} {len(report.skipped)}")
    db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
