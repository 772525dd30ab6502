"""The benchmarks (``make bench``) with tiny sizes, so they cannot rot between benchmark runs.

Runs ``python -m bench --smoke`` in a fresh process (as ``make bench`` runs the full one) and
checks that every benchmark ran, measured ours and its baseline, and wrote its row. The
figures of a smoke run say nothing about speed; no target is checked here.
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent


def test_every_benchmark_runs_with_tiny_sizes(tmp_path):
    from bench.__main__ import MODULES
    from uploaders.browser import BrowserNotFoundError, find_browser

    names = list(MODULES)
    try:
        find_browser()
    except BrowserNotFoundError:
        names.remove("sandbox_uploads")  # needs a system Chromium, like the other browser tests
    out = tmp_path / "results.md"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", ASFS_OFFLINE="1")
    env.pop("ASFS_DATA_DIR", None)
    proc = subprocess.run([sys.executable, "-m", "bench", "--smoke", "--out", str(out), *names], cwd=PROJECT,
                          env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]

    text = out.read_text()
    assert "Smoke run" in text and "| Machine |" in text and "## What was done" in text
    rows = [line for line in text.splitlines() if line.startswith("| ") and line.count(" | ") >= 5
            and not line.startswith(("| Workload", "| Machine"))]
    for title in (importlib.import_module(f"bench.{name}").TITLE for name in names):
        mine = [r for r in rows if r.startswith(f"| {title}")]
        assert mine, f"no row for {title!r} in:\n{text}"
        for row in mine:
            cells = [c.strip() for c in row.strip("|").split(" | ")]
            workload, ours, baseline, ratio = cells[:4]
            assert ours not in ("", "—") and baseline not in ("", "—"), row
            assert re.search(r"\d", ratio), row
    assert "broken" not in text, text
