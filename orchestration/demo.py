"""``python app.py --demo``: the whole product on the local sandbox platform, no accounts needed.

The first run fills a demo data directory with generated videos (real files, made with PyAV)
and a handful of channels on each platform; every run starts the sandbox on 127.0.0.1,
points every channel's ``base_url`` at it (the port changes between runs) and signs each
channel's browser profile in to the sandbox. A newcomer then clicks ▶ on a video and watches
it publish.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from pathlib import Path
from typing import Callable

from database import Database, VideoRegistry
from database.paths import DataPaths

log = logging.getLogger("asfs.demo")

DEFAULT_DIR = Path(tempfile.gettempdir()) / "asfs-demo"
MARKER = ".asfs-demo"

# (name, platform, content filters, posting slots, time zone)
DEMO_CHANNELS = [
    ("Cats Daily", "YouTube", {"orientation": "vertical", "max_duration": 60}, {"daily": ["09:00", "18:00"]},
     "Europe/Paris"),
    ("Travel Shorts", "YouTube", {"min_duration": 3}, {"daily": ["12:00"]}, "America/New_York"),
    ("Quick Recipes", "TikTok", {"max_duration": 30}, {"daily": ["08:00", "20:00"]}, "Europe/Berlin"),
    ("Street Dance", "TikTok", {"include_tags": ["dance"]}, {"daily": ["19:00"]}, "Asia/Tokyo"),
    ("Daily Reels", "Instagram", {"orientation": "vertical"}, {"daily": ["10:00"]}, "Europe/London"),
    ("Studio Reels", "Instagram", {"min_resolution": "480p"}, {"daily": ["17:30"]}, "Australia/Sydney"),
]

TITLES = [
    "Sunset timelapse over the harbour", "Cat vs. cucumber", "How to fold a fitted sheet", "Street food in Hanoi",
    "Morning run 5k", "Drone shot: cliffs", "Latte art fail", "Three-ingredient pancakes", "Skateboard trick tip",
    "Rainy Tokyo at night", "Dog learns to skate", "One-minute workout", "Origami crane", "Beach cleanup",
    "Breakdance battle", "Mountain hut breakfast", "Tiny kitten yawns", "Lego speed build", "Salsa basics",
    "Bread from scratch", "City cycling POV", "Snow day in Oslo", "Coffee brewing guide", "Magic card trick",
]
TAGS = [["travel"], ["cats", "funny"], ["howto"], ["food", "travel"], ["sport"], ["travel", "drone"],
        ["food", "funny"], ["food"], ["sport"], ["travel"], ["dogs", "funny"], ["sport"], ["howto"],
        ["nature"], ["dance"], ["food", "travel"], ["cats"], ["howto"], ["dance"], ["food"], ["sport"],
        ["travel"], ["food", "howto"], ["funny"]]


def prepare(paths: DataPaths, *, count: int = 24, progress: Callable[[str], None] | None = None) -> bool:
    """Fill an empty demo data directory (videos, channels); False when it was prepared before."""
    from database.synth import make_video
    from pipeline import ingest

    from .channels import ChannelService

    marker = paths.root / MARKER
    if marker.exists():
        return False
    say = progress or (lambda text: None)
    media = paths.root / "media"
    with Database.open(paths.registry) as db:
        registry = VideoRegistry(db)
        for i in range(count):
            vertical = i % 4 != 3
            w, h = (360, 640) if vertical else (640, 360)
            seconds = 2 + (i * 7) % 9
            path = media / f"clip_{i:02}.mp4"
            if not path.exists():
                say(f"making demo video {i + 1}/{count}")
                make_video(path, width=w, height=h, seconds=seconds, fps=12, color_seed=i + 1)
            report = ingest([path], registry, title=TITLES[i % len(TITLES)], tags=TAGS[i % len(TAGS)],
                            watermarked=i % 7 == 6)
            if not report.ok:
                raise RuntimeError(f"demo video {path} did not register: {report.items[0].reason}")
        channels = ChannelService(db)
        for name, platform, filters, slots, zone in DEMO_CHANNELS:
            if channels.find_channel(name) is None:
                channels.create_channel(name, platform, content_filters=filters, posting_schedule=slots,
                                        timezone=zone, account=name.lower().replace(" ", "-"), actor="demo")
        for platform in ("YouTube", "TikTok", "Instagram"):
            channels.update_channel(platform, account=f"demo-{platform.lower()}", actor="demo")
    marker.write_text("This data directory was made by `python app.py --demo`.\n")
    return True


def point_channels_at(paths: DataPaths, sandbox) -> list[dict]:
    """Set every channel's ``base_url`` to the running sandbox; returns the channel rows."""
    with Database.open(paths.registry) as db:
        with db.transaction() as tx:
            for row in tx.execute("SELECT id, platform FROM channels").fetchall():
                tx.execute("UPDATE channels SET base_url = ? WHERE id = ?",
                           (sandbox.base_url(row["platform"]), row["id"]))
        return [dict(r) for r in db.query("SELECT * FROM channels ORDER BY platform, name")]


def sign_in_profiles(paths: DataPaths, sandbox, channels: list[dict]) -> int:
    """Give each channel account's browser profile a sandbox session (one browser at a time)."""
    from uploaders.browser import BrowserSession, profile_dir

    done = set()
    for ch in channels:
        profile = profile_dir(paths, ch)
        if profile in done:
            continue
        account = ch.get("account") or ch["id"]
        with BrowserSession(profile, headless=True) as session:
            session.context.add_cookies([sandbox.cookie(ch["platform"].lower(), account)])
        done.add(profile)
    return len(done)


class Demo:
    """The sandbox and the demo registry, for the length of one app run."""

    def __init__(self, data_dir: str | Path | None = None, *, processing_seconds: float = 2.0, videos: int = 24):
        self.paths = DataPaths(Path(data_dir) if data_dir else DEFAULT_DIR)
        self.videos = videos
        self.processing_seconds = processing_seconds
        self.sandbox = None
        self.signed_in = threading.Event()
        self.error: str | None = None

    def start(self, progress: Callable[[str], None] | None = None) -> "Demo":
        """Prepare the registry, start the sandbox, point the channels at it; sign in in the background."""
        from uploaders.sandbox import Sandbox

        self.paths.root.mkdir(parents=True, exist_ok=True)
        prepare(self.paths, count=self.videos, progress=progress)
        self.sandbox = Sandbox(self.paths.root / "sandbox-posts", processing_seconds=self.processing_seconds).start()
        channels = point_channels_at(self.paths, self.sandbox)

        def sign_in() -> None:
            try:
                n = sign_in_profiles(self.paths, self.sandbox, channels)
                log.info("demo: %d browser profiles signed in to the sandbox at %s", n, self.sandbox.url)
            except Exception as exc:  # noqa: BLE001 - uploads will then report login_required, visibly
                self.error = str(exc)
                log.exception("demo: could not sign the profiles in")
            finally:
                self.signed_in.set()

        threading.Thread(target=sign_in, name="asfs-demo-signin", daemon=True).start()
        return self

    def stop(self) -> None:
        self.signed_in.wait(120)
        if self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox = None


__all__ = ["DEFAULT_DIR", "DEMO_CHANNELS", "Demo", "point_channels_at", "prepare", "sign_in_profiles"]
