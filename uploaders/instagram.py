"""Instagram Reels through the browser (www.instagram.com).

The flow, as the real site works today (the sandbox in ``uploaders/sandbox/instagram.py``
plays the same pages):

* the logged-in home page has the navigation with Create (``svg[aria-label="New post"]``)
  and Profile (a link to ``/<username>/``); signed out, Instagram shows its log-in form or
  redirects to ``/accounts/login/``; a security check lives under ``/challenge/``;
* before uploading we read the reels on the profile (``/<username>/reels/``), because the
  new reel's shortcode is found afterwards as the newest ``/reel/<shortcode>/`` there that
  was not there before — the create dialog never shows it;
* "New post" opens the create dialog (the newer UI first opens a menu: Post / Live video);
  the file goes through its ``input[type=file]``; "Video posts are now shared as reels" (OK);
  Crop ("Select crop" -> Original, so nothing is cut off), Edit (cover and trim stay as
  they are), then the caption in the ``role="textbox"`` editor ("Write a caption...") —
  filled, never typed, so no hashtag suggestion list opens — and Share;
* "Sharing" (a spinner) while Instagram processes the reel, then "Your reel has been shared."
  Share is the irreversible step: a failure after it without a message from Instagram is an
  unknown outcome, settled by :meth:`InstagramUploader.find_existing`.

Instagram has no scheduling for personal accounts on the web, so ``scheduled_at`` is refused
up front (ASFS's own scheduler publishes at the right time), as are captions over 2,200
characters and more than 30 hashtags.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urljoin, urlsplit

from uploaders import UploadCancelled, UploadResult

from .playwright_base import PlaywrightUploader, UploadError, _norm

log = logging.getLogger("asfs.uploaders")

CAPTION_LIMIT = 2200
HASHTAG_LIMIT = 30
HASHTAG_RE = re.compile(r"(?<![\w&#])#\w+")
USERNAME_RE = re.compile(r"[A-Za-z0-9._]{1,30}")
# /reel/<code>/, /p/<code>/ and the newer /<username>/reel/<code>/
SHORTCODE_RE = re.compile(r"/(?:reels?|p)/([A-Za-z0-9_-]{5,64})(?=/|$|\?)")
# first path segments of Instagram's own pages, never a username
RESERVED_PATHS = {"accounts", "challenge", "reel", "reels", "p", "explore", "direct", "stories", "api"}

SELECTORS: dict[str, list[str]] = {
    # the navigation of every logged-in page
    "logged_in": ["svg[aria-label='New post']", "a[href$='/direct/inbox/']",
                  "role=link[name=/^(new post|create)\\b/i]"],
    "signed_out": ["form#loginForm", "input[name='username'][aria-label*='username' i]",
                   "role=button[name=/^log in$/i]"],
    "captcha": ["iframe[title*='recaptcha' i]", "form[action*='/challenge/']", "text=/help us confirm it.s you/i"],
    # the navigation's Profile link (feed posts also link their authors' avatars: not those)
    "profile_link": ["a[role=link]:has(span:text-is('Profile')):has(img[alt$=\"'s profile picture\"])",
                     "a:has(span:text-is('Profile'))", "role=link[name=/(^|\\s)profile$/i]"],
    "new_post": ["svg[aria-label='New post']", "role=link[name=/^(new post|create)\\b/i]",
                 "a:has(span:text-is('Create'))"],
    # the newer UI: Create opens a menu with Post and Live video
    "create_menu_post": ["svg[aria-label='Post']", "role=menuitem[name=/^post$/i]", "role=link[name=/^post$/i]"],
    # the create dialog
    "select_from_computer": ["div[role=dialog] button:text-is('Select from computer')",
                             "role=button[name=/^select from computer$/i]"],
    "file_input": ["div[role=dialog] form[enctype='multipart/form-data'] input[type=file]",
                   "div[role=dialog] input[type=file][accept*='video']", "input[type=file][accept*='video']",
                   "input[type=file]"],
    "reels_info_ok": ["div[role=dialog]:has-text('shared as reels') button:text-is('OK')",
                      "div[role=dialog]:has-text('shared as reels') >> role=button[name=/^ok$/i]"],
    "crop_select": ["div[role=dialog] svg[aria-label='Select crop']", "role=button[name=/^select crop$/i]"],
    "crop_original": ["div[role=dialog] div[role=button]:has(span:text-is('Original'))",
                      "div[role=dialog] >> role=button[name=/^original/i]", "div[role=dialog] >> text='Original'"],
    "next": ["div[role=dialog] div[role=button]:text-is('Next')", "div[role=dialog] >> role=button[name=/^next$/i]"],
    "caption": ["div[role=dialog] div[role=textbox][data-lexical-editor='true']",
                "div[role=dialog] [contenteditable=true][aria-label^='Write a caption' i]",
                "role=textbox[name=/write a caption/i]"],
    "share": ["div[role=dialog] div[role=button]:text-is('Share')", "div[role=dialog] >> role=button[name=/^share$/i]"],
    "sharing": ["div[role=dialog] img[alt*='spinner' i]", "div[role=dialog] h1:text-is('Sharing')",
                "role=heading[name=/^sharing/i]"],
    "shared": ["div[role=dialog] img[alt='Animated checkmark']", "text=/your reel has been shared/i",
               "role=heading[name=/^reel shared$/i]"],
    "not_shared": ["div[role=dialog] h1:text-is('Reel not shared')", "text=/your reel (couldn.t|could not) be shared/i",
                   "role=heading[name=/^(reel|post) not shared$/i]"],
    "error": ["div[role=dialog] [role=alert]", "[role=alertdialog]",
              "div[role=dialog]:has-text('Try again later') :is(h1, h2, h3, p)"],
    # things that cover the page
    "overlay": ["div[role=dialog]:has-text('Turn on Notifications')", "div[role=dialog]:has-text('use of cookies')",
                "div[role=dialog]:has-text('Save your login info')"],
    "overlay_close": ["div[role=dialog] button:text-is('Not Now')",
                      "div[role=dialog] button:text-is('Decline optional cookies')",
                      "role=button[name=/^not now$/i]", "role=button[name=/^decline optional cookies$/i]"],
    # the profile
    "profile_reel": ["main a[href*='/reel/']", "a[href*='/reel/']", "main a[href*='/p/']"],
    "profile_empty": ["main :text-is('Share a moment with the world')", "main :text-is('Share Photos')",
                      "text=/no (posts|reels) yet/i"],
    "reel_caption": ["article h1", "h1[dir=auto]", "main h1"],
}

ERROR_PATTERNS: list[tuple[str, str]] = [
    (r"try again later|we restrict certain activity|action blocked|too many (requests|attempts)"
     r"|wait a few minutes", "rate_limited"),
    (r"log ?in to continue|session (has )?expired|confirm it.s you|suspicious (login )?(attempt|activity)",
     "login_required"),
    (r"isn.t supported|not supported|unsupported|too (long|short)|more than 30 hashtags|violat|community guidelines"
     r"|invalid (file|video)|can.t be shared because", "permanent"),
    (r"couldn.t be (shared|uploaded)|could not be (shared|uploaded)|something went wrong|try again|network"
     r"|connection|upload failed", "transient"),
]


def build_caption(metadata: Mapping[str, Any]) -> str:
    """The reel's caption: the caption (else description, else title) with any missing hashtags appended."""
    caption = str(metadata.get("caption") or metadata.get("description") or metadata.get("title") or "").strip()
    tags = metadata.get("hashtags") or []
    if isinstance(tags, str):
        tags = tags.split()
    present = {t.lower() for t in HASHTAG_RE.findall(caption)}
    missing: list[str] = []
    for tag in tags:
        tag = str(tag).strip()
        if not tag:
            continue
        tag = tag if tag.startswith("#") else f"#{tag}"
        if tag.lower() not in present:
            present.add(tag.lower())
            missing.append(tag)
    if missing:
        caption = (caption + "\n\n" if caption else "") + " ".join(missing)
    return caption


