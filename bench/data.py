"""Synthetic registry content shared by the benchmarks (deterministic: the same every run)."""

from __future__ import annotations

import random
from typing import Any

TOPICS = [
    "cats", "dogs", "food", "travel", "sport", "dance", "howto", "funny", "nature", "drone", "music", "art",
    "cars", "gaming", "fashion", "fitness", "tech", "science", "history", "kids", "diy", "garden", "beauty",
    "comedy", "news", "movies", "books", "anime", "football", "basketball", "skate", "surf", "ski", "yoga",
    "cooking", "baking", "coffee", "wine", "pets", "birds", "fish", "space", "cities", "architecture",
    "photography", "magic", "pranks", "asmr", "motivation", "finance",
]

SIZES = [(1080, 1920), (720, 1280), (1920, 1080), (1280, 720), (480, 854), (2160, 3840), (360, 640), (1080, 1080)]


def video_rows(n: int, *, seed: int = 7, prefix: str = "clip", files: list[tuple[str, int, int]] | None = None
               ) -> list[dict[str, Any]]:
    """``n`` already-probed videos as ``register_videos`` takes them.

    Args:
        files: ``(path, size, mtime_ns)`` of real files to point the rows at, in turn (the
            rows then pass the registry's file check); None = made-up paths.
    """
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        w, h = SIZES[rng.randrange(len(SIZES))]
        row = {
            "file_path": f"/media/{prefix}/{prefix}_{i:06d}.mp4",
            "title": f"{prefix.title()} {i}: {rng.choice(TOPICS)} and {rng.choice(TOPICS)}",
            "duration": round(rng.uniform(3, 180), 2),
            "checksum": f"{seed:08x}{i:056x}",
            "width": w,
            "height": h,
            "fps": rng.choice((24.0, 25.0, 30.0, 60.0)),
            "codec": "h264",
            "size_bytes": rng.randrange(200_000, 80_000_000),
            "source_views": rng.choice((None, rng.randrange(0, 5_000_000))),
            "watermarked": rng.random() < 0.15,
            "tags": rng.sample(TOPICS, rng.randint(1, 3)),
            "created_at": f"2026-0{1 + i % 9}-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00.{i % 1000000:06d}+00:00",
        }
        if files:
            path, size, mtime_ns = files[i % len(files)]
            row.update(file_path=path, size_bytes=size, file_mtime_ns=mtime_ns)
        rows.append(row)
    return rows


def channel_filters(n: int, *, seed: int = 11) -> list[dict[str, Any]]:
    """``n`` channels' content filters, the way operators set them: a niche (one to three
    topic tags) and a few format rules each."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        f: dict[str, Any] = {"include_tags": rng.sample(TOPICS, rng.randint(1, 3))}
        if rng.random() < 0.6:
            f["orientation"] = "vertical"
        if rng.random() < 0.5:
            f["max_duration"] = rng.choice((60, 90, 180))
        if rng.random() < 0.3:
            f["min_duration"] = rng.choice((5, 10, 15))
        if rng.random() < 0.4:
            f["min_resolution"] = rng.choice(("480p", "720p", "1080p"))
        if rng.random() < 0.3:
            f["min_views"] = rng.choice((1_000, 10_000, 100_000))
        if rng.random() < 0.5:
            f["exclude_watermarked"] = True
        if rng.random() < 0.2:
            f["exclude_tags"] = [rng.choice([t for t in TOPICS if t not in f["include_tags"]])]
        out.append(f)
    return out
