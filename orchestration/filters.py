"""Content filters and posting schedules: what a channel accepts, and when it posts.

Both are pydantic models validated at the edge (a form, a config file, the API). Anything
they refuse becomes a :class:`database.errors.ValidationError` naming the field, so callers
catch one error type whatever the source.

Matching (:func:`match`) gives a verdict and a reason for *every* filter, and a score: the
sum, over the filters that compare against a threshold, of how far the video clears it
(each term 0..1). A channel with no filters matches everything with score 0.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Iterable, Literal, Mapping
from zoneinfo import ZoneInfo

import pydantic
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from database.errors import ValidationError

# Resolutions are measured on the shorter side, so a 1080x1920 short is "1080p".
RESOLUTIONS: dict[str, int] = {"480p": 480, "720p": 720, "1080p": 1080, "1440p": 1440, "2160p": 2160}
ORIENTATIONS = ("vertical", "horizontal", "any")
FILTER_NAMES = (
    "min_resolution", "min_views", "max_duration", "min_duration",
    "exclude_watermarked", "include_tags", "exclude_tags", "orientation",
)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKDAY_ALIASES = {
    **{d: d for d in WEEKDAYS},
    "monday": "mon", "tuesday": "tue", "wednesday": "wed", "thursday": "thu",
    "friday": "fri", "saturday": "sat", "sunday": "sun",
    "tues": "tue", "weds": "wed", "thur": "thu", "thurs": "thu",
}
_MAX_VIEWS = 10**15
_MAX_SECONDS = 10**7
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def _tag(value: str) -> str:
    return value.strip().lstrip("#").strip().casefold()


def pydantic_error(exc: pydantic.ValidationError, what: str) -> ValidationError:
    """One readable :class:`ValidationError` from pydantic's, naming the first bad field."""
    parts, first = [], None
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p != "__root__"]
        name = ".".join(loc) if loc else None
        if first is None:
            first = loc[0] if loc else None
        msg = err.get("msg", "invalid value")
        if err.get("type") == "extra_forbidden":
            msg = "unknown setting"
        msg = msg.removeprefix("Value error, ")
        parts.append(f"{name}: {msg}" if name else msg)
    return ValidationError(f"Invalid {what}: " + "; ".join(parts), first)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


class _SetFieldsMapping(_Strict):
    """Reads like the JSON dict the seeds store: only the fields that are set."""

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_defaults=True)

    def get(self, key: str, default: Any = None) -> Any:
        return self.to_dict().get(key, default)

    def __getitem__(self, key: str) -> Any:
        data = self.to_dict()
        if key not in data:
            raise KeyError(key)
        return data[key]

    def __contains__(self, key: object) -> bool:
        return key in self.to_dict()


