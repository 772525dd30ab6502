"""What ASFS knows about a video file before it enters the registry.

Checksums, a validated probe (size, duration, codec, orientation), a PNG thumbnail,
the yt-dlp ``.info.json`` sidecar and the walk that finds video files in folders.
Everything here is plain Python on top of PyAV and numpy; any problem with a file is
reported as :class:`~database.errors.VideoFileError` with a reason a person understands,
never as a raw PyAV/FFmpeg exception.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import secrets
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import numpy as np

from database.errors import VideoFileError

__all__ = [
    "VIDEO_EXTENSIONS",
    "MediaInfo",
    "iter_video_files",
    "make_thumbnail",
    "probe_video",
    "read_info_sidecar",
    "sha256_file",
]

VIDEO_EXTENSIONS = frozenset(
    {".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".flv", ".wmv", ".3gp"}
)

PathLike = str | os.PathLike

# A file whose packets stop this far short of the duration its header promises was cut
# off (an interrupted download or copy). Intact files end within a frame of their
# header duration; the slack adds rounding room, grows with length so long files are
# not held to sub-second precision, and gets one frame interval on top because some
# muxers leave the last packet without a duration.
_TRUNCATION_SLACK_S = 0.25
_TRUNCATION_SLACK_FRACTION = 0.01
_MAX_FRAME_INTERVAL_S = 5.0
# How far before the promised end the tail check starts reading packets.
_TAIL_WINDOW_S = 2.0
# Corrupt data can make a decoder swallow packets forever without producing a frame.
_MAX_PACKETS_FOR_FIRST_FRAME = 600

# Demuxers that read single images; their "video stream" is one still picture.
_IMAGE_FORMAT_SUFFIX = "_pipe"
_IMAGE_FORMATS = frozenset({"image2", "apng", "gif", "webp", "png", "bmp", "tiff"})


# --------------------------------------------------------------------------- checksum


def _stat_regular_file(path: Path) -> os.stat_result:
    """Stat ``path`` and insist it is an existing regular file."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise VideoFileError(str(path), "file not found") from None
    except NotADirectoryError:
        raise VideoFileError(str(path), "file not found") from None
    except PermissionError:
        raise VideoFileError(str(path), "permission denied") from None
    except OSError as e:
        raise VideoFileError(str(path), f"cannot read file ({e.strerror or e})") from None
    if stat.S_ISDIR(st.st_mode):
        raise VideoFileError(str(path), "is a directory")
    if not stat.S_ISREG(st.st_mode):
        raise VideoFileError(str(path), "not a regular file")
    return st


def _os_error_reason(e: OSError) -> str:
    if isinstance(e, FileNotFoundError):
        return "file not found"
    if isinstance(e, IsADirectoryError):
        return "is a directory"
    if isinstance(e, PermissionError):
        return "permission denied"
    return f"cannot read file ({e.strerror or e})"


def sha256_file(
    path: PathLike,
    *,
    chunk_size: int = 1 << 20,
    progress: Callable[[int, int], Any] | None = None,
) -> str:
    """SHA-256 of a file's content as lowercase hex, in constant memory.

    Args:
        path: the file to hash.
        chunk_size: bytes read per call; one buffer of this size is reused throughout.
        progress: called as ``progress(bytes_done, total)`` after every chunk (and once
            with ``(0, 0)`` for an empty file) so a window can show a progress bar.

    Returns:
        The 64-character hex digest.
    """
    if chunk_size <= 0:
        raise ValueError("chunk_size must be positive")
    path = Path(path)
    _stat_regular_file(path)
    digest = hashlib.sha256()
    # One reusable buffer: reading into it allocates nothing per chunk, which keeps the
    # memory flat on multi-GiB files and the loop as fast as a bare hashlib read loop.
    buf = bytearray(chunk_size)
    view = memoryview(buf)
    done = 0
    try:
        with open(path, "rb", buffering=0) as f:
            total = os.fstat(f.fileno()).st_size
            while True:
                n = f.readinto(view)
                if not n:
                    break
                digest.update(view[:n])
                done += n
                if progress is not None:
                    progress(done, max(total, done))
    except OSError as e:
        raise VideoFileError(str(path), _os_error_reason(e)) from None
    finally:
        view.release()
    if progress is not None and done == 0:
        progress(0, 0)
    return digest.hexdigest()


