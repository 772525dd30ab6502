"""Channel lookups the registry needs: turning "a platform or a channel" into one channel.

A fresh registry has one default channel per platform whose id is the platform's name, so
seed 003's ``platform="Instagram"`` means "Instagram's default channel" and works as written.
The full channel service (filters, schedules, pause/resume) lives in ``orchestration``.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from .errors import ChannelNotFoundError
from .schema import PLATFORMS

_PLATFORM_BY_LOWER = {p.lower(): p for p in PLATFORMS}


def canonical_platform(name: str) -> str | None:
    """'instagram' -> 'Instagram'; None when it is not a platform name."""
    return _PLATFORM_BY_LOWER.get(str(name).strip().lower())


def resolve_channel(conn: sqlite3.Connection, ref: str) -> sqlite3.Row:
    """The channel row for a platform name (its default channel), a channel id, or a channel name."""
    if ref is None or not str(ref).strip():
        raise ChannelNotFoundError(str(ref))
    ref = str(ref).strip()
    row = conn.execute("SELECT * FROM channels WHERE id = ?", (ref,)).fetchone()
    if row is not None:
        return row
    platform = canonical_platform(ref)
    if platform is not None:
        row = conn.execute(
            "SELECT * FROM channels WHERE platform = ? AND is_default = 1", (platform,)
        ).fetchone()
        if row is None:
            # The default was removed: the platform's only channel still answers to its name.
            rows = conn.execute("SELECT * FROM channels WHERE platform = ? LIMIT 2", (platform,)).fetchall()
            if len(rows) == 1:
                return rows[0]
            raise ChannelNotFoundError(ref)
        return row
    row = conn.execute("SELECT * FROM channels WHERE name = ? COLLATE NOCASE", (ref,)).fetchone()
    if row is None:
        raise ChannelNotFoundError(ref)
    return row


def channels_by_platform(conn: sqlite3.Connection) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {p: [] for p in PLATFORMS}
    for row in conn.execute("SELECT id, name, platform, status, is_default FROM channels ORDER BY is_default DESC, name"):
        out.setdefault(row["platform"], []).append(dict(row))
    return out
