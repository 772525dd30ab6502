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
from pathlib import Path

import av

# The video generator is production code (the demo uses it too); tests import it from here.
from database.synth import DEFAULT_CODEC, FALLBACK_CODEC, _pick_codec, _write_sine, make_video  # noqa: F401


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
