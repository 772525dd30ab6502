"""ASFS pipeline: ingest video files into the registry (stage 9) and upload them (stage 10).

    python pipeline.py my_video.mp4 some/folder ...
    python pipeline.py my_video.mp4 --upload TikTok

    from pipeline import run_upload_stage
    run_upload_stage("clip_001", "Instagram", {"caption": "Check this out!"})

Each file is validated and probed with PyAV (duration, resolution, fps, codec, size), hashed
(SHA-256, streamed), given a thumbnail, enriched from a yt-dlp ``.info.json`` sidecar when
one sits next to it (title, source URL, view count, tags), and registered. Content already in
the registry is reported as such and never registered twice. A bad file is reported with its
reason while the others still register; the exit status is then 1.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

from database import ASFSError, Database, VideoFileError, VideoRegistry
from database import media
from database.paths import resolve_data_dir


@dataclass
class IngestItem:
    path: str
    outcome: str  # "registered", "known" or "failed"
    video_id: str | None = None
    reason: str | None = None
    info: media.MediaInfo | None = None


@dataclass
class IngestReport:
    items: list[IngestItem] = field(default_factory=list)

    def _count(self, outcome: str) -> int:
        return sum(1 for i in self.items if i.outcome == outcome)

    @property
    def registered(self) -> int:
        return self._count("registered")

    @property
    def known(self) -> int:
        return self._count("known")

    @property
    def failed(self) -> int:
        return self._count("failed")

    @property
    def ok(self) -> bool:
        return self.failed == 0

    def summary(self) -> str:
        return (f"{len(self.items)} file(s): {self.registered} registered, "
                f"{self.known} already in the registry, {self.failed} failed")


def run_upload_stage(video_id: str, platform: str, metadata: dict | None = None, *,
                     db: Database | None = None) -> bool:
    """Upload a registered video to a platform (its default channel) or a channel, now.

    Seed 003's direct upload, without re-running stages 1-9: checks the video is registered
    and its file exists unchanged, enforces the duplicate rules (a manual upload may retry
    FAILED_FINAL), claims the upload, runs the platform's uploader and records the outcome in
    the registry, the audit database and ``logs/uploads.log``.

    Returns:
        True when the video was published. False otherwise; the reason is recorded in the
        audit trail and logged (``asfs.publishing``).
    """
    from orchestration.publishing import Publisher

    own = db is None
    db = db or Database.open()
    try:
        return Publisher(db).publish(video_id, platform, metadata, manual=True).success
    finally:
        if own:
            db.close()


# progress(event, path, done, total): event is "file" (a new file starts), "hash" (bytes)
ProgressFn = Callable[[str, str, int, int], None]


def _known_by_stat(registry: VideoRegistry, path: Path) -> str | None:
    """The id of a video registered from this very file, unchanged since (no need to re-hash)."""
    try:
        st = path.stat()
    except OSError:
        return None
    row = registry.db.query_one(
        "SELECT id FROM videos WHERE file_path = ? AND size_bytes = ? AND file_mtime_ns = ?",
        (str(path), st.st_size, st.st_mtime_ns),
    )
    return row["id"] if row else None


def ingest(
    paths: Iterable[str | os.PathLike],
    registry: VideoRegistry,
    *,
    title: str | None = None,
    tags: Sequence[str] = (),
    watermarked: bool = False,
    duplicate_allowed: bool = False,
    thumbnails: bool = True,
    progress: ProgressFn | None = None,
) -> IngestReport:
    """Register every video file in ``paths`` (files, or folders searched recursively).

    Args:
        title: a title for every file of this run (default: the sidecar's, else the file name).
        tags: tags added to every file (merged with the sidecar's).
        progress: called as files start and while each is hashed.
    """
    report = IngestReport()
    files = list(media.iter_video_files(paths))
    total = len(files)
    for index, file in enumerate(files, start=1):
        path = Path(file)
        if progress:
            progress("file", str(path), index, total)
        try:
            if not path.exists():
                raise VideoFileError(str(path), "file not found (it may have been moved or deleted)")
            path = path.resolve()
            known = _known_by_stat(registry, path)
            if known and not duplicate_allowed:
                report.items.append(IngestItem(str(path), "known", known, "already in the registry"))
                continue
            info = media.probe_video(path)
            sidecar = media.read_info_sidecar(path) or {}
            all_tags = list(dict.fromkeys([*(sidecar.get("tags") or []), *tags]))

            def on_hash(done: int, size: int, _p=str(path)) -> None:
                if progress:
                    progress("hash", _p, done, size)

            digest = media.sha256_file(path, progress=on_hash)
            reg = registry.register_file(
                path,
                title=title or sidecar.get("title") or None,
                duplicate_allowed=duplicate_allowed,
                tags=all_tags,
                watermarked=watermarked,
                source_url=sidecar.get("source_url"),
                source_views=sidecar.get("views"),
                description=sidecar.get("description"),
                checksum=digest,
                media=info,
                thumbnail=thumbnails,
                actor="pipeline",
            )
            if reg.created:
                report.items.append(IngestItem(str(path), "registered", reg.video_id, info=info))
            else:
                where = "" if reg.file_path == str(path) else f" (from {reg.file_path})"
                report.items.append(IngestItem(str(path), "known", reg.video_id,
                                               f"same content already registered{where}", info))
        except ASFSError as exc:
            reason = exc.reason if isinstance(exc, VideoFileError) else str(exc)
            report.items.append(IngestItem(str(path), "failed", reason=reason))
    return report


class _Console:
    """A one-line progress display on a terminal, plain lines elsewhere."""

    def __init__(self, stream=sys.stderr, quiet: bool = False):
        self.stream = stream
        self.tty = stream.isatty()
        self.quiet = quiet
        self._last = 0.0

    def progress(self, event: str, path: str, done: int, total: int) -> None:
        if self.quiet or not self.tty:
            return
        now = time.monotonic()
        if event == "hash" and now - self._last < 0.1 and done < total:
            return
        self._last = now
        name = Path(path).name
        if event == "file":
            text = f"[{done}/{total}] {name}"
        else:
            pct = 100 * done // total if total else 100
            text = f"        hashing {name} {pct}%"
        self.stream.write("\r\033[K" + text[:120])
        self.stream.flush()

    def line(self, text: str) -> None:
        if self.tty and not self.quiet:
            self.stream.write("\r\033[K")
        print(text, file=sys.stdout, flush=True)


def _describe(item: IngestItem) -> str:
    if item.outcome == "registered":
        i = item.info
        detail = f" ({i.width}x{i.height}, {i.duration:.1f} s)" if i else ""
        return f"registered  {item.video_id}{detail}  {item.path}"
    if item.outcome == "known":
        return f"known       {item.video_id}  {item.path}: {item.reason}"
    return f"FAILED      {item.path}: {item.reason}"


def _upload_after_ingest(db: Database, report: IngestReport, targets: list[str], console: _Console) -> bool:
    from orchestration.publishing import Publisher

    publisher = Publisher(db)
    ok = True
    for item in report.items:
        if item.video_id is None:
            continue
        for target in targets:
            outcome = publisher.publish(item.video_id, target, manual=True, actor="pipeline")
            ok = ok and outcome.success
            word = "uploaded" if outcome.success else "NOT uploaded"
            console.line(f"{word:<12}{item.video_id} -> {target}: {outcome.reason}")
    return ok


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pipeline.py",
        description="Register video files in the ASFS registry (probe, checksum, thumbnail, yt-dlp sidecar).",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="video files or folders (searched recursively)")
    p.add_argument("--title", help="title for every file of this run (default: sidecar title, else file name)")
    p.add_argument("--tags", default="", help="comma-separated tags added to every file")
    p.add_argument("--watermarked", action="store_true", help="mark the files as carrying a watermark")
    p.add_argument("--allow-duplicates", action="store_true",
                   help="register even when the same content is already registered, and allow re-uploads")
    p.add_argument("--no-thumbnails", action="store_true", help="skip writing thumbnail PNGs")
    p.add_argument("--data-dir", help="data directory (default: $ASFS_DATA_DIR, else the project folder)")
    p.add_argument("--upload", metavar="PLATFORM", action="append", default=[],
                   help="after registering, upload each file to this platform or channel (repeatable)")
    p.add_argument("-q", "--quiet", action="store_true", help="print only failures and the summary")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    data_dir = resolve_data_dir(args.data_dir)
    console = _Console(quiet=args.quiet)
    try:
        db = Database.open(data_dir / "database" / "videos.db")
    except ASFSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        registry = VideoRegistry(db)
        tags = [t.strip() for t in args.tags.split(",") if t.strip()]
        report = ingest(
            args.paths, registry, title=args.title, tags=tags, watermarked=args.watermarked,
            duplicate_allowed=args.allow_duplicates, thumbnails=not args.no_thumbnails,
            progress=console.progress,
        )
        if not report.items:
            console.line("no video files found in: " + ", ".join(args.paths))
            return 1
        for item in report.items:
            if not args.quiet or item.outcome == "failed":
                console.line(_describe(item))
        console.line(report.summary())
        ok = report.ok
        if args.upload:
            ok = _upload_after_ingest(db, report, args.upload, console) and ok
        return 0 if ok else 1
    except KeyboardInterrupt:
        console.line("interrupted: files finished so far are registered")
        return 130
    finally:
        db.close()


if __name__ == "__main__":
    sys.exit(main())
