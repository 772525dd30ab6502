"""SQLite connections the way every ASFS process must use them.

WAL mode so readers never block the writer, ``synchronous=NORMAL`` (durable at each WAL
checkpoint, safe against corruption), foreign keys on, a generous busy timeout, one
connection per thread, and ``BEGIN IMMEDIATE`` for every transaction that writes: taking
the write lock up front means a transaction never has to upgrade a read lock, which is the
one case where SQLite reports "database is locked" without waiting for the busy timeout.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator, Sequence

from .errors import MigrationError, RegistryCorruptError, RegistryVersionError
from .paths import DataPaths

BUSY_TIMEOUT_MS = 30_000
# SQLite's page cache of each connection, in KiB (its default is 2,000 KiB, a tenth of a registry of
# 20,000 videos): random reads (the upload rules of a video, a distribution's duplicate checks) then
# mostly miss it and ask the OS for the page again. Grown as pages are read, never beyond this.
CACHE_KIB = 16_384
# SQLite's page cache during bulk_writes(), in KiB: twice CACHE_KIB. A transaction's dirty pages
# must stay in the cache until its commit; when they do not fit, SQLite writes them to the WAL in
# the middle of the transaction, again at the commit, and reads evicted index pages back. Measured
# on a distribution run of 71,535 assignments in 5,000-row batches (strace): 179,526 page writes and
# 139,071 page reads with SQLite's 2,000 KiB, about 126,000 and 36,000 with 16 MiB or more; the
# headroom is for bigger batches and registries (issue 10).
BULK_CACHE_KIB = 2 * CACHE_KIB

# A migration takes an open connection inside a transaction and brings the schema up by one step.
Migration = Callable[[sqlite3.Connection], None]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def to_iso(dt: datetime | None) -> str | None:
    """UTC ISO-8601 text for the registry; naive datetimes are taken as UTC."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).isoformat(timespec="microseconds")


def from_iso(text: str | None) -> datetime | None:
    if not text:
        return None
    dt = datetime.fromisoformat(text)
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


