"""The base of the Playwright uploaders: selectors as data, bounded waits, failure capture.

A platform uploader subclasses :class:`PlaywrightUploader` and declares:

* ``platform`` (``"YouTube"``) and ``default_base_url`` (the real site; a channel's
  ``base_url`` overrides it, which is how tests and the demo point it at the sandbox);
* ``selectors``: step name -> ordered list of Playwright selectors. The first is what the
  site uses today; the rest are fallbacks, preferring ``data-e2e``, ``aria-*``, ``role=`` and
  labels over class names. :meth:`find` tries them in order and logs which one matched
  (logger ``asfs.uploaders``), so a site change shows up as "matched fallback #3" long before
  it breaks an upload;
* ``error_patterns``: (regex, error kind) pairs that classify the platform's own messages;
* ``signin_url_markers``: URL fragments that mean "we were sent to the sign-in page";
* :meth:`run_upload`, the flow itself.

Optional steps the base uses when a platform defines them: ``logged_in``, ``signed_out``,
``captcha``, ``error`` (where the page shows its messages), ``overlay`` (modals that cover
the page) and ``overlay_close`` (their close buttons).

Every wait is bounded (:class:`Timeouts`). Any failure saves a screenshot and the page HTML
in ``logs/failures/`` and returns an :class:`UploadResult` with the screenshot path in
``artifacts`` and an error kind.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable, ClassVar, Mapping, Sequence
from urllib.parse import urlsplit

from uploaders import PlatformUploader, UploadCancelled, UploadResult

from .browser import (
    BrowserNotFoundError,
    BrowserSession,
    OfflineError,
    default_headless,
    is_loopback,
    offline,
    profile_dir,
)

log = logging.getLogger("asfs.uploaders")


@dataclass(frozen=True)
class Timeouts:
    """Upper bounds, in seconds, for every kind of wait."""

    step: float = 20.0          # a step's element to appear (all its selectors together)
    action: float = 10.0        # one click or fill
    navigation: float = 45.0    # a page load
    processing: float = 1800.0  # upload + processing before the final click
    confirm: float = 60.0       # the platform's confirmation after the final click
    probe: float = 15.0         # check_login / find_existing looking at a page
    launch: float = 30.0        # starting the browser
    poll: float = 0.2           # between two looks at the page
    long_poll: float = 0.5      # between two looks while the platform processes an upload

    def scaled(self, **kw: float) -> "Timeouts":
        return replace(self, **kw)


class UploadError(Exception):
    """A failure the flow understood: what happened, for a person, and its error kind."""

    def __init__(self, message: str, kind: str = "transient", *, step: str | None = None,
                 retry_after: datetime | None = None, final: bool = True):
        super().__init__(message)
        self.kind = kind
        self.step = step
        self.retry_after = retry_after
        # final=False: a generic failure that a signal seen on the page may explain better
        self.final = final


class StepNotFound(UploadError):
    def __init__(self, platform: str, step: str, selectors: Sequence[str], timeout: float):
        tried = "; ".join(selectors)
        super().__init__(f"{platform}: could not find '{step}' on the page within {timeout:g} s "
                         f"(tried: {tried}). The page may have changed.", "transient", step=step, final=False)


_CLASSES: dict[str, type["PlaywrightUploader"]] = {}

# How long a click or fill on a step seen before in the session waits for its element before
# the full look takes over (see PlaywrightUploader._direct).
DIRECT_WAIT = 1.0


def uploader_class(platform: str) -> type["PlaywrightUploader"]:
    """The Playwright uploader class of a platform name (any case)."""
    import importlib

    importlib.import_module("uploaders.builtin")  # defines and registers the built-in ones
    for name, cls in _CLASSES.items():
        if name.lower() == str(platform).strip().lower():
            return cls
    raise LookupError(f"No browser uploader exists for '{platform}'.")


def _iso_to_utc(value: Any) -> datetime:
    if isinstance(value, datetime):
        dt = value
    else:
        dt = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", str(text)).strip("-.")[:40] or "x"


class PlaywrightUploader(PlatformUploader):
    """A browser-driven uploader for one channel (see the module docstring).

    Args:
        channel: the channel row (id, name, platform, account, base_url, timezone, ...).
        paths: the data directory layout (:class:`database.paths.DataPaths`): profiles and
            ``logs/failures`` live there.
        headless: None = headless for the sandbox on loopback, visible for real sites.
        session: an open :class:`BrowserSession` to use (not closed by :meth:`close`);
            by default the uploader opens one on the channel's profile when first needed.
        timeouts: the bounds of every wait.
        browser_path: the browser from the settings (see :func:`browser.find_browser`).
    """

    platform: ClassVar[str] = ""
    default_base_url: ClassVar[str] = ""
    selectors: ClassVar[Mapping[str, Sequence[str]]] = {}
    error_patterns: ClassVar[Sequence[tuple[str, str]]] = ()
    signin_url_markers: ClassVar[Sequence[str]] = ()
    home_path: ClassVar[str] = "/"
    login_path: ClassVar[str] = "/"
    rate_limit_cooldown: ClassVar[timedelta | None] = None
    # A browser seen logged in a moment ago still is: uploads in a row on one channel look once.
    # (An upload that meets the sign-in page reports login_required anyway, and forgets this.)
    login_trust_seconds: ClassVar[float] = 300.0

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        for step, sels in cls.selectors.items():
            if isinstance(sels, str) or not sels or not all(isinstance(s, str) and s for s in sels):
                raise TypeError(f"{cls.__name__}.selectors[{step!r}] must be a non-empty list of selector strings")
        for pattern, kind in cls.error_patterns:
            re.compile(pattern)
            if kind not in ("transient", "rate_limited", "login_required", "permanent"):
                raise TypeError(f"{cls.__name__}.error_patterns: unknown kind {kind!r}")
        if cls.platform:
            _CLASSES[cls.platform] = cls

    def __init__(self, channel: Mapping[str, Any], paths: Any = None, *, headless: bool | None = None,
                 session: BrowserSession | None = None, timeouts: Timeouts | None = None,
                 browser_path: str | None = None):
        if paths is None:
            from database.paths import DataPaths

            paths = DataPaths(Path(channel["data_dir"])) if channel.get("data_dir") else DataPaths.default()
        self.channel = dict(channel)
        self.paths = paths
        self.timeouts = timeouts or Timeouts()
        self.base_url = str(self.channel.get("base_url") or self.default_base_url).rstrip("/")
        self.headless = default_headless(self.base_url) if headless is None else headless
        self.browser_path = browser_path
        self._session = session
        self._own_session = session is None
        self._login_state: bool | None = None
        self._login_checked = 0.0  # time.monotonic() of the last look
        self._field_kinds: dict[tuple[str, str], str] = {}  # (step, selector) -> "text" | "value"
        self._first_matched: set[str] = set()  # steps whose first selector matched in this session

    # -- the browser ------------------------------------------------------------------------

    def _check_offline(self) -> None:
        if offline() and not is_loopback(self.base_url):
            raise OfflineError(f"{self.platform}: ASFS_OFFLINE is set, so {self.base_url} (a real platform) "
                               "will not be opened; point the channel's base URL at the sandbox.")

    @property
    def session(self) -> BrowserSession:
        self._check_offline()
        if self._session is None:
            self._session = BrowserSession(
                profile_dir(self.paths, self.channel), headless=self.headless, settings_path=self.browser_path,
                default_timeout=self.timeouts.action, navigation_timeout=self.timeouts.navigation,
                launch_timeout=self.timeouts.launch)
        if not self._session.is_open:
            self._session.start()
        return self._session

    def new_page(self):
        return self.session.new_page()

    def url(self, path: str = "/") -> str:
        return self.base_url + (path if path.startswith("/") else "/" + path)

    def goto(self, page, path_or_url: str) -> None:
        target = path_or_url if "://" in path_or_url else self.url(path_or_url)
        page.goto(target, wait_until="domcontentloaded", timeout=self.timeouts.navigation * 1000)

    def close(self) -> None:
        if self._own_session and self._session is not None:
            self._session.close()
            self._session = None

    @property
    def label(self) -> str:
        return f"{self.platform}/{self.channel.get('id') or self.channel.get('name') or '?'}"

    # -- finding things ------------------------------------------------------------------------

    def _locators(self, root, selector: str, state: str):
        loc = root.locator(selector)
        return loc.filter(visible=True).first if state == "visible" else loc.first

    def try_find(self, root, step: str, *, state: str = "visible"):
        """The first selector of ``step`` that matches right now, or None (no waiting)."""
        found = self._match(root, step, state)
        return found[0] if found else None

    def _match(self, root, step: str, state: str):
        from playwright.sync_api import Error as PlaywrightError

        sels = list(self.selectors.get(step, ()))
        for i, sel in enumerate(sels):
            if i == 1 and len(sels) > 2 and not _any(root, sels[1:], visible=state == "visible"):
                return None  # nor any fallback: one look for all of them (a poll asks this often)
            loc = self._locators(root, sel, state)
            try:
                if loc.count() > 0:
                    if i == 0 and state == "visible":
                        self._first_matched.add(step)  # see _direct
                    else:
                        self._first_matched.discard(step)
                    return loc, i, sel
            except PlaywrightError as exc:
                if "selector" in str(exc).lower() and "parse" in str(exc).lower():
                    raise TypeError(f"{type(self).__name__}: bad selector for {step!r}: {sel!r}") from exc
                # the frame navigated away between two looks: try again next round
        return None

    def any_visible(self, root, *steps: str) -> bool:
        """Whether any selector of these steps shows something right now (no waiting).

        One question to the browser for all of them (``Locator.or_``): the blocker and overlay
        checks run before clicks and during waits, and each question is a round trip.
        """
        return _any(root, [sel for step in steps for sel in self.selectors.get(step, ())], visible=True)

    def find(self, root, step: str, *, timeout: float | None = None, state: str = "visible", watch=None):
        """Wait (bounded) until one of the step's selectors matches; log which one.

        Each round tries the selectors in order, so the current site's selector wins over the
        fallbacks when both match; rounds repeat (soon at first, then every ``timeouts.poll``)
        until ``timeout``.

        Args:
            root: a Page, Frame or Locator to search in.
            state: "visible" (default) or "attached" (e.g. hidden file inputs).
            watch: a Page whose blockers (sign-in redirect, captcha, platform errors) end the
                wait early with the right error.

        Raises:
            StepNotFound: nothing matched in time.
        """
        return self._find(root, step, timeout=timeout, state=state, watch=watch)[0]

    def _find(self, root, step: str, *, timeout: float | None, state: str, watch) -> tuple[Any, int, str]:
        """:meth:`find`, also saying which selector matched: (locator, index, selector)."""
        sels = list(self.selectors.get(step, ()))
        if not sels:
            raise KeyError(f"{type(self).__name__} has no selectors for step {step!r}")
        timeout = self.timeouts.step if timeout is None else timeout
        deadline = time.monotonic() + timeout
        next_watch = time.monotonic() + 0.5
        naps = self._naps()
        while True:
            found = self._match(root, step, state)
            if found:
                self._log_match(step, found)
                return found
            now = time.monotonic()
            if watch is not None and now >= next_watch:
                self.raise_if_blocked(watch)
                next_watch = now + 0.5
            if now >= deadline:
                if watch is not None:
                    self.raise_if_blocked(watch)
                raise StepNotFound(self.platform, step, sels, timeout)
            time.sleep(next(naps))

    def _log_match(self, step: str, found: tuple[Any, int, str]) -> None:
        _, i, sel = found
        if i == 0:
            log.info("%s: step %r matched selector #1 %r", self.label, step, sel)
        else:
            log.info("%s: step %r matched fallback selector #%d %r (earlier ones did not match)",
                     self.label, step, i + 1, sel)

    def _naps(self, longest: float | None = None):
        """Pauses between two looks: short at first (most steps are there a moment later), growing
        to ``longest`` (default ``timeouts.poll``), so a long wait does not keep the browser busy."""
        longest = self.timeouts.poll if longest is None else longest
        nap = min(0.05, longest)
        while True:
            yield nap
            nap = min(nap * 2, longest)

    def wait_until(self, predicate: Callable[[], Any], timeout: float, what: str, *, watch=None) -> Any:
        """Poll ``predicate`` until it returns something truthy (bounded by ``timeout``)."""
        deadline = time.monotonic() + timeout
        next_watch = time.monotonic() + 0.5  # as in find(); and always once more at the deadline
        naps = self._naps()
        while True:
            value = predicate()
            if value:
                return value
            now = time.monotonic()
            if watch is not None and (now >= next_watch or now >= deadline):
                self.raise_if_blocked(watch)
                next_watch = now + 0.5
            if now >= deadline:
                raise UploadError(f"{self.platform}: {what} did not happen within {timeout:g} s", "transient",
                                  final=False)
            time.sleep(next(naps))

    # -- acting ----------------------------------------------------------------------------------

    def dismiss_overlays(self, page) -> int:
        """Close modals that cover the page (close buttons, then Escape). Returns how many."""
        if "overlay" not in self.selectors and "overlay_close" not in self.selectors:
            return 0
        closed = 0
        for _ in range(3):
            if not self.any_visible(page, "overlay", "overlay_close"):
                return closed  # the usual case, in one or two looks
            overlay = self.try_find(page, "overlay") if "overlay" in self.selectors else None
            button = self.try_find(page, "overlay_close") if "overlay_close" in self.selectors else None
            if overlay is None and button is None:
                return closed
            if button is not None:
                try:
                    button.click(timeout=2000)
                    log.info("%s: dismissed an overlay with its close button", self.label)
                    closed += 1
                    continue
                except Exception:  # noqa: BLE001 - try Escape instead
                    pass
            page.keyboard.press("Escape")
            log.info("%s: pressed Escape to dismiss an overlay", self.label)
            closed += 1
            time.sleep(self.timeouts.poll)
        return closed

    def _direct(self, root, step: str, action: Callable[[Any], Any]):
        """Act on a step that matched its first selector earlier in this browser session, at once.

        One round trip (Playwright's own action, which waits for the element) instead of a look
        and then the action. Returns the locator, or None when the element did not take the
        action within ``DIRECT_WAIT`` s: then the caller looks properly (every selector, the
        page's blockers and overlays) and from then on until the step matches its first selector
        again.
        """
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        if step not in self._first_matched:
            return None
        loc = self._locators(root, self.selectors[step][0], "visible")
        try:
            action(loc)
        except PlaywrightTimeout:
            self._first_matched.discard(step)
            return None
        return loc

    def click(self, root, step: str, *, page=None, watch=None, found=None):
        """Find ``step`` and click it, clearing overlays first and once more if one intercepts.

        ``found``: the step's locator when the caller has just found it (no second look). A step
        clicked before in this session is clicked directly (:meth:`_direct`).
        """
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        if found is None:
            direct = self._direct(root, step, lambda loc: loc.click(timeout=DIRECT_WAIT * 1000))
            if direct is not None:
                return direct
        page = page or watch
        loc = found if found is not None else self.find(root, step, watch=watch)
        attempts = 3
        for attempt in range(attempts):
            # clicks in a row (Next, Next, ...) look for overlays once; one that shows up later is
            # caught when it intercepts the click
            if page is not None and (attempt or not self._no_overlay_on(page)):
                if self.dismiss_overlays(page) == 0:
                    self._no_overlay = (page, time.monotonic() + 0.5)
            last = attempt == attempts - 1
            try:
                loc.click(timeout=(self.timeouts.action if last else min(self.timeouts.action, 2.5)) * 1000)
                return loc
            except PlaywrightTimeout as exc:
                if last:
                    raise UploadError(f"{self.platform}: could not click '{step}': {_first_line(exc)}",
                                      "transient", step=step, final=False) from exc
                if "intercepts pointer events" in str(exc):
                    log.info("%s: something covers %r; clearing overlays and retrying", self.label, step)
        return loc

    def _no_overlay_on(self, page) -> bool:
        """An overlay check on this page found nothing a moment ago."""
        seen = getattr(self, "_no_overlay", None)
        return seen is not None and seen[0] is page and time.monotonic() < seen[1]

    def fill(self, root, step: str, text: str, *, watch=None):
        """Fill a field (``fill``, never typing, so no autocomplete opens) and verify the text.

        A step filled before in this session is filled directly (:meth:`_direct`).
        """
        loc = self._direct(root, step, lambda loc: loc.fill(text, timeout=DIRECT_WAIT * 1000))
        if loc is not None:
            sel = self.selectors[step][0]
        else:
            loc, _, sel = self._find(root, step, timeout=None, state="visible", watch=watch)
            loc.fill(text, timeout=self.timeouts.action * 1000)
        got = self._field_text(loc, (step, sel))
        if _norm(got) != _norm(text):
            raise UploadError(f"{self.platform}: the {step} field shows {got[:80]!r} after filling, "
                              f"not {text[:80]!r}", "transient", step=step)
        return loc

    def _field_text(self, loc, key: tuple[str, str]) -> str:
        """What a field shows: its text if it is contenteditable, else its value.

        The first look asks the element which kind it is (``evaluate``: three round trips, as
        Playwright resolves, evaluates and releases an element handle); later fills of the same
        step and selector ask for the text or the value directly (one round trip).
        """
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        kind = self._field_kinds.get(key)
        timeout = self.timeouts.action * 1000
        try:
            if kind == "text":
                return loc.inner_text(timeout=timeout) or ""
            if kind == "value":
                return loc.input_value(timeout=timeout) or ""
        except PlaywrightTimeout:
            raise
        except PlaywrightError:  # not that kind of field any more ("Node is not an <input>"): ask again
            log.info("%s: the %r field changed kind; looking at it again", self.label, key[0])
        kind, got = loc.evaluate("e => e.isContentEditable ? ['text', e.innerText] : ['value', e.value]")
        self._field_kinds[key] = kind
        return got or ""

    # -- what the page says ----------------------------------------------------------------------

    def is_signin_url(self, url: str) -> bool:
        parts = urlsplit(url or "")
        where = f"{parts.netloc}{parts.path}".lower()
        return any(marker.lower() in where for marker in self.signin_url_markers)

    def error_text(self, page) -> str:
        """The platform's visible messages (the ``error`` step's elements), joined."""
        texts = []
        if not self.any_visible(page, "error"):
            return ""
        for sel in self.selectors.get("error", ()):
            try:
                loc = page.locator(sel).filter(visible=True)
                for i in range(min(loc.count(), 5)):
                    t = loc.nth(i).inner_text(timeout=1000).strip()
                    if t and t not in texts:
                        texts.append(t)
            except Exception:  # noqa: BLE001 - the page moved on; no message then
                continue
        return " | ".join(texts)

    def classify_text(self, text: str) -> str | None:
        for pattern, kind in self.error_patterns:
            if re.search(pattern, text, re.IGNORECASE):
                return kind
        return None

    def blocker(self, page) -> UploadError | None:
        """What stops this upload right now, if the page says so: sign-in, captcha, an error."""
        try:
            url = page.url
        except Exception:  # noqa: BLE001
            return None
        if self.is_signin_url(url):
            return UploadError(f"{self.platform} sent the browser to its sign-in page ({_short(url)}): the "
                               "channel is logged out. Log in to this channel again.", "login_required")
        if not self.any_visible(page, "captcha", "error"):
            return None  # the usual case, in one or two looks
        if "captcha" in self.selectors and self.any_visible(page, "captcha"):
            # A captcha needs a person (solving it is the operator's job, like a login), and
            # retrying automatically would only look more like a bot: pause the channel.
            return UploadError(f"{self.platform} shows a captcha (\"verify it's you\"). Open the channel's "
                               "browser (Log in) and solve it, then resume the channel.", "login_required")
        text = self.error_text(page)
        if text:
            kind = self.classify_text(text)
            if kind is not None:
                retry_after = None
                if kind == "rate_limited" and self.rate_limit_cooldown:
                    retry_after = datetime.now(timezone.utc) + self.rate_limit_cooldown
                return UploadError(f"{self.platform} says: {text}", kind, retry_after=retry_after)
        return None

    def raise_if_blocked(self, page) -> None:
        err = self.blocker(page)
        if err is not None:
            raise err

    # -- failures ------------------------------------------------------------------------------------

    def capture_failure(self, page, label: str) -> tuple[str | None, str | None]:
        """Save a screenshot (PNG) and the page HTML in ``logs/failures``; return their paths."""
        if page is None:
            return None, None
        folder = Path(self.paths.failures)
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            log.exception("cannot create %s", folder)
            return None, None
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        stem = folder / f"{stamp}-{_slug(self.platform)}-{_slug(self.channel.get('id') or 'channel')}-{_slug(label)}"
        png: str | None = None
        html: str | None = None
        try:
            page.screenshot(path=str(stem) + ".png", full_page=True, timeout=10_000)
            png = str(stem) + ".png"
        except Exception:  # noqa: BLE001 - a crashed page cannot be photographed
            log.warning("%s: could not save a failure screenshot", self.label, exc_info=True)
        try:
            content = page.content()
            Path(str(stem) + ".html").write_text(f"<!-- {page.url} -->\n{content}", encoding="utf-8")
            html = str(stem) + ".html"
        except Exception:  # noqa: BLE001
            log.warning("%s: could not save the failure page HTML", self.label, exc_info=True)
        return png, html

    def classify_exception(self, exc: BaseException) -> UploadError:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        if isinstance(exc, UploadError):
            return exc
        if isinstance(exc, (BrowserNotFoundError, OfflineError)):
            return UploadError(str(exc), "permanent")
        text = str(exc)
        if "XServer" in text or "Missing X server" in text or "$DISPLAY" in text:
            return UploadError(f"{self.platform}: a visible browser needs a desktop session (no display here). "
                               "Run ASFS in a desktop session or set ASFS_HEADLESS=1.", "permanent")
        if isinstance(exc, PlaywrightTimeout):
            return UploadError(f"{self.platform}: timed out: {_first_line(exc)}", "transient", final=False)
        if isinstance(exc, PlaywrightError):
            return UploadError(f"{self.platform}: browser error: {_first_line(exc)}", "transient", final=False)
        if isinstance(exc, TimeoutError):
            return UploadError(f"{self.platform}: {exc}", "transient", final=False)
        return UploadError(f"{self.platform}: {type(exc).__name__}: {exc}", "transient", final=False)

    def failure_result(self, page, exc: BaseException, *, after_final_click: bool = False,
                       details: Mapping[str, Any] | None = None) -> UploadResult:
        err = self.classify_exception(exc)
        if page is not None and not err.final:
            seen = None
            try:
                seen = self.blocker(page)
            except Exception:  # noqa: BLE001
                seen = None
            if seen is not None:
                err = seen
        png, html = self.capture_failure(page, err.step or err.kind)
        extra = dict(details or {})
        extra.update({"html": html, "step": err.step})
        try:
            extra["url"] = page.url if page is not None else None
        except Exception:  # noqa: BLE001
            pass
        message = str(err)
        if after_final_click and err.kind == "transient" and not err.final:
            # The irreversible click happened; we do not know whether the platform took it.
            extra["unknown"] = True
            message = f"outcome unknown — the final click happened but no confirmation was seen ({message})"
        log.warning("%s: upload failed (%s): %s [screenshot: %s]", self.label, err.kind, message, png)
        return UploadResult(success=False, error_message=message, error_kind=err.kind,
                            retry_after=err.retry_after, artifacts=png, details=extra)

    # -- the interface ------------------------------------------------------------------------

    def prepare(self, metadata: dict[str, Any]) -> dict[str, Any]:
        """Validate and normalise the metadata up front; raise UploadError("permanent")."""
        return metadata

    def run_upload(self, page, path: Path, meta: dict[str, Any]) -> UploadResult:  # pragma: no cover
        raise NotImplementedError

    def upload(self, video_path: str, metadata: dict) -> UploadResult:
        path = Path(video_path)
        if not path.is_file():
            return UploadResult.failed(f"The video file is missing: {path}", "permanent")
        try:
            meta = self.prepare(dict(metadata or {}))
        except UploadError as exc:
            return UploadResult.failed(str(exc), exc.kind)
        try:
            self._check_offline()
        except OfflineError as exc:
            return UploadResult.failed(str(exc), "permanent")
        page = None
        self._final_clicked = False
        try:
            self.report_progress(0.01, "opening the browser")
            page = self.new_page()
            return self.run_upload(page, path, meta)
        except UploadCancelled:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure becomes a classified result
            self._login_state = None  # look again before the next upload
            self._first_matched.clear()  # and at every step
            self._field_kinds.clear()  # and at what kind of field each one is
            if isinstance(exc, UploadError):
                log.debug("%s: %s", self.label, exc)
            else:
                log.debug("%s: upload raised", self.label, exc_info=True)
            return self.failure_result(page, exc, after_final_click=self._final_clicked)
        finally:
            if page is not None:
                try:
                    page.close()
                except Exception:  # noqa: BLE001
                    pass

    def check_login(self) -> bool | None:
        """Look at the platform's home page: True (logged in), False (logged out), None (cannot tell)."""
        if (self._login_state and self._session is not None and self._session.is_open
                and time.monotonic() - self._login_checked < self.login_trust_seconds):
            return True
        page = None
        try:
            page = self.new_page()
            self.goto(page, self.home_path)

            def state():
                if self.is_signin_url(page.url):
                    return "out"
                if self.try_find(page, "logged_in") is not None:
                    return "in"
                if "signed_out" in self.selectors and self.try_find(page, "signed_out") is not None:
                    return "out"
                if "captcha" in self.selectors and self.try_find(page, "captcha") is not None:
                    return "out"
                return None

            result = self.wait_until(state, self.timeouts.probe, "the login check")
            self._login_state = result == "in"
            self._login_checked = time.monotonic()
            log.info("%s: %s", self.label, "logged in" if self._login_state else "not logged in")
            return self._login_state
        except (BrowserNotFoundError, OfflineError) as exc:
            # Not a login question: upload() reports it as a permanent failure.
            log.warning("%s: cannot check the login: %s", self.label, exc)
            return None
        except Exception:  # noqa: BLE001 - cannot tell; the upload itself will find out
            log.warning("%s: could not check the login", self.label, exc_info=True)
            return None
        finally:
            if page is not None:
                try:
                    page.close()
                except Exception:  # noqa: BLE001
                    pass

    def login(self, *, timeout: float = 300.0, on_page: Callable[[Any], None] | None = None) -> bool:
        """Open the platform's sign-in page and wait (bounded) for the logged-in signal."""
        page = self.new_page()
        self.goto(page, self.login_path)
        log.info("%s: waiting up to %.0f s for the sign-in (%s)", self.label, timeout, page.url)
        if on_page is not None:
            on_page(page)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for p in self.session.pages():
                try:
                    if not self.is_signin_url(p.url) and self.try_find(p, "logged_in") is not None:
                        log.info("%s: logged in", self.label)
                        self._login_state = True
                        self._login_checked = time.monotonic()
                        return True
                except Exception:  # noqa: BLE001 - a tab closed or navigated while we looked
                    continue
            time.sleep(max(self.timeouts.poll, 0.25))
        log.warning("%s: no sign-in within %.0f s", self.label, timeout)
        return False


def _any(root, selectors: Sequence[str], *, visible: bool) -> bool:
    """Whether any of ``selectors`` matches (a visible element) under ``root``, in one round trip."""
    if not selectors:
        return False
    loc = root.locator(selectors[0])
    for sel in selectors[1:]:
        loc = loc.or_(root.locator(sel))
    try:
        return (loc.filter(visible=True) if visible else loc).count() > 0
    except Exception:  # noqa: BLE001 - the frame navigated away, or a selector does not parse: one by one
        found = False
        for sel in selectors:
            one = root.locator(sel)
            try:
                found = (one.filter(visible=True) if visible else one).count() > 0
            except Exception as exc:  # noqa: BLE001 - this one cannot be asked now: nothing shows
                if "selector" in str(exc).lower() and "parse" in str(exc).lower():
                    raise TypeError(f"bad selector {sel!r}: {_first_line(exc)}") from exc
                continue
            if found:
                break
        return found


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


def _short(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


__all__ = ["PlaywrightUploader", "StepNotFound", "Timeouts", "UploadError", "uploader_class"]
