"""The helpers big runs use: the paused garbage collector and bulk writes."""

from __future__ import annotations

import gc
import threading

import pytest

from orchestration.bulk import gc_paused


def test_gc_paused_nests_and_restores_the_collector():
    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled(), "the inner end must not turn it back on while the outer run goes on"
    assert gc.isenabled()


def test_gc_paused_from_two_threads_turns_it_back_on_after_the_last():
    inside, release = threading.Event(), threading.Event()

    def other() -> None:
        with gc_paused():
            inside.set()
            release.wait(10)

    t = threading.Thread(target=other)
    with gc_paused():
        t.start()
        assert inside.wait(10)
    assert not gc.isenabled(), "the other thread's run is still going"
    release.set()
    t.join(10)
    assert gc.isenabled()


def test_gc_paused_leaves_a_disabled_collector_disabled():
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_gc_paused_restores_the_collector_when_the_run_fails():
    with pytest.raises(RuntimeError):
        with gc_paused():
            raise RuntimeError("boom")
    assert gc.isenabled()


def test_bulk_writes_defer_the_checkpoint_to_the_end_and_restore_the_setting(db, registry):
    conn = db.conn
    before = conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    wal = db.path.with_name(db.path.name + "-wal")
    with db.bulk_writes():
        assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        with db.bulk_writes():  # nested: the outer one owns the setting
            pass
        assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        for i in range(30):
            with db.transaction() as tx:
                tx.executemany("INSERT INTO meta (key, value) VALUES (?, ?)",
                               [(f"bulk-{i}-{k}", "x" * 4000) for k in range(50)])
        # nothing copied back yet: the WAL holds every page written
        frames = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()  # (busy, log, checkpointed)
        assert frames[1] > 1000
    assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == before
    assert wal.exists()
    assert conn.execute("SELECT COUNT(*) FROM meta WHERE key LIKE 'bulk-%'").fetchone()[0] == 1500



def test_bulk_writes_with_a_wal_bound_copy_back_along_the_way(db, registry):
    conn = db.conn
    before = conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    with pytest.raises(ValueError, match="wal_pages"):
        with db.bulk_writes(wal_pages=-1):
            pass
    assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == before  # refused: nothing changed
    with db.bulk_writes(wal_pages=200):
        assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 200
        for i in range(30):
            with db.transaction() as tx:
                tx.executemany("INSERT INTO meta (key, value) VALUES (?, ?)",
                               [(f"bound-{i}-{k}", "x" * 4000) for k in range(50)])
        # copied back whenever it passed 200 pages: far fewer than the 1,500+ pages written remain
        frames = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        assert frames[1] < 1000
    assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == before


def test_bulk_writes_keep_a_big_transaction_in_memory_until_its_commit(db, registry):
    """A transaction that dirties more pages than a connection's page cache holds spills them into
    the WAL before its commit (and writes them again at the commit); bulk_writes gives the cache
    room for such batches."""
    from database.connection import BULK_CACHE_KIB, CACHE_KIB

    conn = db.conn
    wal = db.path.with_name(db.path.name + "-wal")
    assert conn.execute("PRAGMA cache_size").fetchone()[0] == -CACHE_KIB
    rows = (CACHE_KIB + BULK_CACHE_KIB) // 2 // 4  # 4 KiB each: more than one cache holds, less than the other

    def wal_bytes_before_the_commit(prefix: str) -> int:
        assert conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0] == 0  # not busy
        with db.transaction() as tx:
            tx.executemany("INSERT INTO meta (key, value) VALUES (?, ?)",
                           [(f"{prefix}-{k}", "x" * 4000) for k in range(rows)])
            return wal.stat().st_size

    assert wal_bytes_before_the_commit("plain") > 0
    with db.bulk_writes():
        assert conn.execute("PRAGMA cache_size").fetchone()[0] == -BULK_CACHE_KIB
        assert wal_bytes_before_the_commit("bulk") == 0
    assert conn.execute("PRAGMA cache_size").fetchone()[0] == -CACHE_KIB
    assert conn.execute("SELECT COUNT(*) FROM meta WHERE key LIKE 'bulk-%'").fetchone()[0] == rows


