"""App start to window shown, with 100,000 videos in the registry.

Ours: ``python app.py --data-dir D`` in a fresh process (offscreen), with
``ASFS_EXIT_WHEN_SHOWN=1``: ``ui.main_window.run_window`` prints ``ASFS_SHOWN <time.time()>``
once the window is shown and the Videos tab's first load is in the table, then closes the
window. The figure is that moment minus the moment the process was started (wall clock,
``time.time()`` on both sides, since they are two processes): interpreter start, imports, the
registry check, the scheduler starting in the background, building the window, loading the
rows. Baseline: ``python -c "import PySide6.QtWidgets"``, start to exit.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from .common import PROJECT, Context, Result, fmt_time

NAME = "app_start"
TITLE = "app start to window shown, 100,000 videos"


def run(ctx: Context) -> list[Result]:
    from .videos_tab import build

    n = ctx.size(100_000, 1_000)
    repeats = 1 if ctx.smoke else 3
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", ASFS_EXIT_WHEN_SHOWN="1", ASFS_OFFLINE="1")
    env.pop("ASFS_DATA_DIR", None)
    with ctx.workdir(NAME) as tmp:
        root = tmp / "data"
        build(root, n)

        def ours() -> float:
            t0 = time.time()
            out = subprocess.run([sys.executable, str(PROJECT / "app.py"), "--data-dir", str(root)], env=env,
                                 cwd=str(PROJECT), capture_output=True, text=True, timeout=120)
            marks = [line.split()[1] for line in out.stdout.splitlines() if line.startswith("ASFS_SHOWN ")]
            if out.returncode != 0 or not marks:
                raise RuntimeError(f"app.py exited {out.returncode} without showing the window:\n"
                                   f"{out.stdout[-2000:]}\n{out.stderr[-2000:]}")
            return float(marks[0]) - t0

        def base() -> float:
            t0 = time.time()
            subprocess.run([sys.executable, "-c", "import PySide6.QtWidgets"], env=env, check=True, timeout=60)
            return time.time() - t0

        ours()  # warm the OS caches (the registry file, Python's bytecode, Qt's libraries) for both
        base()
        t_ours, t_base = [], []
        for i in range(repeats):
            for fn, into in ((ours, t_ours), (base, t_base)) if i % 2 == 0 else ((base, t_base), (ours, t_ours)):
                into.append(fn())
    best, best_base = min(t_ours), min(t_base)
    return [Result(
        TITLE, fmt_time(best), f"{fmt_time(best_base)} (`import PySide6.QtWidgets`)", f"{best / best_base:.1f}×",
        "≤ 2.5 s", best <= 2.5,
        f"{n:,} videos; `python app.py --data-dir D` offscreen until the window is shown with every row loaded "
        f"(`ASFS_EXIT_WHEN_SHOWN=1`); best of {repeats} interleaved with the baseline, after one warm-up start of "
        f"each (all runs: {', '.join(fmt_time(t) for t in t_ours)})",
    )]