class ContentFilters(_SetFieldsMapping):
    """What a channel accepts. Every field is optional; an empty filter set accepts everything.

    Attributes:
        min_resolution: "480p" .. "2160p", compared with the video's shorter side.
        min_views: the source's view count must be at least this.
        max_duration / min_duration: seconds, inclusive bounds.
        exclude_watermarked: refuse videos marked as watermarked.
        include_tags: the video must carry at least one of these tags (case-insensitive).
        exclude_tags: the video must carry none of these tags.
        orientation: "vertical" (taller than wide), "horizontal" (wider than tall) or "any".
    """

    min_resolution: Literal["480p", "720p", "1080p", "1440p", "2160p"] | None = None
    min_views: int | None = Field(None, ge=0, le=_MAX_VIEWS)
    max_duration: float | None = Field(None, gt=0, le=_MAX_SECONDS)
    min_duration: float | None = Field(None, ge=0, le=_MAX_SECONDS)
    exclude_watermarked: bool = False
    include_tags: list[str] = Field(default_factory=list, max_length=200)
    exclude_tags: list[str] = Field(default_factory=list, max_length=200)
    orientation: Literal["vertical", "horizontal", "any"] = "any"

    @field_validator("min_resolution", mode="before")
    @classmethod
    def _resolution(cls, v: Any) -> Any:
        # Accept "1080P" and " 1080p "; everything else is left for the Literal to refuse.
        return v.strip().lower() if isinstance(v, str) else v

    @field_validator("orientation", mode="before")
    @classmethod
    def _orientation(cls, v: Any) -> Any:
        return v.strip().lower() if isinstance(v, str) else v

    @field_validator("include_tags", "exclude_tags")
    @classmethod
    def _tags(cls, v: list[str]) -> list[str]:
        out: list[str] = []
        for t in v:
            norm = _tag(t)
            if not norm:
                raise ValueError("tags must be non-empty text")
            if len(norm) > 100:
                raise ValueError("a tag may have at most 100 characters")
            if norm not in out:
                out.append(norm)
        return out

    # Cross-field rules live on the later field so the error names it (fields validate in order).
    @field_validator("min_duration")
    @classmethod
    def _min_below_max(cls, v: float | None, info: ValidationInfo) -> float | None:
        top = info.data.get("max_duration")
        if v is not None and top is not None and v > top:
            raise ValueError(f"{v:g} s is longer than max_duration ({top:g} s)")
        return v

    @field_validator("exclude_tags", mode="after")
    @classmethod
    def _disjoint(cls, v: list[str], info: ValidationInfo) -> list[str]:
        both = set(v) & set(info.data.get("include_tags") or ())
        if both:
            raise ValueError(f"tags both included and excluded: {', '.join(sorted(both))}")
        return v

    # -- conveniences -----------------------------------------------------------------------

    @property
    def is_empty(self) -> bool:
        return not self.to_dict()



def parse_filters(value: Any) -> ContentFilters:
    """Content filters from a dict, a JSON text, a model or None (no filters).

    Raises:
        ValidationError: unknown keys, bad values or invalid JSON, naming the field.
    """
    if value is None:
        return ContentFilters()
    if isinstance(value, ContentFilters):
        return value
    if isinstance(value, (str, bytes)):
        try:
            value = json.loads(value or "{}")
        except ValueError as exc:
            raise ValidationError(f"Content filters are not valid JSON: {exc}", "content_filters") from None
    if not isinstance(value, Mapping):
        raise ValidationError(
            f"Content filters must be an object of filter settings, not {type(value).__name__}", "content_filters"
        )
    if any(not isinstance(k, str) for k in value):
        raise ValidationError("Content filter names must be text", "content_filters")
    try:
        return ContentFilters.model_validate(dict(value))
    except pydantic.ValidationError as exc:
        raise pydantic_error(exc, "content filters") from None


# -- matching ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FilterVerdict:
    """One filter's judgement of one video."""

    filter: str
    passed: bool
    reason: str
    active: bool = True  # False when the filter is not set (it passes by definition)
    margin: float = 0.0  # 0..1: how far the video clears the threshold

    def to_dict(self) -> dict[str, Any]:
        return {"filter": self.filter, "passed": self.passed, "active": self.active,
                "margin": round(self.margin, 4), "reason": self.reason}


@dataclass(frozen=True)
class MatchResult:
    """Whether a video passes a channel's filters, with a verdict for every filter and a score."""

    matched: bool
    score: float
    verdicts: tuple[FilterVerdict, ...]

    @property
    def failed(self) -> list[str]:
        """Names of the filters the video fails."""
        return [v.filter for v in self.verdicts if not v.passed]

    @property
    def reasons(self) -> dict[str, str]:
        return {v.filter: v.reason for v in self.verdicts}

    @property
    def summary(self) -> str:
        if self.matched:
            return f"matches every filter (score {self.score:.3f})"
        return "; ".join(v.reason for v in self.verdicts if not v.passed)

    def __bool__(self) -> bool:
        return self.matched

    def to_dict(self) -> dict[str, Any]:
        return {"matched": self.matched, "score": round(self.score, 4), "failed": self.failed,
                "filters": {v.filter: v.to_dict() for v in self.verdicts}}