# -- the upload rules' file check (database.uploads.file_state) --------------------------------------


def _file(tmp_path, mode: int):
    import os

    p = tmp_path / "clip.mp4"
    p.write_bytes(b"x" * 100)
    os.chmod(p, mode)
    st = p.stat()
    return str(p), st.st_size, st.st_mtime_ns


def test_file_state_trusts_the_owners_read_bit_without_asking_again(tmp_path, monkeypatch):
    from database import uploads

    path, size, mtime = _file(tmp_path, 0o600)
    asked = []
    monkeypatch.setattr(uploads.os, "access", lambda p, m: asked.append(p) or False)
    assert uploads.file_state(path, size, mtime) == "ok"
    assert asked == []


def test_file_state_asks_the_os_when_the_owner_bit_does_not_decide(tmp_path, monkeypatch):
    from database import uploads

    path, size, mtime = _file(tmp_path, 0o000)  # no owner read bit: access() decides (root may read)
    monkeypatch.setattr(uploads.os, "access", lambda p, m: False)
    assert uploads.file_state(path, size, mtime) == "unreadable"
    monkeypatch.setattr(uploads.os, "access", lambda p, m: True)
    assert uploads.file_state(path, size, mtime) == "ok"
    # someone else's file: the owner's bit says nothing about us
    monkeypatch.setattr(uploads, "_UID", uploads._UID + 1)
    path, size, mtime = _file(tmp_path, 0o600)
    monkeypatch.setattr(uploads.os, "access", lambda p, m: False)
    assert uploads.file_state(path, size, mtime) == "unreadable"


def test_file_state_tells_missing_changed_and_touched_files(tmp_path):
    import os

    from database import uploads

    path, size, mtime = _file(tmp_path, 0o644)
    assert uploads.file_state(path, size + 1, mtime) == "changed"
    assert uploads.file_state(path, size, mtime + 1) == "touched"
    assert uploads.file_state(str(tmp_path), size, mtime) == "missing"  # a folder is not a video file
    os.remove(path)
    assert uploads.file_state(path, size, mtime) == "missing"


def test_threads_opening_a_new_database_at_once_all_get_wal(tmp_path):
    """Setting WAL mode takes a lock the busy handler does not wait for, even on a file in WAL
    mode already: opening one while another connection migrates it (writes) must not call the
    file unusable."""
    import time

    from database import Database

    def slow_step(conn):  # the first opener migrates, holding the write lock a while
        conn.execute("CREATE TABLE t (x)")
        time.sleep(0.2)

    for attempt in range(3):
        path = tmp_path / f"new{attempt}.db"
        barrier, errors, dbs = threading.Barrier(6), [], []

        def open_it():
            barrier.wait()
            try:
                db = Database(path, migrations=[slow_step], name="test database")
                dbs.append(db)
                assert db.query_one("PRAGMA journal_mode")[0] == "wal"
            except BaseException as exc:  # noqa: BLE001 - reported below
                errors.append(exc)

        threads = [threading.Thread(target=open_it) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for db in dbs:
            db.close()
        assert errors == []


@pytest.mark.parametrize("checkpoint", [False, True])
def test_bulk_writes_copy_the_wal_back_into_both_files_once_at_the_end(db, checkpoint):
    from orchestration.bulk import bulk_writes

    files = (db.path, db.audit.db.path)
    before = [p.stat().st_size for p in files]
    with bulk_writes(db, checkpoint=checkpoint):
        for i in range(20):
            with db.transaction() as tx:
                tx.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (f"k{i}", "x" * 50_000))
            db.audit.record_many([("test.bulk", "y" * 50_000, None, None, {})] * 5)
        assert [p.stat().st_size for p in files] == before  # everything is still in the WALs
    grown = [p.stat().st_size - b for p, b in zip(files, before)]
    if checkpoint:
        assert all(g >= 900_000 for g in grown)
    else:
        assert grown == [0, 0]
        db.checkpoint()
        db.audit.db.checkpoint()
        assert all(p.stat().st_size - b >= 900_000 for p, b in zip(files, before))
