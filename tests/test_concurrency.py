"""Many threads and several processes on one registry: nothing locked, nothing lost, no double claim."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from database import Database, VideoRegistry

PROJECT = Path(__file__).resolve().parent.parent


def _worker(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.concurrency_worker", *args],
        cwd=PROJECT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _finish(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    assert "locked" not in err
    return json.loads(out.strip().splitlines()[-1])


def test_threads_write_and_read_without_locks_or_losses(tmp_path):
    db = Database.open(tmp_path / "database" / "videos.db")
    reg = VideoRegistry(db)
    errors: list[BaseException] = []
    written: dict[int, list[str]] = {}
    deadline = time.monotonic() + 2.0
    stop = threading.Event()

    def writer(n: int) -> None:
        ids = written.setdefault(n, [])
        i = 0
        try:
            while time.monotonic() < deadline:
                ids += reg.register_videos([{"file_path": f"/t/{n}_{i}.mp4", "checksum": hashlib.sha256(f"{n}:{i}".encode()).hexdigest()}])
                reg.set_duplicate_allowed(ids[-1], i % 2 == 0)
                i += 1
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    def reader() -> None:
        try:
            while not stop.is_set():
                reg.count()
                reg.changed_since(0)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(6)]
    threads += [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads[:6]:
        t.join()
    stop.set()
    for t in threads[6:]:
        t.join()
    try:
        assert errors == []
        all_ids = [i for ids in written.values() for i in ids]
        assert len(all_ids) == len(set(all_ids)) > 60
        assert reg.count() == len(all_ids)
        for n, ids in written.items():  # the last toggle of each video stuck
            last = reg.get_video(ids[-1])["duplicate_allowed"]
            assert last == ((len(ids) - 1) % 2 == 0)
    finally:
        db.close()


def test_two_processes_and_a_reader_lose_nothing(tmp_path):
    path = str(tmp_path / "database" / "videos.db")
    Database.open(path).close()
    procs = [_worker("write", path, name, "300") for name in ("alpha", "beta")]
    db = Database.open(path)
    reg = VideoRegistry(db)
    reads = 0
    try:
        while any(p.poll() is None for p in procs):
            reg.changed_since(0)
            reads += 1
        results = [_finish(p) for p in procs]
        ids = results[0]["ids"] + results[1]["ids"]
        assert len(set(ids)) == 600
        assert reg.count() == 600
        assert {v["id"] for v in reg.get_all_videos()} == set(ids)
        assert reads > 0
    finally:
        db.close()


def test_two_processes_claiming_the_same_uploads_each_win_once(tmp_path):
    path = str(tmp_path / "database" / "videos.db")
    files = []
    for i in range(60):
        f = tmp_path / "media" / f"v{i}.mp4"
        f.parent.mkdir(exist_ok=True)
        f.write_bytes(os.urandom(64))
        files.append(f)
    with Database.open(path) as db:
        ids = VideoRegistry(db).register_videos([
            {"file_path": str(f), "checksum": hashlib.sha256(str(i).encode()).hexdigest(),
             "size_bytes": f.stat().st_size, "file_mtime_ns": f.stat().st_mtime_ns}
            for i, f in enumerate(files)
        ])
    ids_file = tmp_path / "ids.json"
    ids_file.write_text(json.dumps(ids))
    procs = [_worker("claim", path, owner, str(ids_file)) for owner in ("p1", "p2", "p3")]
    won = [set(_finish(p)["won"]) for p in procs]
    assert set.union(*won) == set(ids)
    assert sum(len(w) for w in won) == len(ids)  # nobody claimed an upload another already had
    with Database.open(path) as db:
        rows = db.query("SELECT video_id, upload_status, platform_post_id FROM video_uploads")
        assert len(rows) == 60 and {r["upload_status"] for r in rows} == {"SUCCESS"}
        owners = {r["video_id"]: r["platform_post_id"].split("-")[0] for r in rows}
        for owner, w in zip(("p1", "p2", "p3"), won):
            assert {v for v, o in owners.items() if o == owner} == w
