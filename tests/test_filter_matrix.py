"""failure_matrix (the bulk judgement distribution runs use) agrees with match(), pair by pair."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestration.filters import (
    FILTER_NAMES,
    VideoJudge,
    explain_failures,
    failure_matrix,
    match,
    parse_filters,
    video_features,
)
from tests.test_filters import valid_filters, videos

odd_videos = st.fixed_dictionaries({
    "id": st.just("v"),
    "width": st.one_of(st.none(), st.just(0), st.integers(1, 4000), st.floats(allow_nan=True, allow_infinity=True)),
    "height": st.one_of(st.none(), st.just(0), st.integers(1, 4000), st.just("720")),
    "duration": st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.just("12.5"), st.just(True)),
    "source_views": st.one_of(st.none(), st.integers(0, 10**15), st.just("n/a")),
    "watermarked": st.one_of(st.booleans(), st.none(), st.just(1)),
    "tags": st.one_of(st.none(), st.just('["Cats", " #dogs "]'), st.just("funny,news"),
                      st.lists(st.sampled_from(["cats", "CATS", "#news", "", "nsfw"]), max_size=3)),
})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(vids=st.lists(st.one_of(videos, odd_videos), min_size=1, max_size=6),
       filter_sets=st.lists(valid_filters, min_size=1, max_size=5))
def test_property_the_matrix_fails_exactly_the_filters_match_fails(vids, filter_sets):
    parsed = [parse_filters(f) for f in filter_sets]
    feats = [video_features(v) for v in vids]
    matrix = failure_matrix(feats, parsed)
    judges = [VideoJudge(x) for x in feats]
    assert matrix.shape == (len(vids), len(parsed))
    for i, v in enumerate(vids):
        for j, f in enumerate(parsed):
            result = match(v, f)
            mask = int(matrix[i, j])
            assert {FILTER_NAMES[k] for k in range(len(FILTER_NAMES)) if mask >> k & 1} == set(result.failed)
            assert (mask == 0) == result.matched
            assert match(v, f, features=feats[i]) == result
            # the per-video judge a run uses (verdicts shared between channels) says the same
            assert judges[i].match(f) == result
            assert judges[i].set_verdicts(f) == [x for x in result.verdicts if x.active]
            if not result.matched:
                assert explain_failures(feats[i], f, mask) == (result.failed, result.summary)


def test_an_empty_run_is_an_empty_matrix():
    assert failure_matrix([], [parse_filters({})]).shape == (0, 1)
    assert failure_matrix([video_features({"id": "v"})], []).shape == (1, 0)


def test_a_runs_skipped_pairs_are_built_when_read_and_counted_without(db, registry):
    from collections import Counter

    from orchestration import ChannelService, VideoDistributionService

    channels = ChannelService(db)
    for platform in ("YouTube", "TikTok", "Instagram"):
        channels.deactivate_channel(platform, "not used in this test")
    registry.register_videos([
        {"id": "short", "file_path": "/v/short.mp4", "checksum": "a" * 64, "duration": 10.0, "width": 720,
         "height": 1280},
        {"id": "long", "file_path": "/v/long.mp4", "checksum": "b" * 64, "duration": 900.0, "width": 1280,
         "height": 720},
    ])
    short_only = channels.create_channel("Short only", "TikTok", {"max_duration": 60})
    vertical = channels.create_channel("Vertical", "YouTube", {"orientation": "vertical"})
    made = VideoDistributionService(db).auto_distribute_by_filters()
    assert sorted((d.video_id, d.channel_id) for d in made) == sorted([("short", short_only.id),
                                                                      ("short", vertical.id)])
    entries = list(made.skipped)
    assert len(made.skipped) == len(entries) and made.skipped[-1] == entries[-1]
    no_match = {(e["video_id"], e["channel_id"]): e for e in entries if e["code"] == "no_match"}
    assert set(no_match) == {("long", short_only.id), ("long", vertical.id)}
    assert no_match[("long", short_only.id)]["failed"] == ["max_duration"]
    assert "900 s" in no_match[("long", short_only.id)]["reason"]
    assert made.skipped.counts() == Counter(e["code"] for e in entries)
