"""Channels: the publishing destinations and their configuration.

``ChannelService(db)`` creates, reads, changes, pauses, resumes and deletes channels. Every
change is validated first (a bad value raises :class:`ValidationError` naming the field and
nothing is written) and recorded in the audit trail with what changed and who changed it.

A channel's JSON settings come back parsed: ``content_filters`` as
:class:`~orchestration.filters.ContentFilters`, ``posting_schedule`` as
:class:`~orchestration.filters.PostingSchedule`, ``transformation_profile`` as
:class:`~orchestration.transform.TransformProfile` (or None). The daily cap and the priority
are columns of their own; a posting schedule that carries them sets those columns.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, fields
from datetime import date, datetime, timezone
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from database import Database, from_iso, to_iso, utcnow
from database.channels import canonical_platform, resolve_channel
from database.errors import ChannelNotFoundError, ConflictError, ValidationError
from database.schema import PLATFORMS

from .filters import ContentFilters, PostingSchedule, local_day_bounds, parse_filters, parse_schedule
from .transform import TransformProfile, parse_profile

CHANNEL_STATUSES = ("active", "paused", "inactive")
LOGIN_STATES = ("unknown", "ok", "required")
LIVE_SCHEDULE_STATUSES = ("pending", "scheduled", "paused", "executing")

# Settings create_channel / update_channel accept besides name, platform, filters, schedule, zone.
SETTINGS = (
    "account", "status", "status_reason", "daily_cap", "min_spacing_seconds", "priority",
    "metadata_template", "transformation_profile", "github_repo_url", "base_url", "login_state",
)
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")


def validate_timezone(value: Any) -> str:
    """An IANA zone name ASFS can use, or a ValidationError naming ``timezone``."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("timezone must be an IANA time zone name such as 'Europe/Berlin'", "timezone")
    name = value.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        raise ValidationError(
            f"Unknown time zone '{name}': use an IANA name such as 'Europe/Berlin' or 'America/New_York'",
            "timezone",
        ) from None
    return name