def _field(video: Any, name: str) -> Any:
    if isinstance(video, dict) or isinstance(video, Mapping):  # the dict check is the fast path
        return video.get(name)
    return getattr(video, name, None)


def _num(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _video_tags(value: Any) -> set[str]:
    if value is None:
        return set()
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            parsed = value.split(",")
        value = parsed if isinstance(parsed, list) else [value]
    out = set()
    for t in value if isinstance(value, Iterable) else ():
        if isinstance(t, str) and _tag(t):
            out.add(_tag(t))
    return out


def _cap(x: float) -> float:
    return max(0.0, min(1.0, x))


def match(video: Any, filters: ContentFilters | Mapping[str, Any] | None) -> MatchResult:
    """Judge ``video`` (a registry dict or any object with the ``videos`` columns) against filters.

    A value the video does not have (no view count, unknown resolution) fails a filter that
    needs it, and the reason says so.
    """
    f = filters if isinstance(filters, ContentFilters) else parse_filters(filters)
    width, height = _num(_field(video, "width")), _num(_field(video, "height"))
    duration = _num(_field(video, "duration"))
    views = _num(_field(video, "source_views"))
    watermarked = bool(_field(video, "watermarked"))
    tags = _video_tags(_field(video, "tags"))
    out: list[FilterVerdict] = []

    # min_resolution: the shorter side, so vertical shorts are judged like horizontal videos
    if f.min_resolution is None:
        out.append(FilterVerdict("min_resolution", True, "no minimum resolution", active=False))
    else:
        need = RESOLUTIONS[f.min_resolution]
        if not width or not height:
            out.append(FilterVerdict("min_resolution", False, f"resolution unknown (needs {f.min_resolution})"))
        else:
            short = min(width, height)
            ok = short >= need
            size = f"{int(width)}x{int(height)}"
            out.append(FilterVerdict(
                "min_resolution", ok,
                f"{size} is {int(short)}p on its shorter side, {'at least' if ok else 'below'} {f.min_resolution}",
                margin=_cap((short - need) / need) if ok else 0.0,
            ))

    if f.min_views is None:
        out.append(FilterVerdict("min_views", True, "no minimum view count", active=False))
    elif views is None:
        out.append(FilterVerdict("min_views", False, f"view count unknown (needs {f.min_views:,})"))
    else:
        ok = views >= f.min_views
        out.append(FilterVerdict(
            "min_views", ok, f"{int(views):,} views, {'at least' if ok else 'below'} {f.min_views:,}",
            # view counts span orders of magnitude: 1000x the minimum earns the full margin
            margin=_cap(math.log10((views + 1) / (f.min_views + 1)) / 3) if ok else 0.0,
        ))

    if f.max_duration is None:
        out.append(FilterVerdict("max_duration", True, "no maximum duration", active=False))
    elif duration is None:
        out.append(FilterVerdict("max_duration", False, f"duration unknown (must be at most {f.max_duration:g} s)"))
    else:
        ok = duration <= f.max_duration
        out.append(FilterVerdict(
            "max_duration", ok,
            f"{duration:g} s is {'within' if ok else 'longer than'} the {f.max_duration:g} s maximum",
            margin=_cap((f.max_duration - duration) / f.max_duration) if ok else 0.0,
        ))

    if f.min_duration is None:
        out.append(FilterVerdict("min_duration", True, "no minimum duration", active=False))
    elif duration is None:
        out.append(FilterVerdict("min_duration", False, f"duration unknown (must be at least {f.min_duration:g} s)"))
    else:
        ok = duration >= f.min_duration
        out.append(FilterVerdict(
            "min_duration", ok,
            f"{duration:g} s is {'at least' if ok else 'shorter than'} the {f.min_duration:g} s minimum",
            margin=_cap((duration - f.min_duration) / max(f.min_duration, 1.0)) if ok else 0.0,
        ))

    if not f.exclude_watermarked:
        out.append(FilterVerdict("exclude_watermarked", True, "watermarks allowed", active=False))
    else:
        out.append(FilterVerdict(
            "exclude_watermarked", not watermarked,
            "watermarked, and the channel excludes watermarked videos" if watermarked else "no watermark",
        ))

    if not f.include_tags:
        out.append(FilterVerdict("include_tags", True, "no required tags", active=False))
    else:
        hit = [t for t in f.include_tags if t in tags]
        out.append(FilterVerdict(
            "include_tags", bool(hit),
            f"has {', '.join('#' + t for t in hit)}" if hit
            else f"has none of {', '.join('#' + t for t in f.include_tags)}",
            margin=len(hit) / len(f.include_tags),
        ))

    if not f.exclude_tags:
        out.append(FilterVerdict("exclude_tags", True, "no excluded tags", active=False))
    else:
        bad = [t for t in f.exclude_tags if t in tags]
        out.append(FilterVerdict(
            "exclude_tags", not bad,
            f"has excluded {', '.join('#' + t for t in bad)}" if bad
            else f"has none of the excluded tags",
        ))

    if f.orientation == "any":
        out.append(FilterVerdict("orientation", True, "any orientation", active=False))
    elif not width or not height:
        out.append(FilterVerdict("orientation", False, f"orientation unknown (needs {f.orientation})"))
    else:
        actual = "vertical" if height > width else "horizontal" if width > height else "square"
        ok = actual == f.orientation
        out.append(FilterVerdict("orientation", ok, f"{actual}, {'as' if ok else 'not'} {f.orientation}"))

    matched = all(v.passed for v in out)
    score = round(sum(v.margin for v in out if v.passed), 6)
    return MatchResult(matched, score, tuple(out))


# -- posting schedule --------------------------------------------------------------------------


class AvailabilityWindow(_Strict):
    """A date range (inclusive, in the channel's zone) in which the channel may post.

    Either end may be left open.
    """

    start: date | None = None
    end: date | None = None

    @field_validator("start", "end", mode="before")
    @classmethod
    def _date(cls, v: Any) -> Any:
        if isinstance(v, datetime):
            return v.date()
        if isinstance(v, str):
            try:
                return date.fromisoformat(v.strip())
            except ValueError:
                raise ValueError(f"{v!r} is not a date like 2026-03-31") from None
        return v

    @model_validator(mode="after")
    def _order(self) -> "AvailabilityWindow":
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"the window starts ({self.start}) after it ends ({self.end})")
        return self

    def contains(self, day: date) -> bool:
        return (self.start is None or self.start <= day) and (self.end is None or day <= self.end)


