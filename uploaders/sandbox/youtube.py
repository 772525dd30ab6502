"""YouTube Studio, as the sandbox plays it.

The same steps, ids, attribute names and messages as the real site (2024-2025):

* ``/upload`` redirects a signed-in account to ``/channel/<UC id>/videos/upload?d=ud`` (the
  Content page with the upload dialog open) and a signed-out one to the sign-in page, which
  mimics accounts.google.com (``/accounts/v3/signin/identifier`` then ``.../challenge/pwd``).
* The dialog takes the file through ``input[type=file][name=Filedata]``; the page's script
  creates the video (its id and ``watch?v=`` link appear in the dialog at once), uploads the
  file as a multipart POST with a progress bar, then shows "Processing" and finally
  "Checks complete. No issues found.".
* Details: ``#title-textarea #textbox`` and ``#description-textarea #textbox`` are
  contenteditable (the title starts as the file name; typing ``#`` opens a suggestion popup
  over the buttons, filling does not); the audience radios ``VIDEO_MADE_FOR_KIDS_MFK`` /
  ``VIDEO_MADE_FOR_KIDS_NOT_MFK`` are required.
* ``#next-button`` through Details, Video elements, Checks, Visibility; ``PUBLIC`` /
  ``UNLISTED`` / ``PRIVATE`` radios or Schedule (``#second-container-expand-button``,
  ``#datepicker-trigger``, ``#time-of-day-container``); ``#done-button`` says Publish, Save or
  Schedule. Pressing it before processing finished leaves the post **stuck** (never published)
  and shows "Video still processing", as closing early does on the real site.
* Errors: "Daily upload limit reached" (rate limit), "Upload failed: Network error ..."
  (transient), "Processing abandoned: ..." (permanent), reCAPTCHA "Verify it's you".
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .server import (
    MultipartError,
    PlatformApp,
    Request,
    Response,
    continue_target,
    esc,
    iso,
    register_app,
    route,
    utcnow,
)

RATE_LIMIT_MESSAGE = "Daily upload limit reached. You can upload more videos in 24 hours."
NETWORK_MESSAGE = "Upload failed: Network error. Check your connection and try again."
REJECTED_MESSAGE = "Processing abandoned: The video could not be processed. Invalid file format."
SIGNIN_PATH = "/accounts/v3/signin/identifier"
VIDEO_ID = r"[A-Za-z0-9_-]{11}"

# drift: the ids the real site uses today -> what a redesign might call them
DRIFT_IDS = {
    "title-textarea": "title-wrapper",
    "description-textarea": "description-wrapper",
    "textbox": "input-area",
    "next-button": "step-forward-button",
    "done-button": "publish-action-button",
    "back-button": "step-back-button",
    "second-container-expand-button": "schedule-expander",
    "datepicker-trigger": "date-trigger",
    "time-of-day-container": "time-container",
    "dialog": "upload-dialog-panel",
}


class Names:
    """Ids, classes and radio names as rendered: the real ones, or drifted ones."""

    def __init__(self, drift: bool):
        self.drift = drift
        self.salt = secrets.token_hex(3)

    def id(self, name: str) -> str:
        return DRIFT_IDS.get(name, name) if self.drift else name

    def cls(self, name: str) -> str:
        return f"{name}-{self.salt}" if self.drift else name

    def name_attr(self, value: str) -> str:
        """The ``name`` attribute of a radio (gone after drift; ``data-v`` stays for the page script)."""
        return f'data-v="{value}"' if self.drift else f'name="{value}" data-v="{value}"'

    def sub(self, text: str) -> str:
        def repl(m: re.Match) -> str:
            return self.id(m.group(2)) if m.group(1) == "id" else self.cls(m.group(2))

        return re.sub(r"\[\[(id|cls):([\w-]+)\]\]", repl, text)


def channel_id(account: str) -> str:
    digest = hashlib.sha256(f"youtube:{account}".encode()).digest()
    return "UC" + base64.urlsafe_b64encode(digest).decode()[:22]


def _tz(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


CSS = """
body{margin:0;font-family:Roboto,Arial,sans-serif;background:#f9f9f9;color:#0f0f0f}
ytcp-topbar,.[[cls:topbar]]{display:flex;align-items:center;justify-content:space-between;height:56px;
  padding:0 24px;background:#fff;border-bottom:1px solid #e5e5e5}
.[[cls:logo]]{font-weight:700;font-size:18px}.[[cls:logo]] b{color:#f00}
#avatar-btn{width:32px;height:32px;border-radius:50%;border:0;background:#065fd4;color:#fff;font-weight:700}
main{padding:24px 32px}
ytcp-video-row{display:grid;grid-template-columns:1fr 140px 200px;gap:12px;padding:10px 8px;
  border-bottom:1px solid #eee;background:#fff}
ytcp-video-row a{color:#0f0f0f;text-decoration:none;font-weight:500}
ytcp-uploads-dialog{position:fixed;inset:0;background:rgba(0,0,0,.5);display:flex;align-items:center;
  justify-content:center;z-index:100}
ytcp-uploads-dialog[hidden],[hidden]{display:none !important}
tp-yt-paper-dialog{display:flex;flex-direction:column;width:960px;max-width:96vw;height:86vh;background:#fff;
  border-radius:12px;overflow:hidden}
.[[cls:dialog-header]]{display:flex;justify-content:space-between;align-items:center;padding:14px 24px;
  border-bottom:1px solid #e5e5e5}
.[[cls:dialog-header]] h2{margin:0;font-size:20px}
.[[cls:dialog-body]]{flex:1;overflow:auto;padding:16px 24px;display:flex;gap:24px}
.[[cls:steps-main]]{flex:1;display:flex;flex-direction:column;gap:14px}
ytcp-uploads-file-picker{display:flex;flex:1;flex-direction:column;align-items:center;justify-content:center;gap:16px}
ytcp-button,ytcp-icon-button,ytcp-text-dropdown-trigger{display:inline-block;padding:8px 16px;border-radius:18px;
  background:#065fd4;color:#fff;cursor:pointer;user-select:none;font-weight:500}
ytcp-button[aria-disabled=true]{background:#ccc;cursor:default}
ytcp-icon-button,ytcp-text-dropdown-trigger{background:#f2f2f2;color:#0f0f0f}
ytcp-stepper{display:flex;gap:8px}
ytcp-stepper [role=tab]{padding:4px 10px;border-radius:12px;background:#eee}
ytcp-stepper [role=tab][aria-selected=true]{background:#065fd4;color:#fff}
ytcp-social-suggestions-textbox{display:block;border:1px solid #ccc;border-radius:4px;padding:8px 12px}
ytcp-social-suggestions-textbox label{display:block;font-size:12px;color:#606060}
[contenteditable]{min-height:24px;outline:none;white-space:pre-wrap}
tp-yt-paper-radio-group{display:flex;flex-direction:column;gap:6px}
tp-yt-paper-radio-button{display:block;padding:6px 8px;border-radius:6px;cursor:pointer}
tp-yt-paper-radio-button::before{content:"";display:inline-block;width:10px;height:10px;margin-right:8px;
  border:2px solid #606060;border-radius:50%;vertical-align:-1px}
tp-yt-paper-radio-button[aria-checked=true]::before{background:#065fd4;border-color:#065fd4;box-shadow:inset 0 0 0 2px #fff}
.[[cls:radio-help]]{display:block;font-size:12px;color:#606060;margin-left:22px}
.[[cls:error-area]]{color:#c00;background:#fde8e8;padding:8px 24px}
ytcp-video-info{display:block;width:280px;background:#f2f2f2;border-radius:8px;padding:12px;font-size:13px}
.[[cls:video-url-fadeable]] a{word-break:break-all;color:#065fd4}
.[[cls:footer]]{display:flex;align-items:center;gap:12px;padding:12px 24px;border-top:1px solid #e5e5e5}
ytcp-video-upload-progress{flex:1;display:flex;flex-direction:column;gap:4px;font-size:13px}
.[[cls:progress-bar]]{height:4px;background:#eee}.[[cls:progress-bar]] div{height:4px;width:0;background:#065fd4}
#hashtag-suggestions{position:fixed;left:0;right:0;bottom:0;height:160px;background:#fff;border-top:2px solid #065fd4;
  z-index:500;padding:12px}
ytcp-warm-welcome-dialog{position:fixed;inset:0;z-index:1000;background:rgba(0,0,0,.6);display:flex;
  align-items:center;justify-content:center}
.[[cls:welcome-card]]{background:#fff;padding:32px;border-radius:12px;max-width:420px}
ytcp-date-picker{display:block;margin:6px 0}
ytcp-video-share-dialog,ytcp-uploads-still-processing-dialog{position:fixed;inset:0;z-index:200;
  background:rgba(0,0,0,.5);display:flex;align-items:center;justify-content:center}
.[[cls:result-card]]{background:#fff;padding:28px;border-radius:12px;min-width:420px}
"""

JS = r"""
(function () {
  "use strict";
  var CFG = JSON.parse(document.getElementById("sandbox-config").textContent);
  function $(id) { return document.getElementById(id); }
  function api(path) {
    var u = CFG.api + path;
    if (CFG.sq) { u += (u.indexOf("?") < 0 ? "?" : "&") + "sandbox=" + encodeURIComponent(CFG.sq); }
    return u;
  }
  var root = document.querySelector("ytcp-uploads-dialog");
  if (!root) { return; }
  var picker = root.querySelector("ytcp-uploads-file-picker");
  var fileInput = picker.querySelector("input[type=file]");
  var stepsBox = $("[[id:steps]]");
  var errorArea = $("[[id:error-message]]");
  var label = root.querySelector("ytcp-video-upload-progress [role=status]");
  var bar = root.querySelector("ytcp-video-upload-progress .[[cls:progress-bar]] div");
  var link = root.querySelector("ytcp-video-info a");
  var titleBox = $("[[id:title-textarea]]").querySelector("[contenteditable]");
  var descBox = $("[[id:description-textarea]]").querySelector("[contenteditable]");
  var nextBtn = $("[[id:next-button]]"), backBtn = $("[[id:back-button]]"), doneBtn = $("[[id:done-button]]");
  var sections = ["details", "elements", "checks", "visibility"].map(function (s) { return $("step-" + s); });
  var badges = [0, 1, 2, 3].map(function (i) { return $("step-badge-" + i); });
  var welcome = document.querySelector("ytcp-warm-welcome-dialog");
  var popup = $("hashtag-suggestions");
  var expander = $("[[id:second-container-expand-button]]");
  var schedulePanel = $("schedule-panel");
  var dateTrigger = $("[[id:datepicker-trigger]]");
  var datePicker = root.querySelector("ytcp-date-picker");
  var dateInput = datePicker.querySelector("input");
  var timeInput = $("[[id:time-of-day-container]]").querySelector("input");
  var uploadId = null, step = 0, scheduling = false, failed = false;

  // The text of a contenteditable box, line breaks included, even while it is hidden
  // (innerText drops them for hidden elements).
  function boxText(el) {
    var out = "";
    (function walk(node) {
      Array.prototype.forEach.call(node.childNodes, function (c) {
        if (c.nodeType === 3) { out += c.nodeValue; }
        else if (c.nodeName === "BR") { out += "\n"; }
        else {
          if (/^(DIV|P)$/.test(c.nodeName) && out && out.charAt(out.length - 1) !== "\n") { out += "\n"; }
          walk(c);
        }
      });
    })(el);
    return out.replace(/\n$/, "");
  }
  function showError(msg) { errorArea.textContent = msg; errorArea.hidden = false; }
  function clearError() { errorArea.textContent = ""; errorArea.hidden = true; }
  function setLabel(text, pct) {
    label.textContent = text;
    if (typeof pct === "number") { bar.style.width = pct + "%"; }
  }
  function radios(group) { return Array.prototype.slice.call(root.querySelectorAll("[data-group=" + group + "] [role=radio]")); }
  function checked(group) {
    var r = radios(group).filter(function (x) { return x.getAttribute("aria-checked") === "true"; })[0];
    return r ? r.getAttribute("data-v") : null;
  }
  function pick(radio) {
    var group = radio.parentNode.getAttribute("data-group");
    radios(group).forEach(function (x) { x.setAttribute("aria-checked", x === radio ? "true" : "false"); });
    if (group === "privacy") { scheduling = false; schedulePanel.hidden = true; expander.setAttribute("aria-expanded", "false"); }
    updateDone();
  }
  root.addEventListener("click", function (e) {
    var r = e.target.closest("[role=radio]");
    if (r && root.contains(r)) { pick(r); }
  });
  function updateDone() {
    var text = scheduling ? "Schedule" : (checked("privacy") === "PUBLIC" ? "Publish" : "Save");
    doneBtn.textContent = text; doneBtn.setAttribute("aria-label", text);
  }
  function showStep(n) {
    step = n;
    sections.forEach(function (s, i) { s.hidden = i !== n; });
    badges.forEach(function (b, i) { b.setAttribute("aria-selected", i === n ? "true" : "false"); });
    nextBtn.hidden = n === 3; doneBtn.hidden = n !== 3;
    backBtn.setAttribute("aria-disabled", n === 0 ? "true" : "false");
    updateDone();
  }

  $("[[id:select-files-button]]").addEventListener("click", function () { fileInput.click(); });
  fileInput.addEventListener("change", function () {
    var f = fileInput.files[0];
    if (!f) { return; }
    picker.hidden = true; stepsBox.hidden = false; root.querySelector(".[[cls:footer]]").hidden = false;
    titleBox.textContent = f.name.replace(/\.[^.]+$/, "");
    showStep(0);
    if (CFG.overlay && welcome) { welcome.hidden = false; }
    setLabel("Uploading 0% ...", 0);
    fetch(api("/api/uploads"), { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ filename: f.name, size: f.size }) })
      .then(function (r) { return r.json().then(function (d) { return [r, d]; }); })
      .then(function (rd) {
        var r = rd[0], d = rd[1];
        if (!r.ok) { failed = true; showError(d.error); setLabel(d.label || "Upload failed"); return; }
        uploadId = d.id; link.href = d.url; link.textContent = d.url;
        sendFile(f);
      })
      .catch(function () { failed = true; showError("Upload failed: Network error. Check your connection and try again."); });
  });
  function sendFile(f) {
    var xhr = new XMLHttpRequest();
    xhr.open("POST", api("/api/uploads/" + uploadId + "/file"));
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable) {
        var pct = Math.floor(100 * e.loaded / e.total);
        setLabel("Uploading " + pct + "% ...", pct);
      }
    };
    xhr.onload = function () {
      if (xhr.status >= 400) {
        var d; try { d = JSON.parse(xhr.responseText); } catch (err) { d = { error: "Upload failed" }; }
        failed = true; showError(d.error); setLabel("Upload failed"); return;
      }
      setLabel("Upload complete ... Processing will begin shortly", 100);
      poll();
    };
    xhr.onerror = function () { failed = true; showError("Upload failed: Network error. Check your connection and try again."); };
    var fd = new FormData();
    fd.append("Filedata", f, f.name);
    xhr.send(fd);
  }
  function poll() {
    fetch(api("/api/uploads/" + uploadId)).then(function (r) { return r.json(); }).then(function (d) {
      if (d.state === "processing") { setLabel("Processing video ... " + d.progress + "%"); setTimeout(poll, 150); }
      else if (d.state === "processed") {
        setLabel("Checks complete. No issues found.");
        $("checks-text").textContent = "Checks complete. No issues found.";
      }
      else if (d.state === "failed") { failed = true; showError(d.message); setLabel("Processing abandoned"); }
      else { setTimeout(poll, 150); }
    }).catch(function () { setTimeout(poll, 500); });
  }

  nextBtn.addEventListener("click", function () {
    if (step === 0) {
      var title = boxText(titleBox).trim();
      if (!title) { showError("Your video needs a title."); return; }
      if (title.length > 100) { showError("Your title is too long: 100 characters at most."); return; }
      if (checked("audience") === null) { showError("Select whether your video is made for kids."); return; }
    }
    if (!failed) { clearError(); }
    if (step < 3) { showStep(step + 1); }
  });
  backBtn.addEventListener("click", function () { if (step > 0) { showStep(step - 1); } });

  expander.addEventListener("click", function () {
    scheduling = !scheduling;
    schedulePanel.hidden = !scheduling;
    expander.setAttribute("aria-expanded", scheduling ? "true" : "false");
    if (scheduling) { radios("privacy").forEach(function (x) { x.setAttribute("aria-checked", "false"); }); }
    updateDone();
  });
  dateTrigger.addEventListener("click", function () { datePicker.hidden = false; dateInput.focus(); });
  dateInput.addEventListener("keydown", function (e) {
    if (e.key === "Enter") {
      dateTrigger.querySelector("span").textContent = dateInput.value.trim();
      datePicker.hidden = true;
    }
  });
  dateInput.addEventListener("change", function () { dateTrigger.querySelector("span").textContent = dateInput.value.trim(); });

  // Typing "#" opens hashtag suggestions over the buttons; filling the box does not.
  [titleBox, descBox].forEach(function (box) {
    box.addEventListener("keydown", function (e) {
      if (e.key === "#") { popup.hidden = false; }
      if (e.key === "Escape") { popup.hidden = true; }
    });
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && welcome && !welcome.hidden) { welcome.hidden = true; }
  });
  if (welcome) { $("dismiss-button").addEventListener("click", function () { welcome.hidden = true; }); }
  $("close-button").addEventListener("click", function () { root.hidden = true; });

  doneBtn.addEventListener("click", function () {
    if (!uploadId) { showError("Nothing was uploaded."); return; }
    var body = {
      title: boxText(titleBox).trim(),
      description: boxText(descBox),
      made_for_kids: checked("audience") === null ? null : checked("audience") === "VIDEO_MADE_FOR_KIDS_MFK",
      visibility: scheduling ? "PUBLIC" : checked("privacy"),
      schedule: scheduling ? { date: dateTrigger.querySelector("span").textContent.trim(), time: timeInput.value.trim() } : null
    };
    fetch(api("/api/uploads/" + uploadId + "/publish"), { method: "POST",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })
      .then(function (r) { return r.json().then(function (d) { return [r, d]; }); })
      .then(function (rd) {
        var r = rd[0], d = rd[1];
        if (!r.ok) { showError(d.error); return; }
        root.hidden = true;
        if (d.status === "stuck") { document.querySelector("ytcp-uploads-still-processing-dialog").hidden = false; return; }
        var share = document.querySelector("ytcp-video-share-dialog");
        var heading = d.status === "scheduled" ? "Video scheduled" : (d.visibility === "PUBLIC" ? "Video published" : "Video saved");
        share.setAttribute("aria-label", heading);
        share.querySelector("h2").textContent = heading;
        var a = share.querySelector("a"); a.href = d.url; a.textContent = d.url;
        share.hidden = false;
      });
  });
  Array.prototype.forEach.call(document.querySelectorAll("[data-close]"), function (b) {
    b.addEventListener("click", function () { b.closest("[role=dialog]").hidden = true; location.href = CFG.content; });
  });
})();
"""


def _radio(n: Names, value: str, text: str, help_text: str = "") -> str:
    helper = f'<span class="{n.cls("radio-help")}">{esc(help_text)}</span>' if help_text else ""
    return (f'<tp-yt-paper-radio-button {n.name_attr(value)} role="radio" aria-checked="false" tabindex="0" '
            f'class="{n.cls("style-scope")} {n.cls("ytcp-radio")}">{esc(text)}{helper}</tp-yt-paper-radio-button>')


def _textbox(n: Names, box_id: str, label: str, aria: str) -> str:
    return (f'<ytcp-social-suggestions-textbox id="{n.id(box_id)}" class="{n.cls("ytcp-form-input")}">'
            f'<label>{esc(label)}</label>'
            f'<div id="{n.id("textbox")}" class="{n.cls("style-scope")} {n.cls("ytcp-social-suggestions-textbox")}" '
            f'contenteditable="true" role="textbox" aria-multiline="true" aria-label="{esc(aria)}"></div>'
            f'</ytcp-social-suggestions-textbox>')


@register_app
class YouTubeApp(PlatformApp):
    """YouTube (www.youtube.com + studio.youtube.com + accounts.google.com, under ``/youtube``)."""

    name = "youtube"
    platform = "YouTube"
    session_cookie = "SID"

    # -- helpers -------------------------------------------------------------------------

    def _sq(self, req: Request) -> str:
        return req.query.get("sandbox", "")

    def _with_sq(self, path: str, req: Request, **params: str) -> str:
        if self._sq(req):
            params["sandbox"] = self._sq(req)
        return path + ("?" + urlencode(params) if params else "")

    def _signin_redirect(self, req: Request) -> Response:
        target = self.prefix + req.path + (f"?{req.raw_query}" if req.raw_query else "")
        return Response.redirect(f"{self.prefix}{SIGNIN_PATH}?" + urlencode({"continue": target, "service": "youtube"}))

    def _page(self, title: str, body: str, n: Names | None = None, script: str = "") -> Response:
        n = n or Names(False)
        return Response.html(
            f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{esc(title)}</title>"
            f"<style>{n.sub(CSS)}</style></head><body>{body}{script}</body></html>")

    def _topbar(self, n: Names, account: str | None, studio: bool = True) -> str:
        logo = "<b>&#9654;</b> Studio" if studio else "<b>&#9654;</b> YouTube"
        if account:
            right = (f'<button id="avatar-btn" aria-label="Account" title="{esc(account)}">'
                     f"{esc(account[:1].upper())}</button>")
        else:
            right = (f'<a aria-label="Sign in" href="{self.prefix}/accounts/ServiceLogin?'
                     f'{urlencode({"continue": self.prefix + "/"})}">Sign in</a>')
        return (f'<ytcp-topbar class="{n.cls("topbar")}"><span class="{n.cls("logo")}">{logo} '
                f"<small>(ASFS sandbox)</small></span>{right}</ytcp-topbar>")

    def _captcha(self, req: Request) -> Response:
        frame = ("<label style='font:16px Arial'><input type=checkbox> I'm not a robot</label>"
                 "<div style='font:10px Arial;color:#777'>reCAPTCHA</div>")
        body = ("<main><h1>Verify it's you</h1><p>To continue, let us know you're not a robot.</p>"
                f'<div id="recaptcha" class="g-recaptcha"><iframe title="reCAPTCHA" width="304" height="78" '
                f'srcdoc="{esc(frame)}"></iframe></div></main>')
        return self._page("Verify it's you", body)

    def _own_post(self, req: Request, vid: str) -> tuple[str | None, dict | None]:
        account = self.account(req)
        post = self.sandbox.store.get(self.name, vid)
        if account is None or post is None or post["account"] != account:
            return account, None
        return account, post

    def _refresh(self, post: dict[str, Any]) -> dict[str, Any]:
        """Advance processing by the clock (no background threads)."""
        if post["status"] == "processing" and time.time() >= post["processing_ends_at"]:
            if post.get("fail_message"):
                return self.sandbox.store.update(self.name, post["id"], status="failed", error=post["fail_message"])
            return self.sandbox.store.update(self.name, post["id"], status="processed", processed_at=iso(utcnow()),
                                             processed_ts=time.time())
        return post

    def watch_url(self, vid: str) -> str:
        return f"{self.base_url}/watch?v={vid}"

    def _new_id(self) -> str:
        while True:
            vid = base64.urlsafe_b64encode(secrets.token_bytes(9)).decode()[:11]
            if self.sandbox.store.get(self.name, vid) is None:
                return vid

    # -- www.youtube.com ---------------------------------------------------------------------

    @route("GET", r"/?")
    def home(self, req: Request) -> Response:
        account = self.account(req)
        n = Names(False)
        if account:
            body = (f"<main><h1>Home</h1><p>Signed in as {esc(account)}.</p>"
                    f'<p><a href="{self._with_sq(self.prefix + "/upload", req)}">Upload a video</a> &middot; '
                    f'<a href="{self.prefix}/channel/{channel_id(account)}/videos/upload">Your content</a></p></main>')
        else:
            body = "<main><h1>Home</h1><p>Sign in to upload videos.</p></main>"
        return self._page("YouTube", self._topbar(n, account, studio=False) + body, n)

    @route("GET", r"/upload")
    def upload_entry(self, req: Request) -> Response:
        account = self.account(req)
        if account is None:
            return self._signin_redirect(req)
        if self.switches(req, account).get("captcha"):
            return self._captcha(req)
        return Response.redirect(self._with_sq(f"{self.prefix}/channel/{channel_id(account)}/videos/upload", req,
                                               d="ud"))

    @route("GET", r"/video/(?P<vid>[A-Za-z0-9_-]{11})/edit")
    def edit(self, req: Request, vid: str) -> Response:
        return Response.redirect(self.watch_url(vid))

    # -- studio.youtube.com --------------------------------------------------------------------

    @route("GET", r"/channel/(?P<cid>UC[A-Za-z0-9_-]{22})(?:/videos(?:/upload)?)?/?")
    def studio(self, req: Request, cid: str) -> Response:
        account = self.account(req)
        if account is None:
            return self._signin_redirect(req)
        sw = self.switches(req, account)
        if sw.get("captcha"):
            return self._captcha(req)
        if cid != channel_id(account):
            return Response.redirect(f"{self.prefix}/channel/{channel_id(account)}/videos/upload")
        n = Names(bool(sw.get("drift")))
        content_url = f"{self.prefix}/channel/{cid}/videos/upload"
        rows = "".join(self._row(n, p) for p in self.sandbox.store.list(self.name, account)) or \
            '<p class="empty">No content available</p>'
        content = (f'<main><h1>Channel content</h1><div id="content-list" role="table" aria-label="Videos">'
                   f"{rows}</div></main>")
        dialog = self._dialog(n, sw) if req.query.get("d") == "ud" else ""
        config = {"api": self.prefix, "sq": self._sq(req), "overlay": bool(sw.get("overlay")),
                  "content": content_url}
        raw = json.dumps(config).replace("</", "<\\/")  # script text is not entity-decoded
        script = (f'<script type="application/json" id="sandbox-config">{raw}</script>'
                  f"<script>{n.sub(JS)}</script>")
        return self._page("Channel content - YouTube Studio", self._topbar(n, account) + content + dialog, n, script)

    def _row(self, n: Names, p: dict[str, Any]) -> str:
        labels = {"published": (p.get("visibility") or "PUBLIC").title(), "scheduled": "Scheduled",
                  "stuck": "Draft (processing never finished)", "failed": "Processing abandoned",
                  "processed": "Draft", "processing": "Draft (processing)", "created": "Draft (uploading)"}
        status = labels.get(p["status"], p["status"])
        when = p.get("scheduled_at") if p["status"] == "scheduled" else (p.get("published_at") or p["created_at"])
        return (f'<ytcp-video-row role="row" class="{n.cls("style-scope")}">'
                f'<a id="video-title" class="{n.cls("video-title")}" href="{self.prefix}/video/{p["id"]}/edit">'
                f'{esc(p.get("title") or p.get("filename") or p["id"])}</a>'
                f'<span id="visibility-text" class="{n.cls("visibility")}">{esc(status)}</span>'
                f'<span class="{n.cls("date")}">{esc(when)}</span></ytcp-video-row>')

    def _dialog(self, n: Names, sw: dict[str, Any]) -> str:
        title = _textbox(n, "title-textarea", "Title (required)",
                         "Add a title that describes your video (type @ to mention a channel)")
        desc = _textbox(n, "description-textarea", "Description",
                        "Tell viewers about your video (type @ to mention a channel)")
        fields = [title, desc]
        audience = [_radio(n, "VIDEO_MADE_FOR_KIDS_MFK", "Yes, it's made for kids"),
                    _radio(n, "VIDEO_MADE_FOR_KIDS_NOT_MFK", "No, it's not made for kids")]
        privacy = [_radio(n, "PRIVATE", "Private", "Only you and people you choose can watch your video"),
                   _radio(n, "UNLISTED", "Unlisted", "Anyone with the video link can watch your video"),
                   _radio(n, "PUBLIC", "Public", "Everyone can watch your video")]
        buttons = [
            f'<ytcp-button id="{n.id("back-button")}" role="button" aria-label="Back" tabindex="0" '
            f'aria-disabled="true">Back</ytcp-button>',
            f'<ytcp-button id="{n.id("next-button")}" role="button" aria-label="Next" tabindex="0">Next</ytcp-button>',
            f'<ytcp-button id="{n.id("done-button")}" role="button" aria-label="Save" tabindex="0" hidden>Save'
            f"</ytcp-button>",
        ]
        if n.drift:  # a redesign moves things around, too
            fields.reverse()
            audience.reverse()
            privacy.reverse()
            buttons.reverse()
        tz = sw.get("timezone") or "UTC"
        default_day = (datetime.now(_tz(tz)) + timedelta(days=1)).replace(hour=10, minute=0)
        default_date = f"{default_day:%b} {default_day.day}, {default_day.year}"
        welcome = ""
        if sw.get("overlay"):
            welcome = (f'<ytcp-warm-welcome-dialog role="dialog" aria-modal="true" '
                       f'aria-label="Welcome to YouTube Studio" hidden><div class="{n.cls("welcome-card")}">'
                       "<h2>Welcome to YouTube Studio</h2><p>Here's what's new: a fresh look for your dashboard, "
                       "faster uploads and more.</p>"
                       '<ytcp-button id="dismiss-button" role="button" aria-label="Got it" tabindex="0">Got it'
                       "</ytcp-button></div></ytcp-warm-welcome-dialog>")
        return f"""
<ytcp-uploads-dialog>
 <tp-yt-paper-dialog id="{n.id('dialog')}" role="dialog" aria-modal="true" aria-label="Upload videos"
   class="{n.cls('style-scope')} {n.cls('ytcp-uploads-dialog')}">
  <div class="{n.cls('dialog-header')}"><h2 id="dialog-title">Upload videos</h2>
   <ytcp-icon-button id="close-button" role="button" aria-label="Close" tabindex="0">&#10005;</ytcp-icon-button></div>
  <div id="{n.id('error-message')}" class="{n.cls('error-area')}" role="alert" hidden></div>
  <ytcp-uploads-file-picker>
   <p>Drag and drop video files to upload</p><p>Your videos will be private until you publish them.</p>
   <input type="file" name="Filedata" accept="video/*" style="display:none">
   <ytcp-button id="{n.id('select-files-button')}" role="button" aria-label="Select files" tabindex="0">Select files
   </ytcp-button>
  </ytcp-uploads-file-picker>
  <div id="{n.id('steps')}" class="{n.cls('dialog-body')}" hidden>
   <div class="{n.cls('steps-main')}">
    <ytcp-stepper role="tablist">
     <span id="step-badge-0" role="tab" aria-selected="true">Details</span>
     <span id="step-badge-1" role="tab" aria-selected="false">Video elements</span>
     <span id="step-badge-2" role="tab" aria-selected="false">Checks</span>
     <span id="step-badge-3" role="tab" aria-selected="false">Visibility</span>
    </ytcp-stepper>
    <section id="step-details"><h3>Details</h3>{''.join(fields)}
     <h4>Audience</h4><p>Is this video made for kids? (required)</p>
     <tp-yt-paper-radio-group data-group="audience" role="radiogroup" aria-label="Audience">{''.join(audience)}
     </tp-yt-paper-radio-group></section>
    <section id="step-elements" hidden><h3>Video elements</h3><p>Add subtitles, an end screen and cards
     (optional).</p></section>
    <section id="step-checks" hidden><h3>Checks</h3><p id="checks-text">Checking for copyright issues ...</p></section>
    <section id="step-visibility" hidden><h3>Visibility</h3>
     <p>Choose when to publish and who can see your video</p>
     <div id="first-container"><h4>Save or publish</h4>
      <tp-yt-paper-radio-group data-group="privacy" role="radiogroup" aria-label="Save or publish">
      {''.join(privacy)}</tp-yt-paper-radio-group></div>
     <div id="second-container">
      <ytcp-icon-button id="{n.id('second-container-expand-button')}" role="button" aria-label="Schedule"
        aria-expanded="false" tabindex="0">Schedule</ytcp-icon-button>
      <div id="schedule-panel" hidden><p>Select a date to make your video public.</p>
       <ytcp-text-dropdown-trigger id="{n.id('datepicker-trigger')}" role="button" aria-label="Date"
         tabindex="0"><span class="{n.cls('dropdown-trigger-text')}">{esc(default_date)}</span>
       </ytcp-text-dropdown-trigger>
       <ytcp-date-picker hidden><tp-yt-paper-input><input aria-label="Enter date" type="text"></tp-yt-paper-input>
       </ytcp-date-picker>
       <div id="{n.id('time-of-day-container')}"><tp-yt-paper-input>
        <input aria-label="Enter time" type="text" value="10:00 AM"></tp-yt-paper-input></div>
       <span class="{n.cls('timezone')}">Time zone: {esc(tz)}</span>
      </div>
     </div>
    </section>
   </div>
   <ytcp-video-info><p>Video link</p>
    <span class="{n.cls('video-url-fadeable')}"><a target="_blank" href=""></a></span>
    <p>Uploads stay private until you publish them.</p></ytcp-video-info>
  </div>
  <div class="{n.cls('footer')}" hidden>
   <ytcp-video-upload-progress><span class="{n.cls('progress-label')}" role="status" aria-live="polite"></span>
    <div class="{n.cls('progress-bar')}"><div></div></div></ytcp-video-upload-progress>
   {''.join(buttons)}
  </div>
 </tp-yt-paper-dialog>
</ytcp-uploads-dialog>
<div id="hashtag-suggestions" role="listbox" aria-label="Hashtag suggestions" hidden>
 <div role="option">#shorts</div><div role="option">#short</div><div role="option">#shortsvideo</div></div>
{welcome}
<ytcp-video-share-dialog role="dialog" aria-label="Video published" hidden><div class="{n.cls('result-card')}">
 <h2>Video published</h2><p>Share a link</p><a id="share-url" href=""></a>
 <p><ytcp-button id="close-button-share" role="button" aria-label="Close" tabindex="0" data-close>Close</ytcp-button></p>
</div></ytcp-video-share-dialog>
<ytcp-uploads-still-processing-dialog role="dialog" aria-label="Video still processing" hidden>
 <div class="{n.cls('result-card')}"><h2>Video still processing</h2>
 <p>Your video is still uploading or processing. Closing now may leave it unfinished.</p>
 <ytcp-button role="button" aria-label="Close" tabindex="0" data-close>Close</ytcp-button></div>
</ytcp-uploads-still-processing-dialog>"""

    # -- API used by the page's script -----------------------------------------------------------

    @route("POST", r"/api/uploads")
    def create(self, req: Request) -> Response:
        account = self.account(req)
        if account is None:
            return Response.json({"error": "Sign in to continue."}, 401)
        sw = self.switches(req, account)
        if sw.get("rate_limit"):
            return Response.json({"error": RATE_LIMIT_MESSAGE, "label": "Daily upload limit reached"}, 429)
        data = req.json()
        vid = self._new_id()
        self.sandbox.store.create(self.name, account, vid, channel_id=channel_id(account),
                                  filename=str(data.get("filename") or ""), declared_size=data.get("size"),
                                  title=None, description=None, visibility=None, made_for_kids=None,
                                  scheduled_at=None, published_at=None, url=self.watch_url(vid),
                                  switches=sorted(sw))
        return Response.json({"id": vid, "url": self.watch_url(vid)})

    @route("POST", rf"/api/uploads/(?P<vid>{VIDEO_ID})/file")
    def upload_file(self, req: Request, vid: str) -> Response:
        account, post = self._own_post(req, vid)
        if post is None:
            return Response.json({"error": "Sign in to continue." if account is None else "No such upload."},
                                 401 if account is None else 404)
        try:
            _, files = req.multipart(Path(post["dir"]))
        except MultipartError as exc:
            return Response.json({"error": f"Upload failed: {exc}"}, 400)
        saved = files.get("Filedata")
        if saved is None:
            return Response.json({"error": "Upload failed: no file."}, 400)
        target = Path(post["dir"]) / f"video{saved.path.suffix}"
        saved.path.replace(target)
        sw = self.switches(req, account)
        fail = sw.get("fail")
        if fail in ("transient", "network"):
            target.unlink(missing_ok=True)
            self.sandbox.store.update(self.name, vid, status="failed", error=NETWORK_MESSAGE)
            return Response.json({"error": NETWORK_MESSAGE}, 503)
        fail_message = None
        if fail in ("permanent", "rejected", "invalid"):
            fail_message = REJECTED_MESSAGE
        elif fail:
            fail_message = str(fail)
        seconds = sw.get("slow") or self.sandbox.processing_seconds
        self.sandbox.store.update(self.name, vid, status="processing", file=str(target), size=saved.size,
                                  sha256=saved.sha256, uploaded_at=iso(utcnow()), processing_seconds=seconds,
                                  processing_ends_at=time.time() + seconds, fail_message=fail_message)
        return Response.json({"ok": True, "size": saved.size})

    @route("GET", rf"/api/uploads/(?P<vid>{VIDEO_ID})")
    def status(self, req: Request, vid: str) -> Response:
        account, post = self._own_post(req, vid)
        if post is None:
            return Response.json({"error": "No such upload."}, 404)
        post = self._refresh(post)
        state = {"created": "uploading"}.get(post["status"], post["status"])
        progress = 0
        if post["status"] == "processing":
            total = max(0.001, post["processing_seconds"])
            progress = min(99, int(100 * (1 - (post["processing_ends_at"] - time.time()) / total)))
        return Response.json({"state": state, "progress": progress, "message": post.get("error")})

    @route("POST", rf"/api/uploads/(?P<vid>{VIDEO_ID})/publish")
    def publish(self, req: Request, vid: str) -> Response:
        account, post = self._own_post(req, vid)
        if post is None:
            return Response.json({"error": "Sign in to continue." if account is None else "No such upload."},
                                 401 if account is None else 404)
        data = req.json()
        title = str(data.get("title") or "").strip()
        description = str(data.get("description") or "")
        if not title:
            return Response.json({"error": "Your video needs a title."}, 400)
        if len(title) > 100 or len(description) > 5000:
            return Response.json({"error": "The title or description is too long."}, 400)
        if re.search(r"[<>]", title + description):
            return Response.json({"error": "Invalid characters: < and > are not allowed."}, 400)
        mfk = data.get("made_for_kids")
        if mfk not in (True, False):
            return Response.json({"error": "Select whether your video is made for kids."}, 400)
        visibility = data.get("visibility")
        if visibility not in ("PUBLIC", "UNLISTED", "PRIVATE"):
            return Response.json({"error": "Choose a visibility."}, 400)
        scheduled = None
        if data.get("schedule"):
            sw = self.switches(req, account)
            try:
                local = datetime.strptime(f"{data['schedule']['date']} {data['schedule']['time']}",
                                          "%b %d, %Y %I:%M %p")
            except (KeyError, TypeError, ValueError):
                return Response.json({"error": "Enter a valid date and time."}, 400)
            scheduled = local.replace(tzinfo=_tz(sw.get("timezone"))).astimezone(timezone.utc)
            if scheduled <= utcnow():
                return Response.json({"error": "Schedule a time in the future."}, 400)
        post = self._refresh(post)
        fields = dict(title=title, description=description, made_for_kids=mfk, visibility=visibility,
                      scheduled_at=iso(scheduled), done_clicked_at=iso(utcnow()), done_ts=time.time())
        if post["status"] == "failed":
            return Response.json({"error": post.get("error") or "Processing abandoned."}, 409)
        if post["status"] in ("published", "scheduled", "stuck"):
            return Response.json({"error": "This video was already saved."}, 409)
        if post["status"] != "processed":
            # The dialog was closed while uploading/processing: the real site leaves it unfinished.
            self.sandbox.store.update(self.name, vid, status="stuck", **fields)
            return Response.json({"status": "stuck", "url": post["url"], "visibility": visibility})
        status = "scheduled" if scheduled else "published"
        self.sandbox.store.update(self.name, vid, status=status, published_at=iso(utcnow()), **fields)
        return Response.json({"status": status, "url": post["url"], "visibility": visibility})

    # -- watching --------------------------------------------------------------------------------

    @route("GET", r"/watch")
    def watch(self, req: Request) -> Response:
        vid = req.query.get("v", "")
        post = self.sandbox.store.get(self.name, vid) if re.fullmatch(VIDEO_ID, vid) else None
        n = Names(False)
        if post is None or post["status"] not in ("published", "scheduled") or (
                post["visibility"] == "PRIVATE" and self.account(req) != post["account"]):
            return self._page("YouTube", self._topbar(n, self.account(req), studio=False) +
                              "<main><h1>Video unavailable</h1></main>", n)
        body = (f'<main><video controls width="360" src="{self.prefix}/media/{vid}"></video>'
                f"<h1>{esc(post['title'])}</h1><pre>{esc(post['description'])}</pre></main>")
        return self._page(f"{post['title']} - YouTube", self._topbar(n, self.account(req), studio=False) + body, n)

    @route("GET", rf"/media/(?P<vid>{VIDEO_ID})")
    def media(self, req: Request, vid: str) -> Response:
        post = self.sandbox.store.get(self.name, vid)
        if post is None or not post.get("file") or not Path(post["file"]).is_file():
            return Response.html("<h1>404 Not Found</h1>", 404)
        return Response.send_file(Path(post["file"]), "video/mp4")

    # -- accounts.google.com -------------------------------------------------------------------

    @route("GET", r"/accounts/ServiceLogin")
    def service_login(self, req: Request) -> Response:
        return Response.redirect(f"{self.prefix}{SIGNIN_PATH}?" + urlencode({"continue": req.query.get("continue", "")}))

    @route("GET", r"/accounts/v3/signin/identifier")
    def identifier_page(self, req: Request, error: str = "") -> Response:
        cont = req.query.get("continue", "")
        err = f'<p role="alert" style="color:#c00">{esc(error)}</p>' if error else ""
        body = (f"<main style='max-width:420px;margin:60px auto'><h1>Sign in</h1><p>to continue to YouTube</p>{err}"
                f'<form method="post"><input type="hidden" name="continue" value="{esc(cont)}">'
                '<input type="email" id="identifierId" name="identifier" aria-label="Email or phone" '
                'autocomplete="username" required style="width:100%;padding:10px">'
                '<p><button id="identifierNext" type="submit">Next</button></p></form></main>')
        return self._page("Sign in - Google Accounts", body)

    @route("POST", r"/accounts/v3/signin/identifier")
    def identifier_post(self, req: Request) -> Response:
        form = req.form()
        ident = form.get("identifier", "").strip()
        if not ident:
            return self.identifier_page(req, "Enter an email or phone number")
        return Response.redirect(f"{self.prefix}/accounts/v3/signin/challenge/pwd?" +
                                 urlencode({"identifier": ident, "continue": form.get("continue", "")}))

    @route("GET", r"/accounts/v3/signin/challenge/pwd")
    def password_page(self, req: Request) -> Response:
        ident = req.query.get("identifier", "")
        body = (f"<main style='max-width:420px;margin:60px auto'><h1>Welcome</h1><p>{esc(ident)}</p>"
                f'<form method="post"><input type="hidden" name="identifier" value="{esc(ident)}">'
                f'<input type="hidden" name="continue" value="{esc(req.query.get("continue", ""))}">'
                '<input type="password" name="Passwd" aria-label="Enter your password" autocomplete="current-password" '
                'required style="width:100%;padding:10px">'
                '<p><button id="passwordNext" type="submit">Next</button></p></form></main>')
        return self._page("Sign in - Google Accounts", body)

    @route("POST", r"/accounts/v3/signin/challenge/pwd")
    def password_post(self, req: Request) -> Response:
        form = req.form()
        account = form.get("identifier", "").strip()
        if not account or not form.get("Passwd"):
            return Response.redirect(f"{self.prefix}{SIGNIN_PATH}")
        token = self.sandbox.new_session(self.name, account)
        resp = Response.redirect(continue_target(self, form.get("continue")))
        return resp.set_cookie(self.session_cookie, token, path=self.prefix)

    @route("GET", r"/logout")
    def logout(self, req: Request) -> Response:
        account = self.sandbox.session_account(self.name, req.cookies.get(self.session_cookie))
        if account:
            self.sandbox.sign_out(self.name, account)
        return Response.redirect(self.prefix + "/").set_cookie(self.session_cookie, "", path=self.prefix, max_age=0)

    # -- automation ------------------------------------------------------------------------------

    def sign_in(self, page: Any, account: str, password: str | None = None, timeout: float = 10.0) -> None:
        """Fill the sign-in page that ``page`` shows (no-op when it is not on the sign-in page)."""
        if "/signin/" not in page.url:
            return
        ms = timeout * 1000
        page.locator("#identifierId").fill(account, timeout=ms)
        page.locator("#identifierNext").click(timeout=ms)
        page.locator("input[name=Passwd]").fill(password or "sandbox-password", timeout=ms)
        page.locator("#passwordNext").click(timeout=ms)
        page.wait_for_url(lambda u: "/signin/" not in u, timeout=ms)
