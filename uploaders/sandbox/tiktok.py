"""TikTok Studio, as the sandbox plays it.

The same steps, attributes and messages as the real site (2024-2025):

* ``/tiktokstudio/upload`` shows the upload page to a signed-in account (cookie ``sessionid``)
  and redirects a signed-out one to ``/login?redirect_url=...``. With the ``iframe`` switch the
  page is a shell whose upload UI lives in ``iframe[data-tt="Upload_index_iframe"]``, as
  TikTok still serves it to some accounts.
* The file goes through ``input[type=file][accept="video/*"]``; the page's script uploads it
  (multipart, with a progress label), the server "processes" it, and the label ends at
  "Uploaded". Only then does ``button[data-e2e="post_video_button"]`` lose ``disabled`` /
  ``aria-disabled="true"``; clicking it earlier does nothing.
* The caption is a DraftJS-like ``div.public-DraftEditor-content[contenteditable=true]``
  inside ``.caption-editor``, pre-filled with the file name. Text that ends in ``#word`` at the
  caret opens hashtag suggestions over the page; Enter then picks the first suggestion
  (which is how typed captions get mangled), Escape closes them.
* "Who can watch this video": a select with Everyone / Friends / Only you
  (stored as TikTok's privacy levels ``PUBLIC_TO_EVERYONE`` / ``MUTUAL_FOLLOW_FRIENDS`` /
  ``SELF_ONLY``); "Allow users to": Comment / Duet / Stitch (checked).
* "When to post": Now / Schedule radios (``input[name=postSchedule]``); Schedule shows a date
  input with a month calendar (days from today to 10 days ahead, in the account's time zone)
  and a time input with hour and minute lists (minutes in 5-minute steps). The server accepts
  20 minutes (after the page opened) to 10 days ahead, on a 5-minute step.
* Post: "Your video has been uploaded" (or "... scheduled"), then the browser moves to
  ``/tiktokstudio/content``, which lists the account's posts as ``/@<handle>/video/<id>``
  links; ids are 19-digit numbers like TikTok's (the creation second in the top 32 bits).
  The id is never shown on the upload page: an uploader finds it as the new link in the list.
* Errors: "You're posting too fast. Take a rest and try again later." (``rate_limit``), "Upload
  failed. Check your network connection and try again." (``fail=transient``), "This video
  can't be uploaded: the file format isn't supported." (``fail=permanent``), the
  ``#captcha-verify-container`` puzzle "Verify to continue" (``captcha``).
* ``overlay``: the cookie banner (``tiktok-cookie-banner``, its buttons in a shadow root) over
  the bottom of the upload page, and the "Turn on automatic content checks?" modal once a file
  is chosen. ``drift``: every class name changes and sections and options are reordered;
  ``data-e2e``, roles, labels and form names stay.

The page script finds its elements through ``data-sb`` attributes; those are the sandbox's own
plumbing and no uploader selector uses them.
"""

from __future__ import annotations

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

RATE_LIMIT_MESSAGE = "You're posting too fast. Take a rest and try again later."
NETWORK_MESSAGE = "Upload failed. Check your network connection and try again."
REJECTED_MESSAGE = "This video can't be uploaded: the file format isn't supported."
SCHEDULE_MESSAGE = "Schedule your video at least 20 minutes and up to 10 days from now, in 5-minute steps."
CAPTION_MAX = 4000
POST_ID = r"\d{19}"
PRIVACY = {"PUBLIC_TO_EVERYONE": "Everyone", "MUTUAL_FOLLOW_FRIENDS": "Friends", "SELF_ONLY": "Only you"}
SCHEDULE_MIN = timedelta(minutes=20)
SCHEDULE_MAX = timedelta(days=10)


def handle_of(account: str) -> str:
    """The account's @handle: the part before '@', letters, digits, '.' and '_'."""
    return re.sub(r"[^a-z0-9._]", "", account.split("@")[0].lower()) or "user"


