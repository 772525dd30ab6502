"""The entry point: arguments, the no-display guard, screenshots, and the main window."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

import app

PROJECT_DIR = Path(__file__).resolve().parent.parent
APP = PROJECT_DIR / "app.py"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DISPLAY_VARS = ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")


def run_app(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(APP), *args],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def env_without_display(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in DISPLAY_VARS}
    env.update(extra)
    return env


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, "not a PNG file"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="only Linux needs a display server")
def test_no_display_exits_2_with_advice(data_dir: Path) -> None:
    result = run_app(env=env_without_display(ASFS_DATA_DIR=str(data_dir)))

    assert result.returncode == 2, result.stderr  # not -6 (Qt's abort) nor a crash
    assert "no display" in result.stderr
    assert "xvfb-run" in result.stderr
    assert "QT_QPA_PLATFORM=offscreen" in result.stderr
    assert "Traceback" not in result.stderr
    assert "core dumped" not in result.stderr


def test_display_check_reads_the_environment() -> None:
    if not sys.platform.startswith("linux"):
        assert app.display_available({})
        return
    assert not app.display_available({})
    assert not app.display_available({"DISPLAY": "  "})
    assert app.display_available({"DISPLAY": ":0"})
    assert app.display_available({"WAYLAND_DISPLAY": "wayland-0"})
    assert app.display_available({"QT_QPA_PLATFORM": "offscreen"})


def test_screenshot_without_display_writes_a_png(tmp_path: Path, data_dir: Path) -> None:
    out_dir = tmp_path / "shots" / "nested"
    result = run_app("--screenshot", str(out_dir), env=env_without_display(ASFS_DATA_DIR=str(data_dir)))

    assert result.returncode == 0, result.stderr
    shot = out_dir / "videos.png"  # one PNG per tab, named after it; Videos comes first
    assert result.stdout.splitlines()[0] == str(shot)
    assert all(Path(line).is_file() for line in result.stdout.splitlines())
    assert shot.stat().st_size > 1000
    assert png_size(shot) == (1280, 800)


def test_version() -> None:
    result = run_app("--version", env=env_without_display())

    assert result.returncode == 0
    assert result.stdout.strip() == f"asfs {app.version()}"
    assert app.version()[0].isdigit()


def test_version_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    assert app.main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("asfs ")


def test_headless_refuses_a_data_dir_that_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # headless mode itself is tested in tests/test_headless.py
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    assert app.main(["--headless", "--data-dir", str(not_a_dir)]) == 2
    assert "is a file" in capsys.readouterr().err


def test_bad_argument_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert app.main(["--no-such-option"]) == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def test_data_dir_that_is_a_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")

    assert app.main(["--data-dir", str(not_a_dir), "--screenshot", str(tmp_path / "s")]) == 2
    assert "is a file" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


def test_importing_app_does_not_import_qt() -> None:
    code = (
        "import sys, app; app.build_parser().parse_args(['--data-dir', 'x']); "
        "sys.exit(any(m.split('.')[0] in ('PySide6', 'shiboken6', 'ui') for m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_main_window(qtbot, data_dir: Path) -> None:
    from PySide6.QtWidgets import QLabel, QTabWidget

    from database.paths import DataPaths
    from ui.main_window import WINDOW_TITLE, MainWindow
    from ui.tabs.videos_tab import VideosTab

    window = MainWindow(DataPaths(data_dir), refresh_interval_ms=0)
    qtbot.addWidget(window)
    try:
        assert window.windowTitle() == WINDOW_TITLE
        assert (window.width(), window.height()) == (1280, 800)
        assert isinstance(window.tabs, QTabWidget)
        assert window.centralWidget() is window.tabs
        assert [window.tabs.tabText(i) for i in range(window.tabs.count())] == ["🎬 Videos", "📺 Channels", "📅 Schedules", "🔀 Distribution", "📊 Dashboard"]
        assert isinstance(window.tabs.widget(0), VideosTab)
        assert str(data_dir) in window.status_text()
        assert str(data_dir / "database" / "videos.db") in window.status_text()
        assert window.statusBar().isAncestorOf(window.location_label)

        index = window.add_tab(QLabel("later"), "Later")
        assert index == 5
        assert window.tabs.tabText(5) == "Later"
        qtbot.waitUntil(window.is_settled, timeout=20_000)
    finally:
        window.shutdown()


def test_data_dir_comes_from_option_then_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], qapp
) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    monkeypatch.setenv("ASFS_DATA_DIR", str(not_a_dir))

    assert app.main(["--screenshot", str(tmp_path / "a")]) == 2  # the environment is read
    assert str(not_a_dir) in capsys.readouterr().err

    good = tmp_path / "good"
    assert app.main(["--data-dir", str(good), "--screenshot", str(tmp_path / "b")]) == 0  # the option wins
    assert (tmp_path / "b" / "videos.png").read_bytes()[:8] == PNG_SIGNATURE
