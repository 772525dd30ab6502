"""Channel-specific transformations: a derived file per (content, profile), never the original.

A channel may carry a transformation profile, for example::

    {"aspect": "9:16", "width": 1080, "height": 1920, "mode": "crop",
     "max_duration": 60, "video_codec": "h264", "audio_codec": "aac"}

Before a video goes to that channel it is rendered with PyAV (FFmpeg's scale/crop/pad
filters, H.264 + AAC in MP4) into ``<data dir>/derived/<checksum>-<profile hash>.mp4``. The
name is the cache key: the same content for the same profile is rendered once, whichever
video id or channel asks. :meth:`Transformer.cleanup` deletes derived files that no pending
distribution, live schedule or unfinished upload needs any more. The original file is only
ever opened for reading.

Publishing uses it through :func:`uploader_for`, which wraps the channel's uploader so the
uploader receives the derived path; ``Publisher.publish(..., uploader=...)`` accepts it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
import uuid
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal, Mapping

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from database.errors import ASFSError, ValidationError
from uploaders import PlatformUploader, UploadResult

log = logging.getLogger("asfs.transform")

# Bump when the rendering itself changes, so cached files made by older code are not reused.
RENDER_VERSION = 1
DERIVED_DIR = "derived"
_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")


class TransformError(ASFSError):
    """A video could not be rendered for a channel; the original is untouched."""


class TransformProfile(BaseModel):
    """How a channel wants its videos: frame size and fit, length, codecs.

    Attributes:
        aspect: "W:H" such as "9:16"; with no width/height the size follows from the source.
        width, height: output frame size in pixels (even numbers).
        mode: "crop" fills the frame and cuts the overflow; "pad" fits the whole picture
            and fills the rest with ``pad_color``.
        max_duration: seconds; longer videos are cut to this length.
        video_codec: "h264" (libx264) or "mpeg4".
        audio_codec: "aac", or "none" to drop the sound.
        fps: output frame rate (default: the source's).
        preset, crf: x264 speed/quality trade-off.
    """

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)

    aspect: str | None = None
    width: int | None = Field(None, ge=16, le=7680)
    height: int | None = Field(None, ge=16, le=7680)
    mode: Literal["crop", "pad"] = "pad"
    max_duration: float | None = Field(None, gt=0, le=86_400)
    video_codec: Literal["h264", "mpeg4"] = "h264"
    audio_codec: Literal["aac", "none"] = "aac"
    fps: float | None = Field(None, ge=1, le=240)
    preset: Literal[_PRESETS] = "veryfast"  # type: ignore[valid-type]
    crf: int = Field(23, ge=0, le=51)
    pad_color: str = Field("black", pattern=r"^(#[0-9A-Fa-f]{6}|[A-Za-z]{3,20})$")

    @field_validator("aspect")
    @classmethod
    def _aspect(cls, v: str | None) -> str | None:
        if v is None:
            return None
        parts = v.replace("/", ":").split(":")
        try:
            a, b = (int(p.strip()) for p in parts)
        except ValueError:
            raise ValueError(f"{v!r} is not an aspect ratio like \"9:16\"") from None
        if not (0 < a <= 100 and 0 < b <= 100):
            raise ValueError(f"{v!r} is not an aspect ratio like \"9:16\"")
        return f"{a}:{b}"

    @field_validator("width", "height")
    @classmethod
    def _even(cls, v: int | None) -> int | None:
        if v is not None and v % 2:
            raise ValueError(f"{v} is odd; H.264 needs an even number of pixels")
        return v

    @model_validator(mode="after")
    def _size(self) -> "TransformProfile":
        if (self.width is None) != (self.height is None):
            raise ValueError("give both width and height, or neither")
        if self.aspect and self.width and self.height:
            a, b = (int(x) for x in self.aspect.split(":"))
            if abs(self.width / self.height - a / b) > 0.01 * (a / b):
                raise ValueError(f"{self.width}x{self.height} is not {self.aspect}")
        return self

    @property
    def ratio(self) -> float | None:
        if self.width and self.height:
            return self.width / self.height
        if self.aspect:
            a, b = (int(x) for x in self.aspect.split(":"))
            return a / b
        return None

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(exclude_defaults=True)

    def target_size(self, src_w: int, src_h: int) -> tuple[int, int]:
        """The output frame size for a source of ``src_w`` x ``src_h`` (displayed)."""
        if self.width and self.height:
            return self.width, self.height
        r = self.ratio
        if r is None:
            w, h = src_w, src_h
        elif (src_w / src_h > r) == (self.mode == "crop"):
            h = src_h
            w = h * r
        else:
            w = src_w
            h = w / r
        return max(16, int(round(w / 2)) * 2), max(16, int(round(h / 2)) * 2)


def parse_profile(value: Any) -> TransformProfile | None:
    """A profile from a dict, JSON text or model; None or an empty value means "no transformation".

    Raises:
        ValidationError: unknown keys or bad values, naming the field.
    """
    from .filters import pydantic_error

    if value is None or isinstance(value, TransformProfile):
        return value
    if isinstance(value, (str, bytes)):
        if not value.strip():
            return None
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ValidationError(f"Transformation profile is not valid JSON: {exc}", "transformation_profile") from None
        if value is None:
            return None
    if not isinstance(value, Mapping):
        raise ValidationError(
            f"A transformation profile must be an object (aspect, width, height...), not {type(value).__name__}",
            "transformation_profile",
        )
    if not value:
        return None
    try:
        return TransformProfile.model_validate(dict(value))
    except pydantic.ValidationError as exc:
        err = pydantic_error(exc, "transformation profile")
        err.field = err.field or "transformation_profile"
        raise err from None


def profile_hash(profile: TransformProfile) -> str:
    """A short stable hash of a profile (and the renderer's version): half the cache key."""
    data = json.dumps({"v": RENDER_VERSION, **profile.model_dump(mode="json")}, sort_keys=True)
    return hashlib.sha256(data.encode()).hexdigest()[:16]


def derived_name(checksum: str, profile: TransformProfile) -> str:
    return f"{checksum[:32]}-{profile_hash(profile)}.mp4"


# -- rendering ------------------------------------------------------------------------------------


def _video_filters(profile: TransformProfile, quarter_turns: int, src_w: int, src_h: int) -> list[tuple[str, str]]:
    """FFmpeg filters turning a decoded frame into the profile's picture."""
    chain: list[tuple[str, str]] = []
    # The display rotation of phone clips is applied first, so "vertical" means what viewers see.
    if quarter_turns == 1:
        chain.append(("transpose", "cclock"))
    elif quarter_turns == 2:
        chain += [("hflip", ""), ("vflip", "")]
    elif quarter_turns == 3:
        chain.append(("transpose", "clock"))
    w, h = profile.target_size(src_w, src_h)
    if profile.mode == "crop":
        chain.append(("scale", f"w={w}:h={h}:force_original_aspect_ratio=increase"))
        chain.append(("crop", f"w={w}:h={h}"))
    else:
        chain.append(("scale", f"w={w}:h={h}:force_original_aspect_ratio=decrease:force_divisible_by=2"))
        chain.append(("pad", f"w={w}:h={h}:x=(ow-iw)/2:y=(oh-ih)/2:color={profile.pad_color}"))
    chain.append(("setsar", "1"))
    if profile.fps:
        chain.append(("fps", f"fps={profile.fps:g}"))
    chain.append(("format", "pix_fmts=yuv420p"))
    return chain


def render(src: str | os.PathLike, profile: TransformProfile, dest: str | os.PathLike) -> Path:
    """Render ``src`` through ``profile`` into ``dest`` (MP4), atomically.

    Raises:
        TransformError: the source cannot be decoded or the output cannot be written.
    """
    import av

    from database import media

    src, dest = Path(src), Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.part")
    try:
        _render(av, media, src, profile, tmp)
        os.replace(tmp, dest)
    except TransformError:
        raise
    except (av.FFmpegError, OSError, ValueError, RuntimeError) as exc:
        raise TransformError(f"Could not transform {src.name}: {exc}") from exc
    finally:
        if tmp.exists():
            try:
                tmp.unlink()
            except OSError:
                pass
    return dest


def _render(av, media, src: Path, profile: TransformProfile, out_path: Path) -> None:
    try:
        inp = av.open(str(src))
    except av.FFmpegError as exc:
        raise TransformError(f"Could not open {src}: {exc}") from exc
    with inp:
        vs = media._pick_video_stream(inp)
        if vs is None:
            raise TransformError(f"{src} has no video stream")
        a_in = None if profile.audio_codec == "none" else next(iter(inp.streams.audio), None)
        vs.thread_type = "AUTO"
        start = float(inp.start_time / av.time_base) if inp.start_time not in (None,) else 0.0
        limit = profile.max_duration

        first = media._first_frame(inp, vs)
        if first is None:
            raise TransformError(f"{src} has no decodable frame")
        turns = media._quarter_turns(first)
        src_w, src_h = (first.height, first.width) if turns % 2 else (first.width, first.height)
        inp.seek(0)

        graph = av.filter.Graph()
        node = graph.add_buffer(template=vs)
        for name, args in _video_filters(profile, turns, src_w, src_h):
            nxt = graph.add(name, args) if args else graph.add(name)
            node.link_to(nxt)
            node = nxt
        sink = graph.add("buffersink")
        node.link_to(sink)
        graph.configure()

        with av.open(str(out_path), "w", format="mp4") as out:
            w, h = profile.target_size(src_w, src_h)
            rate = Fraction(profile.fps).limit_denominator(1001) if profile.fps else (vs.average_rate or vs.guessed_rate or Fraction(30))
            codec = "libx264" if profile.video_codec == "h264" else "mpeg4"
            if codec not in av.codecs_available:
                raise TransformError(f"this FFmpeg build has no {codec} encoder")
            ov = out.add_stream(codec, rate=rate)
            ov.width, ov.height, ov.pix_fmt = w, h, "yuv420p"
            if codec == "libx264":
                ov.options = {"preset": profile.preset, "crf": str(profile.crf)}
            oa = resampler = None
            if a_in is not None:
                in_rate = a_in.codec_context.sample_rate or 48000
                out_rate = in_rate if in_rate in (44100, 48000) else 48000
                layout = "mono" if (a_in.codec_context.channels or 2) == 1 else "stereo"
                oa = out.add_stream("aac", rate=out_rate)
                oa.layout = layout
                resampler = av.AudioResampler(format="fltp", layout=layout, rate=out_rate)

            def mux_video(frame) -> None:
                graph.push(frame)
                while True:
                    try:
                        o = graph.pull()
                    except (av.BlockingIOError, av.EOFError):
                        return
                    if limit is not None and o.time is not None and o.time - start >= limit - 1e-6:
                        continue
                    o.pict_type = av.video.frame.PictureType.NONE
                    for packet in ov.encode(o):
                        out.mux(packet)

            def mux_audio(frame) -> None:
                for r in resampler.resample(frame):
                    if limit is not None and r.time is not None:
                        offset = r.time - start
                        if offset >= limit:
                            continue
                        keep = int(round((limit - offset) * r.sample_rate))
                        if keep < r.samples:
                            r = _cut_audio(av, r, keep)
                    for packet in oa.encode(r):
                        out.mux(packet)

            streams = [vs] + ([a_in] if a_in is not None else [])
            for packet in inp.demux(*streams):
                # The last packet of each stream is empty: decoding it flushes the decoder.
                past = (limit is not None and packet.pts is not None and packet.time_base is not None
                        and float(packet.pts * packet.time_base) - start > limit + 1.0)
                if past:
                    continue  # beyond the cut: not worth decoding
                for frame in packet.decode():
                    if packet.stream is vs:
                        mux_video(frame)
                    else:
                        mux_audio(frame)
            graph.push(None)
            while True:
                try:
                    o = graph.pull()
                except (av.BlockingIOError, av.EOFError):
                    break
                if limit is None or o.time is None or o.time - start < limit - 1e-6:
                    for packet in ov.encode(o):
                        out.mux(packet)
            for packet in ov.encode():
                out.mux(packet)
            if oa is not None:
                for packet in oa.encode():
                    out.mux(packet)


def _cut_audio(av, frame, keep: int):
    """The first ``keep`` samples of a planar float frame."""
    arr = frame.to_ndarray()[:, : max(keep, 0)]
    cut = av.AudioFrame.from_ndarray(arr.copy(), format=frame.format.name, layout=frame.layout.name)
    cut.sample_rate = frame.sample_rate
    cut.pts = frame.pts
    cut.time_base = frame.time_base
    return cut


# -- the cache -------------------------------------------------------------------------------------

_render_locks: dict[Path, threading.Lock] = {}
_render_locks_guard = threading.Lock()


def _lock_for(path: Path) -> threading.Lock:
    with _render_locks_guard:
        return _render_locks.setdefault(path, threading.Lock())


class Transformer:
    """Derived files for channels with a transformation profile, cached under ``<data dir>/derived``."""

    def __init__(self, db):
        self.db = db
        self.directory = db.paths.derived

    def path_for(self, checksum: str, profile: TransformProfile) -> Path:
        return self.directory / derived_name(checksum, profile)

    def channel_profile(self, channel_ref: str) -> TransformProfile | None:
        from database.channels import resolve_channel

        row = resolve_channel(self.db.conn, channel_ref)
        return parse_profile(row["transformation_profile"])

    def prepare_file(self, file_path: str | os.PathLike, checksum: str | None, profile: TransformProfile | None,
                     *, actor: str = "system", video_id: str | None = None) -> Path:
        """The file to upload: the original when there is no profile, else the (cached) derived file."""
        src = Path(file_path)
        if profile is None:
            return src
        if not checksum:
            from database.media import sha256_file

            checksum = sha256_file(src)
        dest = self.path_for(checksum, profile)
        with _lock_for(dest):
            if dest.exists():
                return dest
            started = time.monotonic()
            render(src, profile, dest)
        self.db.audit.record(
            "transform.rendered", f"Rendered {src.name} for profile {profile_hash(profile)}",
            subject_type="video", subject_id=video_id, actor=actor,
            details={"source": str(src), "derived": str(dest), "profile": profile.to_dict(),
                     "seconds": round(time.monotonic() - started, 3)},
        )
        return dest

    def prepare(self, video_id: str, channel_ref: str, *, actor: str = "system") -> Path:
        """The file to upload for ``video_id`` on a channel (derived when the channel has a profile).

        Raises:
            VideoNotFoundError, ChannelNotFoundError, ValidationError (a stored profile that is
            no longer valid), TransformError.
        """
        from database.errors import VideoNotFoundError

        row = self.db.query_one("SELECT file_path, checksum FROM videos WHERE id = ?", (video_id,))
        if row is None:
            raise VideoNotFoundError(video_id)
        return self.prepare_file(row["file_path"], row["checksum"], self.channel_profile(channel_ref),
                                 actor=actor, video_id=video_id)

    def referenced(self) -> set[str]:
        """Names of derived files something still needs.

        A derived file is needed while its (content, channel profile) pair has a distribution
        waiting to publish (assigned, scheduled, or failed and retriable), a live schedule,
        or an upload that is running or will be retried.
        """
        rows = self.db.query(
            """
            SELECT DISTINCT v.checksum, c.transformation_profile
            FROM channels c
            JOIN (
                SELECT video_id, channel_id FROM distributions
                 WHERE status IN ('assigned', 'scheduled') OR (status = 'failed' AND retry_count < max_retries)
                UNION
                SELECT video_id, channel_id FROM schedules
                 WHERE video_id IS NOT NULL AND status IN ('pending', 'scheduled', 'paused', 'executing')
                UNION
                SELECT video_id, channel_id FROM video_uploads
                 WHERE upload_status IN ('PENDING', 'IN_PROGRESS', 'FAILED', 'RATE_LIMITED', 'UNKNOWN')
            ) need ON need.channel_id = c.id
            JOIN videos v ON v.id = need.video_id
            WHERE c.transformation_profile IS NOT NULL AND c.transformation_profile NOT IN ('', 'null', '{}')
              AND v.checksum IS NOT NULL
            """
        )
        names = set()
        for r in rows:
            try:
                profile = parse_profile(r["transformation_profile"])
            except ValidationError:
                continue
            if profile is not None:
                names.add(derived_name(r["checksum"], profile))
        return names

    def cleanup(self, *, actor: str = "system", stale_part_seconds: float = 3600) -> list[Path]:
        """Delete derived files nothing references any more; returns what was removed."""
        if not self.directory.is_dir():
            return []
        keep = self.referenced()
        removed: list[Path] = []
        now = time.time()
        for p in sorted(self.directory.iterdir()):
            if not p.is_file():
                continue
            if p.name.endswith(".part"):
                # a render in progress elsewhere writes a .part file; only old ones are debris
                try:
                    if now - p.stat().st_mtime < stale_part_seconds:
                        continue
                except OSError:
                    continue
            elif p.name in keep:
                continue
            with _lock_for(p):
                try:
                    p.unlink()
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    log.warning("could not remove %s: %s", p, exc)
                    continue
            removed.append(p)
        if removed:
            self.db.audit.record(
                "transform.cleaned", f"Removed {len(removed)} derived file(s) no longer needed",
                actor=actor, details={"removed": [p.name for p in removed]},
            )
        return removed


# -- publishing ------------------------------------------------------------------------------------


class TransformingUploader(PlatformUploader):
    """Delegates to the channel's uploader, handing it the derived file instead of the original."""

    def __init__(self, inner: PlatformUploader, transformer: Transformer, profile: TransformProfile,
                 actor: str = "system"):
        self.inner = inner
        self.transformer = transformer
        self.profile = profile
        self.actor = actor

    def upload(self, video_path: str, metadata: dict) -> UploadResult:
        self.inner.cancel_event = self.cancel_event
        self.inner.progress_callback = self.progress_callback
        row = self.transformer.db.query_one(
            "SELECT id, checksum FROM videos WHERE file_path = ? ORDER BY created_at LIMIT 1", (str(video_path),))
        self.report_progress(0.0, "transforming")
        try:
            path = self.transformer.prepare_file(video_path, row["checksum"] if row else None, self.profile,
                                                 actor=self.actor, video_id=row["id"] if row else None)
        except ASFSError as exc:  # TransformError, or a file that cannot be hashed
            return UploadResult.failed(f"Could not prepare the video for this channel: {exc}", "permanent")
        return self.inner.upload(str(path), metadata)

    def check_login(self) -> bool | None:
        return self.inner.check_login()

    def find_existing(self, video: Mapping[str, Any]) -> UploadResult | None:
        return self.inner.find_existing(video)

    def close(self) -> None:
        self.inner.close()


def uploader_for(db, channel: Mapping[str, Any], *, actor: str = "system") -> PlatformUploader:
    """The channel's uploader, wrapped to upload the derived file when the channel has a profile.

    Pass the result to ``Publisher.publish(..., uploader=...)``; the caller closes it.

    Raises:
        LookupError: no uploader is registered for the channel or its platform.
    """
    import uploaders

    inner = uploaders.get(channel["id"], {**dict(channel), "data_dir": str(db.paths.root)})
    profile = parse_profile(channel.get("transformation_profile"))
    if profile is None:
        return inner
    return TransformingUploader(inner, Transformer(db), profile, actor)


__all__ = [
    "DERIVED_DIR", "RENDER_VERSION", "TransformError", "TransformProfile", "Transformer", "TransformingUploader",
    "derived_name",
    "parse_profile", "profile_hash", "render", "uploader_for",
]