class InstagramUploader(PlaywrightUploader):
    """Publishes Reels through instagram.com (see the module docstring)."""

    platform = "Instagram"
    default_base_url = "https://www.instagram.com"
    selectors = SELECTORS
    error_patterns = ERROR_PATTERNS
    signin_url_markers = ("/accounts/login",)
    challenge_url_markers = ("/challenge",)
    home_path = "/"
    login_path = "/accounts/login/"
    # "Try Again Later" blocks usually lift within a day.
    rate_limit_cooldown = timedelta(hours=24)
    profile_scan = 24  # newest grid entries compared before/after and searched by find_existing
    reel_pages_checked = 6  # reels whose own page find_existing opens when the grid says nothing

    # -- metadata ------------------------------------------------------------------------------------

    def prepare(self, metadata: dict[str, Any]) -> dict[str, Any]:
        """Refuse what Instagram cannot do before any browser starts; build the caption."""
        if metadata.get("scheduled_at"):
            raise UploadError("Instagram has no scheduling for personal accounts on the web, so this reel cannot be "
                              "scheduled on Instagram. Leave scheduled_at empty and let ASFS's own scheduler "
                              "publish it at the right time.", "permanent")
        visibility = str(metadata.get("visibility") or "public").lower()
        if visibility != "public":
            raise UploadError(f"Instagram has no {visibility} reels: a reel is shared with the account's audience "
                              "(make the account private on Instagram to limit who sees it).", "permanent")
        caption = build_caption(metadata)
        if len(caption) > CAPTION_LIMIT:
            raise UploadError(f"Instagram captions are at most {CAPTION_LIMIT:,} characters; this one (hashtags "
                              f"included) has {len(caption):,}.", "permanent")
        tags = HASHTAG_RE.findall(caption)
        if len(tags) > HASHTAG_LIMIT:
            raise UploadError(f"Instagram allows at most {HASHTAG_LIMIT} hashtags in a caption; this one has "
                              f"{len(tags)}.", "permanent")
        return {"caption": caption, "hashtags": tags}

    # -- what the page says ----------------------------------------------------------------------------

    def is_challenge_url(self, url: str) -> bool:
        path = urlsplit(url or "").path.lower()
        return any(marker in path for marker in self.challenge_url_markers)

    def blocker(self, page) -> UploadError | None:
        """The base's blockers, plus Instagram's security check and its log-in form."""
        try:
            url = page.url
        except Exception:  # noqa: BLE001
            return None
        if self.is_challenge_url(url):
            return UploadError("Instagram wants a security check (challenge) before it lets this account go on. "
                               "The operator must complete it: open the channel's browser (Log in), finish the "
                               "check, then resume the channel.", "login_required")
        err = super().blocker(page)
        if err is not None:
            return err
        if self.try_find(page, "signed_out") is not None:
            return UploadError("Instagram shows its log-in form: the channel is logged out. "
                               "Log in to this channel again.", "login_required")
        return None

    # -- the upload --------------------------------------------------------------------------------------

    def run_upload(self, page, path: Path, meta: dict[str, Any]) -> UploadResult:
        t = self.timeouts
        self.report_progress(0.02, "opening Instagram")
        self.goto(page, self.home_path)
        self.raise_if_blocked(page)
        self.find(page, "logged_in", watch=page)
        username = self._username(page)

        self.report_progress(0.04, "reading the profile")
        before = self._profile_reels(page, username)
        known = {code for code, _ in before}
        log.info("%s: %d reel(s) on @%s before the upload", self.label, len(known), username)

        self._open_create(page)
        self.find(page, "file_input", state="attached", watch=page).set_input_files(
            str(path), timeout=t.action * 1000)
        self.report_progress(0.1, "uploading")

        self._to_caption_step(page)
        self.report_progress(0.6, "writing the caption")
        self.raise_if_blocked(page)
        self.fill(page, "caption", meta["caption"], watch=page)
        self.raise_if_blocked(page)

        if self.cancel_requested():
            log.info("%s: cancelled before sharing; nothing was published", self.label)
            raise UploadCancelled()
        self.report_progress(0.8, "sharing")
        self.click(page, "share", watch=page)
        self._final_clicked = True
        try:
            self._wait_shared(page)
        except UploadError as exc:
            if exc.final:
                raise
            # No answer from Instagram: the profile may already show the reel.
            found = self._confirm_on_profile(username, known, meta["caption"])
            if found is None:
                raise
            log.info("%s: no confirmation in the dialog, but the reel is on the profile", self.label)
            code = found
        else:
            self.report_progress(0.95, "finding the reel on the profile")
            code = self._new_reel(page, username, known, meta["caption"])
        if code is None:
            # Instagram said it was shared; only its shortcode is missing.
            log.warning("%s: shared, but no new reel appeared on @%s", self.label, username)
            self.report_progress(1.0, "shared")
            return UploadResult(True, None, details={"caption": meta["caption"], "username": username,
                                                     "post_id_unknown": True})
        url = self.reel_url(code)
        self.report_progress(1.0, "shared")
        log.info("%s: shared as %s (%s)", self.label, code, url)
        return UploadResult(True, code, post_url=url, details={"caption": meta["caption"], "username": username,
                                                              "aspect": getattr(self, "_aspect", None)})

    def reel_url(self, code: str) -> str:
        return self.url(f"/reel/{code}/")

    def _site_path(self, href: str) -> str:
        """A link's path on the site (without the base URL's own path, e.g. the sandbox's /instagram)."""
        path = urlsplit(urljoin(self.base_url + "/", href or "")).path
        prefix = urlsplit(self.base_url).path.rstrip("/")
        if prefix and (path == prefix or path.startswith(prefix + "/")):
            path = path[len(prefix):] or "/"
        return path

    def _username(self, page) -> str:
        """The logged-in account's username, from the Profile link (else the channel's account)."""
        try:
            link = self.find(page, "profile_link", watch=page)
            m = re.fullmatch(r"/([A-Za-z0-9._]{1,30})/?", self._site_path(link.get_attribute("href") or ""))
            if m and m.group(1).lower() not in RESERVED_PATHS:
                username = m.group(1).lower()
                configured = str(self.channel.get("username") or self.channel.get("account") or "").lstrip("@")
                if USERNAME_RE.fullmatch(configured) and configured.lower() != username:
                    log.warning("%s: the browser is logged in as @%s, but the channel's account is %s",
                                self.label, username, configured)
                return username
        except UploadError as exc:
            if exc.final:
                raise
        for key in ("username", "account"):
            value = str(self.channel.get(key) or "").strip().lstrip("@")
            if USERNAME_RE.fullmatch(value):
                log.info("%s: no Profile link; using the channel's %s @%s", self.label, key, value)
                return value.lower()
        raise UploadError("Instagram: could not tell which account is logged in (no Profile link on the page, "
                          "and the channel's account is not an Instagram username).", "transient", step="profile_link")

    def _profile_reels(self, page, username: str) -> list[tuple[str, str]]:
        """(shortcode, grid text) of the newest reels on the profile, newest first."""
        self.goto(page, f"/{username}/reels/")
        self.raise_if_blocked(page)

        def loaded():
            for step in ("profile_reel", "profile_empty"):
                if self.try_find(page, step, state="attached") is not None:
                    return step
            return None

        state = self.wait_until(loaded, self.timeouts.step, f"the reels of @{username}", watch=page)
        if state == "profile_empty":
            return []
        out: list[tuple[str, str]] = []
        for sel in self.selectors["profile_reel"]:
            items = page.locator(sel).evaluate_all(
                "els => els.map(e => [e.getAttribute('href') || '', "
                "(e.querySelector('img[alt]') || {}).alt || e.innerText || ''])")
            for href, text in items:
                m = SHORTCODE_RE.search(self._site_path(href))
                if m and m.group(1) not in {c for c, _ in out}:
                    out.append((m.group(1), _norm(text)))
            if out:
                break
        return out[: self.profile_scan]

    def _open_create(self, page) -> None:
        """Click New post (and Post, in the newer Create menu) until the create dialog asks for a file."""
        self.click(page, "new_post", watch=page)

        def opened():
            if self.try_find(page, "select_from_computer") is not None:
                return "dialog"
            if self.try_find(page, "create_menu_post") is not None:
                return "menu"
            return None

        if self.wait_until(opened, self.timeouts.step, "the create dialog", watch=page) == "menu":
            log.info("%s: New post opened the Create menu; choosing Post", self.label)
            self.click(page, "create_menu_post", watch=page)
        self.find(page, "select_from_computer", watch=page)

    def _tap(self, page, step: str) -> bool:
        """Click ``step`` once, briefly (False when it is gone or covered: the caller looks again)."""
        from playwright.sync_api import Error as PlaywrightError

        self.dismiss_overlays(page)
        if self.try_find(page, step) is None:
            return False
        loc = self.find(page, step, timeout=0)  # logs which selector matched
        try:
            if loc.evaluate(_COVERED_JS):
                log.info("%s: something covers %r; looking again", self.label, step)
                time.sleep(self.timeouts.poll / 2)
                return False
            loc.click(timeout=800)
            return True
        except PlaywrightError as exc:
            log.info("%s: could not click %r yet (%s); looking again", self.label, step, str(exc).splitlines()[0])
            return False

    def _to_caption_step(self, page) -> None:
        """Through "shared as reels", Crop (aspect Original) and Edit until the caption editor shows.

        The notice, the crop menu and overlays may appear at any moment, so this looks at the
        dialog each round and does the one thing it shows (bounded: ``timeouts.step`` x 2).
        """
        self._aspect = None
        deadline = time.monotonic() + self.timeouts.step * 2
        presses = crop_tries = 0
        last_press = last_crop = 0.0
        cropped = False
        while self.try_find(page, "caption") is None:
            self.raise_if_blocked(page)
            now = time.monotonic()
            if now >= deadline or presses > 6:
                raise UploadError(f"Instagram: the caption step did not appear after {presses} presses on Next",
                                  "transient", step="caption", final=False)
            if self.try_find(page, "reels_info_ok") is not None:
                if self._tap(page, "reels_info_ok"):
                    log.info("%s: acknowledged 'Video posts are now shared as reels'", self.label)
                continue
            if not cropped and self.try_find(page, "crop_select") is not None:
                if self.try_find(page, "crop_original") is not None:
                    if self._tap(page, "crop_original"):
                        cropped = True
                        self._aspect = "original"
                        log.info("%s: crop set to Original", self.label)
                    continue
                if crop_tries >= 4:
                    # Not worth failing the upload: Instagram's default crop still publishes.
                    cropped = True
                    log.warning("%s: could not choose the Original crop; keeping Instagram's default", self.label)
                    continue
                if now - last_crop >= 0.5:
                    crop_tries += 1
                    last_crop = now
                    self._tap(page, "crop_select")
                    continue
            elif self.try_find(page, "next") is not None and now - last_press >= 0.2:
                if self._tap(page, "next"):
                    presses += 1
                    last_press = time.monotonic()
                continue
            time.sleep(self.timeouts.poll / 2)

    def _wait_shared(self, page) -> None:
        """After Share: "Sharing" while Instagram processes (bounded), then "Your reel has been shared"."""
        t = self.timeouts
        start = time.monotonic()
        seen = start
        reported = 0.0
        naps = self._naps(t.long_poll)  # looks thin out as the wait goes on
        while True:
            if self.try_find(page, "shared") is not None:
                self.find(page, "shared")  # logs which selector matched
                return
            self.raise_if_blocked(page)
            if self.try_find(page, "not_shared") is not None:
                # Instagram says so itself: not an unknown outcome. Its reason decides the kind.
                text = self.error_text(page) or "Your reel couldn't be shared."
                raise UploadError(f"Instagram says: {text}", self.classify_text(text) or "transient", step="share")
            now = time.monotonic()
            if self.try_find(page, "sharing") is not None:
                seen = now
                if now - reported >= 1.0:
                    reported = now
                    self.report_progress(min(0.94, 0.8 + 0.14 * (now - start) / max(1.0, t.processing)), "sharing")
            elif now - seen >= t.confirm:
                raise UploadError(f"Instagram: no \"Your reel has been shared\" within {t.confirm:g} s after Share",
                                  "transient", step="shared", final=False)
            if now - start >= t.processing:
                raise UploadError(f"Instagram was still sharing the reel after {t.processing:g} s",
                                  "transient", step="sharing", final=False)
            time.sleep(next(naps))

    def _pick_new(self, reels: list[tuple[str, str]], known: set[str], caption: str) -> str | None:
        new = [(code, text) for code, text in reels if code not in known]
        if not new:
            return None
        marker = _marker(caption)
        if len(new) > 1 and marker:
            for code, text in new:
                if marker.lower() in text.lower():
                    return code
        return new[0][0]

    def _new_reel(self, page, username: str, known: set[str], caption: str) -> str | None:
        """The newest reel on the profile that was not there before (the profile may lag a little)."""
        deadline = time.monotonic() + self.timeouts.confirm
        while True:
            code = self._pick_new(self._profile_reels(page, username), known, caption)
            if code is not None or time.monotonic() >= deadline:
                return code
            time.sleep(max(self.timeouts.poll, 1.0))

    def _confirm_on_profile(self, username: str, known: set[str], caption: str) -> str | None:
        """Look at the profile in another tab (the dialog may still be working): a new reel with our caption."""
        page = None
        try:
            page = self.new_page()
            marker = _marker(caption).lower()
            for code, text in self._profile_reels(page, username):
                if code not in known and (not marker or marker in text.lower()):
                    return code
            return None
        except Exception:  # noqa: BLE001 - cannot tell; the caller reports the unknown outcome
            log.debug("%s: could not look at the profile", self.label, exc_info=True)
            return None
        finally:
            if page is not None:
                try:
                    page.close()
                except Exception:  # noqa: BLE001
                    pass

    # -- settling an unknown outcome -----------------------------------------------------------------

    def find_existing(self, video: Mapping[str, Any]) -> UploadResult | None:
        """Look on the profile's reels for one whose caption carries the video's caption marker.

        The marker is the first line of the caption this uploader builds for the video (its
        caption, else description, else title). Returns a success when a reel has it, a failure
        when the profile loaded and none has, and None when the profile could not be read.
        """
        markers = [m for m in (_marker(str(video.get(k) or "")) for k in ("caption", "description", "title")) if m]
        if not markers:
            return None
        page = None
        try:
            page = self.new_page()
            self.goto(page, self.home_path)
            if self.blocker(page) is not None:
                return None
            self.find(page, "logged_in", timeout=self.timeouts.probe)
            username = self._username(page)
            reels = self._profile_reels(page, username)

            def has_marker(text: str) -> bool:
                low = _norm(text).lower()
                return any(m.lower() in low for m in markers)

            match = next((code for code, text in reels if has_marker(text)), None)
            unreadable = 0
            if match is None:
                # The grid's text is not always the caption: read the newest reels' own pages.
                for code, _ in reels[: self.reel_pages_checked]:
                    self.goto(page, f"/reel/{code}/")
                    try:
                        heading = self.find(page, "reel_caption", timeout=min(3.0, self.timeouts.probe))
                    except UploadError:
                        unreadable += 1
                        continue
                    if has_marker(heading.inner_text(timeout=2000)):
                        match = code
                        break
            if match is not None:
                log.info("%s: found the video %s on @%s as %s", self.label, video.get("id"), username, match)
                return UploadResult(True, match, post_url=self.reel_url(match), details={"found": True})
            if unreadable:
                log.warning("%s: %d reel page(s) of @%s could not be read; cannot tell", self.label, unreadable,
                            username)
                return None
            return UploadResult.failed(f"No reel on @{username} has the caption {markers[0][:60]!r}.", "transient")
        except Exception:  # noqa: BLE001 - cannot tell
            log.warning("%s: could not look for %s on the profile", self.label, video.get("id"), exc_info=True)
            return None
        finally:
            if page is not None:
                try:
                    page.close()
                except Exception:  # noqa: BLE001
                    pass


# Is the element's centre covered by something else (a notice that just popped up)?
_COVERED_JS = """e => {
  const r = e.getBoundingClientRect();
  if (!r.width || !r.height) return false;
  const t = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return !!t && t !== e && !e.contains(t) && !t.contains(e);
}"""


def _marker(caption: str) -> str:
    """The first non-empty line of a caption, whitespace-normalised (what identifies the reel)."""
    for line in str(caption or "").splitlines():
        line = _norm(line)
        if line:
            return line
    return ""


__all__ = ["ERROR_PATTERNS", "SELECTORS", "InstagramUploader", "build_caption"]
