"""SHA-256 of a 1 GiB file, as ingest hashes it.

Ours: ``database.media.sha256_file(path)``. Baseline: a bare ``hashlib`` read loop (1 MiB
``read``s into ``update``). The file is written once into a temp folder (so both read it
from the page cache: this measures the hashing path, not the disk) and deleted afterwards.
Memory: the peak of Python allocations (tracemalloc) while ours hashes the whole file, in
a separate untimed pass, and the process's RSS before and after it.
"""

from __future__ import annotations

import hashlib
import os
import tracemalloc
from pathlib import Path

from .common import Context, Result, fmt_time, interleave

NAME = "sha256"
TITLE = "SHA-256 of a 1 GiB file during ingest"


def _rss() -> int:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def bare(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def run(ctx: Context) -> list[Result]:
    from database.media import sha256_file

    size = ctx.size(1 << 30, 4 << 20)
    with ctx.workdir(NAME) as tmp:
        path = tmp / "big.bin"
        block = os.urandom(1 << 20)
        with open(path, "wb") as f:
            for _ in range(size // len(block)):
                f.write(block)
        assert sha256_file(path) == bare(path)  # also warms the page cache
        t_ours, t_base = interleave(lambda: sha256_file(path), lambda: bare(path), 2 if ctx.smoke else 3)
        rss0 = _rss()
        tracemalloc.start()
        sha256_file(path)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss1 = _rss()
    ratio = t_base / t_ours
    mib = size / (1 << 20)
    flat = peak < 4 << 20
    return [Result(
        TITLE, f"{mib / t_ours:,.0f} MiB/s ({fmt_time(t_ours)}); peak {peak / 1024:,.0f} KiB",
        f"{mib / t_base:,.0f} MiB/s ({fmt_time(t_base)})",
        f"{ratio:.2f}", "≥ 0.9 of its speed, memory flat", ratio >= 0.9 and flat,
        f"{mib:,.0f} MiB from the page cache, best of {2 if ctx.smoke else 3} interleaved; ours allocates at most "
        f"{peak / 1024:,.0f} KiB of Python memory (tracemalloc peak) for the whole file, RSS "
        f"{(rss1 - rss0) / 1024:+,.0f} KiB across the hash",
    )]