# --------------------------------------------------------------------------- probing


@dataclass(frozen=True)
class MediaInfo:
    """Facts about a playable video file.

    ``width`` and ``height`` are as displayed: a phone clip stored 1920x1080 with a
    90° rotation flag is reported as 1080x1920, because that is what viewers see.
    ``container`` is a short format name such as ``"mp4"``, ``"webm"`` or ``"matroska"``.
    """

    duration: float
    width: int
    height: int
    fps: float | None
    codec: str
    audio_codec: str | None
    size_bytes: int
    mtime_ns: int
    container: str

    @property
    def orientation(self) -> str:
        """``"vertical"``, ``"horizontal"`` or ``"square"``."""
        if self.height > self.width:
            return "vertical"
        if self.width > self.height:
            return "horizontal"
        return "square"

    @property
    def short_side(self) -> int:
        """The smaller of width and height (720 for a 720x1280 short)."""
        return min(self.width, self.height)


def _looks_like_known_container(head: bytes) -> bool:
    """True when the first bytes are an MP4/MOV or Matroska/WebM signature."""
    if len(head) >= 8 and head[4:8] in (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip"):
        return True
    return head.startswith(b"\x1a\x45\xdf\xa3")


def _open_failure_reason(path: Path, err: Exception) -> str:
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError:
        head = b""
    if _looks_like_known_container(head):
        # The signature says "video container", so FFmpeg giving up means the file is
        # damaged — typically an MP4 whose index (moov) was never written because the
        # download or copy stopped.
        return f"file is truncated or corrupt (cannot read the container: {_av_message(err)})"
    return "not a video file (no video stream; the format is not recognised)"


def _av_message(err: Exception) -> str:
    msg = getattr(err, "strerror", None) or str(err) or type(err).__name__
    return str(msg).rstrip(".")


def _short_container_name(format_name: str, path: Path) -> str:
    names = [n.strip() for n in format_name.split(",") if n.strip()]
    ext = path.suffix.lower().lstrip(".")
    if ext in names:
        return ext
    return names[0] if names else format_name


def _pick_video_stream(container):
    for s in container.streams.video:
        # Cover art in audio files is a video stream flagged attached_pic; it is not a video.
        if s.disposition & av.stream.Disposition.attached_pic:
            continue
        return s
    return None


def _quarter_turns(frame) -> int:
    """Display rotation of ``frame`` as counter-clockwise quarter turns (0-3)."""
    return round((getattr(frame, "rotation", 0) or 0) / 90) % 4


def _rate(stream) -> float | None:
    for rate in (stream.average_rate, stream.guessed_rate):
        if rate:
            value = float(rate)
            if value > 0 and math.isfinite(value):
                return value
    return None


def _first_frame(container, stream):
    """Decode and return the first frame of ``stream``, or None if none decodes."""
    seen = 0
    for packet in container.demux(stream):
        for frame in packet.decode():
            return frame
        seen += 1
        if seen >= _MAX_PACKETS_FOR_FIRST_FRAME:
            return None
    return None


def _packet_end(packet) -> float | None:
    ts = packet.pts if packet.pts is not None else packet.dts
    if ts is None or packet.time_base is None:
        return None
    return float((ts + (packet.duration or 0)) * packet.time_base)


def _demux_end(container, start_s: float | None) -> float:
    """Latest packet end time (seconds) across all streams, reading from ``start_s``.

    With ``start_s`` the container is first seeked there, so checking the tail of a
    large file costs a few seconds of packets rather than a full read.
    """
    if start_s is not None:
        container.seek(int(start_s * av.time_base), backward=True, any_frame=False)
    end = 0.0
    try:
        for packet in container.demux():
            if packet.size == 0:
                continue
            t = _packet_end(packet)
            if t is not None and t > end:
                end = t
    except av.FFmpegError:
        # A damaged tail stops the read; how far it got is what the caller judges.
        pass
    return end


def _start_offset(container) -> float:
    if container.start_time is not None and container.start_time > 0:
        return container.start_time / av.time_base
    return 0.0


def _duration_from_headers(container, stream) -> float | None:
    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    if stream.duration is not None and stream.duration > 0 and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return None


def _count_duration(path: Path, stream_index: int, fps: float | None) -> float:
    """Duration measured by reading every packet of the video stream (no header had it)."""
    with av.open(str(path), metadata_errors="replace") as c:
        s = c.streams[stream_index]
        first = None
        end = 0.0
        count = 0
        for packet in c.demux(s):
            if packet.size == 0:
                continue
            count += 1
            t = _packet_end(packet)
            if t is not None:
                start = float((packet.pts if packet.pts is not None else packet.dts) * packet.time_base)
                first = start if first is None else min(first, start)
                end = max(end, t)
        if end > 0:
            return end - (first or 0.0)
        if count and fps:
            return count / fps
        return 0.0


def probe_video(path: PathLike) -> MediaInfo:
    """Validate that ``path`` is a playable video and describe it.

    The first frame is actually decoded and the tail of the file is read, so a file
    cut off by an interrupted download is rejected instead of entering the registry.

    Raises:
        VideoFileError: missing, a directory, empty, unreadable, not a video (text,
            image, audio only), truncated or otherwise corrupt.
    """
    path = Path(path)
    st = _stat_regular_file(path)
    if st.st_size == 0:
        raise VideoFileError(str(path), "file is empty")
    try:
        # Checking readability ourselves gives "permission denied" rather than whatever
        # FFmpeg would make of a failed open.
        with open(path, "rb") as f:
            f.read(1)
    except OSError as e:
        raise VideoFileError(str(path), _os_error_reason(e)) from None

    try:
        return _probe_open(path, st)
    except VideoFileError:
        raise
    except av.FFmpegError as e:
        raise VideoFileError(str(path), f"file is truncated or corrupt ({_av_message(e)})") from None
    except Exception as e:  # noqa: BLE001 — a probe must never crash the importer
        raise VideoFileError(str(path), f"cannot read the video ({type(e).__name__}: {e})") from None


def _open_video(path: Path):
    """Open ``path`` and return ``(container, video stream)``.

    Raises:
        VideoFileError: FFmpeg cannot open it, it has no real video stream (audio only,
            a still image) or no decoder exists for its video codec.
    """
    try:
        container = av.open(str(path), metadata_errors="replace")
    except av.FFmpegError as e:
        raise VideoFileError(str(path), _open_failure_reason(path, e)) from None
    try:
        stream = _pick_video_stream(container)
        if stream is None:
            if container.streams.audio:
                raise VideoFileError(str(path), "not a video: audio only (no video stream)")
            raise VideoFileError(str(path), "not a video file (no video stream)")
        fmt = container.format.name
        if fmt.endswith(_IMAGE_FORMAT_SUFFIX) or fmt in _IMAGE_FORMATS:
            raise VideoFileError(str(path), "not a video: a still image (no video stream)")
        # PyAV leaves codec_context as None when FFmpeg has no decoder for the codec id,
        # which also happens when a damaged header names a nonsense codec.
        if stream.codec_context is None:
            raise VideoFileError(str(path), "video codec is unknown or unsupported (the file may be corrupt)")
    except BaseException:
        container.close()
        raise
    return container, stream


def _probe_open(path: Path, st: os.stat_result) -> MediaInfo:
    container, stream = _open_video(path)
    with container:
        fmt = container.format.name
        codec = stream.codec_context.name
        fps = _rate(stream)
        audio = next(iter(container.streams.audio), None)
        audio_codec = None
        if audio is not None:
            audio_codec = audio.codec_context.name if audio.codec_context is not None else "unknown"
        stream_index = stream.index

        try:
            frame = _first_frame(container, stream)
        except av.FFmpegError as e:
            raise VideoFileError(
                str(path), f"file is truncated or corrupt (first frame does not decode: {_av_message(e)})"
            ) from None
        if frame is None:
            raise VideoFileError(str(path), "file is truncated or corrupt (no frame could be decoded)")

        width, height = frame.width, frame.height
        if not width or not height:
            width, height = stream.codec_context.width, stream.codec_context.height
        if not width or not height:
            raise VideoFileError(str(path), "file is corrupt (video has no picture size)")
        if _quarter_turns(frame) % 2:
            width, height = height, width

        duration = _duration_from_headers(container, stream)
        if duration is not None:
            _check_tail(path, container, duration, fps)

    if duration is None:
        duration = _count_duration(path, stream_index, fps)
    if not duration or duration <= 0 or not math.isfinite(duration):
        raise VideoFileError(str(path), "file is truncated or corrupt (duration is missing or zero)")

    return MediaInfo(
        duration=float(duration),
        width=int(width),
        height=int(height),
        fps=fps,
        codec=codec,
        audio_codec=audio_codec,
        size_bytes=st.st_size,
        mtime_ns=st.st_mtime_ns,
        container=_short_container_name(fmt, path),
    )


def _check_tail(path: Path, container, duration: float, fps: float | None) -> None:
    """Raise if packets stop well before the duration the header promises."""
    offset = _start_offset(container)
    expected_end = offset + duration
    start = max(0.0, expected_end - _TAIL_WINDOW_S)
    try:
        end = _demux_end(container, start if start > offset else None)
    except av.FFmpegError:
        # Some files cannot seek (no index); read them from the start instead.
        with av.open(str(path), metadata_errors="replace") as c:
            end = _demux_end(c, None)
    frame_interval = min(1.0 / fps, _MAX_FRAME_INTERVAL_S) if fps else _TRUNCATION_SLACK_S
    slack = max(_TRUNCATION_SLACK_S, _TRUNCATION_SLACK_FRACTION * duration) + frame_interval
    if end < expected_end - slack:
        raise VideoFileError(
            str(path),
            f"file is truncated or corrupt (data stops at {end - offset:.1f} s of {duration:.1f} s)",
        )


# --------------------------------------------------------------------------- thumbnails


def _decode_frame_near(container, stream, seconds: float):
    """First frame at or after ``seconds``, or None when there is none."""
    if stream.time_base is None:
        return None
    target = int(seconds / stream.time_base)
    if stream.start_time is not None:
        target += stream.start_time
    container.seek(target, stream=stream, backward=True, any_frame=False)
    for frame in container.decode(stream):
        if frame.pts is None or frame.pts >= target:
            return frame
    return None


def _encode_png(frame) -> bytes:
    ctx = av.CodecContext.create("png", "w")
    ctx.width = frame.width
    ctx.height = frame.height
    ctx.pix_fmt = "rgb24"
    data = b"".join(bytes(p) for p in ctx.encode(frame))
    data += b"".join(bytes(p) for p in ctx.encode(None))
    return data


def make_thumbnail(
    video_path: PathLike,
    out_png: PathLike,
    *,
    max_width: int = 320,
    at_seconds: float | None = None,
) -> Path:
    """Write a PNG thumbnail of a video frame.

    The frame comes from ``at_seconds`` or, by default, 10% into the video (past the
    black fade most shorts open with), falling back to the first frame. It is scaled
    down to at most ``max_width`` pixels wide, keeping the aspect ratio and the
    displayed rotation. The PNG is written to a temporary file and renamed, so a
    half-written thumbnail never exists at ``out_png``.

    Returns:
        ``out_png`` as a Path.
    """
    video_path = Path(video_path)
    out_png = Path(out_png)
    if max_width < 1:
        raise ValueError("max_width must be at least 1")
    _stat_regular_file(video_path)
    try:
        png = _render_thumbnail(video_path, max_width, at_seconds)
    except VideoFileError:
        raise
    except av.FFmpegError as e:
        raise VideoFileError(
            str(video_path), f"cannot make a thumbnail: file is truncated or corrupt ({_av_message(e)})"
        ) from None
    except OSError as e:
        raise VideoFileError(str(video_path), _os_error_reason(e)) from None
    except Exception as e:  # noqa: BLE001 — same promise as probe_video: only VideoFileError
        raise VideoFileError(str(video_path), f"cannot make a thumbnail ({type(e).__name__}: {e})") from None

    try:
        _write_atomically(out_png, png)
    except OSError as e:
        raise VideoFileError(str(out_png), f"cannot write thumbnail ({e.strerror or e})") from None
    return out_png


def _write_atomically(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    # A hidden temp name in the same folder makes os.replace an atomic rename; opening
    # it with mode 0o666 (unlike mkstemp's 0o600) lets the umask decide the final
    # permissions, as for any other file ASFS writes.
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _grab_frame(video_path: Path, at_seconds: float | None):
    """The frame to show: at ``at_seconds`` or 10% in, else the very first frame."""
    container, stream = _open_video(video_path)
    with container:
        if at_seconds is None:
            duration = _duration_from_headers(container, stream)
            at_seconds = duration * 0.10 if duration else None
        if at_seconds is None or at_seconds <= 0:
            return _first_frame(container, stream)
        try:
            frame = _decode_frame_near(container, stream, at_seconds)
        except av.FFmpegError:
            frame = None
        if frame is not None:
            return frame
    # Seeking past the end or into a damaged middle: the opening frame still identifies
    # the clip. A fresh open avoids depending on a seek back to 0, which some damaged
    # files refuse.
    container, stream = _open_video(video_path)
    with container:
        return _first_frame(container, stream)


def _render_thumbnail(video_path: Path, max_width: int, at_seconds: float | None) -> bytes:
    frame = _grab_frame(video_path, at_seconds)
    if frame is None:
        raise VideoFileError(str(video_path), "file is truncated or corrupt (no frame could be decoded)")
    turns = _quarter_turns(frame)
    sideways = turns % 2 == 1
    disp_w, disp_h = (frame.height, frame.width) if sideways else (frame.width, frame.height)
    out_w = min(max_width, disp_w)
    out_h = max(1, round(disp_h * out_w / disp_w))
    # Scale in stored orientation, then turn the small image; cheaper than turning the
    # full-size frame.
    scaled = frame.reformat(
        width=out_h if sideways else out_w,
        height=out_w if sideways else out_h,
        format="rgb24",
    )
    if turns:
        # VideoFrame.rotation is counter-clockwise, as np.rot90's k is.
        pixels = np.ascontiguousarray(np.rot90(scaled.to_ndarray(), k=turns))
        scaled = av.VideoFrame.from_ndarray(pixels, format="rgb24")
    return _encode_png(scaled)


# --------------------------------------------------------------------------- sidecar


def _sidecar_candidates(video_path: Path) -> list[Path]:
    # yt-dlp's own naming replaces the extension; some tools append instead.
    return [video_path.with_name(video_path.stem + ".info.json"), video_path.with_name(video_path.name + ".info.json")]


def _text(value: Any) -> str | None:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return str(value)
    return None


def _nonneg_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and math.isfinite(value) and value >= 0 and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdecimal():
        return int(value.strip())
    return None


def _nonneg_float(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            f = float(value)
        except OverflowError:
            return None
        return f if math.isfinite(f) and f >= 0 else None
    return None


def _tags(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    seen: set[str] = set()
    out: list[str] = []
    for item in value:
        tag = item.strip() if isinstance(item, str) else None
        if tag and tag not in seen:
            seen.add(tag)
            out.append(tag)
    return out


def read_info_sidecar(video_path: PathLike) -> dict | None:
    """Read the yt-dlp ``.info.json`` written next to a downloaded video.

    For ``clip.mp4`` this looks for ``clip.info.json`` and then ``clip.mp4.info.json``.

    Returns:
        ``None`` when there is no sidecar, else a dict with ``title``, ``source_url``
        (``webpage_url``, else ``original_url``, else ``url``), ``views`` (int or None),
        ``tags`` (list of str), ``uploader``, ``description`` and ``duration`` (float
        seconds or None). Fields of the wrong type come back as None (or ``[]``).

    Raises:
        VideoFileError: the sidecar exists but cannot be read or is not a JSON object.
    """
    video_path = Path(video_path)
    sidecar = next((p for p in _sidecar_candidates(video_path) if p.is_file()), None)
    if sidecar is None:
        return None
    try:
        raw = sidecar.read_bytes()
    except OSError as e:
        raise VideoFileError(str(sidecar), _os_error_reason(e)) from None
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as e:
        raise VideoFileError(str(sidecar), f"sidecar is not valid yt-dlp JSON: not UTF-8 text ({e.reason})") from None
    except json.JSONDecodeError as e:
        raise VideoFileError(str(sidecar), f"sidecar is not valid yt-dlp JSON: {e}") from None
    except (RecursionError, ValueError) as e:
        raise VideoFileError(str(sidecar), f"sidecar is not valid yt-dlp JSON: {e or type(e).__name__}") from None
    if not isinstance(data, dict):
        raise VideoFileError(
            str(sidecar), f"sidecar is not valid yt-dlp JSON: expected an object, found {type(data).__name__}"
        )

    source_url = None
    for key in ("webpage_url", "original_url", "url"):
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            source_url = value.strip()
            break
    return {
        "title": _text(data.get("title")),
        "source_url": source_url,
        "views": _nonneg_int(data.get("view_count")),
        "tags": _tags(data.get("tags")),
        "uploader": _text(data.get("uploader")),
        "description": data.get("description") if isinstance(data.get("description"), str) else None,
        "duration": _nonneg_float(data.get("duration")),
    }


# --------------------------------------------------------------------------- discovery


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


def _walk_videos(folder: Path) -> Iterator[Path]:
    try:
        with os.scandir(folder) as it:
            entries = sorted(it, key=lambda e: (e.name.casefold(), e.name))
    except OSError:
        # An unreadable subfolder is skipped rather than aborting a whole import.
        return
    subdirs = []
    for entry in entries:
        if _is_hidden(entry.name):
            continue
        try:
            # Symlinked folders are not followed so a link loop cannot recurse forever.
            if entry.is_dir(follow_symlinks=False):
                subdirs.append(entry)
            elif entry.is_file() and os.path.splitext(entry.name)[1].lower() in VIDEO_EXTENSIONS:
                yield Path(entry.path)
        except OSError:
            continue
    for entry in subdirs:
        yield from _walk_videos(Path(entry.path))


def iter_video_files(paths: PathLike | Iterable[PathLike]) -> Iterator[Path]:
    """Expand files and folders into the video files to import.

    Folders are searched recursively in sorted order, skipping hidden files and
    folders, and yield only files with a :data:`VIDEO_EXTENSIONS` extension. A file
    named explicitly is yielded whatever its extension, and a path that does not
    exist is yielded as-is, so the caller can report either. A file reached twice
    is yielded once.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    seen: set[str] = set()

    def first_time(p: Path) -> bool:
        key = os.path.normcase(os.path.abspath(p))
        if key in seen:
            return False
        seen.add(key)
        return True

    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for found in _walk_videos(p):
                if first_time(found):
                    yield found
        elif first_time(p):
            yield p
