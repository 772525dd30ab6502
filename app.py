"""ASFS entry point: the desktop window (or, later, the headless service).

    python app.py [--data-dir DIR] [--screenshot DIR] [--headless] [--version]

Qt is imported only once we know a window can be shown, so ``import app`` (argument
parsing, tests, packaging tools) stays cheap and works on a machine without Qt's
system libraries.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping
from pathlib import Path

PROJECT_NAME = "asfs"
PROJECT_DIR = Path(__file__).resolve().parent

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2  # bad arguments, or an environment the app cannot run in

NO_DISPLAY_MESSAGE = """\
asfs: no display available, so the window cannot be opened.
Neither DISPLAY nor WAYLAND_DISPLAY is set, and QT_QPA_PLATFORM is not set either.
To fix it, one of:
  - run it from a desktop session (X11 or Wayland);
  - run it on a virtual screen:    xvfb-run python app.py   (Debian: apt-get install xvfb)
  - only render a screenshot:      python app.py --screenshot DIR
    (or set QT_QPA_PLATFORM=offscreen yourself; nothing is shown on screen then)
"""


def version() -> str:
    """The project version: pyproject.toml in a source checkout, else the installed metadata."""
    pyproject = PROJECT_DIR / "pyproject.toml"
    if pyproject.is_file():
        try:
            import tomllib  # Python 3.11+

            with pyproject.open("rb") as fh:
                return str(tomllib.load(fh)["project"]["version"])
        except (ImportError, KeyError, ValueError, OSError):
            pass
    try:
        from importlib.metadata import PackageNotFoundError
        from importlib.metadata import version as dist_version

        return dist_version(PROJECT_NAME)
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="app.py",
        description="ASFS: the control panel for many short-video channels.",
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help=(
            "where the registry, audit database, logs, thumbnails and browser profiles live "
            "(default: $ASFS_DATA_DIR, else the project folder)"
        ),
    )
    parser.add_argument(
        "--headless",
        action="store_true",
        help="run the scheduler and publisher without a window (logs to the console and logs/asfs.log)",
    )
    parser.add_argument(
        "--screenshot",
        metavar="DIR",
        help="render each tab of the main window to DIR/<tab>.png (videos.png, ...) without showing it, then exit",
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help=(
            "open the window on a demo registry (generated videos, a few channels per platform) that "
            "publishes to the local sandbox platform on 127.0.0.1; data in --data-dir, else a temp folder"
        ),
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    return parser


def display_available(environ: Mapping[str, str] | None = None) -> bool:
    """Whether Qt has somewhere to draw.

    Only Linux and the BSDs need a display server; there, an unset DISPLAY and
    WAYLAND_DISPLAY makes Qt's xcb plugin abort the process. QT_QPA_PLATFORM set to
    anything (offscreen, vnc, eglfs, ...) means the user chose a platform on purpose.
    """
    env = os.environ if environ is None else environ
    if not sys.platform.startswith(("linux", "freebsd", "openbsd", "netbsd")):
        return True
    return any(env.get(name, "").strip() for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error argparse already printed
        return int(exc.code or 0)

    if args.version:
        print(f"{PROJECT_NAME} {version()}")
        return EXIT_OK

    if args.headless:
        from orchestration.headless import run as run_headless

        return run_headless(args.data_dir)

    # The registry package is imported only now, so --version and --help never depend on it.
    from database.paths import DataPaths, resolve_data_dir

    if args.demo and not args.screenshot and not display_available():
        sys.stderr.write(NO_DISPLAY_MESSAGE)
        return EXIT_USAGE
    if args.demo:
        # The demo never touches the operator's registry: only an explicit --data-dir moves it.
        from orchestration.demo import DEFAULT_DIR

        data_dir = Path(args.data_dir).expanduser().resolve() if args.data_dir else DEFAULT_DIR
    else:
        data_dir = resolve_data_dir(args.data_dir)
    if data_dir.exists() and not data_dir.is_dir():
        print(f"asfs: the data directory {data_dir} is a file, not a folder.", file=sys.stderr)
        return EXIT_USAGE
    paths = DataPaths(data_dir)

    demo = None
    if args.demo:
        from orchestration.demo import Demo

        print(f"asfs: preparing the demo in {data_dir} ...", file=sys.stderr)
        try:
            demo = Demo(data_dir).start(progress=lambda text: print(f"  {text}", file=sys.stderr))
        except Exception as exc:  # noqa: BLE001 - say what failed instead of a traceback
            print(f"asfs: the demo could not start: {exc}", file=sys.stderr)
            return EXIT_FAILURE
        print(f"asfs: sandbox platform at {demo.sandbox.url} (posts appear on its channel pages)",
              file=sys.stderr)
    try:
        return _run(args, paths)
    finally:
        if demo is not None:
            demo.stop()


def _run(args: argparse.Namespace, paths) -> int:
    """Open the registry, then take a screenshot or show the window (with the scheduler)."""
    # Open (create or migrate) the registry before any window: a registry from a newer ASFS,
    # or a file that is not one, is refused here with a message instead of a broken window.
    from database import ASFSError, Database

    try:
        Database.open(paths.registry).close()
    except ASFSError as exc:
        print(f"asfs: {exc}", file=sys.stderr)
        return EXIT_FAILURE

    if args.screenshot:
        if not display_available():
            os.environ["QT_QPA_PLATFORM"] = "offscreen"
        from ui.main_window import save_screenshot

        out_dir = Path(args.screenshot).expanduser()
        try:
            written = save_screenshot(paths, out_dir)
        except OSError as exc:
            print(f"asfs: could not write the screenshots to {out_dir}: {exc}", file=sys.stderr)
            return EXIT_FAILURE
        for out in written:
            print(out)
        return EXIT_OK

    if not display_available():
        sys.stderr.write(NO_DISPLAY_MESSAGE)
        return EXIT_USAGE

    from orchestration.settings import load_settings

    try:
        settings = load_settings(paths)
    except ASFSError as exc:
        print(f"asfs: {exc}", file=sys.stderr)
        return EXIT_USAGE

    # The scheduler (APScheduler) runs inside the app, as in --headless. Its start-up resolves
    # uploads and schedules a crash left half-done, which may open a browser: off the GUI thread.
    from orchestration.services import BackgroundServices

    services = BackgroundServices(paths, settings, headless=False)
    services.start_in_background()

    from ui.main_window import run_window

    try:
        return run_window(paths, services=services)
    finally:
        services.stop()


if __name__ == "__main__":
    sys.exit(main())
