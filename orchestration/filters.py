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
from typing import Any, Iterable, Literal, Mapping, NamedTuple, Sequence
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


class FilterVerdict(NamedTuple):
    """One filter's judgement of one video (a named tuple: a run makes hundreds of thousands)."""

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


class VideoFeatures(NamedTuple):
    """What the filters look at in a video, read once (a run judges each video against every channel)."""

    width: float | None
    height: float | None
    duration: float | None
    views: float | None
    watermarked: bool
    tags: frozenset[str]


def video_features(video: Any) -> VideoFeatures:
    """The filter-relevant values of a registry dict (or any object with the ``videos`` columns)."""
    return VideoFeatures(_num(_field(video, "width")), _num(_field(video, "height")), _num(_field(video, "duration")),
                         _num(_field(video, "source_views")), bool(_field(video, "watermarked")),
                         frozenset(_video_tags(_field(video, "tags"))))


# One judge per filter, in FILTER_NAMES order: each gives that filter's verdict on a video.
# A filter the channel does not set passes by definition: one shared verdict each.
_UNSET_MIN_RESOLUTION = FilterVerdict("min_resolution", True, "no minimum resolution", active=False)
_UNSET_MIN_VIEWS = FilterVerdict("min_views", True, "no minimum view count", active=False)
_UNSET_MAX_DURATION = FilterVerdict("max_duration", True, "no maximum duration", active=False)
_UNSET_MIN_DURATION = FilterVerdict("min_duration", True, "no minimum duration", active=False)
_UNSET_EXCLUDE_WATERMARKED = FilterVerdict("exclude_watermarked", True, "watermarks allowed", active=False)
_UNSET_INCLUDE_TAGS = FilterVerdict("include_tags", True, "no required tags", active=False)
_UNSET_EXCLUDE_TAGS = FilterVerdict("exclude_tags", True, "no excluded tags", active=False)
_UNSET_ORIENTATION = FilterVerdict("orientation", True, "any orientation", active=False)

def _judge_min_resolution(f: ContentFilters, v: VideoFeatures) -> FilterVerdict:
    # the shorter side, so vertical shorts are judged like horizontal videos
    if f.min_resolution is None:
        return _UNSET_MIN_RESOLUTION
    need = RESOLUTIONS[f.min_resolution]
    width, height = v.width, v.height
    if not width or not height:
        return FilterVerdict("min_resolution", False, f"resolution unknown (needs {f.min_resolution})")
    short = min(width, height)
    ok = short >= need
    size = f"{int(width)}x{int(height)}"
    return FilterVerdict(
        "min_resolution", ok,
        f"{size} is {int(short)}p on its shorter side, {'at least' if ok else 'below'} {f.min_resolution}",
        margin=_cap((short - need) / need) if ok else 0.0,
    )


def _judge_min_views(f: ContentFilters, v: VideoFeatures) -> FilterVerdict:
    views = v.views
    if f.min_views is None:
        return _UNSET_MIN_VIEWS
    if views is None:
        return FilterVerdict("min_views", False, f"view count unknown (needs {f.min_views:,})")
    ok = views >= f.min_views
    return FilterVerdict(
        "min_views", ok, f"{int(views):,} views, {'at least' if ok else 'below'} {f.min_views:,}",
        # view counts span orders of magnitude: 1000x the minimum earns the full margin
        margin=_cap(math.log10((views + 1) / (f.min_views + 1)) / 3) if ok else 0.0,
    )


def _judge_max_duration(f: ContentFilters, v: VideoFeatures) -> FilterVerdict:
    duration = v.duration
    if f.max_duration is None:
        return _UNSET_MAX_DURATION
    if duration is None:
        return FilterVerdict("max_duration", False, f"duration unknown (must be at most {f.max_duration:g} s)")
    ok = duration <= f.max_duration
    return FilterVerdict(
        "max_duration", ok,
        f"{duration:g} s is {'within' if ok else 'longer than'} the {f.max_duration:g} s maximum",
        margin=_cap((f.max_duration - duration) / f.max_duration) if ok else 0.0,
    )


def _judge_min_duration(f: ContentFilters, v: VideoFeatures) -> FilterVerdict:
    duration = v.duration
    if f.min_duration is None:
        return _UNSET_MIN_DURATION
    if duration is None:
        return FilterVerdict("min_duration", False, f"duration unknown (must be at least {f.min_duration:g} s)")
    ok = duration >= f.min_duration
    return FilterVerdict(
        "min_duration", ok,
        f"{duration:g} s is {'at least' if ok else 'shorter than'} the {f.min_duration:g} s minimum",
        margin=_cap((duration - f.min_duration) / max(f.min_duration, 1.0)) if ok else 0.0,
    )


