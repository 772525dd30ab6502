"""YouTube Studio through the browser.

The flow, as the real site works today (the sandbox in ``uploaders/sandbox/youtube.py`` plays
the same pages): ``/upload`` opens Studio's upload dialog (or redirects to
accounts.google.com when logged out); the file goes through ``input[type=file]``; title and
description are the contenteditable ``#textbox`` inside ``#title-textarea`` and
``#description-textarea`` (we *fill* them, never type, so ``#shorts`` opens no suggestion
popup); the made-for-kids radio is required; ``#next-button`` until the visibility step;
``PUBLIC`` / ``UNLISTED`` / ``PRIVATE`` or a scheduled time; the ``watch?v=`` / ``youtu.be``
link in the dialog carries the post id; and ``#done-button`` is pressed only once the upload
and the checks have finished, because closing early leaves the upload stuck.
"""

from __future__ import annotations

import logging
import re
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from uploaders import UploadCancelled, UploadResult

from .playwright_base import PlaywrightUploader, UploadError, _iso_to_utc, _norm

log = logging.getLogger("asfs.uploaders")

VIDEO_ID_RE = re.compile(r"(?:youtu\.be/|[?&]v=|/shorts/|/video/)([A-Za-z0-9_-]{11})(?![A-Za-z0-9_-])")
PROCESSED_RE = re.compile(r"checks complete|no issues found|processing complete|video processed", re.I)
PERCENT_RE = re.compile(r"(\d{1,3})\s*%")
PUBLISHED_STATUS_RE = re.compile(r"\b(public|unlisted|private|scheduled)\b", re.I)

# Our own margin for platform-native scheduling: the time must still be ahead once the
# upload and processing are done; a year ahead is certainly a typo.
MIN_SCHEDULE_LEAD = timedelta(minutes=15)
MAX_SCHEDULE_LEAD = timedelta(days=365)
# Details, Video elements, Checks: then Visibility (the step the Next presses are for)
STEPS_BEFORE_VISIBILITY = 3
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

