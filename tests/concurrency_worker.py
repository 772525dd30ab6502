"""A separate process that hammers one registry (used by test_concurrency.py).

    python -m tests.concurrency_worker write REGISTRY NAME COUNT
    python -m tests.concurrency_worker claim REGISTRY OWNER VIDEO_IDS_FILE

Prints one JSON line with what it did; any exception ends it with a traceback and exit 1.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from database import Database, VideoRegistry


def write(path: str, name: str, count: int) -> dict:
    db = Database.open(path)
    reg = VideoRegistry(db)
    ids = []
    for i in range(count):
        ids += reg.register_videos([{"file_path": f"/p/{name}_{i}.mp4", "checksum": hashlib.sha256(f"{name}-{i}".encode()).hexdigest()}])
        if i % 10 == 0:
            reg.set_duplicate_allowed(ids[-1], True)
            reg.get_all_videos() if i % 100 == 0 else reg.get_video(ids[-1])
    db.close()
    return {"ids": ids}


def claim(path: str, owner: str, ids_file: str) -> dict:
    db = Database.open(path)
    reg = VideoRegistry(db)
    won = []
    for vid in json.loads(Path(ids_file).read_text()):
        rec, _ = reg.uploads.claim(vid, "YouTube", owner=owner)
        if rec is not None:
            won.append(vid)
            reg.uploads.record_success(rec, post_id=f"{owner}-{vid}", owner=owner)
    db.close()
    return {"won": won}


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    if cmd == "write":
        out = write(args[0], args[1], int(args[2]))
    else:
        out = claim(*args)
    print(json.dumps(out))
