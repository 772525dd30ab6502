"""WriterProcess (orchestration/bulk.py): a big run's batches written by a child process, and a
distribution run by filters that uses it giving exactly what a run writing in-process gives."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from datetime import datetime, timedelta, timezone

import pytest

from database import Database, VideoRegistry, to_iso
from orchestration import ChannelService, VideoDistributionService, distribution
from orchestration.bulk import WriterProcess, WriterProcessError, wait_for_writers

UTC = timezone.utc
TARGET = "tests.writer_targets:note"
THEN = "tests.writer_targets:then_note"


def kinds(db, kind: str) -> list[str]:
    return [e["message"] for e in db.audit.events(kind)]


def test_the_child_writes_each_batch_in_order_and_returns_the_results(db):
    with WriterProcess(db, TARGET) as writer:
        for text in ("one", "two", "three"):
            writer.send(text)
        pids = [pid for pid, _ in writer.finish()]
    assert kinds(db, "test.row") == ["one", "two", "three"]
    assert len(set(pids)) == 1 and pids[0] != os.getpid()  # written by one other process
    assert wait_for_writers(timeout=30)


def test_the_second_step_runs_after_each_batch_on_another_thread(db):
    with WriterProcess(db, TARGET, THEN) as writer:
        for text in ("a", "b"):
            writer.send(text)
        assert len(writer.finish()) == 2
    assert kinds(db, "test.row") == ["a", "b"] and kinds(db, "test.then") == ["a", "b"]


def test_a_failing_batch_raises_its_own_error_and_the_batches_before_it_stay(db):
    writer = WriterProcess(db, TARGET)
    writer.send("kept")
    writer.send("boom")
    with pytest.raises(ValueError, match="boom") as caught:
        for _ in range(200):  # the child stops at "boom"; a later send or finish says why
            writer.send("never")
        writer.finish()
    assert any("in the writer process" in note and "writer_targets.py" in note
               for note in getattr(caught.value, "__notes__", []))
    assert kinds(db, "test.row") == ["kept"]


def test_a_failing_second_step_fails_the_run(db):
    with pytest.raises(KeyError, match="second step"):
        with WriterProcess(db, TARGET, THEN) as writer:
            writer.send("x")
            writer.send("late boom")
            writer.finish()
    assert kinds(db, "test.then") == ["x"]


def test_an_unknown_target_is_a_clear_error(db):
    writer = WriterProcess(db, "tests.writer_targets:no_such_function")
    with pytest.raises(AttributeError, match="no_such_function"):
        writer.send("x")
        writer.finish()


def test_the_run_gets_its_results_while_the_child_is_still_busy_after_them(db, tmp_path):
    """The child's housekeeping after its report (the checkpoints) is not the run's to wait for."""
    flag = tmp_path / "let-go"
    writer = WriterProcess(db, "tests.writer_targets:linger")
    writer.send(str(flag))
    got: list = []
    t = threading.Thread(target=lambda: got.append(writer.finish()), daemon=True)
    t.start()
    t.join(20)
    try:
        assert got, "finish() waited for the child to exit"
        assert got[0][0] != os.getpid()
        assert writer._proc.poll() is None  # still there, held by its exit handler
    finally:
        flag.touch()
    assert wait_for_writers(timeout=30)
    assert writer._proc.returncode == 0


def test_a_child_that_dies_is_reported_not_waited_for(db):
    writer = WriterProcess(db, TARGET)
    writer._proc.kill()
    with pytest.raises(WriterProcessError, match="exit code"):
        writer.send("x")
        writer.finish()


def test_when_the_run_fails_the_child_writes_what_it_was_sent_and_ends(db):
    with pytest.raises(RuntimeError):
        with WriterProcess(db, TARGET) as writer:
            writer.send("sent before the failure")
            folder = writer._dir
            raise RuntimeError("the run failed")
    assert kinds(db, "test.row") == ["sent before the failure"]
    assert not folder.exists()  # the batch files are gone
    assert wait_for_writers(timeout=30)
    assert writer._proc.returncode == 0


# -- a distribution run through the writer process ------------------------------------------------


def build(root) -> Database:
    db = Database.open(root / "videos.db")
    rows = []
    for i in range(40):
        rows.append({"id": f"v{i:02d}", "file_path": f"/videos/v{i:02d}.mp4",
                     "checksum": hashlib.sha256(f"v{i}".encode()).hexdigest(),
                     "width": 1080, "height": 1920 if i % 3 else 1080, "duration": 10.0 + i * 3,
                     "source_views": 1000 * i, "tags": ["food"] if i % 2 else ["travel", "food"],
                     "created_at": to_iso(datetime(2026, 3, 1, tzinfo=UTC) + timedelta(minutes=i))})
    VideoRegistry(db).register_videos(rows)
    svc = ChannelService(db)
    for platform in ("YouTube", "TikTok", "Instagram"):
        svc.deactivate_channel(platform, "not used")
    for name, filters in (("Food", {"include_tags": ["food"]}), ("Short", {"max_duration": 60}),
                          ("Vertical", {"orientation": "vertical", "min_views": 5000}),
                          ("Travel", {"include_tags": ["travel"], "exclude_watermarked": True})):
        svc.create_channel(name, "TikTok", content_filters=filters, account=name.lower())
    return db


def outcome(db, made) -> tuple[dict, dict, list]:
    names = {r["id"]: r["name"] for r in db.query("SELECT id, name FROM channels")}
    stored = {}
    for d in made:
        row = db.query_one("SELECT reason FROM distributions WHERE id = ?", (d.id,))
        assert row["reason"] == json.dumps(d.assignment_reason)  # what the record says is what is stored
        reason = dict(d.assignment_reason)
        reason.pop("run")
        stored[(d.video_id, names[d.channel_id])] = reason
    events = {}
    for e in db.audit.events("distribution.assigned"):
        details = e["details"]
        events[(details["video_id"], names[details["channel_id"]])] = (e["message"], details["reason"])
    skipped = sorted((s["video_id"] or "", names.get(s["channel_id"], ""), s["code"]) for s in made.skipped)
    return stored, events, skipped


def test_a_run_written_by_the_child_is_the_run_written_here(tmp_path, monkeypatch):
    clock = lambda: datetime(2026, 3, 27, 12, 0, tzinfo=UTC)  # noqa: E731
    here, there = build(tmp_path / "here"), build(tmp_path / "there")
    started = []
    real = distribution.WriterProcess

    def spy(*args, **kwargs):
        started.append(args[1:])
        return real(*args, **kwargs)

    monkeypatch.setattr(distribution, "WriterProcess", spy)
    try:
        monkeypatch.setattr(distribution, "_WRITER_PROCESS_MIN", 10**9)
        made_here = VideoDistributionService(here, clock=clock).auto_distribute_by_filters()
        assert started == []
        monkeypatch.setattr(distribution, "_WRITER_PROCESS_MIN", 1)
        monkeypatch.setattr(distribution, "_BATCH", 7)  # several batches
        there.checkpoint()
        size = there.path.stat().st_size
        made_there = VideoDistributionService(there, clock=clock).auto_distribute_by_filters()
        assert started == [distribution._WRITER]
        assert wait_for_writers(timeout=30)
        assert there.path.stat().st_size > size  # the child copied its WAL back before it ended
        assert len(made_here) == len(made_there) > 40
        assert outcome(here, made_here) == outcome(there, made_there)
        runs = [db.audit.events("distribution.run")[0]["details"] for db in (here, there)]
        assert {k: v for k, v in runs[0].items() if k != "run"} == {k: v for k, v in runs[1].items() if k != "run"}
        # running again assigns nothing (both ways)
        assert VideoDistributionService(there, clock=clock).auto_distribute_by_filters() == []
    finally:
        assert wait_for_writers(timeout=30)
        here.close()
        there.close()