@dataclass(frozen=True)
class Channel:
    """One channel, with its JSON settings parsed (attribute names are the column names)."""

    id: str
    name: str
    platform: str
    account: str | None
    status: str
    status_reason: str | None
    is_default: bool
    content_filters: ContentFilters
    posting_schedule: PostingSchedule
    timezone: str
    daily_cap: int | None
    min_spacing_seconds: int
    priority: int
    metadata_template: dict[str, Any]
    transformation_profile: TransformProfile | None
    github_repo_url: str | None
    base_url: str | None
    login_state: str
    rate_limited_until: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "Channel":
        row = dict(row)
        try:
            template = json.loads(row.get("metadata_template") or "{}")
        except ValueError:
            template = {}
        schedule = _stored_schedule(row.get("posting_schedule"))
        return cls(
            id=row["id"], name=row["name"], platform=row["platform"], account=row.get("account"),
            status=row["status"], status_reason=row.get("status_reason"), is_default=bool(row.get("is_default")),
            content_filters=_stored_filters(row.get("content_filters")),
            posting_schedule=schedule.model_copy(update={"daily_cap": row.get("daily_cap"),
                                                         "priority": row.get("priority")}),
            timezone=row.get("timezone") or "UTC", daily_cap=row.get("daily_cap"),
            min_spacing_seconds=int(row.get("min_spacing_seconds") or 0), priority=int(row.get("priority") or 0),
            metadata_template=template if isinstance(template, dict) else {},
            transformation_profile=_stored_profile(row.get("transformation_profile")),
            github_repo_url=row.get("github_repo_url"), base_url=row.get("base_url"),
            login_state=row.get("login_state") or "unknown",
            rate_limited_until=from_iso(row.get("rate_limited_until")),
            created_at=from_iso(row["created_at"]) if row.get("created_at") else utcnow(),
            updated_at=from_iso(row["updated_at"]) if row.get("updated_at") else utcnow(),
        )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    def availability(self, now: datetime | None = None, *, check_window: bool = True) -> tuple[bool, str]:
        """Whether the channel takes new videos now, and if not, why.

        Unavailable: paused, inactive, its login expired, or (with ``check_window``) today in
        the channel's zone is outside every availability window.
        """
        if self.status != "active":
            why = f" ({self.status_reason})" if self.status_reason else ""
            return False, f"{self.name} is {self.status}{why}"
        if self.login_state == "required":
            return False, f"{self.name} needs the operator to log in again"
        if check_window and self.posting_schedule.availability_windows:
            now = now or utcnow()
            today = (now if now.tzinfo else now.replace(tzinfo=timezone.utc)).astimezone(self.zone).date()
            if not self.posting_schedule.available_on(today):
                return False, f"{self.name} is outside its availability windows on {today.isoformat()}"
        return True, "available"

    def day_bounds(self, day: date) -> tuple[datetime, datetime]:
        return local_day_bounds(day, self.zone)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready, with the settings as plain dicts (what the UI, API and uploaders take)."""
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["content_filters"] = self.content_filters.to_dict()
        d["posting_schedule"] = self.posting_schedule.to_dict()
        d["transformation_profile"] = (
            self.transformation_profile.to_dict() if self.transformation_profile else None)
        for key in ("rate_limited_until", "created_at", "updated_at"):
            d[key] = to_iso(d[key])
        return d

    def as_row(self) -> dict[str, Any]:
        """The channel as the registry row (JSON as text) — what ``uploaders.get`` receives."""
        d = self.to_dict()
        d["is_default"] = int(self.is_default)
        for key in ("content_filters", "posting_schedule", "metadata_template"):
            d[key] = json.dumps(d[key])
        d["transformation_profile"] = json.dumps(d["transformation_profile"]) if d["transformation_profile"] else None
        return d


def _stored_filters(text: str | None) -> ContentFilters:
    # Stored values were validated when written; a hand-edited bad value reads as "no filters"
    # rather than making the whole channel list unreadable.
    try:
        return parse_filters(text)
    except ValidationError:
        return ContentFilters()


def _stored_schedule(text: str | None) -> PostingSchedule:
    try:
        return parse_schedule(text)
    except ValidationError:
        return PostingSchedule()


def _stored_profile(text: str | None) -> TransformProfile | None:
    try:
        return parse_profile(text)
    except ValidationError:
        return None


def _text(value: Any, field: str, *, max_len: int = 200, allow_none: bool = True) -> str | None:
    if value is None and allow_none:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{field} must be non-empty text", field)
    value = value.strip()
    if len(value) > max_len:
        raise ValidationError(f"{field} may have at most {max_len} characters", field)
    return value


def _int(value: Any, field: str, *, lo: int, hi: int, allow_none: bool) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValidationError(f"{field} must be a whole number from {lo} to {hi}, got {value!r}", field)
    return value


def _url(value: Any, field: str) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or not _URL.match(value.strip()) or len(value) > 500:
        raise ValidationError(f"{field} must be an http(s) URL, got {value!r}", field)
    return value.strip().rstrip("/")


def _columns(current: Mapping[str, Any] | None, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Validate changes (over ``current``, the stored row) and return the column values to write."""
    out: dict[str, Any] = {}
    if "name" in changes:
        out["name"] = _text(changes["name"], "name", max_len=100, allow_none=False)
    if "platform" in changes:
        platform = canonical_platform(changes["platform"]) if isinstance(changes["platform"], str) else None
        if platform is None:
            raise ValidationError(
                f"platform must be one of {', '.join(PLATFORMS)}, got {changes['platform']!r}", "platform")
        out["platform"] = platform
    if "timezone" in changes:
        out["timezone"] = validate_timezone(changes["timezone"])
    if "account" in changes:
        out["account"] = _text(changes["account"], "account")
    if "status" in changes:
        if changes["status"] not in CHANNEL_STATUSES:
            raise ValidationError(
                f"status must be one of {', '.join(CHANNEL_STATUSES)}, got {changes['status']!r}", "status")
        out["status"] = changes["status"]
    if "status_reason" in changes:
        out["status_reason"] = _text(changes["status_reason"], "status_reason", max_len=500)
    if "login_state" in changes:
        if changes["login_state"] not in LOGIN_STATES:
            raise ValidationError(
                f"login_state must be one of {', '.join(LOGIN_STATES)}, got {changes['login_state']!r}",
                "login_state")
        out["login_state"] = changes["login_state"]
    if "daily_cap" in changes:
        out["daily_cap"] = _int(changes["daily_cap"], "daily_cap", lo=0, hi=10_000, allow_none=True)
    if "min_spacing_seconds" in changes:
        out["min_spacing_seconds"] = _int(changes["min_spacing_seconds"] or 0, "min_spacing_seconds",
                                          lo=0, hi=7 * 86_400, allow_none=False)
    if "priority" in changes:
        out["priority"] = _int(changes["priority"] if changes["priority"] is not None else 0, "priority",
                               lo=-1_000_000, hi=1_000_000, allow_none=False)
    if "metadata_template" in changes:
        tpl = changes["metadata_template"]
        if isinstance(tpl, str):
            try:
                tpl = json.loads(tpl or "{}")
            except ValueError:
                raise ValidationError("metadata_template is not valid JSON", "metadata_template") from None
        tpl = {} if tpl is None else tpl
        if not isinstance(tpl, Mapping) or not all(isinstance(k, str) for k in tpl):
            raise ValidationError("metadata_template must be an object (title, description, hashtags...)",
                                  "metadata_template")
        try:
            out["metadata_template"] = json.dumps(dict(tpl))
        except (TypeError, ValueError):
            raise ValidationError("metadata_template must hold only text, numbers, lists and objects",
                                  "metadata_template") from None
    if "github_repo_url" in changes:
        out["github_repo_url"] = _url(changes["github_repo_url"], "github_repo_url")
    if "base_url" in changes:
        out["base_url"] = _url(changes["base_url"], "base_url")
    if "content_filters" in changes:
        out["content_filters"] = json.dumps(parse_filters(changes["content_filters"]).to_dict())
    if "transformation_profile" in changes:
        profile = parse_profile(changes["transformation_profile"])
        out["transformation_profile"] = json.dumps(profile.to_dict()) if profile else None
    if "posting_schedule" in changes:
        schedule = parse_schedule(changes["posting_schedule"])
        # Cap and priority are columns; the schedule may carry them, but one value must win.
        for key in ("daily_cap", "priority"):
            carried = getattr(schedule, key)
            if carried is None:
                continue
            if key in changes and changes[key] is not None and changes[key] != carried:
                raise ValidationError(
                    f"{key} is given twice with different values ({changes[key]!r} and "
                    f"{carried!r} in posting_schedule)", key)
            out[key] = carried
        out["posting_schedule"] = json.dumps(
            schedule.model_copy(update={"daily_cap": None, "priority": None}).to_dict())
    return out


