"""The sandbox platform in a process of its own, for the upload benchmark.

    python -m bench.sandbox_server ROOT PROCESSING_SECONDS ACCOUNT[@SECONDS]...

Prints one JSON line — ``{"url", "youtube", "cookies": {account: cookie}}`` (a signed-in
YouTube session cookie per account) — then serves until its stdin closes. ``name@5`` gives
that account 5 s of processing per video (the sandbox's ``slow`` switch). A real platform is
not in the uploader's process either: this keeps the sandbox's Python work off the GIL the
uploaders (ours and the baseline's) need.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    from uploaders.sandbox import Sandbox

    root, processing, *specs = argv
    sandbox = Sandbox(Path(root), processing_seconds=float(processing)).start()
    accounts = []
    for spec in specs:
        name, _, slow = spec.partition("@")
        if slow:
            sandbox.configure(name, platform="youtube", slow=float(slow))
        accounts.append(name)
    try:
        print(json.dumps({"url": sandbox.url, "youtube": sandbox.base_url("youtube"),
                          "cookies": {a: sandbox.cookie("youtube", a) for a in accounts}}), flush=True)
        sys.stdin.read()
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