def _tz(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


class Names:
    """Class names as rendered: the real ones, or renamed ones (drift)."""

    def __init__(self, drift: bool):
        self.drift = drift
        self.salt = secrets.token_hex(3)

    def cls(self, *names: str) -> str:
        return " ".join(f"x{self.salt}-{n}" if self.drift else n for n in names)

    def sub(self, text: str) -> str:
        return re.sub(r"\[\[cls:([\w-]+)\]\]", lambda m: self.cls(m.group(1)), text)

    def order(self, items: list[str]) -> list[str]:
        return list(reversed(items)) if self.drift else items


CSS = """
*{box-sizing:border-box}
body{margin:0;font-family:TikTokFont,Arial,sans-serif;background:#f8f8f8;color:#161823}
[hidden]{display:none !important}
.[[cls:studio-header]]{display:flex;align-items:center;justify-content:space-between;height:56px;padding:0 24px;
  background:#fff;border-bottom:1px solid #e3e3e4}
.[[cls:logo]]{font-weight:700;font-size:18px}
.[[cls:avatar]]{width:32px;height:32px;border-radius:50%;background:#fe2c55;color:#fff;display:flex;
  align-items:center;justify-content:center;font-weight:700}
main{padding:20px 32px 160px}
iframe{display:block;width:100%;height:calc(100vh - 60px);border:0}
.[[cls:upload-card]]{display:flex;flex-direction:column;align-items:center;gap:12px;padding:60px;background:#fff;
  border:2px dashed #d0d0d3;border-radius:8px}
.[[cls:form-container]]{display:flex;flex-direction:column;gap:18px;background:#fff;padding:20px 24px;border-radius:8px}
.[[cls:info-status-container]]{display:flex;flex-direction:column;gap:6px}
.[[cls:progress-bar]]{height:4px;background:#eee}.[[cls:progress-bar]] div{height:4px;width:0;background:#fe2c55}
.[[cls:caption-editor]]{border:1px solid #d0d0d3;border-radius:6px;padding:10px;min-height:90px}
[contenteditable]{outline:none;white-space:pre-wrap;min-height:60px}
.[[cls:mention-list-popover]]{position:fixed;left:0;right:0;bottom:0;height:240px;background:#fff;z-index:60;
  border-top:2px solid #fe2c55;padding:10px;overflow:auto}
.[[cls:mention-list-popover]] li{padding:4px 8px;list-style:none;cursor:pointer}
.[[cls:section-title]]{font-weight:600;margin-bottom:6px}
.[[cls:select-trigger]]{min-width:200px;padding:8px 12px;border:1px solid #d0d0d3;border-radius:4px;background:#fff;
  text-align:left;cursor:pointer}
.[[cls:select-options]]{margin:4px 0 0;padding:4px 0;border:1px solid #d0d0d3;border-radius:4px;width:220px;background:#fff}
.[[cls:select-options]] li{list-style:none;padding:6px 12px;cursor:pointer}
.[[cls:select-options]] li[aria-selected=true]{font-weight:700}
.[[cls:radio-item]]{margin-right:18px;cursor:pointer}
.[[cls:scheduled-picker]]{display:flex;gap:16px;margin-top:10px;align-items:flex-start}
.[[cls:picker-box]]{position:relative}
.[[cls:picker-box]] input{padding:8px;width:130px;cursor:pointer}
.[[cls:calendar-wrapper]]{position:absolute;top:40px;left:0;z-index:20;background:#fff;border:1px solid #d0d0d3;
  padding:8px;width:260px}
.[[cls:calendar-head]]{display:flex;justify-content:space-between;align-items:center;margin-bottom:6px}
.[[cls:arrow]]{cursor:pointer;padding:2px 8px;border:1px solid #ddd;border-radius:4px}
.[[cls:days]]{display:grid;grid-template-columns:repeat(7,1fr);gap:2px}
.[[cls:day]]{text-align:center;padding:4px 0;border-radius:4px}
.[[cls:day]].[[cls:valid]]{cursor:pointer;background:#f1f1f2}
.[[cls:day]].[[cls:disabled]]{color:#bbb}
.[[cls:tiktok-timer-picker]]{position:absolute;top:40px;left:0;z-index:20;display:flex;gap:4px;background:#fff;
  border:1px solid #d0d0d3;padding:6px}
.[[cls:option-list]]{height:180px;overflow:auto;margin:0;padding:0;width:60px}
.[[cls:option-item]]{list-style:none;text-align:center;padding:4px 0;cursor:pointer}
.[[cls:button-row]]{display:flex;gap:12px;padding-top:10px}
.[[cls:TUXButton]]{padding:10px 36px;border-radius:4px;border:0;font-weight:600;cursor:pointer;background:#f1f1f2}
.[[cls:TUXButton--primary]]{background:#fe2c55;color:#fff}
.[[cls:TUXButton--primary]][aria-disabled=true]{background:#f5a0b1;cursor:not-allowed}
.[[cls:upload-error-toast]]{background:#fde8ec;color:#b00020;padding:10px 14px;border-radius:6px}
.[[cls:common-modal]]{position:fixed;inset:0;z-index:100;background:rgba(0,0,0,.5);display:flex;align-items:center;
  justify-content:center}
.[[cls:modal-card]]{background:#fff;padding:28px;border-radius:8px;max-width:420px}
.[[cls:post-toast]]{position:fixed;top:70px;left:50%;transform:translateX(-50%);z-index:200;background:#161823;color:#fff;
  padding:14px 20px;border-radius:8px}
tiktok-cookie-banner{display:block;position:fixed;left:0;right:0;bottom:0;height:130px;z-index:300}
.[[cls:post-table]]{background:#fff;border-radius:8px}
.[[cls:post-row]]{display:grid;grid-template-columns:1fr 200px 220px;gap:12px;padding:12px;border-bottom:1px solid #eee}
.[[cls:post-row]] a{color:#161823;text-decoration:none;white-space:pre-wrap}
.[[cls:captcha-verify-container]]{position:fixed;inset:0;z-index:1000;background:rgba(0,0,0,.55);display:flex;
  align-items:center;justify-content:center}
.[[cls:captcha-card]]{background:#fff;padding:24px;border-radius:8px;width:360px}
"""

COOKIE_BANNER_JS = r"""
(function () {
  var host = document.querySelector("tiktok-cookie-banner");
  if (!host) { return; }
  var root = host.attachShadow({ mode: "open" });
  root.innerHTML = '<style>.tiktok-cookie-banner{height:130px;background:#fff;border-top:1px solid #ccc;padding:16px 24px;'
    + 'font:14px Arial}button{margin-right:10px;padding:8px 16px}</style>'
    + '<div class="tiktok-cookie-banner" role="dialog" aria-label="Cookies"><p>Allow the use of cookies from TikTok on '
    + 'this browser?</p><div class="button-wrapper"><button>Decline optional cookies</button>'
    + '<button>Allow all</button></div></div>';
  Array.prototype.forEach.call(root.querySelectorAll("button"), function (b) {
    b.addEventListener("click", function () { host.remove(); });
  });
})();
"""

UPLOAD_JS = r"""
(function () {
  "use strict";
  var CFG = JSON.parse(document.getElementById("sandbox-config").textContent);
  function sb(name) { return document.querySelector("[data-sb=" + name + "]"); }
  function sbAll(name) { return Array.prototype.slice.call(document.querySelectorAll("[data-sb=" + name + "]")); }
  function api(path) {
    var u = CFG.api + path;
    if (CFG.sq) { u += (u.indexOf("?") < 0 ? "?" : "&") + "sandbox=" + encodeURIComponent(CFG.sq); }
    return u;
  }
  var input = sb("file"), picker = sb("picker"), form = sb("form"), statusEl = sb("status"), bar = sb("bar");
  var editor = sb("editor"), popup = sb("hashtags"), alertEl = sb("alert"), toast = sb("toast");
  var postBtn = sb("post"), modal = sb("modal");
  var visTrigger = sb("vis-trigger"), visList = sb("vis-list");
  var dateInput = sb("date"), timeInput = sb("time"), calendar = sb("calendar"), timer = sb("timer");
  var schedPanel = sb("sched-panel");
  var token = null, uploaded = false, failed = false, posting = false;
  var visibility = "PUBLIC_TO_EVERYONE";

  function boxText(el) {
    var out = "";
    (function walk(node) {
      Array.prototype.forEach.call(node.childNodes, function (c) {
        if (c.nodeType === 3) { out += c.nodeValue; }
        else if (c.nodeName === "BR") { if (c.parentNode.childNodes.length > 1) { out += "\n"; } }
        else {
          if (/^(DIV|P)$/.test(c.nodeName) && out && out.charAt(out.length - 1) !== "\n") { out += "\n"; }
          walk(c);
        }
      });
    })(el);
    return out.replace(/\n+$/, "");
  }
  function setStatus(text, pct) {
    statusEl.textContent = text;
    if (typeof pct === "number") { bar.style.width = pct + "%"; }
  }
  function showAlert(msg) { alertEl.textContent = msg; alertEl.hidden = false; }
  function fail(msg) { failed = true; showAlert(msg); setStatus("Couldn't upload"); }
  function enablePost(on) {
    postBtn.setAttribute("aria-disabled", on ? "false" : "true");
    if (on) { postBtn.removeAttribute("disabled"); } else { postBtn.setAttribute("disabled", ""); }
  }

  sb("select").addEventListener("click", function () { input.click(); });
  input.addEventListener("change", function () {
    var f = input.files[0];
    if (!f) { return; }
    picker.hidden = true; form.hidden = false;
    editor.innerHTML = "";
    var block = document.createElement("div"); block.setAttribute("data-block", "true");
    var span = document.createElement("span"); span.setAttribute("data-text", "true");
    span.textContent = f.name.replace(/\.[^.]+$/, "");
    block.appendChild(span); editor.appendChild(block);
    if (CFG.overlay && modal) { modal.hidden = false; }
    setStatus("Uploading\u2026 0%", 0);
    fetch(api("/api/v1/upload/create"), { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ filename: f.name, size: f.size }) })
      .then(function (r) { return r.json().then(function (d) { return [r, d]; }); })
      .then(function (rd) {
        if (!rd[0].ok) { fail(rd[1].error); return; }
        token = rd[1].upload_id;
        send(f);
      })
      .catch(function () { fail("Upload failed. Check your network connection and try again."); });
  });
  function send(f) {
    var xhr = new XMLHttpRequest();
    xhr.open("POST", api("/api/v1/upload/" + token + "/file"));
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable) {
        var pct = Math.floor(100 * e.loaded / e.total);
        setStatus("Uploading\u2026 " + pct + "%", pct);
      }
    };
    xhr.onload = function () {
      if (xhr.status >= 400) {
        var d; try { d = JSON.parse(xhr.responseText); } catch (err) { d = { error: "Upload failed." }; }
        fail(d.error); return;
      }
      setStatus("Processing\u2026 0%", 100);
      poll();
    };
    xhr.onerror = function () { fail("Upload failed. Check your network connection and try again."); };
    var fd = new FormData();
    fd.append("video", f, f.name);
    xhr.send(fd);
  }
  function poll() {
    fetch(api("/api/v1/upload/" + token)).then(function (r) { return r.json(); }).then(function (d) {
      if (d.state === "processing") { setStatus("Processing\u2026 " + d.progress + "%"); setTimeout(poll, 150); }
      else if (d.state === "uploaded") { uploaded = true; setStatus("Uploaded", 100); enablePost(true); }
      else if (d.state === "failed") { fail(d.message); }
      else { setTimeout(poll, 150); }
    }).catch(function () { setTimeout(poll, 500); });
  }

  // hashtag suggestions: open while the caret follows "#word"; Enter picks the first one
  function beforeCaret() {
    var s = window.getSelection();
    if (!s.rangeCount || !editor.contains(s.anchorNode)) { return ""; }
    var n = s.anchorNode;
    return n.nodeType === 3 ? n.nodeValue.slice(0, s.anchorOffset) : "";
  }
  editor.addEventListener("input", function () { popup.hidden = !/#[^\s#]*$/.test(beforeCaret()); });
  editor.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !popup.hidden) {
      e.preventDefault();
      var m = /#[^\s#]*$/.exec(beforeCaret());
      for (var i = 0; m && i < m[0].length; i++) { document.execCommand("delete"); }
      document.execCommand("insertText", false, popup.querySelector("li").textContent + " ");
      popup.hidden = true;
    }
  });
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") { return; }
    popup.hidden = true; calendar.hidden = true; timer.hidden = true; visList.hidden = true;
  });
  document.addEventListener("mousedown", function (e) {
    if (!popup.contains(e.target) && e.target !== editor) { popup.hidden = true; }
  });
  sbAll("hashtag").forEach(function (li) {
    li.addEventListener("mousedown", function (e) { e.preventDefault(); popup.hidden = true; });
  });

  // who can watch
  visTrigger.addEventListener("click", function () {
    visList.hidden = !visList.hidden;
    visTrigger.setAttribute("aria-expanded", visList.hidden ? "false" : "true");
  });
  sbAll("vis-option").forEach(function (li) {
    li.addEventListener("click", function () {
      visibility = li.getAttribute("data-value");
      sbAll("vis-option").forEach(function (o) { o.setAttribute("aria-selected", o === li ? "true" : "false"); });
      visTrigger.querySelector("span").textContent = li.textContent;
      visList.hidden = true; visTrigger.setAttribute("aria-expanded", "false");
    });
  });

  // when to post
  function scheduling() { return sb("sched-later").checked; }
  [sb("sched-now"), sb("sched-later")].forEach(function (r) {
    r.addEventListener("change", function () {
      schedPanel.hidden = !scheduling();
      postBtn.textContent = scheduling() ? "Schedule" : "Post";
    });
  });
  var MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
                "October", "November", "December"];
  function ymd(d) { return d.toISOString().slice(0, 10); }
  var shown = new Date(CFG.today + "T00:00:00Z"); shown.setUTCDate(1);
  function renderCalendar() {
    sb("cal-title").textContent = MONTHS[shown.getUTCMonth()] + " " + shown.getUTCFullYear();
    var grid = sb("cal-days"); grid.innerHTML = "";
    var first = new Date(shown.getTime());
    for (var i = 0; i < first.getUTCDay(); i++) { grid.appendChild(document.createElement("span")); }
    var d = new Date(first.getTime());
    while (d.getUTCMonth() === shown.getUTCMonth()) {
      var key = ymd(d), ok = key >= CFG.today && key <= CFG.max_day;
      var cell = document.createElement("span");
      cell.className = CFG.cls.day + " " + (ok ? CFG.cls.valid : CFG.cls.disabled);
      cell.setAttribute("role", "gridcell"); cell.setAttribute("aria-label", key);
      cell.setAttribute("aria-disabled", ok ? "false" : "true"); cell.setAttribute("data-sb", "day");
      cell.setAttribute("data-day", key);
      cell.textContent = String(d.getUTCDate());
      grid.appendChild(cell);
      d.setUTCDate(d.getUTCDate() + 1);
    }
  }
  dateInput.addEventListener("click", function () { timer.hidden = true; renderCalendar(); calendar.hidden = false; });
  sb("cal-prev").addEventListener("click", function () { shown.setUTCMonth(shown.getUTCMonth() - 1); renderCalendar(); });
  sb("cal-next").addEventListener("click", function () { shown.setUTCMonth(shown.getUTCMonth() + 1); renderCalendar(); });
  sb("cal-days").addEventListener("click", function (e) {
    var cell = e.target.closest("[data-sb=day]");
    if (!cell || cell.getAttribute("aria-disabled") === "true") { return; }
    dateInput.value = cell.getAttribute("data-day"); calendar.hidden = true;
  });
  timeInput.addEventListener("click", function () { calendar.hidden = true; timer.hidden = false; });
  sbAll("hour").forEach(function (li) {
    li.addEventListener("click", function () { timeInput.value = li.getAttribute("data-value") + timeInput.value.slice(2); });
  });
  sbAll("minute").forEach(function (li) {
    li.addEventListener("click", function () {
      timeInput.value = timeInput.value.slice(0, 3) + li.getAttribute("data-value"); timer.hidden = true;
    });
  });

  if (modal) {
    sbAll("modal-button").forEach(function (b) { b.addEventListener("click", function () { modal.hidden = true; }); });
  }
  sb("discard").addEventListener("click", function () { location.reload(); });

  postBtn.addEventListener("click", function () {
    if (postBtn.getAttribute("aria-disabled") === "true" || posting || !uploaded || failed) { return; }
    posting = true;
    var body = {
      caption: boxText(editor), visibility: visibility, opened_ts: CFG.opened,
      allow_comment: sb("allow-comment").checked, allow_duet: sb("allow-duet").checked,
      allow_stitch: sb("allow-stitch").checked,
      schedule: scheduling() ? { date: dateInput.value, time: timeInput.value } : null
    };
    fetch(api("/api/v1/upload/" + token + "/post"), { method: "POST",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) })
      .then(function (r) { return r.json().then(function (d) { return [r, d]; }); })
      .then(function (rd) {
        posting = false;
        if (!rd[0].ok) { showAlert(rd[1].error); return; }
        var scheduled = rd[1].status === "scheduled";
        toast.querySelector("strong").textContent = scheduled ? "Video scheduled" : "Video published";
        toast.querySelector("span").textContent = scheduled ? "Your video has been scheduled"
                                                            : "Your video has been uploaded";
        toast.hidden = false; form.hidden = true;
        setTimeout(function () { window.top.location.href = CFG.content; }, 600);
      })
      .catch(function () { posting = false; showAlert("Something went wrong. Try again."); });
  });
})();
"""


@register_app
class TikTokApp(PlatformApp):
    """TikTok (www.tiktok.com + TikTok Studio, under ``/tiktok``)."""

    name = "tiktok"
    platform = "TikTok"
    session_cookie = "sessionid"

    # -- helpers -------------------------------------------------------------------------

    def _sq(self, req: Request) -> str:
        return req.query.get("sandbox", "")

    def _with_sq(self, path: str, req: Request) -> str:
        return path + ("?" + urlencode({"sandbox": self._sq(req)}) if self._sq(req) else "")

    def _login_redirect(self, req: Request) -> Response:
        target = self.prefix + req.path + (f"?{req.raw_query}" if req.raw_query else "")
        return Response.redirect(f"{self.prefix}/login?" + urlencode({"redirect_url": target,
                                                                      "enter_method": "mandatory"}))

    def _page(self, title: str, body: str, n: Names, script: str = "") -> Response:
        return Response.html(
            f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{esc(title)}</title>"
            f"<style>{n.sub(CSS)}</style></head><body>{body}{script}</body></html>")

    def _header(self, n: Names, account: str | None, studio: bool = True) -> str:
        logo = "TikTok Studio" if studio else "TikTok"
        if account:
            right = (f'<a href="{self.prefix}/@{esc(handle_of(account))}" data-e2e="profile-icon" '
                     f'class="{n.cls("avatar")}" aria-label="Profile" title="{esc(account)}">'
                     f"{esc(account[:1].upper())}</a>")
        else:
            right = (f'<a data-e2e="top-login-button" role="button" href="{self.prefix}/login">Log in</a>')
        return (f'<header class="{n.cls("studio-header")}"><span class="{n.cls("logo")}">{logo} '
                f"<small>(ASFS sandbox)</small></span>{right}</header>")

    def _captcha(self, n: Names, account: str) -> Response:
        body = (self._header(n, account) +
                f'<div id="captcha-verify-container" class="{n.cls("captcha-verify-container")}" role="dialog" '
                f'aria-modal="true" aria-label="Verify to continue"><div class="{n.cls("captcha-card")}">'
                "<h2>Verify to continue</h2><p>Drag the slider to fit the puzzle</p>"
                f'<div class="{n.cls("captcha_verify_slide--slidebar")}" style="height:40px;background:#eee">'
                '<div class="secsdk-captcha-drag-icon" style="width:40px;height:40px;background:#fe2c55"></div>'
                "</div></div></div>")
        return self._page("Verify to continue | TikTok", body, n)

    def _studio_gate(self, req: Request) -> tuple[str | None, dict[str, Any], Response | None]:
        """(account, switches, response): the response is set when the page is not the studio."""
        account = self.account(req)
        if account is None:
            return None, {}, self._login_redirect(req)
        sw = self.switches(req, account)
        if sw.get("captcha"):
            return account, sw, self._captcha(Names(bool(sw.get("drift"))), account)
        return account, sw, None

    def _new_id(self) -> str:
        while True:
            vid = str((int(time.time()) << 32) | secrets.randbits(32))
            if len(vid) == 19 and self.sandbox.store.get(self.name, vid) is None:
                return vid

    def post_url(self, post: dict[str, Any]) -> str:
        return f"{self.base_url}/@{post['handle']}/video/{post['id']}"

    def _by_token(self, req: Request, token: str) -> tuple[str | None, dict | None]:
        account = self.account(req)
        if account is None or not re.fullmatch(r"[A-Za-z0-9_-]{8,64}", token):
            return account, None
        for post in self.sandbox.store.list(self.name, account):
            if post.get("upload_token") == token:
                return account, post
        return account, None

    def _refresh(self, post: dict[str, Any]) -> dict[str, Any]:
        """Advance processing by the clock (no background threads)."""
        if post["status"] == "processing" and time.time() >= post["processing_ends_at"]:
            if post.get("fail_message"):
                return self.sandbox.store.update(self.name, post["id"], status="failed", error=post["fail_message"])
            return self.sandbox.store.update(self.name, post["id"], status="uploaded", uploaded_at=iso(utcnow()),
                                             uploaded_ts=time.time())
        return post

    # -- www.tiktok.com ----------------------------------------------------------------------

    @route("GET", r"/?")
    def home(self, req: Request) -> Response:
        account = self.account(req)
        n = Names(False)
        if account:
            body = (f"<main><h1>For You</h1><p>Signed in as {esc(account)}.</p>"
                    f'<p><a href="{self._with_sq(self.prefix + "/tiktokstudio/upload", req)}">Upload</a> &middot; '
                    f'<a href="{self.prefix}/tiktokstudio/content">Posts</a></p></main>')
        else:
            body = "<main><h1>For You</h1><p>Log in to follow creators, like videos and upload.</p></main>"
        return self._page("TikTok - Make Your Day", self._header(n, account, studio=False) + body, n)

    @route("GET", r"/upload|/creator-center/upload|/tiktokstudio")
    def legacy_upload(self, req: Request) -> Response:
        target = "/tiktokstudio/content" if req.path == "/tiktokstudio" else "/tiktokstudio/upload"
        return Response.redirect(self._with_sq(self.prefix + target, req))

    @route("GET", r"/@(?P<handle>[A-Za-z0-9._-]+)/video/(?P<vid>\d{19})")
    def watch(self, req: Request, handle: str, vid: str) -> Response:
        post = self.sandbox.store.get(self.name, vid)
        n = Names(False)
        viewer = self.account(req)
        if (post is None or post["handle"] != handle or post["status"] != "published"
                or (post["visibility"] != "PUBLIC_TO_EVERYONE" and viewer != post["account"])):
            return self._page("TikTok", self._header(n, viewer, studio=False) +
                              "<main><h1>Video currently unavailable</h1></main>", n)
        body = (f'<main><video controls width="320" src="{self.prefix}/media/{vid}"></video>'
                f'<h2>@{esc(handle)}</h2><p data-e2e="browse-video-desc">{esc(post["caption"])}</p></main>')
        return self._page(f"{post['caption'][:40]} | TikTok", self._header(n, viewer, studio=False) + body, n)

    @route("GET", rf"/media/(?P<vid>{POST_ID})")
    def media(self, req: Request, vid: str) -> Response:
        post = self.sandbox.store.get(self.name, vid)
        if post is None or not post.get("file") or not Path(post["file"]).is_file():
            return Response.html("<h1>404 Not Found</h1>", 404)
        return Response.send_file(Path(post["file"]), "video/mp4")

    # -- TikTok Studio -------------------------------------------------------------------------

    @route("GET", r"/tiktokstudio/content")
    def content(self, req: Request) -> Response:
        account, sw, gate = self._studio_gate(req)
        if gate is not None:
            return gate
        n = Names(bool(sw.get("drift")))
        posts = [p for p in self.sandbox.store.list(self.name, account) if p["status"] in ("published", "scheduled")]
        rows = "".join(n.order([self._row(n, p) for p in posts]))  # drift: oldest first
        if not rows:
            rows = f'<div class="{n.cls("empty-state")}"><p>You haven\'t posted any content yet</p></div>'
        body = (self._header(n, account) +
                f'<main><h1>Posts</h1><div class="{n.cls("post-table")}" role="table" aria-label="Posts">'
                f"{rows}</div></main>")
        return self._page("Posts | TikTok Studio", body, n)

    def _row(self, n: Names, p: dict[str, Any]) -> str:
        label = PRIVACY.get(p.get("visibility") or "", "")
        state = f"Scheduled for {p['scheduled_at']}" if p["status"] == "scheduled" else f"Published {p['published_at']}"
        cells = [f'<a class="{n.cls("post-link")}" href="{self.prefix}/@{esc(p["handle"])}/video/{p["id"]}">'
                 f'<span class="{n.cls("caption-text")}">{esc(p.get("caption") or "")}</span></a>',
                 f'<span class="{n.cls("post-privacy")}">{esc(label)}</span>',
                 f'<span class="{n.cls("post-status")}">{esc(state)}</span>']
        return f'<div class="{n.cls("post-row")}" role="row">{"".join(n.order(cells))}</div>'

    @route("GET", r"/tiktokstudio/upload")
    def upload_page(self, req: Request) -> Response:
        account, sw, gate = self._studio_gate(req)
        if gate is not None:
            return gate
        n = Names(bool(sw.get("drift")))
        banner = ""
        script = ""
        if sw.get("overlay"):
            banner = "<tiktok-cookie-banner></tiktok-cookie-banner>"
            script = f"<script>{COOKIE_BANNER_JS}</script>"
        if sw.get("iframe"):
            src = self._with_sq(f"{self.prefix}/tiktokstudio/upload/frame", req)
            body = (self._header(n, account) + f'<div class="{n.cls("upload-page-wrapper")}">'
                    f'<iframe data-tt="Upload_index_iframe" title="Upload" src="{esc(src)}"></iframe></div>{banner}')
            return self._page("Upload | TikTok Studio", body, n, script)
        body, upload_script = self._upload_ui(req, n, sw)
        return self._page("Upload | TikTok Studio", self._header(n, account) + body + banner, n,
                          upload_script + script)

    @route("GET", r"/tiktokstudio/upload/frame")
    def upload_frame(self, req: Request) -> Response:
        account, sw, gate = self._studio_gate(req)
        if gate is not None:
            return gate
        n = Names(bool(sw.get("drift")))
        body, script = self._upload_ui(req, n, sw)
        return self._page("Upload", body, n, script)

    def _upload_ui(self, req: Request, n: Names, sw: dict[str, Any]) -> tuple[str, str]:
        tz = _tz(sw.get("timezone"))
        now_local = datetime.now(tz)
        first_slot = now_local + SCHEDULE_MIN + timedelta(minutes=(-now_local.minute) % 5)
        config = {"api": self.prefix, "sq": self._sq(req), "overlay": bool(sw.get("overlay")),
                  "content": self._with_sq(self.prefix + "/tiktokstudio/content", req),
                  "today": now_local.date().isoformat(), "max_day": (now_local + SCHEDULE_MAX).date().isoformat(),
                  "opened": time.time(), "cls": {k: n.cls(k) for k in ("day", "valid", "disabled")}}
        raw = json.dumps(config).replace("</", "<\\/")
        script = (f'<script type="application/json" id="sandbox-config">{raw}</script>'
                  f"<script>{UPLOAD_JS}</script>")

        caption = (f'<div class="{n.cls("caption-wrap")}"><div class="{n.cls("section-title")}">Description</div>'
                   f'<div class="{n.cls("caption-editor")}"><div class="{n.cls("DraftEditor-root")}">'
                   f'<div class="{n.cls("DraftEditor-editorContainer")}">'
                   f'<div class="{n.cls("notranslate", "public-DraftEditor-content")}" contenteditable="true" '
                   f'role="combobox" aria-expanded="false" aria-autocomplete="list" aria-label="Description" '
                   f'spellcheck="false" data-sb="editor"></div></div></div></div>'
                   f'<ul class="{n.cls("mention-list-popover")}" role="listbox" aria-label="Hashtag suggestions" '
                   f'data-sb="hashtags" hidden><li role="option" data-sb="hashtag">#fyp</li>'
                   f'<li role="option" data-sb="hashtag">#foryou</li><li role="option" data-sb="hashtag">#viral</li>'
                   f"</ul></div>")
        options = [f'<li role="option" data-sb="vis-option" data-value="{v}" '
                   f'aria-selected="{"true" if v == "PUBLIC_TO_EVERYONE" else "false"}" '
                   f'class="{n.cls("select-option")}">{esc(label)}</li>' for v, label in PRIVACY.items()]
        visibility = (f'<div class="{n.cls("view-auth-container")}"><div class="{n.cls("section-title")}">'
                      f"Who can watch this video</div>"
                      f'<button type="button" class="{n.cls("select-trigger")}" role="combobox" '
                      f'aria-haspopup="listbox" aria-expanded="false" aria-label="Who can watch this video" '
                      f'data-sb="vis-trigger"><span>Everyone</span></button>'
                      f'<ul class="{n.cls("select-options")}" role="listbox" aria-label="Who can watch this video" '
                      f'data-sb="vis-list" hidden>{"".join(n.order(options))}</ul></div>')
        allow = (f'<div class="{n.cls("allow-container")}"><div class="{n.cls("section-title")}">Allow users to</div>'
                 + "".join(f'<label class="{n.cls("checkbox-item")}"><input type="checkbox" checked '
                           f'data-sb="allow-{k.lower()}" aria-label="{k}"> {k}</label> '
                           for k in ("Comment", "Duet", "Stitch")) + "</div>")
        radios = [f'<label class="{n.cls("radio-item")}"><input type="radio" name="postSchedule" value="post_now" '
                  f'data-sb="sched-now" checked> Now</label>',
                  f'<label class="{n.cls("radio-item")}"><input type="radio" name="postSchedule" value="schedule" '
                  f'data-sb="sched-later"> Schedule</label>']
        hours = "".join(f'<li class="{n.cls("option-item")}" role="option" data-sb="hour" data-value="{h:02d}">'
                        f"{h:02d}</li>" for h in range(24))
        minutes = "".join(f'<li class="{n.cls("option-item")}" role="option" data-sb="minute" data-value="{m:02d}">'
                          f"{m:02d}</li>" for m in range(0, 60, 5))
        pickers = [f'<div class="{n.cls("picker-box", "date-picker-input")}"><input readonly aria-label="Date" '
                   f'data-sb="date" value="{first_slot.date().isoformat()}">'
                   f'<div class="{n.cls("calendar-wrapper")}" role="dialog" aria-label="Choose a date" '
                   f'data-sb="calendar" hidden><div class="{n.cls("calendar-head")}">'
                   f'<span class="{n.cls("arrow")}" role="button" '
                   f'aria-label="Previous month" data-sb="cal-prev">&#8249;</span><span class="{n.cls("month-title")}" '
                   f'data-sb="cal-title"></span><span class="{n.cls("arrow")}" role="button" aria-label="Next month" '
                   f'data-sb="cal-next">&#8250;</span></div><div class="{n.cls("days")}" role="grid" '
                   f'data-sb="cal-days"></div></div></div>',
                   f'<div class="{n.cls("picker-box", "time-picker-input")}"><input readonly aria-label="Time" '
                   f'data-sb="time" value="{first_slot:%H:%M}">'
                   f'<div class="{n.cls("tiktok-timer-picker")}" role="dialog" aria-label="Choose a time" '
                   f'data-sb="timer" hidden><ul class="{n.cls("option-list", "hour-list")}" role="listbox" '
                   f'aria-label="Hours">{hours}</ul><ul class="{n.cls("option-list", "minute-list")}" '
                   f'role="listbox" aria-label="Minutes">{minutes}</ul></div></div>']
        schedule = (f'<div class="{n.cls("schedule-container")}"><div class="{n.cls("section-title")}">When to post'
                    f'</div><div role="radiogroup" aria-label="When to post">{"".join(n.order(radios))}</div>'
                    f'<div class="{n.cls("scheduled-picker")}" data-sb="sched-panel" hidden>'
                    f'{"".join(n.order(pickers))}<span class="{n.cls("tz-label")}">'
                    f'{esc(sw.get("timezone") or "UTC")}</span></div></div>')
        buttons = [f'<button type="button" data-e2e="post_video_button" '
                   f'class="{n.cls("TUXButton", "TUXButton--primary")}" aria-disabled="true" disabled data-sb="post">'
                   f"Post</button>",
                   f'<button type="button" data-e2e="save_draft_button" class="{n.cls("TUXButton")}">'
                   f"Save draft</button>",
                   f'<button type="button" data-e2e="discard_video_button" class="{n.cls("TUXButton")}" '
                   f'data-sb="discard">Discard</button>']
        status = (f'<div class="{n.cls("info-status-container")}"><span class="{n.cls("info-status")}" role="status" '
                  f'aria-live="polite" data-sb="status"></span><div class="{n.cls("progress-bar")}"><div data-sb="bar">'
                  f"</div></div></div>")
        sections = n.order([caption, visibility, allow, schedule])
        modal = ""
        if sw.get("overlay"):
            modal = (f'<div class="{n.cls("common-modal")}" role="dialog" aria-modal="true" '
                     f'aria-label="Turn on automatic content checks?" data-sb="modal" hidden>'
                     f'<div class="{n.cls("modal-card")}"><h2>Turn on automatic content checks?</h2>'
                     "<p>We'll check your content for copyright and Community Guidelines issues before you post.</p>"
                     f'<button type="button" class="{n.cls("TUXButton")}" data-sb="modal-button">Cancel</button> '
                     f'<button type="button" class="{n.cls("TUXButton", "TUXButton--primary")}" data-sb="modal-button">'
                     f"Turn on</button></div></div>")
        body = (f'<main class="{n.cls("upload-main")}"><div class="{n.cls("upload-container")}">'
                f'<div class="{n.cls("upload-card")}" data-sb="picker"><h2>Select video to upload</h2>'
                f"<p>Or drag and drop it here</p>"
                f'<input type="file" accept="video/*" class="{n.cls("upload-input")}" data-sb="file" '
                f'style="display:none">'
                f'<button type="button" class="{n.cls("TUXButton", "TUXButton--primary")}" aria-label="Select video" '
                f'data-sb="select">Select video</button></div>'
                f'<div role="alert" class="{n.cls("upload-error-toast")}" data-sb="alert" hidden></div>'
                f'<div class="{n.cls("form-container")}" data-sb="form" hidden>{status}{"".join(sections)}'
                f'<div class="{n.cls("button-row")}">{"".join(n.order(buttons))}</div></div></div>'
                f'<div class="{n.cls("post-toast")}" role="status" data-sb="toast" hidden><strong></strong> '
                f"<span></span></div>{modal}</main>")
        return body, script

    # -- API used by the page's script -----------------------------------------------------------

    @route("POST", r"/api/v1/upload/create")
    def create(self, req: Request) -> Response:
        account = self.account(req)
        if account is None:
            return Response.json({"error": "Log in to continue."}, 401)
        sw = self.switches(req, account)
        if sw.get("rate_limit"):
            return Response.json({"error": RATE_LIMIT_MESSAGE}, 429)
        data = req.json()
        vid = self._new_id()
        token = secrets.token_urlsafe(12)
        self.sandbox.store.create(self.name, account, vid, handle=handle_of(account), upload_token=token,
                                  filename=str(data.get("filename") or ""), declared_size=data.get("size"),
                                  caption=None, visibility=None, scheduled_at=None, published_at=None,
                                  switches=sorted(sw))
        return Response.json({"upload_id": token})

    @route("POST", r"/api/v1/upload/(?P<token>[^/]+)/file")
    def upload_file(self, req: Request, token: str) -> Response:
        account, post = self._by_token(req, token)
        if post is None:
            return Response.json({"error": "Log in to continue." if account is None else "No such upload."},
                                 401 if account is None else 404)
        try:
            _, files = req.multipart(Path(post["dir"]))
        except MultipartError as exc:
            return Response.json({"error": f"Upload failed. {exc}"}, 400)
        saved = files.get("video")
        if saved is None:
            return Response.json({"error": "Upload failed. No file was received."}, 400)
        target = Path(post["dir"]) / f"video{saved.path.suffix}"
        saved.path.replace(target)
        sw = self.switches(req, account)
        fail = sw.get("fail")
        if fail in ("transient", "network"):
            target.unlink(missing_ok=True)
            self.sandbox.store.update(self.name, post["id"], status="failed", error=NETWORK_MESSAGE)
            return Response.json({"error": NETWORK_MESSAGE}, 503)
        fail_message = None
        if fail in ("permanent", "rejected", "invalid"):
            fail_message = REJECTED_MESSAGE
        elif fail:
            fail_message = str(fail)
        seconds = sw.get("slow") or self.sandbox.processing_seconds
        self.sandbox.store.update(self.name, post["id"], status="processing", file=str(target), size=saved.size,
                                  sha256=saved.sha256, received_at=iso(utcnow()), processing_seconds=seconds,
                                  processing_ends_at=time.time() + seconds, fail_message=fail_message)
        return Response.json({"ok": True, "size": saved.size})

    @route("GET", r"/api/v1/upload/(?P<token>[^/]+)")
    def status(self, req: Request, token: str) -> Response:
        account, post = self._by_token(req, token)
        if post is None:
            return Response.json({"error": "No such upload."}, 404)
        post = self._refresh(post)
        state = {"created": "uploading"}.get(post["status"], post["status"])
        progress = 0
        if post["status"] == "processing":
            total = max(0.001, post["processing_seconds"])
            progress = min(99, int(100 * (1 - (post["processing_ends_at"] - time.time()) / total)))
        return Response.json({"state": state, "progress": progress, "message": post.get("error")})

    @route("POST", r"/api/v1/upload/(?P<token>[^/]+)/post")
    def publish(self, req: Request, token: str) -> Response:
        account, post = self._by_token(req, token)
        if post is None:
            return Response.json({"error": "Log in to continue." if account is None else "No such upload."},
                                 401 if account is None else 404)
        data = req.json()
        caption = str(data.get("caption") or "")
        if not caption.strip():
            return Response.json({"error": "Add a description to your video."}, 400)
        if len(caption) > CAPTION_MAX:
            return Response.json({"error": f"The description is too long: {CAPTION_MAX} characters at most."}, 400)
        visibility = data.get("visibility")
        if visibility not in PRIVACY:
            return Response.json({"error": "Choose who can watch this video."}, 400)
        scheduled = None
        if data.get("schedule"):
            sw = self.switches(req, account)
            try:
                local = datetime.strptime(f"{data['schedule']['date']} {data['schedule']['time']}", "%Y-%m-%d %H:%M")
            except (KeyError, TypeError, ValueError):
                return Response.json({"error": "Choose a valid date and time."}, 400)
            scheduled = local.replace(tzinfo=_tz(sw.get("timezone"))).astimezone(timezone.utc)
            try:
                opened = datetime.fromtimestamp(float(data.get("opened_ts")), timezone.utc)
            except (TypeError, ValueError):
                opened = utcnow()
            if scheduled.minute % 5 or scheduled < opened + SCHEDULE_MIN or scheduled > utcnow() + SCHEDULE_MAX:
                return Response.json({"error": SCHEDULE_MESSAGE}, 400)
        post = self._refresh(post)
        if post["status"] == "failed":
            return Response.json({"error": post.get("error") or "Upload failed."}, 409)
        if post["status"] in ("published", "scheduled"):
            return Response.json({"error": "This video was already posted."}, 409)
        if post["status"] != "uploaded":
            return Response.json({"error": "Your video is still uploading. Wait until it's done to post."}, 409)
        status = "scheduled" if scheduled else "published"
        self.sandbox.store.update(
            self.name, post["id"], status=status, caption=caption, visibility=visibility,
            visibility_label=PRIVACY[visibility], allow_comment=bool(data.get("allow_comment")),
            allow_duet=bool(data.get("allow_duet")), allow_stitch=bool(data.get("allow_stitch")),
            scheduled_at=iso(scheduled), published_at=iso(utcnow()) if not scheduled else None,
            post_clicked_at=iso(utcnow()), post_ts=time.time(), url=self.post_url(post))
        return Response.json({"status": status})

    # -- sign-in -----------------------------------------------------------------------------------

    @route("GET", r"/login|/login/phone-or-email/email")
    def login_page(self, req: Request, error: str = "") -> Response:
        redirect = req.query.get("redirect_url", "")
        err = f'<p role="alert" style="color:#c00">{esc(error)}</p>' if error else ""
        body = (f"<main style='max-width:420px;margin:60px auto'><h1>Log in</h1>"
                f"<p>Use phone / email / username</p>{err}"
                f'<form method="post" action="{self.prefix}/login/phone-or-email/email">'
                f'<input type="hidden" name="redirect_url" value="{esc(redirect)}">'
                '<input type="text" name="username" placeholder="Email or username" autocomplete="username" '
                'required style="width:100%;padding:10px;margin-bottom:8px">'
                '<input type="password" placeholder="Password" autocomplete="current-password" name="password" '
                'required style="width:100%;padding:10px">'
                '<p><button type="submit" data-e2e="login-button">Log in</button></p></form></main>')
        return self._page("Log in | TikTok", body, Names(False))

    @route("POST", r"/login/phone-or-email/email")
    def login_post(self, req: Request) -> Response:
        form = req.form()
        account = form.get("username", "").strip()
        if not account or not form.get("password"):
            return self.login_page(req, "Enter your username and password.")
        token = self.sandbox.new_session(self.name, account)
        resp = Response.redirect(continue_target(self, form.get("redirect_url")))
        return resp.set_cookie(self.session_cookie, token, path=self.prefix)

    @route("GET", r"/logout")
    def logout(self, req: Request) -> Response:
        account = self.sandbox.session_account(self.name, req.cookies.get(self.session_cookie))
        if account:
            self.sandbox.sign_out(self.name, account)
        return Response.redirect(self.prefix + "/").set_cookie(self.session_cookie, "", path=self.prefix, max_age=0)

    def sign_in(self, page: Any, account: str, password: str | None = None, timeout: float = 10.0) -> None:
        """Fill the log-in page that ``page`` shows (no-op when it is not on the log-in page)."""
        if "/login" not in page.url:
            return
        ms = timeout * 1000
        page.locator("input[name=username]").fill(account, timeout=ms)
        page.locator("input[type=password]").fill(password or "sandbox-password", timeout=ms)
        page.locator("button[data-e2e=login-button]").click(timeout=ms)
        page.wait_for_url(lambda u: "/login" not in u, timeout=ms)