class ChannelService:
    """Channels over the registry.

    Args:
        db: the registry.
        clock: "now" (UTC); tests inject their own.
    """

    def __init__(self, db: Database, *, clock=utcnow):
        self.db = db
        self.clock = clock

    # -- reading -----------------------------------------------------------------------------

    def _row(self, ref: str):
        if isinstance(ref, Channel):
            ref = ref.id
        return resolve_channel(self.db.conn, ref)

    def get_channel(self, channel_ref: str) -> Channel:
        """A channel by id, name, or platform name (its default channel).

        Raises:
            ChannelNotFoundError: nothing answers to that reference.
        """
        return Channel.from_row(self._row(channel_ref))

    def find_channel(self, channel_ref: str) -> Channel | None:
        try:
            return self.get_channel(channel_ref)
        except ChannelNotFoundError:
            return None

    def list_channels(self, status: str | None = None, *, platform: str | None = None) -> list[Channel]:
        """Channels (optionally only one status or platform), highest priority first, then by name."""
        where, params = [], []
        if status is not None:
            if status not in CHANNEL_STATUSES:
                raise ValidationError(f"status must be one of {', '.join(CHANNEL_STATUSES)}, got {status!r}",
                                      "status")
            where.append("status = ?")
            params.append(status)
        if platform is not None:
            canon = canonical_platform(platform) if isinstance(platform, str) else None
            if canon is None:
                raise ValidationError(f"platform must be one of {', '.join(PLATFORMS)}", "platform")
            where.append("platform = ?")
            params.append(canon)
        sql = "SELECT * FROM channels" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY priority DESC, name COLLATE NOCASE, id"
        return [Channel.from_row(r) for r in self.db.query(sql, params)]

    def get_active_channels(self) -> list[Channel]:
        return self.list_channels(status="active")

    # -- writing -----------------------------------------------------------------------------

    def create_channel(
        self,
        name: str,
        platform: str,
        content_filters: Mapping[str, Any] | ContentFilters | str | None = None,
        posting_schedule: Mapping[str, Any] | PostingSchedule | str | None = None,
        timezone: str = "UTC",
        **settings: Any,
    ) -> Channel:
        """Create a channel and return it.

        Args:
            name: unique (case-insensitively) display name.
            platform: YouTube, TikTok or Instagram.
            content_filters: what the channel accepts (see ``ContentFilters``).
            posting_schedule: weekday slots, availability windows, daily cap, priority.
            timezone: the IANA zone its slots are in.
            **settings: account, status, daily_cap, min_spacing_seconds, priority,
                metadata_template, transformation_profile, github_repo_url, base_url,
                login_state; ``id`` to choose the id; ``actor`` for the audit trail.
        Raises:
            ValidationError: a bad or unknown setting (named); ConflictError: the name or id is taken.
        """
        actor = settings.pop("actor", "operator")
        channel_id = settings.pop("id", None)
        if channel_id is None:
            channel_id = settings.pop("channel_id", None)
        unknown = set(settings) - set(SETTINGS)
        if unknown:
            first = sorted(unknown)[0]
            raise ValidationError(
                f"Unknown channel setting(s): {', '.join(sorted(unknown))}. Known: {', '.join(SETTINGS)}", first)
        if channel_id is not None:
            if not isinstance(channel_id, str) or not _ID.match(channel_id):
                raise ValidationError(
                    "id must be 1-100 letters, digits, '_', '-', '.' or ':' starting with a letter or digit", "id")
            if canonical_platform(channel_id):
                raise ValidationError(f"'{channel_id}' is reserved for the platform's default channel", "id")
        cols = _columns(None, dict(settings, name=name, platform=platform, content_filters=content_filters,
                                   posting_schedule=posting_schedule, timezone=timezone))
        if canonical_platform(cols["name"]):
            raise ValidationError(
                f"'{cols['name']}' is the name of a platform, which means its default channel; choose another name",
                "name")
        now = to_iso(self.clock())
        cid = channel_id or uuid.uuid4().hex
        cols.update(id=cid, is_default=0, created_at=now, updated_at=now)
        with self.db.transaction() as tx:
            self._check_unique(tx, cols["name"], cid, check_id=True)
            names = ", ".join(cols)
            tx.execute(f"INSERT INTO channels ({names}) VALUES ({', '.join('?' * len(cols))})", list(cols.values()))
            row = tx.execute("SELECT * FROM channels WHERE id = ?", (cid,)).fetchone()
        channel = Channel.from_row(row)
        self.db.audit.record(
            "channel.created", f"Channel '{channel.name}' ({channel.platform}) created",
            subject_type="channel", subject_id=cid, actor=actor, details=channel.to_dict(),
        )
        return channel

    @staticmethod
    def _check_unique(tx, name: str, cid: str, *, check_id: bool) -> None:
        if check_id and tx.execute("SELECT 1 FROM channels WHERE id = ?", (cid,)).fetchone():
            raise ConflictError(f"A channel with id '{cid}' already exists.")
        other = tx.execute("SELECT id FROM channels WHERE name = ? COLLATE NOCASE AND id != ?", (name, cid)).fetchone()
        if other:
            raise ConflictError(f"A channel named '{name}' already exists (id {other[0]}).")

    def update_channel(self, channel_ref: str, **changes: Any) -> Channel:
        """Change any of a channel's settings (the keyword names are the column names).

        ``actor`` names who changed it. Nothing is written when any value is refused.

        Raises:
            ChannelNotFoundError, ValidationError (names the field), ConflictError (name taken).
        """
        actor = changes.pop("actor", "operator")
        allowed = set(SETTINGS) | {"name", "platform", "content_filters", "posting_schedule", "timezone"}
        unknown = set(changes) - allowed
        if unknown:
            first = sorted(unknown)[0]
            raise ValidationError(f"Unknown or read-only channel setting(s): {', '.join(sorted(unknown))}", first)
        with self.db.transaction() as tx:
            current = dict(self._row(channel_ref))
            cols = _columns(current, changes)
            if "platform" in cols and cols["platform"] != current["platform"] and current["is_default"]:
                raise ValidationError(
                    f"'{current['name']}' is the default {current['platform']} channel; its platform cannot change",
                    "platform")
            if "name" in cols:
                if canonical_platform(cols["name"]) and not (
                        current["is_default"] and canonical_platform(cols["name"]) == current["platform"]):
                    raise ValidationError(f"'{cols['name']}' is the name of a platform; choose another name", "name")
                self._check_unique(tx, cols["name"], current["id"], check_id=False)
            diff = {k: v for k, v in cols.items() if current.get(k) != v}
            if diff:
                if diff.get("status") == "active" and "status_reason" not in changes:
                    diff["status_reason"] = None
                diff["updated_at"] = to_iso(self.clock())
                assignments = ", ".join(f"{k} = ?" for k in diff)
                tx.execute(f"UPDATE channels SET {assignments} WHERE id = ?", [*diff.values(), current["id"]])
            row = tx.execute("SELECT * FROM channels WHERE id = ?", (current["id"],)).fetchone()
        channel = Channel.from_row(row)
        if diff:
            shown = {k: {"old": current.get(k), "new": v} for k, v in diff.items() if k != "updated_at"}
            self.db.audit.record(
                "channel.updated", f"Channel '{channel.name}' changed: {', '.join(shown)}",
                subject_type="channel", subject_id=channel.id, actor=actor, details={"changes": shown},
            )
        return channel

    def _set_status(self, channel_ref: str, status: str, reason: str | None, actor: str, kind: str,
                    extra: Mapping[str, Any] | None = None) -> Channel:
        if reason is not None:
            reason = _text(reason, "reason", max_len=500)
        with self.db.transaction() as tx:
            current = dict(self._row(channel_ref))
            sets = {"status": status, "status_reason": reason, "updated_at": to_iso(self.clock()), **(extra or {})}
            tx.execute(f"UPDATE channels SET {', '.join(f'{k} = ?' for k in sets)} WHERE id = ?",
                       [*sets.values(), current["id"]])
            row = tx.execute("SELECT * FROM channels WHERE id = ?", (current["id"],)).fetchone()
        channel = Channel.from_row(row)
        self.db.audit.record(
            kind, f"Channel '{channel.name}' {status}" + (f": {reason}" if reason else ""),
            subject_type="channel", subject_id=channel.id, actor=actor,
            details={"old_status": current["status"], "status": status, "reason": reason, **(extra or {})},
        )
        return channel

    def pause_channel(self, channel_ref: str, reason: str | None = None, *, actor: str = "operator") -> Channel:
        """Stop automatic distribution and publishing to a channel until it is resumed."""
        return self._set_status(channel_ref, "paused", reason, actor, "channel.paused")

    def resume_channel(self, channel_ref: str, *, actor: str = "operator") -> Channel:
        """Make a paused or inactive channel active again.

        A channel paused because its login expired is resumed by the operator after logging
        in; its login state goes back to "unknown" until the next upload checks it.
        """
        current = self._row(channel_ref)
        extra = {"login_state": "unknown"} if current["login_state"] == "required" else None
        return self._set_status(channel_ref, "active", None, actor, "channel.resumed", extra)

    def deactivate_channel(self, channel_ref: str, reason: str | None = None, *, actor: str = "operator") -> Channel:
        return self._set_status(channel_ref, "inactive", reason, actor, "channel.deactivated")

    def live_schedule_count(self, channel_ref: str) -> int:
        cid = self._row(channel_ref)["id"]
        marks = ", ".join("?" * len(LIVE_SCHEDULE_STATUSES))
        return self.db.query_one(
            f"SELECT COUNT(*) FROM schedules WHERE channel_id = ? AND status IN ({marks})",
            (cid, *LIVE_SCHEDULE_STATUSES))[0]

    def delete_channel(self, channel_ref: str, *, cancel_schedules: bool = False, actor: str = "operator") -> None:
        """Delete a channel with its uploads, distributions and schedules (the audit trail keeps the history).

        Refused while the channel has live schedules (pending, scheduled, paused, executing)
        unless ``cancel_schedules`` cancels them first — never while one is executing or an
        upload is in progress. Default channels cannot be deleted (pause or deactivate them).

        Raises:
            ChannelNotFoundError, ConflictError.
        """
        with self.db.transaction() as tx:
            row = dict(self._row(channel_ref))
            if row["is_default"]:
                raise ConflictError(
                    f"'{row['name']}' is the default {row['platform']} channel and cannot be deleted; "
                    "pause or deactivate it instead.")
            live = {r[0]: r[1] for r in tx.execute(
                "SELECT status, COUNT(*) FROM schedules WHERE channel_id = ? AND status IN "
                "('pending', 'scheduled', 'paused', 'executing') GROUP BY status", (row["id"],))}
            busy = tx.execute("SELECT COUNT(*) FROM video_uploads WHERE channel_id = ? AND upload_status = "
                              "'IN_PROGRESS'", (row["id"],)).fetchone()[0]
            if live.get("executing") or busy:
                raise ConflictError(
                    f"'{row['name']}' is publishing right now; wait for it to finish before deleting the channel.")
            total = sum(live.values())
            if total and not cancel_schedules:
                raise ConflictError(
                    f"'{row['name']}' has {total} live schedule(s) "
                    f"({', '.join(f'{n} {s}' for s, n in sorted(live.items()))}); cancel them first "
                    "(or delete with cancel_schedules=True).")
            counts = {
                "schedules_cancelled": total,
                "distributions": tx.execute("SELECT COUNT(*) FROM distributions WHERE channel_id = ?",
                                            (row["id"],)).fetchone()[0],
                "uploads": tx.execute("SELECT COUNT(*) FROM video_uploads WHERE channel_id = ?",
                                      (row["id"],)).fetchone()[0],
            }
            tx.execute("DELETE FROM channels WHERE id = ?", (row["id"],))
        self.db.audit.record(
            "channel.deleted", f"Channel '{row['name']}' deleted"
            + (f" ({total} live schedule(s) cancelled)" if total else ""),
            subject_type="channel", subject_id=row["id"], actor=actor,
            details={"channel": {k: row[k] for k in ("name", "platform", "account")}, **counts},
        )


__all__ = ["CHANNEL_STATUSES", "Channel", "ChannelService", "LIVE_SCHEDULE_STATUSES", "validate_timezone"]