class PostingSchedule(_SetFieldsMapping):
    """When a channel posts: slots per weekday (local "HH:MM" in the channel's zone),
    the date ranges it may post in, and optionally its daily cap and priority.

    ``{"mon": ["09:00", "18:00"], "daily": ["12:00"]}`` is accepted as shorthand for
    ``{"slots": {...}}``; "daily" adds its times to every weekday.
    """

    slots: dict[str, list[str]] = Field(default_factory=dict)
    availability_windows: list[AvailabilityWindow] = Field(default_factory=list, max_length=500)
    daily_cap: int | None = Field(None, ge=0, le=10_000)
    priority: int | None = Field(None, ge=-1_000_000, le=1_000_000)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        if not isinstance(data.get("slots") or {}, Mapping):
            return data  # the field validator names the problem
        slots = dict(data.get("slots") or {})
        for key in list(data):
            if isinstance(key, str) and (key.strip().lower() in _WEEKDAY_ALIASES or key.strip().lower() == "daily"):
                slots[key] = data.pop(key)
        if "windows" in data and "availability_windows" not in data:
            data["availability_windows"] = data.pop("windows")
        if slots or "slots" in data:
            data["slots"] = slots
        return data

    @field_validator("slots", mode="before")
    @classmethod
    def _slots(cls, v: Any) -> Any:
        if not isinstance(v, Mapping):
            return v
        out: dict[str, list[str]] = {}
        daily: list[Any] = []
        for key, times in v.items():
            if not isinstance(key, str):
                raise ValueError("weekday names must be text")
            day = key.strip().lower()
            if day == "daily":
                daily = times
                continue
            if day not in _WEEKDAY_ALIASES:
                raise ValueError(f"{key!r} is not a weekday (mon, tue, wed, thu, fri, sat, sun or daily)")
            out.setdefault(_WEEKDAY_ALIASES[day], [])
            out[_WEEKDAY_ALIASES[day]] += _times(times, key)
        if daily:
            extra = _times(daily, "daily")
            for day in WEEKDAYS:
                out.setdefault(day, [])
                out[day] += extra
        return {d: sorted(set(out[d])) for d in WEEKDAYS if d in out and out[d]}

    @property
    def has_slots(self) -> bool:
        return any(self.slots.values())


    def available_on(self, day: date) -> bool:
        """Whether a local date lies in an availability window (no windows: always)."""
        return not self.availability_windows or any(w.contains(day) for w in self.availability_windows)

    def last_available_day(self) -> date | None:
        """The last local date any window allows (None: open-ended or no windows)."""
        if not self.availability_windows or any(w.end is None for w in self.availability_windows):
            return None
        return max(w.end for w in self.availability_windows)  # type: ignore[type-var]

    def slot_times(self, day: date, tz: ZoneInfo) -> list[datetime]:
        """The UTC instants of ``day``'s slots in zone ``tz``, in order, each once.

        A local time that does not exist (the spring-forward gap) moves forward by the gap,
        as in RFC 5545; a local time that happens twice (fall back) is the first occurrence.
        Two slots that land on the same instant count once.
        """
        out: set[datetime] = set()
        for text in self.slots.get(WEEKDAYS[day.weekday()], []):
            hh, mm = (int(x) for x in text.split(":"))
            local = datetime.combine(day, time(hh, mm), tzinfo=tz)  # fold=0: the earlier offset
            out.add(local.astimezone(timezone.utc))
        return sorted(out)