SELECTORS: dict[str, list[str]] = {
    # home page (www.youtube.com) and Studio's top bar
    "logged_in": ["#avatar-btn", "button[aria-label^='Account' i]", "role=button[name=/^account/i]"],
    "signed_out": ["a[href*='accounts.google.com/ServiceLogin']", "a[aria-label='Sign in']",
                   "role=link[name=/^sign in$/i]"],
    "captcha": ["iframe[title*='recaptcha' i]", "iframe[src*='recaptcha']", "#captcha-form",
                "text=/verify it.s you/i"],
    # the upload dialog
    "upload_dialog": ["ytcp-uploads-dialog #dialog", "ytcp-uploads-dialog", "role=dialog[name=/upload/i]"],
    "file_input": ["input[type='file'][name='Filedata']", "input[type='file']"],
    "title": ["#title-textarea #textbox", "[contenteditable][aria-label^='Add a title' i]",
              "role=textbox[name=/add a title/i]"],
    "description": ["#description-textarea #textbox", "[contenteditable][aria-label^='Tell viewers' i]",
                    "role=textbox[name=/tell viewers/i]"],
    "made_for_kids": ["tp-yt-paper-radio-button[name='VIDEO_MADE_FOR_KIDS_MFK']", "[name='VIDEO_MADE_FOR_KIDS_MFK']",
                      "role=radio[name=/^\\W*yes,? it.s made for kids/i]"],
    "not_made_for_kids": ["tp-yt-paper-radio-button[name='VIDEO_MADE_FOR_KIDS_NOT_MFK']",
                          "[name='VIDEO_MADE_FOR_KIDS_NOT_MFK']", "role=radio[name=/^\\W*no,? it.s not made for kids/i]"],
    "next": ["#next-button", "ytcp-button[aria-label='Next']", "role=button[name=/^next$/i]"],
    "visibility_public": ["tp-yt-paper-radio-button[name='PUBLIC']", "[name='PUBLIC']", "role=radio[name=/^\\W*public\\b/i]"],
    "visibility_unlisted": ["tp-yt-paper-radio-button[name='UNLISTED']", "[name='UNLISTED']",
                            "role=radio[name=/^\\W*unlisted\\b/i]"],
    "visibility_private": ["tp-yt-paper-radio-button[name='PRIVATE']", "[name='PRIVATE']",
                           "role=radio[name=/^\\W*private\\b/i]"],
    "schedule_expand": ["#second-container-expand-button", "role=button[name=/^schedule$/i]"],
    "schedule_date_trigger": ["#datepicker-trigger", "role=button[name=/^date$/i]"],
    "schedule_date_input": ["ytcp-date-picker tp-yt-paper-input input", "input[aria-label='Enter date']",
                            "role=textbox[name=/date/i]"],
    "schedule_time_input": ["#time-of-day-container input", "input[aria-label='Enter time']",
                            "role=textbox[name=/time/i]"],
    "video_link": ["ytcp-video-info a[href*='youtu.be/']", "ytcp-video-info a[href*='watch?v=']",
                   "ytcp-video-info a[href*='/shorts/']", "a[href*='youtu.be/']", "a[href*='watch?v=']",
                   "a[href*='/shorts/']", ".video-url-fadeable a[href]"],
    "progress": ["ytcp-video-upload-progress .progress-label", "ytcp-video-upload-progress [role=status]",
                 "[role=status][aria-live]", "span.progress-label"],
    "done": ["#done-button",
             "ytcp-button[aria-label='Publish'], ytcp-button[aria-label='Save'], ytcp-button[aria-label='Schedule']",
             "role=button[name=/^(publish|save|schedule)$/i]"],
    "published": ["ytcp-video-share-dialog", "role=dialog[name=/^video (published|scheduled|saved)/i]"],
    "still_processing": ["ytcp-uploads-still-processing-dialog", "role=dialog[name=/still processing/i]"],
    "error": ["ytcp-uploads-dialog .error-area", "ytcp-uploads-dialog [role=alert]", "#error-message"],
    # things that cover the page
    "overlay": ["ytcp-warm-welcome-dialog", "ytcp-feature-discovery-callout",
                "[role=dialog][aria-modal=true][aria-label*='welcome' i]"],
    "overlay_close": ["ytcp-warm-welcome-dialog #dismiss-button", "ytcp-feature-discovery-callout #dismiss-button",
                      "ytcp-warm-welcome-dialog >> role=button[name=/got it|dismiss|close|continue/i]"],
    # the Content page
    "content_row": ["ytcp-video-row", "[role=row]"],
    "content_title": ["#video-title", "a[href*='/video/']"],
    "content_empty": ["text=/no content available/i"],
}

ERROR_PATTERNS: list[tuple[str, str]] = [
    (r"daily upload limit|upload limit reached|reached your (daily )?upload limit", "rate_limited"),
    (r"sign in to continue|session (has )?expired", "login_required"),
    (r"verify it.s you|not a robot|captcha", "login_required"),
    (r"processing abandoned|invalid file|can.t process|could not be processed|unsupported (file|format)"
     r"|too long|invalid characters|violat|copyright strike|rejected", "permanent"),
    (r"upload failed|network error|try again|something went wrong|connection", "transient"),
]


