"""What every benchmark shares: timing, the result row, the machine description.

A benchmark module defines ``NAME`` (what ``python -m bench NAME`` selects), ``TITLE`` and
``run(ctx) -> list[Result]``. It measures our code and a baseline that does the same work
the simplest fast way, in the same run, and reports both with their ratio, so a noisy
machine moves both numbers together.
"""

from __future__ import annotations

import gc
import os
import platform
import sqlite3
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

PROJECT = Path(__file__).resolve().parent.parent


@dataclass
class Context:
    """How big to make things and where to put them."""

    smoke: bool
    tmp: Path
    log: Callable[[str], None] = print

    def size(self, full: int, smoke: int) -> int:
        return smoke if self.smoke else full

    @contextmanager
    def workdir(self, name: str) -> Iterator[Path]:
        d = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=self.tmp))
        try:
            yield d
        finally:
            import shutil

            shutil.rmtree(d, ignore_errors=True)


@dataclass
class Result:
    """One row of bench/results.md.

    ``ratio`` is ours ÷ baseline as the target states it (a throughput ratio, or a time
    ratio where the target is "≤ N× its time"); ``passed`` says whether the target holds.
    """

    workload: str
    ours: str
    baseline: str
    ratio: str
    target: str
    passed: bool | None
    notes: str = ""
    extra: dict = field(default_factory=dict)


def fmt_rate(n: float, seconds: float, unit: str = "/s") -> str:
    rate = n / seconds if seconds > 0 else float("inf")
    if rate >= 1e6:
        return f"{rate / 1e6:.2f} M{unit}"
    if rate >= 1e4:
        return f"{rate / 1e3:.0f} k{unit}"
    if rate >= 1e3:
        return f"{rate / 1e3:.1f} k{unit}"
    return f"{rate:.1f}{unit}"


def fmt_time(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} µs"


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    """Seconds one call of ``fn`` took (perf_counter), and its value.

    The garbage collector stays on, as in the app (it is part of what a big run costs); the
    heap is collected first so one measurement does not pay for the previous one's garbage.
    """
    gc.collect()
    t0 = time.perf_counter()
    value = fn()
    return time.perf_counter() - t0, value


def interleave(ours: Callable[[], object], base: Callable[[], object], repeats: int,
               setup_ours: Callable[[], object] | None = None,
               setup_base: Callable[[], object] | None = None) -> tuple[float, float]:
    """Best-of-``repeats`` seconds for ours and the baseline, run alternately (ours first, then
    baseline first, ...) so a slow patch of the machine hits both.

    ``setup_*`` run untimed before each timed call; the timed function then gets their value
    when it takes an argument (``fn(prepared)``) — pass lambdas that ignore it otherwise.
    """
    best = {"ours": float("inf"), "base": float("inf")}

    def one(which: str) -> None:
        fn, setup = (ours, setup_ours) if which == "ours" else (base, setup_base)
        prepared = setup() if setup else None
        t, _ = timed((lambda: fn(prepared)) if setup else fn)
        best[which] = min(best[which], t)

    for i in range(repeats):
        for which in (("ours", "base") if i % 2 == 0 else ("base", "ours")):
            one(which)
    return best["ours"], best["base"]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _ram() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _version(module: str) -> str:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:  # noqa: BLE001 - not installed
        return "not installed"


def _browser() -> str:
    try:
        import subprocess

        from uploaders.browser import find_browser

        out = subprocess.run([find_browser(), "--version"], capture_output=True, text=True, timeout=20)
        return out.stdout.strip() or "found"
    except Exception:  # noqa: BLE001 - no browser
        return "none"


def machine() -> dict[str, str]:
    """What the numbers were measured on."""
    return {
        "CPU": f"{_cpu_model()}, {os.cpu_count()} logical cores",
        "RAM": _ram(),
        "OS": f"{platform.system()} {platform.release()}",
        "Python": sys.version.split()[0],
        "SQLite": sqlite3.sqlite_version,
        "PySide6": _version("PySide6-Essentials") if _version("PySide6") == "not installed" else _version("PySide6"),
        "Playwright": _version("playwright"),
        "Browser": _browser(),
    }
