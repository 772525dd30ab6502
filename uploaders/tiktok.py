"""TikTok Studio through the browser.

The flow, as the real site works today (the sandbox in ``uploaders/sandbox/tiktok.py`` plays
the same pages):

1. Read the channel's content list (``/tiktokstudio/content``): the ``/video/<id>`` links there
   before the upload. TikTok never shows the new post's id on the upload page, so the id is
   the link that appears in this list afterwards and was not there before.
2. ``/tiktokstudio/upload`` (a sign-in redirect to ``/login`` means logged out). The upload UI
   is either in the page or inside ``iframe[data-tt="Upload_index_iframe"]``; both work.
3. The file through ``input[type=file]``; the caption in the DraftJS editor
   (``.public-DraftEditor-content[contenteditable=true]``): click, select all, delete, then
   *insert* the text (no key events, so no hashtag suggestion gets picked by a newline), and
   close the suggestions if they opened.
4. "Who can watch this video" and, for platform-native scheduling, "When to post: Schedule"
   with the calendar and the hour/minute lists.
5. Wait (bounded) until the upload shows "Uploaded" and ``button[data-e2e=post_video_button]``
   is enabled, then Post. Success is the move to the content list or the confirmation text
   ("Your video has been uploaded" / "Video published"), and the new id in the content list.

Captions: TikTok has no title field, so the caption starts with the title (unless the
caption already contains it), then the description, then the hashtags that are not in it
yet; :meth:`TikTokUploader.find_existing` recognises a post by that title.

Visibility (TikTok has no "unlisted"): public -> Everyone, unlisted -> Friends (the closest
restricted audience: mutual followers, not the public feed), private -> Only you. The TikTok
names ("everyone", "friends", "only_you") are accepted too.

Scheduling: TikTok accepts 20 minutes to 10 days ahead, on a 5-minute step; anything else is
refused up front (:class:`ScheduleWindowError`, a permanent failure) before a browser starts.
The date and time are picked in the channel's time zone.

Errors: "too many attempts" / "posting too fast" -> rate_limited; the captcha
("Verify to continue", ``#captcha-verify-container``) -> login_required (the operator solves
it in the channel's browser); the ``/login`` redirect -> login_required, never success.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from uploaders import UploadCancelled, UploadResult

from .playwright_base import PlaywrightUploader, UploadError, _iso_to_utc, _norm

log = logging.getLogger("asfs.uploaders")

POST_ID_RE = re.compile(r"/video/(\d{15,22})(?!\d)")
UPLOADED_RE = re.compile(r"^\s*uploaded\b", re.I)
PERCENT_RE = re.compile(r"(\d{1,3})\s*%")
UPLOAD_FAILED_RE = re.compile(r"couldn.t upload|upload failed|failed", re.I)

CAPTION_MAX = 4000
SCHEDULE_MIN_LEAD = timedelta(minutes=20)
SCHEDULE_MAX_LEAD = timedelta(days=10)
SCHEDULE_STEP_MINUTES = 5

# our visibility -> (step, the label TikTok shows)
VISIBILITY = {
    "public": ("visibility_everyone", "Everyone"),
    "unlisted": ("visibility_friends", "Friends"),
    "private": ("visibility_only_you", "Only you"),
}
_VISIBILITY_ALIASES = {"everyone": "public", "friends": "unlisted", "only_you": "private", "only you": "private",
                       "only_me": "private", "self_only": "private"}

SELECTORS: dict[str, list[str]] = {
    # www.tiktok.com and the Studio header
    "logged_in": ["[data-e2e='profile-icon']", "[data-e2e='nav-profile']", "role=link[name=/^profile$/i]"],
    "signed_out": ["[data-e2e='top-login-button']", "role=button[name=/^log in$/i]"],
    "captcha": ["#captcha-verify-container", "#tiktok-verify-ele", ".captcha_verify_container",
                "role=dialog[name=/verify to continue/i]", "text=/verify to continue/i"],
    # the upload page
    "upload_iframe": ["iframe[data-tt='Upload_index_iframe']", "iframe[src*='upload']"],
    "file_input": ["input[type='file'][accept*='video']", "input[type='file']"],
    "caption": [".caption-editor .public-DraftEditor-content[contenteditable='true']",
                ".public-DraftEditor-content[contenteditable='true']",
                "div[contenteditable='true'][aria-label='Description' i]",
                "role=combobox[name=/^(description|caption)$/i]"],
    "hashtag_popup": [".mention-list-popover", "role=listbox[name=/hashtag/i]"],
    "upload_status": [".info-status-container .info-status", "[role=status][aria-live]"],
    "visibility_trigger": [".view-auth-container .select-trigger", "role=combobox[name=/who can watch/i]"],
    "visibility_everyone": [".view-auth-container .select-options [data-value='PUBLIC_TO_EVERYONE']",
                            "role=listbox[name=/who can watch/i] >> role=option[name=/^everyone$/i]"],
    "visibility_friends": [".view-auth-container .select-options [data-value='MUTUAL_FOLLOW_FRIENDS']",
                           "role=listbox[name=/who can watch/i] >> role=option[name=/^friends$/i]"],
    "visibility_only_you": [".view-auth-container .select-options [data-value='SELF_ONLY']",
                            "role=listbox[name=/who can watch/i] >> role=option[name=/^only (you|me)$/i]"],
    "schedule_now": ["input[name='postSchedule'][value='post_now']", "role=radio[name=/^now$/i]"],
    "schedule_later": ["input[name='postSchedule'][value='schedule']", "role=radio[name=/^schedule$/i]"],
    "schedule_date_input": [".scheduled-picker .date-picker-input input", "input[aria-label='Date']",
                            "role=textbox[name=/^date$/i]"],
    "schedule_time_input": [".scheduled-picker .time-picker-input input", "input[aria-label='Time']",
                            "role=textbox[name=/^time$/i]"],
    "calendar_next": [".calendar-wrapper .arrow:last-child", "role=button[name=/^next month$/i]"],
    "post": ["button[data-e2e='post_video_button']", "role=button[name=/^(post|schedule)$/i]"],
    "published": ["text=/your video has been (uploaded|scheduled|published)/i",
                  "text=/^video (published|scheduled)$/i"],
    "error": ["[role=alert]", ".TUXTopToast-content", ".upload-error-toast"],
    # things that cover the page: the cookie banner, the "automatic content checks" modal
    "overlay": ["tiktok-cookie-banner", "role=dialog[name=/content checks/i]",
                ".common-modal[role=dialog][aria-modal=true]"],
    "overlay_close": ["tiktok-cookie-banner button:has-text('Decline optional cookies')",
                      "tiktok-cookie-banner button:has-text('Allow all')",
                      "role=dialog[name=/content checks/i] >> role=button[name=/^(cancel|not now)$/i]"],
    # the content list (/tiktokstudio/content)
    "content_row": [".post-table .post-row", "[role=row]:has(a[href*='/video/'])"],
    "content_link": ["a.post-link[href*='/video/']", "a[href*='/video/']"],
    "content_empty": ["text=/haven.t posted any content|no posts yet|no content/i"],
}

# Selectors that need a value (a date, an hour): str.format()ted by _step().
SELECTOR_TEMPLATES: dict[str, list[str]] = {
    "calendar_day": [".calendar-wrapper .day.valid[aria-label='{date}']",
                     "role=gridcell[name='{date}'][disabled=false]"],
    "time_hour": [".tiktok-timer-picker .hour-list .option-item[data-value='{value}']",
                  "role=listbox[name=/^hours$/i] >> role=option[name=/^{value}$/]"],
    "time_minute": [".tiktok-timer-picker .minute-list .option-item[data-value='{value}']",
                    "role=listbox[name=/^minutes$/i] >> role=option[name=/^{value}$/]"],
}

ERROR_PATTERNS: list[tuple[str, str]] = [
    (r"too many attempts|posting too fast|too many (requests|uploads|posts)|upload limit|limit reached"
     r"|take a (rest|break)", "rate_limited"),
    (r"log in to continue|session (has )?expired|please log in", "login_required"),
    (r"verify to continue|captcha|drag the slider|not a robot", "login_required"),
    (r"can.t be (uploaded|posted)|not supported|unsupported|invalid (file|format)|violat|community guidelines"
     r"|too long|file is too large|schedule your video at least", "permanent"),
    (r"upload failed|network|try again|something went wrong|connection|server error", "transient"),
]


class ScheduleWindowError(UploadError):
    """A scheduled time TikTok would refuse (outside 20 min - 10 days, or off the 5-minute step)."""

    def __init__(self, message: str):
        super().__init__(message, "permanent", step="schedule")


def check_schedule(when: Any, now: datetime | None = None) -> datetime:
    """The UTC time to schedule a TikTok post at, if TikTok accepts it.

    Args:
        when: a datetime or ISO-8601 text (naive = UTC).
        now: "now" (UTC); the current time by default.

    Raises:
        ScheduleWindowError: not a time, not on a 5-minute step, or outside 20 minutes to
            10 days ahead.
    """
    try:
        at = _iso_to_utc(when)
    except (TypeError, ValueError):
        raise ScheduleWindowError(f"scheduled_at is not a date and time: {when!r}") from None
    if at.second or at.microsecond or at.minute % SCHEDULE_STEP_MINUTES:
        raise ScheduleWindowError(f"TikTok schedules posts in {SCHEDULE_STEP_MINUTES}-minute steps "
                                  f"(:00, :05, ... :55); {at.isoformat()} is not on one.")
    now = now or datetime.now(timezone.utc)
    if at < now + SCHEDULE_MIN_LEAD:
        raise ScheduleWindowError(f"A scheduled TikTok post must be at least "
                                  f"{int(SCHEDULE_MIN_LEAD.total_seconds() // 60)} minutes ahead "
                                  f"(asked for {at.isoformat()}).")
    if at > now + SCHEDULE_MAX_LEAD:
        raise ScheduleWindowError(f"TikTok schedules posts at most {SCHEDULE_MAX_LEAD.days} days ahead "
                                  f"(asked for {at.isoformat()}).")
    return at


class TikTokUploader(PlaywrightUploader):
    """Publishes videos through TikTok Studio (see the module docstring)."""

    platform = "TikTok"
    default_base_url = "https://www.tiktok.com"
    selectors = SELECTORS
    error_patterns = ERROR_PATTERNS
    signin_url_markers = ("/login",)
    home_path = "/"
    login_path = "/login"
    # "posting too fast" lifts within hours, not a day
    rate_limit_cooldown = timedelta(hours=4)

    # -- metadata ------------------------------------------------------------------------------

    def prepare(self, metadata: dict[str, Any]) -> dict[str, Any]:
        """Validate caption, visibility and schedule before any browser work."""
        title = _norm(str(metadata.get("title") or ""))
        body = str(metadata.get("caption") or metadata.get("description") or "").strip()
        lines = [ln.rstrip() for ln in body.splitlines()]
        # one line per paragraph: blank lines do not survive TikTok's editor reliably
        body = "\n".join(ln for ln in lines if ln.strip())
        caption = body
        if title and title.lower() not in body.lower():
            caption = title + ("\n" + body if body else "")
        raw_tags = metadata.get("hashtags") or []
        if isinstance(raw_tags, str):
            raw_tags = raw_tags.split()
        tags = [str(h) if str(h).startswith("#") else f"#{h}" for h in raw_tags]
        missing = [h for h in dict.fromkeys(tags) if not re.search(re.escape(h) + r"(?![\w])", caption, re.I)]
        if missing:
            caption = (caption + "\n" if caption else "") + " ".join(missing)
        if not caption:
            raise UploadError("TikTok needs a caption (or a title to use as one).", "permanent")
        if len(caption) > CAPTION_MAX:
            raise UploadError(f"TikTok captions are at most {CAPTION_MAX} characters; this one has {len(caption)}.",
                              "permanent")
        raw = str(metadata.get("visibility") or "public").strip().lower()
        visibility = _VISIBILITY_ALIASES.get(raw, raw)
        if visibility not in VISIBILITY:
            raise UploadError(f"Unknown visibility {raw!r}: use public (Everyone), unlisted (Friends) or "
                              "private (Only you).", "permanent")
        meta = {"title": title, "caption": caption, "visibility": visibility,
                "tiktok_visibility": VISIBILITY[visibility][1], "scheduled_at": None}
        when = metadata.get("scheduled_at")
        if when:
            at = check_schedule(when)
            try:
                tz = ZoneInfo(self.channel.get("timezone") or "UTC")
            except (ZoneInfoNotFoundError, ValueError):
                raise UploadError(f"Unknown time zone {self.channel.get('timezone')!r} on the channel.",
                                  "permanent") from None
            local = at.astimezone(tz)
            meta.update(scheduled_at=at, schedule_date=local.strftime("%Y-%m-%d"),
                        schedule_hour=f"{local.hour:02d}", schedule_minute=f"{local.minute:02d}")
        return meta

    # -- finding things inside the upload iframe ------------------------------------------------

    def _frames(self, page) -> list:
        try:
            return [f for f in page.frames if f != page.main_frame]
        except Exception:  # noqa: BLE001 - not a Page (a Frame) or the page is gone
            return []

    def error_text(self, page) -> str:
        """The platform's messages in the page and in its frames (the upload iframe)."""
        texts = [super().error_text(page)]
        for frame in self._frames(page):
            texts.append(super().error_text(frame))
        return " | ".join(dict.fromkeys(t for t in texts if t))

    def dismiss_overlays(self, page) -> int:
        """Close the cookie banner and modals, in the page and inside the upload iframe."""
        closed = super().dismiss_overlays(page)
        for frame in self._frames(page):
            for _ in range(3):
                overlay = self.try_find(frame, "overlay")
                button = self.try_find(frame, "overlay_close")
                if overlay is None and button is None:
                    break
                if button is not None:
                    try:
                        button.click(timeout=2000)
                        log.info("%s: dismissed an overlay with its close button (in the upload iframe)",
                                 self.label)
                        closed += 1
                        continue
                    except Exception:  # noqa: BLE001 - try Escape instead
                        pass
                page.keyboard.press("Escape")
                log.info("%s: pressed Escape to dismiss an overlay (in the upload iframe)", self.label)
                closed += 1
                time.sleep(self.timeouts.poll)
        return closed

    def _step(self, template: str, **values: str) -> str:
        """A step made from SELECTOR_TEMPLATES[template] with ``values`` filled in."""
        name = f"{template}={'/'.join(values.values())}"
        if name not in self.selectors:
            table = dict(self.selectors)
            table[name] = [s.format(**values) for s in SELECTOR_TEMPLATES[template]]
            self.selectors = table  # this instance only; the class table stays as it is
        return name

    def _upload_root(self, page):
        """The Page or the iframe's Frame that holds the upload UI (waits, bounded)."""

        def look():
            if self.try_find(page, "file_input", state="attached") is not None:
                return ("page", page)
            frame_el = self.try_find(page, "upload_iframe", state="attached")
            if frame_el is not None:
                try:
                    handle = frame_el.element_handle(timeout=2000)
                    frame = handle.content_frame() if handle is not None else None
                except Exception:  # noqa: BLE001 - the iframe is being replaced; look again
                    frame = None
                if frame is not None and self.try_find(frame, "file_input", state="attached") is not None:
                    return ("iframe", frame)
            return None

        where, root = self.wait_until(look, self.timeouts.step, "the upload page's file input", watch=page)
        if where == "iframe":
            self.find(page, "upload_iframe", state="attached")  # logs which selector matched
            log.info("%s: TikTok Studio's upload UI is inside an iframe", self.label)
        return root

    # -- the upload -----------------------------------------------------------------------------

    def run_upload(self, page, path: Path, meta: dict[str, Any]) -> UploadResult:
        t = self.timeouts
        self.report_progress(0.02, "reading the content list")
        before = self._content(page)
        if before is None:
            raise UploadError("TikTok: the content list did not load, so a new post could not be told apart "
                              "from the old ones; nothing was uploaded.", "transient", step="content", final=False)
        known = {row["id"] for row in before}
        log.info("%s: %d post(s) on the content list before the upload", self.label, len(known))

        self.report_progress(0.04, "opening TikTok Studio")
        self.goto(page, "/tiktokstudio/upload")
        self.raise_if_blocked(page)
        root = self._upload_root(page)
        self.find(root, "file_input", state="attached", watch=page).set_input_files(
            str(path), timeout=t.action * 1000)
        self.report_progress(0.05, "uploading")

        self._set_caption(page, root, meta["caption"])
        self._choose_visibility(page, root, meta)
        if meta["scheduled_at"] is not None:
            self._schedule(page, root, meta)

        self._wait_uploaded(page, root)
        if _norm(self._caption_text(root)) != _norm(meta["caption"]):
            log.info("%s: the caption changed while uploading; setting it again", self.label)
            self._set_caption(page, root, meta["caption"])
        if self.cancel_requested():
            log.info("%s: cancelled before posting; nothing was published", self.label)
            raise UploadCancelled()
        self.report_progress(0.9, "posting")
        self.click(root, "post", watch=page)
        self._final_clicked = True

        def confirmed():
            if "/tiktokstudio/content" in urlsplit(page.url).path:
                return "content list"
            for where in (root, page):
                if self.try_find(where, "published") is not None:
                    return "confirmation"
            text = self.error_text(page)
            if text:
                raise UploadError(f"TikTok says: {text}", self.classify_text(text) or "transient")
            return None

        how = self.wait_until(confirmed, t.confirm, "the post confirmation", watch=page)
        log.info("%s: TikTok confirmed the post (%s)", self.label, how)
        self.report_progress(0.95, "finding the new post")
        post_id, post_url = self._new_post(page, known, meta)
        self.report_progress(1.0, "published")
        when = meta["scheduled_at"]
        log.info("%s: %s as %s (%s)", self.label, "scheduled" if when else "published", post_id, post_url)
        return UploadResult(True, post_id, post_url=post_url, details={
            "visibility": meta["visibility"], "tiktok_visibility": meta["tiktok_visibility"],
            "scheduled_at": when.isoformat() if when else None, "caption": meta["caption"]})

    def _caption_text(self, root) -> str:
        editor = self.try_find(root, "caption", state="attached")
        try:
            return editor.inner_text(timeout=2000) if editor is not None else ""
        except Exception:  # noqa: BLE001
            return ""

    def _set_caption(self, page, root, text: str) -> None:
        """Clear the editor and insert the caption (no key events, so no suggestion gets picked)."""
        editor = self.click(root, "caption", watch=page)
        page.keyboard.press("ControlOrMeta+A")
        page.keyboard.press("Backspace")
        page.keyboard.insert_text(text)
        if self.try_find(root, "hashtag_popup") is not None:
            page.keyboard.press("Escape")  # the suggestions would cover the buttons below
            self.wait_until(lambda: self.try_find(root, "hashtag_popup") is None, self.timeouts.action,
                            "the hashtag suggestions to close", watch=page)
        got = editor.inner_text(timeout=self.timeouts.action * 1000)
        if _norm(got) != _norm(text):
            raise UploadError(f"TikTok: the caption shows {got[:80]!r} after inserting, not {text[:80]!r}",
                              "transient", step="caption")

    def _choose_visibility(self, page, root, meta: dict[str, Any]) -> None:
        step, label = VISIBILITY[meta["visibility"]]
        trigger = self.click(root, "visibility_trigger", watch=page)
        self.click(root, step, watch=page)
        self.wait_until(lambda: _norm(trigger.inner_text()).lower() == label.lower(), self.timeouts.action,
                        f"'Who can watch this video' to show {label}", watch=page)

    def _schedule(self, page, root, meta: dict[str, Any]) -> None:
        radio = self.click(root, "schedule_later", watch=page)
        self.wait_until(lambda: radio.is_checked(), self.timeouts.action, "choosing Schedule", watch=page)
        date_input = self.click(root, "schedule_date_input", watch=page)
        day = self._step("calendar_day", date=meta["schedule_date"])
        for _ in range(3):  # at most 10 days ahead: the next month at the latest
            if self.try_find(root, day) is not None:
                break
            self.click(root, "calendar_next", watch=page)
        try:
            self.click(root, day, watch=page)
        except UploadError as exc:
            raise UploadError(f"TikTok's calendar does not offer {meta['schedule_date']} for scheduling.",
                              "permanent", step="schedule") from exc
        time_input = self.click(root, "schedule_time_input", watch=page)
        self.click(root, self._step("time_hour", value=meta["schedule_hour"]), watch=page)
        self.click(root, self._step("time_minute", value=meta["schedule_minute"]), watch=page)
        want_time = f"{meta['schedule_hour']}:{meta['schedule_minute']}"
        self.wait_until(lambda: date_input.input_value() == meta["schedule_date"]
                        and time_input.input_value() == want_time, self.timeouts.action,
                        "the schedule date and time to be taken", watch=page)
        log.info("%s: scheduled for %s %s (%s)", self.label, meta["schedule_date"], want_time,
                 self.channel.get("timezone") or "UTC")

    def _wait_uploaded(self, page, root) -> None:
        """Wait (bounded by ``timeouts.processing``) for "Uploaded" and an enabled Post button."""
        deadline = time.monotonic() + self.timeouts.processing
        stage = ""
        naps = self._naps(self.timeouts.long_poll)  # looks thin out as the wait goes on
        while True:
            self.raise_if_blocked(page)
            label = self.try_find(root, "upload_status")
            text = ""
            if label is not None:
                try:
                    text = _norm(label.inner_text(timeout=2000))
                except Exception:  # noqa: BLE001 - re-find it next round
                    text = ""
            if text and UPLOADED_RE.search(text):
                button = self.try_find(root, "post", state="attached")
                if button is not None and button.get_attribute("aria-disabled") != "true" and button.is_enabled():
                    log.info("%s: %s; the Post button is enabled", self.label, text)
                    self.report_progress(0.85, "uploaded")
                    return
            elif text and UPLOAD_FAILED_RE.search(text):
                said = self.error_text(page) or text
                raise UploadError(f"TikTok says: {said}", self.classify_text(said) or "transient", step="upload")
            if text and text != stage:
                stage = text
                m = PERCENT_RE.search(text)
                pct = int(m.group(1)) / 100 if m else 0.0
                if text.lower().startswith("uploading"):
                    self.report_progress(0.05 + 0.55 * pct, "uploading")
                else:
                    self.report_progress(0.6 + 0.25 * pct, "processing")
            if self.cancel_requested():
                log.info("%s: cancelled while uploading; nothing was published", self.label)
                raise UploadCancelled()
            if time.monotonic() >= deadline:
                raise UploadError(f"TikTok was still uploading after {self.timeouts.processing:g} s "
                                  f"({stage or 'no progress shown'}); it was not posted.", "transient",
                                  step="upload")
            time.sleep(next(naps))

    # -- the content list -------------------------------------------------------------------------

    def _content(self, page, *, navigate: bool = True, raise_blocked: bool = True) -> list[dict[str, Any]] | None:
        """The posts on ``/tiktokstudio/content`` in page order: id, url, caption, status text.

        Returns None when the list did not load in ``timeouts.probe``; raises the blocker
        (sign-in, captcha, an error) when ``raise_blocked``.
        """
        if navigate:
            self.goto(page, "/tiktokstudio/content")

        def loaded():
            err = self.blocker(page)
            if err is not None:
                if raise_blocked:
                    raise err
                return "blocked"
            if self.try_find(page, "content_row") is not None:
                return "rows"
            if self.try_find(page, "content_empty") is not None:
                return "empty"
            return None

        try:
            state = self.wait_until(loaded, self.timeouts.probe, "the content list")
        except UploadError as exc:
            if exc.final:
                raise  # a blocker the page shows
            return None  # neither rows nor the empty state in time
        if state != "rows":
            return [] if state == "empty" else None
        try:
            self.find(page, "content_row", timeout=self.timeouts.poll)  # logs which selector matched
        except UploadError:
            return None  # the list changed under us (a reload); look again
        found = self._match(page, "content_row", "visible")
        if found is None:
            return []
        _, _, row_sel = found
        rows = page.locator(row_sel).filter(visible=True)
        posts = []
        for i in range(rows.count()):
            row = rows.nth(i)
            link = self.try_find(row, "content_link", state="attached")
            if link is None:
                continue
            href = link.get_attribute("href") or ""
            m = POST_ID_RE.search(href)
            if not m:
                continue
            posts.append({"id": m.group(1), "url": urljoin(page.url, href),
                          "caption": _norm(link.inner_text()), "status": _norm(row.inner_text())})
        return posts

    def _new_post(self, page, known: set[str], meta: dict[str, Any]) -> tuple[str, str]:
        """The post that appeared in the content list since the upload started (bounded wait)."""
        from playwright.sync_api import Error as PlaywrightError

        deadline = time.monotonic() + self.timeouts.confirm
        first_line = _norm(meta["caption"].splitlines()[0]).lower()

        def on_content() -> bool:
            return "/tiktokstudio/content" in urlsplit(page.url).path

        if not on_content():
            # TikTok moves to the content list by itself right after the confirmation; going
            # there at the same moment would only race its navigation.
            try:
                self.wait_until(on_content, min(5.0, self.timeouts.confirm), "the move to the content list",
                                watch=page)
            except UploadError as exc:
                if exc.final:
                    raise
        navigate = not on_content()
        while True:
            try:
                posts = self._content(page, navigate=navigate) or []
            except PlaywrightError as exc:  # e.g. our navigation crossed the site's own
                log.info("%s: reading the content list failed (%s); trying again", self.label, exc)
                posts = []
            new = [p for p in posts if p["id"] not in known]
            if len(new) == 1:
                return new[0]["id"], new[0]["url"]
            if new:
                mine = [p for p in new if first_line and first_line in p["caption"].lower()]
                if mine:
                    if len(mine) > 1:
                        log.warning("%s: %d new posts with this caption; taking the newest", self.label, len(mine))
                    return mine[0]["id"], mine[0]["url"]
                raise UploadError(f"TikTok: {len(new)} new posts appeared and none has this caption; "
                                  "check the channel.", "transient", final=False)
            if time.monotonic() >= deadline:
                raise UploadError("TikTok confirmed the post but no new video appeared in the content list "
                                  f"within {self.timeouts.confirm:g} s.", "transient", step="content", final=False)
            time.sleep(max(self.timeouts.poll, 0.5))
            navigate = True

    # -- settling an unknown outcome ------------------------------------------------------------------

    def find_existing(self, video: Mapping[str, Any]) -> UploadResult | None:
        """Look for the video on the channel's content list by its caption's first line or title.

        Returns a success when a post (published or scheduled) carries it, a failure when the
        list loaded and none does, and None when the list could not be read.
        """
        markers = []
        for value in (video.get("caption"), video.get("title")):
            line = _norm(str(value or "").strip().splitlines()[0]) if str(value or "").strip() else ""
            if line and line.lower() not in markers:
                markers.append(line.lower())
        if not markers:
            return None
        page = None
        try:
            page = self.new_page()
            posts = self._content(page, raise_blocked=False)
            if posts is None:
                return None
            for post in posts:
                if any(m in post["caption"].lower() for m in markers):
                    log.info("%s: found %r on the channel as %s", self.label, markers[0], post["id"])
                    return UploadResult(True, post["id"], post_url=post["url"],
                                        details={"found": True, "status": post["status"]})
            return UploadResult.failed(f"{markers[0]!r} is not on the channel.", "transient")
        except Exception:  # noqa: BLE001 - cannot tell
            log.warning("%s: could not look for %r on the channel", self.label, markers[0], exc_info=True)
            return None
        finally:
            if page is not None:
                try:
                    page.close()
                except Exception:  # noqa: BLE001
                    pass


__all__ = ["ERROR_PATTERNS", "SELECTORS", "ScheduleWindowError", "TikTokUploader", "check_schedule"]
