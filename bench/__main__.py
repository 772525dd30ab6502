"""Run the benchmarks and write bench/results.md.

    python -m bench                  # all of them, full size (what `make bench` runs)
    python -m bench register sha256  # only these
    python -m bench --smoke          # tiny sizes, a few seconds (tests/test_bench_smoke.py)
    python -m bench --list

Full runs write bench/results.md (``--out`` elsewhere); smoke runs write only with ``--out``.
The exit status is 0 even when a target is missed (the table says so); 1 when a benchmark broke.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import tempfile
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

from .common import PROJECT, Context, Result, machine
from .report import render

# In the order they run (and appear in the table).
MODULES = ["register", "can_upload", "sha256", "distribute", "schedules", "videos_tab", "app_start",
           "sandbox_uploads"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"which to run (default: all): {', '.join(MODULES)}")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks that every benchmark still runs")
    parser.add_argument("--out", help="where to write the Markdown table (default: bench/results.md for full runs)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)
    if args.list:
        for name in MODULES:
            print(f"{name:16} {importlib.import_module(f'bench.{name}').TITLE}")
        return 0
    unknown = [n for n in args.names if n not in MODULES]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(MODULES)}")
    names = args.names or MODULES
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["ASFS_OFFLINE"] = "1"  # never a real platform: the sandbox on 127.0.0.1 only
    if str(PROJECT) not in sys.path:
        sys.path.insert(0, str(PROJECT))

    results: list[Result] = []
    broken: list[str] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="asfs-bench-") as tmp:
        ctx = Context(smoke=args.smoke, tmp=Path(tmp), log=lambda text: print(f"  {text}", flush=True))
        for name in names:
            mod = importlib.import_module(f"bench.{name}")
            print(f"[{name}] {mod.TITLE}{' (smoke)' if args.smoke else ''}", flush=True)
            t0 = time.perf_counter()
            try:
                rows = mod.run(ctx)
            except Exception as exc:  # noqa: BLE001 - one broken benchmark must not hide the others
                traceback.print_exc()
                broken.append(name)
                rows = [Result(mod.TITLE, "—", "—", "—", "", None, f"broken: {type(exc).__name__}: {exc}")]
            for r in rows:
                verdict = "pass" if r.passed else ("—" if r.passed is None else "MISS")
                print(f"  {verdict:4}  {r.workload}: ours {r.ours} | baseline {r.baseline} | ratio {r.ratio}"
                      f" (target {r.target})", flush=True)
            print(f"  ({time.perf_counter() - t0:.1f} s)", flush=True)
            results.extend(rows)
    total = time.perf_counter() - started
    out = Path(args.out) if args.out else (None if args.smoke else PROJECT / "bench" / "results.md")
    if out is not None:
        if args.names and not args.smoke and not args.out:
            # a partial run updates only its own rows of the full table
            from .report import merge

            results = merge(out, results)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(render(results, machine(), datetime.now(timezone.utc), total, smoke=args.smoke,
                              partial=bool(args.names)))
        print(f"wrote {out}")
    print(f"total {total:.1f} s")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