class Database:
    """One SQLite file, with a connection per thread and explicit write transactions.

    Args:
        path: the database file (created with its folder when missing).
        migrations: the schema steps; step ``i`` (1-based) brings ``user_version`` to ``i``.
        name: what the file is, for messages ("registry", "audit database").
    """

    def __init__(
        self,
        path: str | os.PathLike,
        migrations: Sequence[Migration] | None = None,
        *,
        name: str = "registry",
        busy_timeout_ms: int = BUSY_TIMEOUT_MS,
        backup_dir: str | os.PathLike | None = None,
    ):
        if migrations is None:
            from .schema import REGISTRY_MIGRATIONS

            migrations = REGISTRY_MIGRATIONS
        self.path = Path(path).expanduser().resolve()
        self.name = name
        self.migrations = list(migrations)
        self.busy_timeout_ms = busy_timeout_ms
        self.paths = DataPaths.for_registry(self.path)
        self._backup_dir = Path(backup_dir) if backup_dir else self.path.parent / "backups"
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._all_lock = threading.Lock()
        self._closed = False
        self._audit = None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._migrate()

    # -- construction -----------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike | None = None, **kwargs) -> "Database":
        """Open (creating or migrating) a registry; no path means the default data directory's."""
        return cls(path or DataPaths.default().registry, **kwargs)

    @property
    def schema_version(self) -> int:
        return len(self.migrations)

    # -- connections ------------------------------------------------------------------

    def _new_connection(self) -> sqlite3.Connection:
        if self._closed:
            raise RuntimeError(f"The {self.name} at {self.path} has been closed.")
        try:
            conn = sqlite3.connect(
                str(self.path),
                timeout=self.busy_timeout_ms / 1000,
                isolation_level=None,  # we issue BEGIN/COMMIT ourselves
                check_same_thread=False,  # only so close() can close every thread's connection
            )
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout_ms)}")
            # Setting the mode takes a lock even when it is WAL already (a new connection while
            # another one writes would fail "database is locked"): only set it when it is not.
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":
                mode = self._set_wal(conn)
            if str(mode).lower() != "wal":
                raise RegistryCorruptError(
                    f"The {self.name} at {self.path} cannot use WAL mode (got {mode!r}); "
                    "is it on a network drive?"
                )
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute(f"PRAGMA cache_size = {-CACHE_KIB}")
            # Statement journals (every INSERT into a table with an insert trigger keeps one, and
            # videos have two) and sorts stay in memory instead of temporary files: bulk
            # registration went from 0.85 to 0.98 of raw executemany (issue 10).
            conn.execute("PRAGMA temp_store = MEMORY")
        except sqlite3.DatabaseError as exc:
            raise RegistryCorruptError(
                f"{self.path} is not a usable SQLite {self.name}: {exc}"
            ) from exc
        with self._all_lock:
            self._all.append(conn)
        return conn

    def _set_wal(self, conn: sqlite3.Connection) -> str:
        # A new file: two connections (threads, processes) may switch it at once, and the loser
        # gets "database is locked" at once (the busy handler does not wait for this lock).
        deadline = time.monotonic() + self.busy_timeout_ms / 1000
        while True:
            try:
                return conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    raise
                time.sleep(0.01)

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection (autocommit: each read statement sees the latest commit)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._new_connection()
            self._local.conn = conn
            self._local.depth = 0
        return conn

    @contextmanager
    def bulk_writes(self, *, checkpoint: bool = True, wal_pages: int = 0) -> Iterator[None]:
        """Around many write transactions in a row on this thread (a distribution run's batches):
        the WAL is copied back into the database once at the end instead of after every commit
        that grows it past SQLite's 1,000-page mark (each copy rewrites the same index pages and
        syncs the file). Readers and other writers are unaffected; the WAL grows meanwhile.

        ``wal_pages``: copy back whenever the WAL passes this many pages instead (for a long run
        of small transactions, e.g. executing thousands of schedules, where the WAL must not grow
        without bound); 0 = only at the end.
        ``checkpoint=False`` leaves the final copy to the caller (:meth:`checkpoint`, e.g. of two
        databases at once); until it runs, the next commit's automatic checkpoint would do it."""
        if wal_pages < 0:
            raise ValueError(f"wal_pages must be 0 or more, not {wal_pages}")
        conn = self.conn
        if getattr(self._local, "bulk", False):
            yield
            return
        before = conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
        cache_before = conn.execute("PRAGMA cache_size").fetchone()[0]
        conn.execute(f"PRAGMA wal_autocheckpoint = {int(wal_pages)}")
        conn.execute(f"PRAGMA cache_size = {-BULK_CACHE_KIB}")
        self._local.bulk = True
        try:
            yield
        finally:
            self._local.bulk = False
            conn.execute(f"PRAGMA wal_autocheckpoint = {int(before)}")
            conn.execute(f"PRAGMA cache_size = {int(cache_before)}")  # frees what the block cached
            if checkpoint:
                self.checkpoint()

    def checkpoint(self) -> None:
        """Copy the WAL back into the database file now (SQLite's PASSIVE checkpoint: it never
        waits for readers or writers; what it cannot copy yet, a later automatic one does).

        Safe from any thread: it uses a short-lived connection of its own."""
        try:
            conn = sqlite3.connect(str(self.path), timeout=self.busy_timeout_ms / 1000, isolation_level=None)
        except sqlite3.Error:
            return
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.OperationalError:  # busy: the next commit's automatic checkpoint does it
            pass
        finally:
            conn.close()

    def execute(self, sql: str, params: Sequence | dict = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)

    def query(self, sql: str, params: Sequence | dict = ()) -> list[sqlite3.Row]:
        return self.conn.execute(sql, params).fetchall()

    def query_one(self, sql: str, params: Sequence | dict = ()) -> sqlite3.Row | None:
        return self.conn.execute(sql, params).fetchone()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``); nested calls join the outer one.

        Commits when the block ends, rolls back when it raises: a failed call changes nothing.
        """
        conn = self.conn
        if self._local.depth:
            self._local.depth += 1
            try:
                yield conn
            finally:
                self._local.depth -= 1
            return
        self._begin_immediate(conn)
        self._local.depth = 1
        try:
            yield conn
        except BaseException:
            self._local.depth = 0
            conn.execute("ROLLBACK")
            raise
        else:
            self._local.depth = 0
            conn.execute("COMMIT")

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """A read transaction: several SELECTs that see one consistent state."""
        conn = self.conn
        if self._local.depth:
            yield conn
            return
        conn.execute("BEGIN")
        self._local.depth = 1
        try:
            yield conn
        finally:
            self._local.depth = 0
            conn.execute("COMMIT")

    def _begin_immediate(self, conn: sqlite3.Connection) -> None:
        # The busy handler already waits up to busy_timeout; this loop only covers the rare
        # SQLITE_BUSY returned without waiting (e.g. while another process runs recovery).
        deadline = time.monotonic() + self.busy_timeout_ms / 1000
        delay = 0.005
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if time.monotonic() >= deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 0.1)

    def close(self) -> None:
        """Close every thread's connection; the object cannot be used afterwards."""
        self._closed = True
        with self._all_lock:
            conns, self._all = self._all, []
        for conn in conns:
            try:
                conn.close()
            except sqlite3.Error:
                pass
        self._local = threading.local()
        if self._audit is not None:
            self._audit.close()
            self._audit = None

    def __enter__(self) -> "Database":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- companions -------------------------------------------------------------------

    @property
    def audit(self):
        """The audit log that belongs with this registry (opened on first use)."""
        if self._audit is None:
            from audit import AuditLog  # audit builds on this module; import late

            self._audit = AuditLog(self.paths)
        return self._audit

    # -- migrations -------------------------------------------------------------------

    def _migrate(self) -> None:
        conn = self.conn
        try:
            current = conn.execute("PRAGMA user_version").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise RegistryCorruptError(f"{self.path} is not a SQLite {self.name}: {exc}") from exc
        target = len(self.migrations)
        if current > target:
            raise RegistryVersionError(
                f"The {self.name} at {self.path} was written by a newer ASFS (schema version "
                f"{current}; this version understands up to {target}). Update ASFS, or open a "
                "different data directory; the file was left untouched."
            )
        if current == target:
            return
        if self._has_user_tables(conn):
            self.backup(reason=f"before-migration-v{current}-to-v{target}")
        for version in range(current + 1, target + 1):
            step = self.migrations[version - 1]
            with self.transaction() as tx:
                # Re-read inside the write lock: another process may have migrated meanwhile.
                now = tx.execute("PRAGMA user_version").fetchone()[0]
                if now >= version:
                    continue
                try:
                    step(tx)
                except sqlite3.Error as exc:
                    raise MigrationError(
                        f"Could not bring the {self.name} at {self.path} to schema version "
                        f"{version}: {exc}. Nothing was changed; a backup is in {self._backup_dir}."
                    ) from exc
                tx.execute(f"PRAGMA user_version = {version}")

    @staticmethod
    def _has_user_tables(conn: sqlite3.Connection) -> bool:
        row = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' LIMIT 1"
        ).fetchone()
        return row is not None

    def backup(self, reason: str = "manual") -> Path:
        """Copy the database (consistently, through SQLite's backup API) into ``backups/``."""
        self._backup_dir.mkdir(parents=True, exist_ok=True)
        stamp = utcnow().strftime("%Y%m%dT%H%M%S%fZ")
        dest = self._backup_dir / f"{self.path.stem}.{stamp}.{reason}{self.path.suffix}"
        tmp = dest.with_suffix(dest.suffix + ".part")
        target = sqlite3.connect(str(tmp))
        try:
            self.conn.backup(target)
        finally:
            target.close()
        shutil.move(str(tmp), str(dest))
        return dest