class YouTubeUploader(PlaywrightUploader):
    """Publishes Shorts and videos through YouTube Studio (see the module docstring)."""

    platform = "YouTube"
    default_base_url = "https://www.youtube.com"
    selectors = SELECTORS
    error_patterns = ERROR_PATTERNS
    signin_url_markers = ("accounts.google.com", "/ServiceLogin", "/signin/")
    home_path = "/"
    login_path = "/upload"
    rate_limit_cooldown = timedelta(hours=24)

    # -- metadata ------------------------------------------------------------------------------

    def prepare(self, metadata: dict[str, Any]) -> dict[str, Any]:
        """Validate title, description, visibility and schedule before any browser work."""
        title = _norm(str(metadata.get("title") or ""))
        if not title:
            raise UploadError("YouTube needs a title.", "permanent")
        if len(title) > 100:
            raise UploadError(f"YouTube titles are at most 100 characters; this one has {len(title)}.", "permanent")
        description = str(metadata.get("description") or metadata.get("caption") or "").strip()
        tags = [str(h) for h in metadata.get("hashtags") or []]
        missing = [h for h in tags if h.lower() not in description.lower()]
        if missing:
            description = (description + "\n\n" if description else "") + " ".join(missing)
        if len(description) > 5000:
            raise UploadError("YouTube descriptions are at most 5000 characters.", "permanent")
        if re.search(r"[<>]", title + description):
            raise UploadError("YouTube does not allow < or > in titles and descriptions.", "permanent")
        visibility = str(metadata.get("visibility") or "public").lower()
        if visibility not in ("public", "unlisted", "private"):
            raise UploadError(f"Unknown visibility {visibility!r}: use public, unlisted or private.", "permanent")
        meta = {"title": title, "description": description, "visibility": visibility,
                "made_for_kids": bool(metadata.get("made_for_kids", False)), "scheduled_at": None}
        when = metadata.get("scheduled_at")
        if when:
            try:
                at = _iso_to_utc(when).replace(second=0, microsecond=0)
            except (TypeError, ValueError):
                raise UploadError(f"scheduled_at is not a date and time: {when!r}", "permanent") from None
            now = datetime.now(timezone.utc)
            if at < now + MIN_SCHEDULE_LEAD:
                raise UploadError(f"A scheduled YouTube post must be at least "
                                  f"{int(MIN_SCHEDULE_LEAD.total_seconds() // 60)} minutes ahead "
                                  f"(asked for {at.isoformat()}).", "permanent")
            if at > now + MAX_SCHEDULE_LEAD:
                raise UploadError(f"{at.isoformat()} is more than a year ahead.", "permanent")
            if visibility != "public":
                raise UploadError("YouTube schedules videos to become public; "
                                  f"a {visibility} video cannot be scheduled.", "permanent")
            try:
                tz = ZoneInfo(self.channel.get("timezone") or "UTC")
            except (ZoneInfoNotFoundError, ValueError):
                raise UploadError(f"Unknown time zone {self.channel.get('timezone')!r} on the channel.",
                                  "permanent") from None
            local = at.astimezone(tz)
            meta.update(scheduled_at=at, schedule_date=f"{_MONTHS[local.month - 1]} {local.day}, {local.year}",
                        schedule_time=f"{(local.hour % 12) or 12}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'}")
        return meta

    # -- the upload -----------------------------------------------------------------------------

    def run_upload(self, page, path: Path, meta: dict[str, Any]) -> UploadResult:
        t = self.timeouts
        self.report_progress(0.02, "opening YouTube Studio")
        self.goto(page, "/upload")
        self.raise_if_blocked(page)
        dialog = self.find(page, "upload_dialog", watch=page)
        self.find(dialog, "file_input", state="attached", watch=page).set_input_files(
            str(path), timeout=t.action * 1000)
        self.report_progress(0.05, "uploading")

        self.fill(dialog, "title", meta["title"], watch=page)
        self.fill(dialog, "description", meta["description"], watch=page)
        audience = "made_for_kids" if meta["made_for_kids"] else "not_made_for_kids"
        self._choose(page, dialog, audience)

        visibility_step = f"visibility_{meta['visibility']}"
        self._next_until(page, dialog, visibility_step)
        if meta["scheduled_at"] is not None:
            self._schedule(page, dialog, meta)
        else:
            self._choose(page, dialog, visibility_step)

        post_id, post_url = self._video_link(page, dialog)
        self._wait_processed(page, dialog)
        if self.cancel_requested():
            log.info("%s: cancelled before publishing; %s stays an unpublished draft", self.label, post_id)
            raise UploadCancelled()
        self.report_progress(0.9, "publishing")
        self.click(dialog, "done", watch=page)
        self._final_clicked = True

        def confirmed():
            if not self.any_visible(page, "published", "still_processing", "error"):
                return False  # the usual answer while waiting, in one look
            if self.any_visible(page, "published"):
                return True
            if self.any_visible(page, "still_processing"):
                raise UploadError("YouTube says the video is still processing: the dialog closed before "
                                  "processing finished, so the upload may be stuck. Check the channel.", "transient")
            text = self.error_text(page)
            if text:
                raise UploadError(f"YouTube says: {text}", self.classify_text(text) or "transient")
            return False

        self.wait_until(confirmed, t.confirm, "the publish confirmation", watch=page)
        self.report_progress(1.0, "published")
        when = meta["scheduled_at"]
        log.info("%s: %s as %s (%s)", self.label, "scheduled" if when else "published", post_id, post_url)
        return UploadResult(True, post_id, post_url=post_url, details={
            "visibility": meta["visibility"], "made_for_kids": meta["made_for_kids"],
            "scheduled_at": when.isoformat() if when else None, "title": meta["title"]})

    def _choose(self, page, root, step: str) -> None:
        """Click a radio and make sure it took."""
        radio = self.click(root, step, watch=page)
        self.wait_until(lambda: radio.get_attribute("aria-checked") == "true" or radio.is_checked(),
                        self.timeouts.action, f"selecting {step}", watch=page)

    def _next_until(self, page, dialog, step: str) -> None:
        """Press Next until ``step`` shows (bounded: a few presses, ``timeouts.step``)."""
        deadline = time.monotonic() + self.timeouts.step
        presses = 0
        last_press = -1.0
        next_watch = time.monotonic() + 0.5  # as in find(): the page was looked at a moment ago
        naps = self._naps()
        while not self.any_visible(dialog, step):
            now = time.monotonic()
            if now >= next_watch:  # blockers end the wait early; looking costs, so twice a second
                self.raise_if_blocked(page)
                next_watch = now + 0.5
            if time.monotonic() >= deadline or presses > 10:
                errors = self.error_text(page)
                raise UploadError(f"YouTube: the visibility step did not appear after {presses} presses on Next"
                                  + (f" (the page says: {errors})" if errors else ""),
                                  self.classify_text(errors) or "transient", step=step, final=not errors)
            # Pressing again before the page moved on is harmless: Next is gone on the last step.
            # Studio has three steps before Visibility, so the first presses follow each other at
            # once; later ones wait a moment each, so a slow page does not use up the presses.
            wait = last_press + (0.0 if presses < STEPS_BEFORE_VISIBILITY else 0.25) - time.monotonic()
            if wait > 0:
                time.sleep(wait)
                continue
            # Next pressed before in this session: pressed at once, or not at all if it is not
            # there within a moment (the step may be showing by then); else looked for first
            pressed = self._direct(dialog, "next", lambda loc: loc.click(timeout=500)) is not None
            if not pressed and (found := self._match(dialog, "next", "visible")) is not None:
                self._log_match("next", found)
                self.click(dialog, "next", watch=page, found=found[0])
                pressed = True
            if pressed:
                last_press = time.monotonic()
                presses += 1
                naps = self._naps()
                continue  # look at once: the page usually shows the next step by now
            time.sleep(next(naps))

    def _schedule(self, page, dialog, meta: dict[str, Any]) -> None:
        expand = self.find(dialog, "schedule_expand", watch=page)
        if expand.get_attribute("aria-expanded") != "true":
            self.click(dialog, "schedule_expand", watch=page)
        self.click(dialog, "schedule_date_trigger", watch=page)
        date_input = self.find(page, "schedule_date_input", watch=page)
        date_input.fill(meta["schedule_date"], timeout=self.timeouts.action * 1000)
        date_input.press("Enter")
        time_input = self.find(page, "schedule_time_input", watch=page)
        time_input.fill(meta["schedule_time"], timeout=self.timeouts.action * 1000)
        time_input.press("Enter")
        trigger = self.find(dialog, "schedule_date_trigger", watch=page)
        self.wait_until(lambda: meta["schedule_date"] in trigger.inner_text(), self.timeouts.action,
                        "the schedule date to be taken", watch=page)
        log.info("%s: scheduled for %s %s (%s)", self.label, meta["schedule_date"], meta["schedule_time"],
                 self.channel.get("timezone") or "UTC")

    def _video_link(self, page, dialog) -> tuple[str, str]:
        link = self.find(dialog, "video_link", watch=page)

        def parsed():
            href = link.get_attribute("href") or ""
            m = VIDEO_ID_RE.search(href)
            return (m.group(1), href) if m else None

        return self.wait_until(parsed, self.timeouts.step, "the video link", watch=page)

    def _wait_processed(self, page, dialog) -> None:
        """Wait (bounded by ``timeouts.processing``) until the upload and the checks finished."""
        deadline = time.monotonic() + self.timeouts.processing
        label = None
        stage = ""
        next_watch = 0.0
        # processing takes seconds to minutes: the looks thin out to one every timeouts.long_poll,
        # and the blockers are looked for once a second
        naps = self._naps(self.timeouts.long_poll)
        while True:
            if label is None:
                label = self.try_find(dialog, "progress")
            text = ""
            if label is not None:
                try:
                    text = label.inner_text(timeout=2000).strip()
                except Exception:  # noqa: BLE001 - re-find it next round
                    label = None
            if text and PROCESSED_RE.search(text):
                log.info("%s: %s", self.label, text)
                self.report_progress(0.85, "checks complete")
                return
            if time.monotonic() >= next_watch:  # not done yet: is something in the way?
                self.raise_if_blocked(page)
                next_watch = time.monotonic() + 1.0
            kind = self.classify_text(text) if text else None
            if kind is not None:
                raise UploadError(f"YouTube says: {self.error_text(page) or text}", kind, step="progress")
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
                raise UploadError(f"YouTube was still uploading or processing after {self.timeouts.processing:g} s "
                                  f"({stage or 'no progress shown'}); it was not published and stays a draft.",
                                  "transient", step="progress")
            time.sleep(next(naps))

    # -- settling an unknown outcome ------------------------------------------------------------------

    def find_existing(self, video: Mapping[str, Any]) -> UploadResult | None:
        """Look for the video's title on the channel's Content page (the newest page of it).

        Returns a success when a published (public / unlisted / private / scheduled) post has
        that title, a failure when the list loaded and it is not there (or only as an
        unfinished draft), and None when the page could not be read.
        """
        title = _norm(str(video.get("title") or ""))
        if not title:
            return None
        page = None
        try:
            page = self.new_page()
            self.goto(page, "/upload")
            if self.blocker(page) is not None:
                return None
            studio = self.wait_until(lambda: re.search(r"^(.*?/channel/UC[A-Za-z0-9_-]+)", page.url),
                                     self.timeouts.probe, "Studio's channel page")
            self.goto(page, studio.group(1) + "/videos/upload")

            def loaded():
                if self.blocker(page) is not None:
                    return "blocked"
                if self.try_find(page, "content_row") is not None:
                    return "rows"
                if self.try_find(page, "content_empty") is not None:
                    return "empty"
                return None

            state = self.wait_until(loaded, self.timeouts.probe, "the Content list")
            if state == "blocked":
                return None
            drafts = []
            if state == "rows":
                rows = page.locator(self.selectors["content_row"][0]).filter(visible=True)
                if rows.count() == 0:
                    rows = page.locator(self.selectors["content_row"][1]).filter(visible=True)
                for i in range(rows.count()):
                    row = rows.nth(i)
                    heading = self.try_find(row, "content_title")
                    if heading is None:
                        continue
                    text = _norm(heading.inner_text())
                    if text != title and title not in text:
                        continue
                    m = VIDEO_ID_RE.search(heading.get_attribute("href") or "")
                    if not m:
                        continue
                    status = _norm(row.inner_text())
                    if PUBLISHED_STATUS_RE.search(status) and "draft" not in status.lower():
                        url = self.url(f"/watch?v={m.group(1)}") if "youtube.com" not in self.base_url \
                            else f"https://youtu.be/{m.group(1)}"
                        log.info("%s: found %r on the channel as %s", self.label, title, m.group(1))
                        return UploadResult(True, m.group(1), post_url=url, details={"found": True})
                    drafts.append(m.group(1))
            if drafts:
                return UploadResult.failed(f"Only an unfinished draft of {title!r} is on the channel "
                                           f"({', '.join(drafts)}); it was not published.", "transient")
            return UploadResult.failed(f"{title!r} is not on the channel.", "transient")
        except Exception:  # noqa: BLE001 - cannot tell
            log.warning("%s: could not look for %r on the channel", self.label, title, exc_info=True)
            return None
        finally:
            if page is not None:
                try:
                    page.close()
                except Exception:  # noqa: BLE001
                    pass


__all__ = ["ERROR_PATTERNS", "SELECTORS", "YouTubeUploader"]