def _judge_exclude_watermarked(f: ContentFilters, v: VideoFeatures) -> FilterVerdict:
    if not f.exclude_watermarked:
        return _UNSET_EXCLUDE_WATERMARKED
    return FilterVerdict(
        "exclude_watermarked", not v.watermarked,
        "watermarked, and the channel excludes watermarked videos" if v.watermarked else "no watermark",
    )


def _judge_include_tags(f: ContentFilters, v: VideoFeatures) -> FilterVerdict:
    if not f.include_tags:
        return _UNSET_INCLUDE_TAGS
    hit = [t for t in f.include_tags if t in v.tags]
    return FilterVerdict(
        "include_tags", bool(hit),
        f"has {', '.join('#' + t for t in hit)}" if hit
        else f"has none of {', '.join('#' + t for t in f.include_tags)}",
        margin=len(hit) / len(f.include_tags),
    )


def _judge_exclude_tags(f: ContentFilters, v: VideoFeatures) -> FilterVerdict:
    if not f.exclude_tags:
        return _UNSET_EXCLUDE_TAGS
    bad = [t for t in f.exclude_tags if t in v.tags]
    return FilterVerdict(
        "exclude_tags", not bad,
        f"has excluded {', '.join('#' + t for t in bad)}" if bad
        else "has none of the excluded tags",
    )


def _judge_orientation(f: ContentFilters, v: VideoFeatures) -> FilterVerdict:
    width, height = v.width, v.height
    if f.orientation == "any":
        return _UNSET_ORIENTATION
    if not width or not height:
        return FilterVerdict("orientation", False, f"orientation unknown (needs {f.orientation})")
    actual = "vertical" if height > width else "horizontal" if width > height else "square"
    ok = actual == f.orientation
    return FilterVerdict("orientation", ok, f"{actual}, {'as' if ok else 'not'} {f.orientation}")


_UNSET_VERDICTS = (_UNSET_MIN_RESOLUTION, _UNSET_MIN_VIEWS, _UNSET_MAX_DURATION, _UNSET_MIN_DURATION,
                   _UNSET_EXCLUDE_WATERMARKED, _UNSET_INCLUDE_TAGS, _UNSET_EXCLUDE_TAGS, _UNSET_ORIENTATION)
_JUDGES = (_judge_min_resolution, _judge_min_views, _judge_max_duration, _judge_min_duration,
           _judge_exclude_watermarked, _judge_include_tags, _judge_exclude_tags, _judge_orientation)


def score_of(verdicts: Sequence[FilterVerdict]) -> float:
    """The match score: the passed filters' margins, summed."""
    return round(sum(verdict.margin for verdict in verdicts if verdict.passed), 6)


def match(video: Any, filters: ContentFilters | Mapping[str, Any] | None, *,
          features: VideoFeatures | None = None) -> MatchResult:
    """Judge ``video`` (a registry dict or any object with the ``videos`` columns) against filters.

    A value the video does not have (no view count, unknown resolution) fails a filter that
    needs it, and the reason says so.

    Args:
        features: ``video_features(video)``, when the caller judges one video many times.
    """
    f = filters if isinstance(filters, ContentFilters) else parse_filters(filters)
    v = features if features is not None else video_features(video)
    out = tuple(judge(f, v) for judge in _JUDGES)
    return MatchResult(all(verdict.passed for verdict in out), score_of(out), out)


# What each judge (in _JUDGES order) reads of the filters: channels with the same setting get the
# same verdict on a video.
_SETTINGS = (
    lambda f: f.min_resolution, lambda f: f.min_views, lambda f: f.max_duration, lambda f: f.min_duration,
    lambda f: f.exclude_watermarked, lambda f: tuple(f.include_tags), lambda f: tuple(f.exclude_tags),
    lambda f: f.orientation,
)


# Each setting's value when the channel does not set that filter.
_UNSET = (None, None, None, None, False, (), (), "any")


def filter_settings(filters: ContentFilters) -> tuple[tuple[int, Any], ...]:
    """The filters the channel sets, as ``(filter number, setting)`` pairs in ``FILTER_NAMES`` order
    (hashable: what :class:`VideoJudge` keys on). A filter not set passes by definition."""
    return tuple((i, key) for i, key in enumerate(setting(filters) for setting in _SETTINGS) if key != _UNSET[i])


