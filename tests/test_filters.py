"""Content filters and posting schedules: validation, matching at every boundary, scoring, DST."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from database.errors import ValidationError
from orchestration.filters import (
    FILTER_NAMES,
    RESOLUTIONS,
    ContentFilters,
    match,
    parse_filters,
    parse_schedule,
)

BERLIN = ZoneInfo("Europe/Berlin")


def video(**kw):
    base = {"id": "v", "width": 1080, "height": 1920, "duration": 30.0, "source_views": 10_000,
            "watermarked": False, "tags": ["cats", "funny"]}
    base.update(kw)
    return base


# -- validation ------------------------------------------------------------------------------------


def test_valid_filters_are_normalised():
    f = parse_filters({"min_resolution": " 1080P ", "include_tags": ["#Cats", "cats", " Dogs "],
                       "orientation": "Vertical", "max_duration": 60})
    assert f.min_resolution == "1080p"
    assert f.include_tags == ["cats", "dogs"]
    assert f.orientation == "vertical"
    assert f.to_dict() == {"min_resolution": "1080p", "include_tags": ["cats", "dogs"], "orientation": "vertical",
                           "max_duration": 60.0}
    assert f["max_duration"] == 60.0 and f.get("min_views") is None and "min_resolution" in f
    assert parse_filters(None).is_empty and parse_filters("{}").is_empty
    assert parse_filters(json.dumps({"min_views": 5})).min_views == 5


@pytest.mark.parametrize("value,field", [
    ({"min_resolution": "700p"}, "min_resolution"),
    ({"min_resolution": 720}, "min_resolution"),
    ({"min_views": -1}, "min_views"),
    ({"min_views": True}, "min_views"),
    ({"min_views": "1000"}, "min_views"),
    ({"min_views": 10.5}, "min_views"),
    ({"max_duration": 0}, "max_duration"),
    ({"max_duration": float("nan")}, "max_duration"),
    ({"max_duration": "60"}, "max_duration"),
    ({"min_duration": -1}, "min_duration"),
    ({"min_duration": 61, "max_duration": 60}, "min_duration"),
    ({"exclude_watermarked": "yes"}, "exclude_watermarked"),
    ({"include_tags": "cats"}, "include_tags"),
    ({"include_tags": [""]}, "include_tags"),
    ({"include_tags": [3]}, "include_tags"),
    ({"include_tags": ["cats"], "exclude_tags": ["#CATS"]}, "exclude_tags"),
    ({"orientation": "diagonal"}, "orientation"),
    ({"min_resolutoin": "720p"}, "min_resolutoin"),
    ("{not json", "content_filters"),
    ([1, 2], "content_filters"),
    (42, "content_filters"),
])
def test_invalid_filters_name_the_field(value, field):
    with pytest.raises(ValidationError) as err:
        parse_filters(value)
    assert err.value.field == field
    assert field in str(err.value) or "Content filter" in str(err.value)


# -- matching: every filter at its boundary ------------------------------------------------------------


@pytest.mark.parametrize("filters,vid,ok", [
    # resolution is the shorter side: vertical shorts qualify like horizontal videos
    ({"min_resolution": "720p"}, video(width=720, height=1280), True),
    ({"min_resolution": "720p"}, video(width=1280, height=720), True),
    ({"min_resolution": "720p"}, video(width=718, height=1280), False),
    ({"min_resolution": "720p"}, video(width=1280, height=718), False),
    ({"min_resolution": "1080p"}, video(width=1080, height=1920), True),
    ({"min_resolution": "1440p"}, video(width=1080, height=1920), False),
    ({"min_resolution": "2160p"}, video(width=3840, height=2160), True),
    ({"min_resolution": "480p"}, video(width=None, height=None), False),
    ({"min_views": 1000}, video(source_views=1000), True),
    ({"min_views": 1000}, video(source_views=999), False),
    ({"min_views": 0}, video(source_views=0), True),
    ({"min_views": 1}, video(source_views=None), False),
    ({"max_duration": 60}, video(duration=60.0), True),
    ({"max_duration": 60}, video(duration=60.01), False),
    ({"max_duration": 60}, video(duration=None), False),
    ({"min_duration": 5}, video(duration=5.0), True),
    ({"min_duration": 5}, video(duration=4.99), False),
    ({"exclude_watermarked": True}, video(watermarked=False), True),
    ({"exclude_watermarked": True}, video(watermarked=True), False),
    ({"exclude_watermarked": False}, video(watermarked=True), True),
    ({"include_tags": ["dogs", "cats"]}, video(tags=["Cats"]), True),
    ({"include_tags": ["dogs"]}, video(tags=["cats"]), False),
    ({"include_tags": ["dogs"]}, video(tags=[]), False),
    ({"exclude_tags": ["nsfw"]}, video(tags=["cats"]), True),
    ({"exclude_tags": ["nsfw"]}, video(tags=["#NSFW"]), False),
    ({"orientation": "vertical"}, video(width=1080, height=1920), True),
    ({"orientation": "vertical"}, video(width=1920, height=1080), False),
    ({"orientation": "horizontal"}, video(width=1920, height=1080), True),
    ({"orientation": "horizontal"}, video(width=1080, height=1080), False),
    ({"orientation": "vertical"}, video(width=1080, height=1080), False),
    ({"orientation": "any"}, video(width=1080, height=1080), True),
])
def test_each_filter_at_its_boundary(filters, vid, ok):
    result = match(vid, filters)
    assert result.matched is ok
    (name,) = filters
    verdict = next(v for v in result.verdicts if v.filter == name)
    assert verdict.passed is ok and verdict.reason
    if not ok:
        assert result.failed == [name]


def test_every_filter_has_a_verdict_and_a_reason():
    result = match(video(), {"min_resolution": "720p", "exclude_tags": ["nsfw"]})
    assert [v.filter for v in result.verdicts] == list(FILTER_NAMES)
    assert all(v.reason for v in result.verdicts)
    active = {v.filter for v in result.verdicts if v.active}
    assert active == {"min_resolution", "exclude_tags"}
    d = result.to_dict()
    assert d["matched"] and set(d["filters"]) == set(FILTER_NAMES)


def test_failure_names_every_failing_filter():
    result = match(video(width=640, height=360, duration=200, watermarked=True),
                   {"min_resolution": "720p", "max_duration": 60, "exclude_watermarked": True, "min_views": 5})
    assert not result
    assert result.failed == ["min_resolution", "max_duration", "exclude_watermarked"]
    assert "360p" in result.summary and "200 s" in result.summary


def test_score_measures_how_far_above_each_threshold():
    filters = {"min_resolution": "720p", "min_views": 1000, "max_duration": 60}
    at_edge = match(video(width=720, height=1280, source_views=1000, duration=60), filters)
    better = match(video(width=1080, height=1920, source_views=1500, duration=30), filters)
    best = match(video(width=1440, height=2560, source_views=50_000, duration=6), filters)
    assert at_edge.matched and better.matched and best.matched
    assert at_edge.score == 0
    assert 0 < better.score < best.score
    # each term is capped at 1: a single viral video does not drown every other filter
    assert best.score <= 3
    assert match(video(), {}).score == 0 and match(video(), {}).matched


def test_objects_and_json_tags_are_accepted():
    class V:
        width, height, duration, source_views, watermarked = 1080, 1920, 10.0, 5, False
        tags = '["cats"]'

    assert match(V(), {"include_tags": ["cats"], "min_views": 5}).matched


# -- posting schedules -----------------------------------------------------------------------------------


def test_schedule_shorthand_daily_and_windows():
    s = parse_schedule({"Monday": ["9:00", "18:00"], "daily": "12:00", "windows": [{"start": "2026-03-01"}],
                        "daily_cap": 2, "priority": 3})
    assert s.slots["mon"] == ["09:00", "12:00", "18:00"]
    assert s.slots["sun"] == ["12:00"]
    assert s.daily_cap == 2 and s.priority == 3
    assert s.available_on(date(2026, 3, 1)) and not s.available_on(date(2026, 2, 28))
    assert s.last_available_day() is None
    assert parse_schedule(None).has_slots is False


@pytest.mark.parametrize("value,field", [
    ({"mon": ["25:00"]}, "slots"),
    ({"mon": ["9am"]}, "slots"),
    ({"mon": "x"}, "slots"),
    ({"funday": ["10:00"]}, "funday"),
    ({"slots": {"noday": ["10:00"]}}, "slots"),
    ({"slots": 5}, "slots"),
    ({"availability_windows": [{"start": "2026-04-01", "end": "2026-03-01"}]}, "availability_windows"),
    ({"availability_windows": [{"start": "soon"}]}, "availability_windows"),
    ({"daily_cap": -1}, "daily_cap"),
    ({"priority": "high"}, "priority"),
    ("[]", "posting_schedule"),
])
def test_invalid_schedules_name_the_field(value, field):
    with pytest.raises(ValidationError) as err:
        parse_schedule(value)
    assert err.value.field == field


def test_slots_across_daylight_saving_changes():
    # Berlin springs forward on 2026-03-29 at 02:00 -> 03:00: 02:30 does not exist and moves
    # forward by the gap (RFC 5545), landing on the same instant as a 03:30 slot: it runs once.
    spring = parse_schedule({"sun": ["02:30", "03:30", "10:00"]})
    assert spring.slot_times(date(2026, 3, 29), BERLIN) == [
        datetime(2026, 3, 29, 1, 30, tzinfo=timezone.utc),  # 03:30 CEST
        datetime(2026, 3, 29, 8, 0, tzinfo=timezone.utc),  # 10:00 CEST: same local time as ever
    ]
    # ... and falls back on 2026-10-25 at 03:00 -> 02:00: 02:30 happens twice and runs once, the first time.
    autumn = parse_schedule({"sun": ["02:30", "10:00"]})
    assert autumn.slot_times(date(2026, 10, 25), BERLIN) == [
        datetime(2026, 10, 25, 0, 30, tzinfo=timezone.utc),  # 02:30 CEST
        datetime(2026, 10, 25, 9, 0, tzinfo=timezone.utc),  # 10:00 CET
    ]
    assert autumn.slot_times(date(2026, 10, 26), BERLIN) == []  # a Monday: no slots


# -- properties -------------------------------------------------------------------------------------------

_tags = st.lists(st.sampled_from(["cats", "dogs", "funny", "nsfw", "news"]), max_size=3, unique=True)

valid_filters = st.fixed_dictionaries({}, optional={
    "min_resolution": st.sampled_from(sorted(RESOLUTIONS)),
    "min_views": st.integers(0, 10**7),
    "max_duration": st.floats(0.5, 600),
    "min_duration": st.floats(0, 30),
    "exclude_watermarked": st.booleans(),
    "include_tags": _tags,
    "exclude_tags": _tags,
    "orientation": st.sampled_from(["vertical", "horizontal", "any"]),
}).filter(lambda f: not (set(f.get("include_tags", ())) & set(f.get("exclude_tags", ())))).filter(
    lambda f: f.get("min_duration", 0) <= f.get("max_duration", 1e9))

videos = st.fixed_dictionaries({
    "id": st.just("v"),
    "width": st.one_of(st.none(), st.integers(1, 4000)),
    "height": st.one_of(st.none(), st.integers(1, 4000)),
    "duration": st.one_of(st.none(), st.floats(0, 1000)),
    "source_views": st.one_of(st.none(), st.integers(0, 10**8)),
    "watermarked": st.booleans(),
    "tags": _tags,
})


def _oracle(v, f) -> set[str]:
    """The filters a video fails, computed independently of match()."""
    failed = set()
    w, h = v["width"], v["height"]
    if "min_resolution" in f and (not w or not h or min(w, h) < RESOLUTIONS[f["min_resolution"]]):
        failed.add("min_resolution")
    if "min_views" in f and (v["source_views"] is None or v["source_views"] < f["min_views"]):
        failed.add("min_views")
    if "max_duration" in f and (v["duration"] is None or v["duration"] > f["max_duration"]):
        failed.add("max_duration")
    if "min_duration" in f and (v["duration"] is None or v["duration"] < f["min_duration"]):
        failed.add("min_duration")
    if f.get("exclude_watermarked") and v["watermarked"]:
        failed.add("exclude_watermarked")
    if f.get("include_tags") and not set(f["include_tags"]) & set(v["tags"]):
        failed.add("include_tags")
    if set(f.get("exclude_tags", ())) & set(v["tags"]):
        failed.add("exclude_tags")
    o = f.get("orientation", "any")
    if o != "any":
        actual = None if not w or not h else "vertical" if h > w else "horizontal" if w > h else "square"
        if actual != o:
            failed.add("orientation")
    return failed


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(v=videos, f=valid_filters)
def test_property_match_gives_a_reason_for_every_filter_or_names_the_failures(v, f):
    result = match(v, f)
    assert [x.filter for x in result.verdicts] == list(FILTER_NAMES)
    assert all(isinstance(x.reason, str) and x.reason for x in result.verdicts)
    expected = _oracle(v, f)
    if result.matched:
        assert not expected and all(x.passed for x in result.verdicts)
        assert result.score >= 0
    else:
        assert set(result.failed) == expected and result.failed
        assert set(result.failed) <= set(FILTER_NAMES)
        assert all(result.reasons[name] in result.summary for name in result.failed)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
_keys = st.sampled_from(list(FILTER_NAMES) + ["resolution", "tags", "", "min_views "])


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.dictionaries(_keys, _json, max_size=5), _json, st.text(max_size=30),
                 st.dictionaries(st.integers(), st.integers(), max_size=2)))
def test_property_invalid_filter_input_only_raises_validation_error(value):
    try:
        f = parse_filters(value)
    except ValidationError as exc:
        assert str(exc)
        assert exc.field is None or isinstance(exc.field, str)
    else:
        assert isinstance(f, ContentFilters)
        assert match(video(), f).verdicts  # anything accepted can be matched


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.dictionaries(st.sampled_from(["mon", "daily", "slots", "windows", "availability_windows",
                                                  "daily_cap", "priority", "xyz"]), _json, max_size=4),
                 _json, st.text(max_size=20)))
def test_property_invalid_schedule_input_only_raises_validation_error(value):
    try:
        parse_schedule(value)
    except ValidationError as exc:
        assert str(exc)
