"""Synthesized videos: real, small, distinct files made with PyAV from generated frames.

The demo registry (``app.py --demo``) and the tests both make their videos here, so no binary
media is committed and what the demo shows is what the tests exercise.
"""

from __future__ import annotations

import os
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


__all__ = ["DEFAULT_CODEC", "FALLBACK_CODEC", "make_video"]