class VideoJudge:
    """:func:`match` for one video against many channels' filters.

    A verdict depends only on the video and that one filter's setting, and channels share
    settings (many are "vertical", many allow at most 60 s), so each distinct setting is judged
    once per video and its verdict shared (they are immutable).
    """

    __slots__ = ("features", "_memos")

    def __init__(self, features: VideoFeatures):
        self.features = features
        self._memos: tuple[dict[Any, FilterVerdict], ...] = tuple({} for _ in _JUDGES)

    def set_verdicts(self, filters: ContentFilters, settings: tuple | None = None) -> list[FilterVerdict]:
        """The verdicts of the filters the channel sets, in ``FILTER_NAMES`` order (the others pass
        and add nothing to the score); ``settings`` is ``filter_settings(filters)``."""
        v, memos = self.features, self._memos
        out = []
        for i, key in settings if settings is not None else filter_settings(filters):
            memo = memos[i]
            verdict = memo.get(key)
            if verdict is None:
                verdict = memo[key] = _JUDGES[i](filters, v)
            out.append(verdict)
        return out

    def match(self, filters: ContentFilters, settings: tuple | None = None) -> MatchResult:
        """What ``match(video, filters)`` gives."""
        judged = {v.filter: v for v in self.set_verdicts(filters, settings)}
        out = tuple(judged.get(name) or unset for name, unset in zip(FILTER_NAMES, _UNSET_VERDICTS))
        return MatchResult(all(verdict.passed for verdict in out), score_of(out), out)


def explain_failures(features: VideoFeatures, filters: ContentFilters, mask: int) -> tuple[list[str], str]:
    """The failed filters and the reason, as ``match()``'s ``failed`` and ``summary`` give them for a
    video that does not match; ``mask`` is its row of :func:`failure_matrix` (only those filters
    are judged, so this is cheap)."""
    verdicts = [_JUDGES[i](filters, features) for i in range(len(_JUDGES)) if mask >> i & 1]
    return [v.filter for v in verdicts], "; ".join(v.reason for v in verdicts)


def failure_matrix(features: Sequence[VideoFeatures], filter_sets: Sequence[ContentFilters]):
    """Which filters each video fails on each channel, for many pairs at once.

    Returns a numpy ``uint16`` array of shape ``(len(features), len(filter_sets))``: bit ``i`` is
    set when the video fails ``FILTER_NAMES[i]``; 0 means the video matches. The same judgement
    as :func:`match` (which gives the verdicts, reasons and score of a pair), done with numpy so
    a run over thousands of videos and a hundred channels takes milliseconds.
    """
    import numpy as np

    n = len(features)
    out = np.zeros((n, len(filter_sets)), dtype=np.uint16)
    if not n or not filter_sets:
        return out

    def column(values) -> np.ndarray:  # None (unknown) -> NaN
        return np.array([np.nan if x is None else x for x in values], dtype=np.float64)

    width = column(v.width for v in features)
    height = column(v.height for v in features)
    duration, views = column(v.duration for v in features), column(v.views for v in features)
    watermarked = np.array([v.watermarked for v in features], dtype=bool)
    # `not width or not height` in match(): unknown (None) or zero
    size_known = ~(np.isnan(width) | np.isnan(height) | (width == 0) | (height == 0))
    short = np.fmin(width, height)
    no_duration, no_views = np.isnan(duration), np.isnan(views)
    tag_rows: dict[str, list[int]] = {}
    for i, v in enumerate(features):
        for t in v.tags:
            tag_rows.setdefault(t, []).append(i)

    def having(tags: Iterable[str]) -> np.ndarray:
        hit = np.zeros(n, dtype=bool)
        for t in tags:
            rows = tag_rows.get(t)
            if rows:
                hit[rows] = True
        return hit

    bit = {name: np.uint16(1 << i) for i, name in enumerate(FILTER_NAMES)}
    with np.errstate(invalid="ignore"):  # NaN compares False; unknown values are handled explicitly
        for j, f in enumerate(filter_sets):
            fails = out[:, j]
            if f.min_resolution is not None:
                fails[~size_known | (short < RESOLUTIONS[f.min_resolution])] |= bit["min_resolution"]
            if f.min_views is not None:
                fails[no_views | (views < f.min_views)] |= bit["min_views"]
            if f.max_duration is not None:
                fails[no_duration | (duration > f.max_duration)] |= bit["max_duration"]
            if f.min_duration is not None:
                fails[no_duration | (duration < f.min_duration)] |= bit["min_duration"]
            if f.exclude_watermarked:
                fails[watermarked] |= bit["exclude_watermarked"]
            if f.include_tags:
                fails[~having(f.include_tags)] |= bit["include_tags"]
            if f.exclude_tags:
                fails[having(f.exclude_tags)] |= bit["exclude_tags"]
            if f.orientation != "any":
                right = height > width if f.orientation == "vertical" else width > height
                fails[~size_known | ~right] |= bit["orientation"]
    return out


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
    "PostingSchedule", "RESOLUTIONS", "VideoFeatures", "WEEKDAYS", "explain_failures", "failure_matrix",
    "local_day_bounds", "match", "parse_filters", "parse_schedule", "pydantic_error", "video_features",
]