def _times(value: Any, key: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise ValueError(f"{key}: slots must be a list of times like \"09:00\"")
    out = []
    for t in value:
        m = _HHMM.match(t.strip()) if isinstance(t, str) else None
        if not m:
            raise ValueError(f"{key}: {t!r} is not a time like \"09:00\" (24-hour HH:MM)")
        out.append(f"{int(m.group(1)):02d}:{m.group(2)}")
    return out


def parse_schedule(value: Any) -> PostingSchedule:
    """A posting schedule from a dict, a JSON text, a model or None (no slots).

    Raises:
        ValidationError: bad weekdays, times, windows or values, naming the field.
    """
    if value is None:
        return PostingSchedule()
    if isinstance(value, PostingSchedule):
        return value
    if isinstance(value, (str, bytes)):
        try:
            value = json.loads(value or "{}")
        except ValueError as exc:
            raise ValidationError(f"Posting schedule is not valid JSON: {exc}", "posting_schedule") from None
    if not isinstance(value, Mapping):
        raise ValidationError(
            f"The posting schedule must be an object (slots, availability_windows...), not {type(value).__name__}",
            "posting_schedule",
        )
    try:
        return PostingSchedule.model_validate(dict(value))
    except pydantic.ValidationError as exc:
        err = pydantic_error(exc, "posting schedule")
        err.field = err.field or "posting_schedule"
        raise err from None


def local_day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants where local ``day`` starts and the next local day starts."""
    start = datetime.combine(day, time(0), tzinfo=tz).astimezone(timezone.utc)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(timezone.utc)
    return start, end


__all__ = [
    "AvailabilityWindow", "ContentFilters", "FILTER_NAMES", "FilterVerdict", "MatchResult", "ORIENTATIONS",
    "PostingSchedule", "RESOLUTIONS", "WEEKDAYS", "local_day_bounds", "match", "parse_filters",
    "parse_schedule", "pydantic_error",
]
