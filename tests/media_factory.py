"""Small real media files generated on the fly, so the repo carries no binary fixtures.

Every helper writes into a path the test chooses (normally under ``tmp_path``) and
returns that path. The videos are tiny (64x112, 10 frames by default) so a test can
make dozens of them in well under a second.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

DEFAULT_CODEC = "libx264"
FALLBACK_CODEC = "mpeg4"


def _pick_codec(codec: str) -> str:
    if codec in av.codecs_available:
        return codec
    # Some PyAV wheels ship without GPL encoders; mpeg4 is always built in.
    if codec == DEFAULT_CODEC and FALLBACK_CODEC in av.codecs_available:
        return FALLBACK_CODEC
    raise RuntimeError(f"codec {codec!r} is not available in this PyAV build")


def _frame_pixels(index: int, width: int, height: int, seed: int) -> np.ndarray:
    """An RGB frame whose content depends on both the frame index and the seed."""
    rng = np.random.default_rng(seed * 100_003 + index)
    base = rng.integers(0, 256, size=3, dtype=np.uint8)
    img = np.empty((height, width, 3), dtype=np.uint8)
    img[:] = base
    # A moving bar keeps consecutive frames different, so encoders emit real P-frames.
    x = (index * 7 + seed * 3) % max(1, width)
    img[:, x : x + max(1, width // 8)] = 255 - base
    # A little noise makes two seeds with similar base colours still hash differently.
    img[: height // 4] ^= rng.integers(0, 32, size=(height // 4, width, 3), dtype=np.uint8)
    return img


def make_video(
    path: str | os.PathLike,
    *,
    width: int = 64,
    height: int = 112,
    seconds: float = 1.0,
    fps: int = 10,
    codec: str = DEFAULT_CODEC,
    with_audio: bool = False,
    color_seed: int = 0,
    rotation: int = 0,
) -> Path:
    """Write a small real video with PyAV.

    Args:
        path: output file; the extension picks the container (``.mp4``, ``.mkv``, ...).
        width, height: frame size; kept even because yuv420p needs it.
        seconds: target duration; the file probes within one frame of it.
        fps: constant frame rate.
        codec: video encoder; ``libx264`` falls back to ``mpeg4`` when absent.
        with_audio: add a mono AAC (or Opus for ``.webm``) sine track of the same length.
        color_seed: changes the pixels, hence the checksum, of otherwise identical videos.
        rotation: display rotation in degrees counter-clockwise, stored as container
            metadata the way phones do (the pixels stay ``width`` x ``height``).

    Returns:
        The written path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    codec = _pick_codec(codec)
    n_frames = max(1, round(seconds * fps))

    with av.open(str(path), "w") as out:
        vs = out.add_stream(codec, rate=fps)
        vs.width = width
        vs.height = height
        vs.pix_fmt = "yuv420p"
        if rotation:
            vs.set_display_rotation(rotation)
        if codec == "libx264":
            # ultrafast keeps dozens of test videos cheap; no B-frames keeps pts == dts.
            vs.options = {"preset": "ultrafast", "tune": "zerolatency"}
        audio = None
        if with_audio:
            acodec = "libopus" if path.suffix.lower() == ".webm" else "aac"
            rate = 48000
            audio = out.add_stream(acodec, rate=rate)
            audio.layout = "mono"

        for i in range(n_frames):
            frame = av.VideoFrame.from_ndarray(_frame_pixels(i, width, height, color_seed), format="rgb24")
            frame.pts = i
            frame.time_base = Fraction(1, fps)
            for packet in vs.encode(frame):
                out.mux(packet)
        for packet in vs.encode():
            out.mux(packet)

        if audio is not None:
            _write_sine(out, audio, seconds=n_frames / fps)
    return path


def _write_sine(out, stream, *, seconds: float, hz: float = 440.0) -> None:
    rate = stream.codec_context.sample_rate
    total = int(seconds * rate)
    chunk = 960 if stream.codec_context.name in ("libopus", "opus") else 1024
    pts = 0
    while pts < total:
        n = min(chunk, total - pts)
        t = (np.arange(pts, pts + n) / rate).astype(np.float32)
        samples = (0.2 * np.sin(2 * np.pi * hz * t)).astype(np.float32).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate = rate
        frame.pts = pts
        frame.time_base = Fraction(1, rate)
        for packet in stream.encode(frame):
            out.mux(packet)
        pts += n
    for packet in stream.encode():
        out.mux(packet)


def make_audio_only(path: str | os.PathLike, *, seconds: float = 1.0) -> Path:
    """An AAC-in-MP4 file with no video stream (whatever the extension says)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Pick the muxer explicitly so a ``.mp4`` name still gets an MP4 container.
    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=48000)
        stream.layout = "mono"
        _write_sine(out, stream, seconds=seconds)
    return path


def make_info_json(video_path: str | os.PathLike, *, long_form: bool = False, **fields) -> Path:
    """Write a yt-dlp style ``.info.json`` sidecar next to ``video_path``.

    Args:
        video_path: the video the sidecar describes.
        long_form: name it ``clip.mp4.info.json`` instead of yt-dlp's ``clip.info.json``.
        **fields: keys to add or override; pass ``key=None`` to drop a default key.

    Returns:
        The sidecar path.
    """
    video_path = Path(video_path)
    vid = "dQw4w9WgXcQ"
    data = {
        "id": vid,
        "title": f"Sample clip {video_path.stem}",
        "webpage_url": f"https://www.youtube.com/shorts/{vid}",
        "original_url": f"https://youtube.com/shorts/{vid}?feature=share",
        "view_count": 12345,
        "tags": ["shorts", "funny", "cats"],
        "categories": ["Entertainment"],
        "uploader": "Sample Channel",
        "description": "A sample description.\nWith two lines.",
        "duration": 1,
        "extractor": "youtube",
        "extractor_key": "Youtube",
        "ext": video_path.suffix.lstrip(".") or "mp4",
    }
    for key, value in fields.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    name = video_path.name + ".info.json" if long_form else video_path.stem + ".info.json"
    sidecar = video_path.with_name(name)
    sidecar.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    return sidecar


def truncate_copy(src: str | os.PathLike, dst: str | os.PathLike, fraction: float = 0.5) -> Path:
    """Copy the first ``fraction`` of ``src`` to ``dst``, like an interrupted download."""
    data = Path(src).read_bytes()
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


def make_empty(path: str | os.PathLike) -> Path:
    """A zero-byte file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def make_text(path: str | os.PathLike, text: str = "this is not a video\n" * 20) -> Path:
    """A plain text file, typically given a video extension."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def png_bytes(width: int = 8, height: int = 8) -> bytes:
    """A minimal valid RGB PNG built by hand (so the factory needs no image library)."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (
            struct.pack(">I", len(payload))
            + kind
            + payload
            + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
        )

    raw = b"".join(b"\x00" + bytes([200, 30, 30]) * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def make_png(path: str | os.PathLike, width: int = 8, height: int = 8) -> Path:
    """A real PNG image, typically given a video extension to trick the importer."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png_bytes(width, height))
    return path
