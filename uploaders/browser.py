"""The system browser, one persistent profile per channel account, and Playwright sessions.

ASFS drives the operator's own Chrome, Brave or Chromium through Playwright; it never needs
Playwright's browser download. Each channel account has its own profile folder (mode 0700)
under the data directory, so the operator logs in once and the cookies stay there.

Threads: Playwright's sync API is bound to the thread that started it. A
:class:`BrowserSession` uses the Playwright of the thread that opens it (started on first
use, one per thread: the sync API cannot run two in one thread, and stopped with the
thread's last session) and refuses to be used from any other thread; a publishing thread
opens its own session and closes it itself. No Playwright object may cross threads.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import sys
import threading
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from database.errors import ASFSError

log = logging.getLogger("asfs.uploaders")

ENV_BROWSER = "ASFS_BROWSER"
ENV_HEADLESS = "ASFS_HEADLESS"
# ASFS_OFFLINE=1: never open a real platform, only the sandbox on loopback (tests, the demo).
ENV_OFFLINE = "ASFS_OFFLINE"

# Flags for every session. Playwright adds its own automation defaults on top.
BASE_ARGS = (
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--disable-gpu",
    "--password-store=basic",  # no desktop keyring prompt on Linux
)


class BrowserNotFoundError(ASFSError):
    """No usable Chrome, Brave or Chromium; the message lists every place that was searched."""

    def __init__(self, searched: Sequence[str], reason: str | None = None):
        self.searched = list(searched)
        lines = "\n".join(f"  - {s}" for s in self.searched)
        head = reason or "No Chrome, Brave or Chromium browser was found."
        super().__init__(
            f"{head}\nSearched:\n{lines}\n"
            f"Install one of them, or set the browser path in the settings or in ${ENV_BROWSER}."
        )


# -- finding the browser ---------------------------------------------------------------------


def _windows_dirs() -> list[str]:
    dirs = []
    for var, default in (("PROGRAMFILES", r"C:\Program Files"), ("PROGRAMFILES(X86)", r"C:\Program Files (x86)"),
                         ("LOCALAPPDATA", None)):
        value = os.environ.get(var) or default
        if value:
            dirs.append(value)
    return dirs


def browser_candidates(platform: str | None = None) -> list[tuple[str, list[str], list[str]]]:
    """Where each browser usually lives, in order of preference (Brave, Chrome, Chromium).

    Returns:
        ``[(browser name, [absolute paths], [command names for PATH])]`` for ``platform``
        (``sys.platform`` by default).
    """
    platform = platform or sys.platform
    home = str(Path.home())
    if platform.startswith("win"):
        def win(rel: str) -> list[str]:
            return [os.path.join(d, rel) for d in _windows_dirs()]

        return [
            ("Brave", win(r"BraveSoftware\Brave-Browser\Application\brave.exe"), ["brave.exe", "brave"]),
            ("Chrome", win(r"Google\Chrome\Application\chrome.exe"), ["chrome.exe", "chrome"]),
            ("Chromium", win(r"Chromium\Application\chrome.exe"), ["chromium.exe", "chromium"]),
        ]
    if platform == "darwin":
        def mac(app: str, exe: str) -> list[str]:
            rel = f"{app}.app/Contents/MacOS/{exe}"
            return [f"/Applications/{rel}", f"{home}/Applications/{rel}"]

        return [
            ("Brave", mac("Brave Browser", "Brave Browser"), ["brave-browser", "brave"]),
            ("Chrome", mac("Google Chrome", "Google Chrome"), ["google-chrome", "chrome"]),
            ("Chromium", mac("Chromium", "Chromium"), ["chromium"]),
        ]
    return [
        ("Brave", ["/usr/bin/brave-browser", "/usr/bin/brave", "/opt/brave.com/brave/brave",
                   "/snap/bin/brave", "/var/lib/flatpak/exports/bin/com.brave.Browser"],
         ["brave-browser", "brave", "brave-browser-stable"]),
        ("Chrome", ["/usr/bin/google-chrome", "/usr/bin/google-chrome-stable", "/opt/google/chrome/chrome"],
         ["google-chrome", "google-chrome-stable", "chrome"]),
        ("Chromium", ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/snap/bin/chromium",
                      "/usr/lib/chromium/chromium"],
         ["chromium", "chromium-browser"]),
    ]


def _usable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def find_browser(settings_path: str | os.PathLike | None = None, *,
                 candidates: Iterable[tuple[str, list[str], list[str]]] | None = None) -> str:
    """The browser executable to drive.

    Args:
        settings_path: the browser path chosen in the settings; wins over everything.
        candidates: override of :func:`browser_candidates` (tests).

    Returns:
        An absolute path to an executable.

    Raises:
        BrowserNotFoundError: nothing usable; the message lists where it looked. A path set
            explicitly (settings or ``ASFS_BROWSER``) that is not executable is an error too,
            rather than silently driving some other browser.
    """
    for source, value in (("settings", settings_path), (f"${ENV_BROWSER}", os.environ.get(ENV_BROWSER, "").strip())):
        if value:
            path = os.path.expanduser(str(value))
            resolved = path if os.path.isabs(path) else (shutil.which(path) or path)
            if _usable(resolved):
                return os.path.abspath(resolved)
            raise BrowserNotFoundError([f"{resolved} (from {source})"],
                                       f"The browser set in {source} is not an executable file: {value}")
    searched: list[str] = []
    for name, paths, commands in (browser_candidates() if candidates is None else candidates):
        for p in paths:
            searched.append(f"{p} ({name})")
            if _usable(p):
                return p
        for cmd in commands:
            searched.append(f"{cmd} on PATH ({name})")
            found = shutil.which(cmd)
            if found and _usable(found):
                return os.path.abspath(found)
    raise BrowserNotFoundError(searched)


# -- profiles --------------------------------------------------------------------------------


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9._-]+", "-", text.strip().lower()).strip("-.")
    return slug[:60] or "account"


def profile_dir(paths: Any, channel: Mapping[str, Any]) -> Path:
    """The persistent browser profile of a channel's account, created with mode 0700.

    One folder per (platform, account): two channels that share an account share its login.
    A short hash keeps accounts whose names slug alike ("A b" / "a-b") apart.

    Args:
        paths: a :class:`database.paths.DataPaths` (or anything with ``.profiles``).
        channel: the channel row (``platform``, ``account``, ``id``).
    """
    platform = str(channel.get("platform") or "platform")
    account = str(channel.get("account") or channel.get("id") or "default")
    raw = f"{platform}:{account}"
    name = f"{_slug(platform)}-{_slug(account)}"
    if name != f"{platform.lower()}-{account}":
        name += "-" + hashlib.sha256(raw.encode()).hexdigest()[:6]
    root = Path(paths.profiles)
    root.mkdir(parents=True, exist_ok=True)
    _chmod_private(root)
    path = root / name
    path.mkdir(mode=0o700, exist_ok=True)
    _chmod_private(path)  # mkdir's mode is filtered by the umask
    return path


def _chmod_private(path: Path) -> None:
    try:
        os.chmod(path, 0o700)
    except OSError:  # pragma: no cover - e.g. filesystems without permissions
        log.warning("could not make %s private (chmod 0700)", path)


def is_loopback(url: str | None) -> bool:
    from urllib.parse import urlsplit

    return (urlsplit(url or "").hostname or "").lower() in ("127.0.0.1", "localhost", "::1")


def offline() -> bool:
    """True when ``$ASFS_OFFLINE`` forbids real platforms (only loopback URLs may be opened)."""
    return os.environ.get(ENV_OFFLINE, "").strip().lower() in ("1", "true", "yes", "on")


class OfflineError(ASFSError):
    """``ASFS_OFFLINE`` is set and something wanted a real platform."""


def default_headless(base_url: str | None) -> bool:
    """Headless for the sandbox on loopback, visible for real platforms; ``$ASFS_HEADLESS`` wins."""
    env = os.environ.get(ENV_HEADLESS, "").strip().lower()
    if env in ("1", "true", "yes", "on"):
        return True
    if env in ("0", "false", "no", "off"):
        return False
    return is_loopback(base_url)


# -- sessions --------------------------------------------------------------------------------

# Chromium allows one process per profile: sessions in this process take turns per profile.
_profile_locks: dict[str, threading.Lock] = {}
_profile_locks_guard = threading.Lock()


def _profile_lock(profile: Path) -> threading.Lock:
    key = str(Path(profile).resolve())
    with _profile_locks_guard:
        return _profile_locks.setdefault(key, threading.Lock())


# Playwright's sync API allows one running instance per thread (a second sync_playwright()
# in the same thread fails with "using Playwright Sync API inside the asyncio loop"), so the
# sessions of one thread share that thread's instance, counted, and the last one stops it.
_thread_playwright = threading.local()


def _acquire_playwright():
    state = getattr(_thread_playwright, "state", None)
    if state is None:
        from playwright.sync_api import sync_playwright

        state = _thread_playwright.state = [sync_playwright().start(), 0]
    state[1] += 1
    return state[0]


def _release_playwright() -> None:
    state = getattr(_thread_playwright, "state", None)
    if state is None:
        return
    state[1] -= 1
    if state[1] <= 0:
        _thread_playwright.state = None
        try:
            state[0].stop()
        except Exception:  # noqa: BLE001 - the driver may already be gone
            log.debug("stopping Playwright failed", exc_info=True)


class BrowserSession:
    """One browser on one persistent profile, owned by the thread that opened it.

    Use as a context manager (or :meth:`start` / :meth:`close`) from the thread that will use
    it. Every wait has a bound: ``default_timeout`` for actions and ``navigation_timeout``
    for page loads (seconds).

        with BrowserSession(profile, headless=True) as s:
            page = s.new_page()
            page.goto(url)
    """

    def __init__(self, profile: str | os.PathLike, *, headless: bool = False, executable: str | None = None,
                 settings_path: str | None = None, default_timeout: float = 15.0,
                 navigation_timeout: float = 30.0, launch_timeout: float = 30.0,
                 profile_wait: float = 60.0, extra_args: Sequence[str] = (),
                 viewport: tuple[int, int] = (1280, 900)):
        self.profile = Path(profile)
        self.headless = headless
        self.executable = executable
        self.settings_path = settings_path
        self.default_timeout = default_timeout
        self.navigation_timeout = navigation_timeout
        self.launch_timeout = launch_timeout
        self.profile_wait = profile_wait
        self.extra_args = tuple(extra_args)
        self.viewport = viewport
        self.context = None
        self._pw = None
        self._thread: int | None = None
        self._lock: threading.Lock | None = None

    @staticmethod
    def launch_args(extra: Sequence[str] = ()) -> list[str]:
        args = list(BASE_ARGS)
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            args.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
        args.extend(a for a in extra if a not in args)
        return args

    @property
    def is_open(self) -> bool:
        return self.context is not None

    def _check_thread(self) -> None:
        if self._thread is not None and threading.get_ident() != self._thread:
            raise RuntimeError("A BrowserSession (and every Playwright object from it) belongs to the "
                               "thread that opened it; open a new session in this thread instead.")

    def start(self) -> "BrowserSession":
        if self.context is not None:
            self._check_thread()
            return self
        executable = self.executable or find_browser(self.settings_path)
        self.profile.mkdir(parents=True, exist_ok=True)
        lock = _profile_lock(self.profile)
        if not lock.acquire(timeout=self.profile_wait):
            raise TimeoutError(f"the browser profile {self.profile} stayed busy for {self.profile_wait:.0f} s")
        self._thread = threading.get_ident()
        self._lock = lock
        try:
            self._pw = _acquire_playwright()
            self.context = self._pw.chromium.launch_persistent_context(
                str(self.profile),
                executable_path=executable,
                headless=self.headless,
                args=self.launch_args(self.extra_args),
                viewport={"width": self.viewport[0], "height": self.viewport[1]},
                timeout=self.launch_timeout * 1000,
                accept_downloads=False,
            )
            self.context.set_default_timeout(self.default_timeout * 1000)
            self.context.set_default_navigation_timeout(self.navigation_timeout * 1000)
        except BaseException:
            self._shutdown()
            raise
        log.info("browser started: %s (%s) on profile %s", executable,
                 "headless" if self.headless else "visible", self.profile)
        return self

    def new_page(self):
        """A new tab in this session."""
        self._check_thread()
        if self.context is None:
            raise RuntimeError("the browser session is not open")
        return self.context.new_page()

    def pages(self) -> list:
        self._check_thread()
        return list(self.context.pages) if self.context is not None else []

    def close(self) -> None:
        """Close the browser (flushes the profile's cookies to disk) and stop Playwright."""
        if self.context is None and self._pw is None:
            return
        self._check_thread()
        self._shutdown()

    def _shutdown(self) -> None:
        try:
            if self.context is not None:
                try:
                    self.context.close()
                except Exception:  # noqa: BLE001 - the browser may already be gone
                    log.debug("closing the browser context failed", exc_info=True)
            if self._pw is not None:
                _release_playwright()
        finally:
            self.context = None
            self._pw = None
            if self._lock is not None:
                self._lock.release()
                self._lock = None

    def __enter__(self) -> "BrowserSession":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()


# -- login -----------------------------------------------------------------------------------


def _uploader_for(channel: Mapping[str, Any], paths: Any, headless: bool | None):
    from uploaders.playwright_base import uploader_class

    cls = uploader_class(str(channel.get("platform") or ""))
    if paths is None:
        from database.paths import DataPaths

        paths = DataPaths(Path(channel["data_dir"])) if channel.get("data_dir") else DataPaths.default()
    return cls(channel, paths, headless=headless)


def login(channel: Mapping[str, Any], paths: Any = None, *, timeout: float = 300.0, headless: bool = False,
          on_page: Callable[[Any], None] | None = None) -> bool:
    """Open a visible browser on the platform's sign-in page; return once logged in.

    The operator signs in by hand; the cookies stay in the channel's profile.

    Args:
        channel: the channel row (platform, account, base_url).
        paths: the data directory layout (default: the channel's ``data_dir``, else the default).
        timeout: seconds to wait for the logged-in signal.
        headless: only for automation (tests, the demo) together with ``on_page``.
        on_page: called with the sign-in page once it is open, in this thread (automation).

    Returns:
        True when the logged-in signal appeared before ``timeout``.
    """
    up = _uploader_for(channel, paths, headless)
    try:
        return up.login(timeout=timeout, on_page=on_page)
    finally:
        up.close()


def check_login(channel: Mapping[str, Any], paths: Any = None, *, headless: bool | None = True) -> bool | None:
    """True when the channel's profile is logged in, False when not, None when it cannot tell."""
    up = _uploader_for(channel, paths, headless)
    try:
        return up.check_login()
    finally:
        up.close()


__all__ = [
    "BASE_ARGS", "BrowserNotFoundError", "BrowserSession", "ENV_BROWSER", "ENV_HEADLESS", "ENV_OFFLINE",
    "OfflineError", "browser_candidates", "check_login", "default_headless", "find_browser", "is_loopback",
    "login", "offline", "profile_dir",
]
