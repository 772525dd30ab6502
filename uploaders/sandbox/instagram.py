"""Instagram (web), as the sandbox plays it.

The same steps, labels, roles and messages as the real site (2024-2025):

* Signed in (cookie ``sessionid``), every page has the left navigation: Home, Search,
  Explore, Reels, Messages, Notifications, Create (``svg[aria-label="New post"]``) and
  Profile (``a[href="/<username>/"]`` with the "<username>'s profile picture" avatar).
  Signed out, pages redirect to ``/accounts/login/?next=...``; the ``captcha`` switch sends
  them to ``/challenge/`` ("Help us confirm it's you" with a reCAPTCHA frame).
* "New post" opens the create dialog (``role="dialog"``): "Drag photos and videos here",
  "Select from computer" and the file input (``accept`` includes ``video/mp4``) inside
  ``form[enctype="multipart/form-data"]``. Choosing a video starts the upload in the
  background (``POST /rupload_igvideo/<upload id>``) and pops the "Video posts are now shared
  as reels" notice (OK).
* Crop ("Select crop": Original, 1:1, 9:16, 16:9; the dialog starts at 1:1), Edit (Cover
  photo, Trim) and the caption step: the ``role="textbox"`` contenteditable editor with
  ``aria-label="Write a caption..."`` (``data-lexical-editor``) and a 0/2,200 counter; Next is
  a ``div role="button"``, and so is Share.
* Share: "Sharing" with a spinner until the upload has arrived and the reel is processed
  (``POST /api/v1/media/configure_to_clips/``, then polling), then "Reel shared" with the
  animated checkmark and "Your reel has been shared.". The reel gets an 11-character
  shortcode and is listed, newest first, on ``/<username>/`` and ``/<username>/reels/``
  (links ``/reel/<shortcode>/``; the grid image's ``alt`` is the caption) and shown on
  ``/reel/<shortcode>/`` (the caption in an ``h1``).
* Errors: "Try Again Later" / "We restrict certain activity to protect our community"
  (rate limit, its own dialog), "Something went wrong ..." (transient, in the dialog's
  ``role="alert"``), "Your reel couldn't be shared. This video format isn't supported."
  (permanent).

Switches: ``slow`` (sharing takes that long), ``rate_limit`` (the upload is answered with
"Try Again Later"), ``signed_out``, ``captcha`` (the challenge), ``fail`` (``transient``: the
upload fails; ``permanent`` or a message: sharing fails), ``overlay`` (the cookie consent
dialog at once, "Turn on Notifications" a moment after each page load) and ``drift`` (salted
class names, reordered navigation and buttons, ``div role=button`` <-> ``button``, no
``form`` around the file input, no ``data-lexical-editor``, the newer "Create" menu with
"Post"; aria labels, roles and texts stay).
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

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

RATE_LIMIT_TITLE = "Try Again Later"
RATE_LIMIT_MESSAGE = ("We restrict certain activity to protect our community. "
                      "Tell us if you think we made a mistake.")
NETWORK_MESSAGE = "Something went wrong. Please check your internet connection and try again."
REJECTED_MESSAGE = "Your reel couldn't be shared. This video format isn't supported."
CAPTION_LIMIT = 2200
HASHTAG_LIMIT = 30
SHORTCODE = r"[A-Za-z0-9_-]{11}"
USERNAME = r"[A-Za-z0-9._]{1,30}"
# first path segments that are Instagram's own pages, never a username
RESERVED = ("accounts", "challenge", "reel", "reels", "p", "api", "explore", "direct", "media",
            "rupload_igvideo", "stories", "static", "about", "legal")
ASPECTS = (("original", "Original"), ("1:1", "1:1"), ("9:16", "9:16"), ("16:9", "16:9"))
DEFAULT_ASPECT = "1:1"
HASHTAG_RE = re.compile(r"(?<![\w&#])#\w+")


def username_of(account: str) -> str:
    """The Instagram username of a sandbox account (the account itself when it is one)."""
    account = str(account or "").strip()
    if re.fullmatch(USERNAME, account):
        return account.lower()
    local = account.split("@", 1)[0].lower()
    return re.sub(r"[^a-z0-9._]+", "_", local).strip("._")[:30] or "user"


class Names:
    """Class names and button tags as rendered: the real ones, or drifted ones."""

    def __init__(self, drift: bool):
        self.drift = drift
        self.salt = secrets.token_hex(3)

    def cls(self, *names: str) -> str:
        return " ".join(f"{n}-{self.salt}" if self.drift else n for n in names)

    def button(self, text: str, act: str, *, tag: str = "div", label: str | None = None,
               inner: str | None = None, cls: str = "btn", extra: str = "") -> str:
        """A clickable: ``div role=button`` or ``button`` as the real site has it (swapped by drift)."""
        if self.drift:
            tag = "button" if tag == "div" else "div"
        aria = f' aria-label="{esc(label)}"' if label else ""
        body = inner if inner is not None else esc(text)
        if tag == "button":
            return f'<button type="button" class="{self.cls(cls)}" data-act="{act}"{aria}{extra}>{body}</button>'
        return f'<div role="button" tabindex="0" class="{self.cls(cls)}" data-act="{act}"{aria}{extra}>{body}</div>'

    def order(self, items: list[str]) -> list[str]:
        return list(reversed(items)) if self.drift else list(items)


def _svg(label: str, path: str = "M4 12h16M12 4v16") -> str:
    return (f'<svg aria-label="{esc(label)}" role="img" width="24" height="24" viewBox="0 0 24 24" fill="none" '
            f'stroke="currentColor" stroke-width="2"><title>{esc(label)}</title><path d="{path}"/></svg>')


_DOT = "data:image/svg+xml;base64," + base64.b64encode(
    b'<svg xmlns="http://www.w3.org/2000/svg" width="8" height="8"><circle cx="4" cy="4" r="4" fill="#c13584"/></svg>'
).decode()


CSS = """
*{box-sizing:border-box}
body{margin:0;font-family:-apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;
  background:#fff;color:#000;font-size:14px}
[hidden]{display:none !important}
.{nav}{position:fixed;left:0;top:0;bottom:0;width:244px;border-right:1px solid #dbdbdb;padding:24px 12px;
  display:flex;flex-direction:column;gap:4px;background:#fff;z-index:10}
.{nav} .{logo}{font:italic 600 24px Georgia,serif;padding:8px 12px 20px}
.{nav} a{display:flex;align-items:center;gap:14px;padding:12px;border-radius:8px;color:#000;text-decoration:none}
.{nav} a:hover{background:#f2f2f2}
.{nav} img{width:24px;height:24px;border-radius:50%}
.{menu}{margin-left:12px;border:1px solid #dbdbdb;border-radius:12px;box-shadow:0 4px 12px rgba(0,0,0,.15);
  padding:6px;background:#fff}
main{margin-left:244px;padding:32px 48px;max-width:980px}
.{profile-head}{display:flex;gap:40px;align-items:center;border-bottom:1px solid #dbdbdb;padding-bottom:24px}
.{profile-head} h2{font-size:20px;font-weight:400;margin:0 0 12px}
.{tabs}{display:flex;gap:48px;justify-content:center;padding:12px;text-transform:uppercase;font-size:12px}
.{tabs} a{color:#737373;text-decoration:none}.{tabs} a[aria-selected=true]{color:#000;font-weight:600}
.{grid}{display:grid;grid-template-columns:repeat(3,1fr);gap:4px}
.{grid} a{display:block;aspect-ratio:9/16;background:#262626;color:#fff;text-decoration:none;position:relative;
  overflow:hidden}
.{grid} img{position:absolute;left:8px;top:8px;width:8px;height:8px}
.{grid} span{position:absolute;left:8px;bottom:8px;right:8px;font-size:12px;overflow:hidden;max-height:3.6em}
.{empty}{text-align:center;padding:60px 0;color:#737373}
.{btn}{display:inline-block;padding:7px 16px;border-radius:8px;border:0;background:#0095f6;color:#fff;
  font-weight:600;cursor:pointer;user-select:none;font-size:14px}
.{link-btn}{background:none;color:#0095f6;padding:4px 8px}
.{backdrop}{position:fixed;inset:0;background:rgba(0,0,0,.65);display:flex;align-items:center;
  justify-content:center;z-index:100}
.{create}{width:760px;max-width:96vw;height:600px;max-height:92vh;background:#fff;border-radius:12px;display:flex;
  flex-direction:column;overflow:hidden}
.{create-head}{display:flex;align-items:center;justify-content:space-between;height:44px;padding:0 12px;
  border-bottom:1px solid #dbdbdb}
.{create-head} h1{font-size:16px;margin:0;flex:1;text-align:center}
.{create-body}{flex:1;display:flex;flex-direction:column;align-items:center;justify-content:center;gap:14px;
  padding:16px;position:relative}
.{alert}{color:#ed4956;background:#fff0f1;padding:8px 16px;text-align:center}
.{aspect-menu}{position:absolute;left:16px;bottom:64px;background:rgba(26,26,26,.9);color:#fff;border-radius:8px;
  padding:4px}
.{aspect-menu} [data-act=aspect]{display:block;padding:10px 16px;background:none;color:#fff;border:0;cursor:pointer}
.{aspect-menu} [aria-pressed=true]{font-weight:700}
.{editor}{width:100%;min-height:160px;border:0;outline:none;white-space:pre-wrap;font-size:15px;padding:8px}
.{counter}{align-self:flex-end;color:#737373;font-size:12px}
.{frames}{display:flex;gap:4px}.{frames} div{width:40px;height:70px;background:#555}
.{modal}{position:fixed;inset:0;background:rgba(0,0,0,.65);display:flex;align-items:center;justify-content:center}
.{modal-card}{background:#fff;border-radius:12px;width:400px;padding:28px 24px 16px;text-align:center}
.{modal-card} h2,.{modal-card} h3{font-size:20px;margin:8px 0}
.{modal-card} p{color:#737373}
.{modal-card} .{btn}{display:block;width:100%;margin-top:8px}
.{reels-info}{z-index:150}.{rate-dialog}{z-index:160}.{notif}{z-index:300}.{cookies}{z-index:400}
.{feed} article{border-bottom:1px solid #dbdbdb;padding:16px 0;max-width:470px}
.{feed} .{photo}{height:240px;background:#efefef;border-radius:4px}
"""

JS = r"""
(function () {
  "use strict";
  var CFG = JSON.parse(document.getElementById("sandbox-config").textContent);
  function all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  function on(name, fn) {
    all('[data-act="' + name + '"]').forEach(function (el) {
      el.addEventListener("click", function (e) { e.preventDefault(); fn(el, e); });
    });
  }
  function api(path) {
    var u = CFG.api + path;
    if (CFG.sq) { u += (u.indexOf("?") < 0 ? "?" : "&") + "sandbox=" + encodeURIComponent(CFG.sq); }
    return u;
  }
  function byPart(name) { return document.querySelector('[data-part="' + name + '"]'); }

  // -- things that cover the page ------------------------------------------------------------
  var notif = byPart("notifications"), cookies = byPart("cookies");
  if (notif) { setTimeout(function () { notif.hidden = false; }, CFG.overlayDelay); }
  on("not-now", function () { notif.hidden = true; });
  on("turn-on", function () { notif.hidden = true; });
  on("cookies", function () { cookies.hidden = true; });
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape") { return; }
    if (notif && !notif.hidden) { notif.hidden = true; e.stopImmediatePropagation(); return; }
    if (cookies && !cookies.hidden) { cookies.hidden = true; e.stopImmediatePropagation(); }
  }, true);

  // -- Create: the menu of the newer UI, or the dialog at once ----------------------------------
  var menu = byPart("create-menu");
  var root = byPart("create");
  on("create", function () { if (menu) { menu.hidden = !menu.hidden; } else { openCreate(); } });
  on("create-post", function () { menu.hidden = true; openCreate(); });
  if (!root) { return; }

  var dialog = root.querySelector("[role=dialog]");
  var title = dialog.querySelector("h1");
  var alertBox = byPart("alert");
  var fileInput = dialog.querySelector("input[type=file]");
  var editor = dialog.querySelector("[contenteditable]");
  var counter = byPart("counter");
  var aspectMenu = byPart("aspect-menu");
  var reelsInfo = byPart("reels-info"), rateDialog = byPart("rate-limit");
  var TITLES = { select: "Create new post", crop: "Crop", edit: "Edit", caption: "Create new reel",
                 sharing: "Sharing", shared: "Reel shared", failed: "Reel not shared" };
  var step = "select", upload = null, uploadId = null, aspect = CFG.defaultAspect, sharing = false;

  function show(s) {
    step = s;
    all("[data-step]", dialog).forEach(function (sec) {
      var steps = sec.getAttribute("data-step").split(" ");
      sec.hidden = steps.indexOf(s) < 0;
    });
    title.textContent = TITLES[s];
    all('[data-act="next"]', dialog).forEach(function (b) { b.hidden = !(s === "crop" || s === "edit"); });
    all('[data-act="share"]', dialog).forEach(function (b) { b.hidden = s !== "caption"; });
    all('[data-act="back"]', dialog).forEach(function (b) { b.hidden = ["crop", "edit", "caption"].indexOf(s) < 0; });
  }
  function showError(msg) { alertBox.textContent = msg; alertBox.hidden = false; }
  function showRateLimit(msg) { byPart("rate-text").textContent = msg; rateDialog.hidden = false; }
  function openCreate() {
    root.hidden = false; alertBox.hidden = true; sharing = false; upload = null; uploadId = null;
    aspect = CFG.defaultAspect; editor.textContent = ""; fileInput.value = ""; show("select");
  }
  on("close-create", function () { root.hidden = true; });

  // the text of the editor, line breaks included
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
  editor.addEventListener("input", function () {
    counter.textContent = boxText(editor).length.toLocaleString("en-US") + "/2,200";
  });

  on("select-files", function () { fileInput.click(); });
  fileInput.addEventListener("change", function () {
    var f = fileInput.files[0];
    if (!f) { return; }
    if (!/^video\//.test(f.type) && !/\.(mp4|mov)$/i.test(f.name)) {
      showError("This file is not supported. Only videos can be shared as reels here."); return;
    }
    uploadId = String(Date.now()) + String(Math.floor(Math.random() * 1000));
    upload = send(f);
    show("crop");
    if (CFG.reelsInfoDelay > 0) { setTimeout(function () { reelsInfo.hidden = false; }, CFG.reelsInfoDelay); }
    else { reelsInfo.hidden = false; }
  });
  function send(f) {
    return new Promise(function (resolve) {
      var xhr = new XMLHttpRequest();
      xhr.open("POST", api("/rupload_igvideo/" + uploadId));
      xhr.onload = function () {
        var d; try { d = JSON.parse(xhr.responseText); } catch (err) { d = {}; }
        if (xhr.status === 429) { showRateLimit(d.message); resolve({ ok: false, message: d.message, quiet: true }); return; }
        if (xhr.status >= 400) { showError(d.message || "Something went wrong."); resolve({ ok: false, message: d.message }); return; }
        resolve({ ok: true });
      };
      xhr.onerror = function () {
        showError("Something went wrong. Please check your internet connection and try again.");
        resolve({ ok: false, message: "network" });
      };
      var fd = new FormData();
      fd.append("video", f, f.name);
      xhr.send(fd);
    });
  }
  on("reels-ok", function () { reelsInfo.hidden = true; });
  on("select-crop", function () { aspectMenu.hidden = !aspectMenu.hidden; });
  on("aspect", function (el) {
    aspect = el.getAttribute("data-v");
    all('[data-act="aspect"]', aspectMenu).forEach(function (b) { b.setAttribute("aria-pressed", b === el ? "true" : "false"); });
    aspectMenu.hidden = true;
  });
  on("next", function () {
    if (step === "crop") { aspectMenu.hidden = true; show("edit"); }
    else if (step === "edit") { show("caption"); }
  });
  on("back", function () {
    if (step === "caption") { show("edit"); } else if (step === "edit") { show("crop"); } else if (step === "crop") { show("select"); }
  });
  on("share", function () {
    if (sharing || step !== "caption") { return; }
    sharing = true;
    var caption = boxText(editor);
    show("sharing");
    upload.then(function (u) {
      if (!u.ok) { fail(u.quiet ? null : (u.message || "Your reel couldn't be shared.")); return; }
      fetch(api("/api/v1/media/configure_to_clips/"), { method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ upload_id: uploadId, caption: caption, aspect: aspect, cover_frame: 0 }) })
        .then(function (r) { return r.json().then(function (d) { return [r, d]; }); })
        .then(function (rd) {
          if (rd[0].status === 429) { showRateLimit(rd[1].message); fail(null); return; }
          if (!rd[0].ok) { fail(rd[1].message); return; }
          poll();
        })
        .catch(function () { fail("Your reel couldn't be shared. Please try again."); });
    });
  });
  function fail(msg) { show("failed"); if (msg) { showError(msg); } }
  function poll() {
    fetch(api("/api/v1/clips/status/" + uploadId + "/")).then(function (r) { return r.json(); }).then(function (d) {
      if (d.state === "shared") { show("shared"); }
      else if (d.state === "failed") { fail(d.message); }
      else { setTimeout(poll, 150); }
    }).catch(function () { setTimeout(poll, 500); });
  }
  on("rate-ok", function () { rateDialog.hidden = true; });
})();
"""


@register_app
class InstagramApp(PlatformApp):
    """Instagram (www.instagram.com, under ``/instagram``)."""

    name = "instagram"
    platform = "Instagram"
    session_cookie = "sessionid"
    overlay_delay_ms = 400
    reels_info_delay_ms = 0  # > 0: the notice pops up a moment later, over the crop step

    # -- helpers -------------------------------------------------------------------------------

    def _sq(self, req: Request) -> str:
        return req.query.get("sandbox", "")

    def _here(self, req: Request) -> str:
        return self.prefix + req.path + (f"?{req.raw_query}" if req.raw_query else "")

    def _gate(self, req: Request) -> tuple[str | None, dict[str, Any], Response | None]:
        """The account and switches of a page that needs a session, or the redirect to show."""
        account = self.account(req)
        if account is None:
            return None, {}, Response.redirect(f"{self.prefix}/accounts/login/?" + urlencode({"next": self._here(req)}))
        sw = self.switches(req, account)
        if sw.get("captcha"):
            return account, sw, Response.redirect(f"{self.prefix}/challenge/?" + urlencode({"next": self._here(req)}))
        return account, sw, None

    def _page(self, title: str, body: str, n: Names | None = None, script: str = "") -> Response:
        n = n or Names(False)
        css = re.sub(r"\.\{([\w-]+)\}", lambda m: "." + n.cls(m.group(1)), CSS)
        return Response.html(
            f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{esc(title)}</title>"
            f"<style>{css}</style></head><body>{body}{script}</body></html>")

    def _nav(self, n: Names, account: str) -> str:
        user = username_of(account)
        p = self.prefix
        create_inner = _svg("New post") + "<span>Create</span>"
        create = f'<a href="#" role="link" data-act="create">{create_inner}</a>'
        if n.drift:  # the newer UI: Create opens a menu with Post and Live video
            create += (f'<div class="{n.cls("menu")}" data-part="create-menu" role="menu" hidden>'
                       f'<a href="#" role="menuitem" data-act="create-post">{_svg("Post")}<span>Post</span></a>'
                       f'<a href="#" role="menuitem" data-act="live">{_svg("Live video")}<span>Live video</span></a>'
                       "</div>")
        items = [
            f'<a href="{p}/" role="link">{_svg("Home", "M3 11l9-8 9 8v10H3z")}<span>Home</span></a>',
            f'<a href="#" role="link">{_svg("Search", "M10 17a7 7 0 1 0 0-14 7 7 0 0 0 0 14zM21 21l-6-6")}'
            "<span>Search</span></a>",
            f'<a href="{p}/explore/" role="link">{_svg("Explore")}<span>Explore</span></a>',
            f'<a href="{p}/reels/" role="link">{_svg("Reels")}<span>Reels</span></a>',
            f'<a href="{p}/direct/inbox/" role="link">{_svg("Direct")}<span>Messages</span></a>',
            f'<a href="#" role="link">{_svg("Notifications")}<span>Notifications</span></a>',
            create,
            f'<a href="{p}/{esc(user)}/" role="link"><img alt="{esc(user)}\'s profile picture" src="{_DOT}">'
            "<span>Profile</span></a>",
        ]
        return (f'<div class="{n.cls("nav")}" role="navigation" aria-label="Primary">'
                f'<div class="{n.cls("logo")}">Instagram <small>(ASFS sandbox)</small></div>'
                f"{''.join(n.order(items))}</div>")

    def _overlays(self, n: Names, sw: dict[str, Any]) -> str:
        if not sw.get("overlay"):
            return ""
        cookie_buttons = n.order([n.button("Allow all cookies", "cookies", tag="button"),
                                  n.button("Decline optional cookies", "cookies", tag="button",
                                           cls="link-btn")])
        notif_buttons = n.order([n.button("Turn On", "turn-on", tag="button"),
                                 n.button("Not Now", "not-now", tag="button", cls="link-btn")])
        return (f'<div class="{n.cls("modal", "cookies")}" data-part="cookies">'
                f'<div role="dialog" aria-modal="true" class="{n.cls("modal-card")}">'
                "<h2>Allow the use of cookies from Instagram by this browser?</h2>"
                "<p>We use cookies to help personalise content and to provide a safer experience.</p>"
                f"{''.join(cookie_buttons)}</div></div>"
                f'<div class="{n.cls("modal", "notif")}" data-part="notifications" hidden>'
                f'<div role="dialog" aria-modal="true" class="{n.cls("modal-card")}">'
                "<h2>Turn on Notifications</h2><p>Know right away when people follow you or like and comment "
                f"on your photos.</p>{''.join(notif_buttons)}</div></div>")

    def _create_dialog(self, n: Names, account: str) -> str:
        user = username_of(account)
        file_input = ('<input accept="image/jpeg,image/png,image/heic,image/heif,video/mp4,video/quicktime" '
                      f'class="{n.cls("_ac69")}" multiple type="file">')
        if not n.drift:
            file_input = f'<form enctype="multipart/form-data" method="POST" role="presentation">{file_input}</form>'
        select = [f'<span>Drag photos and videos here</span>',
                  n.button("Select from computer", "select-files", tag="button"), file_input]
        aspects = n.order([n.button(label, "aspect", inner=f"<span>{esc(label)}</span>",
                                    extra=f' data-v="{v}" aria-pressed="{str(v == DEFAULT_ASPECT).lower()}"')
                           for v, label in ASPECTS])
        head = n.order([
            n.button("", "back", label="Back", inner=_svg("Back", "M15 5l-7 7 7 7")),
            "<h1>Create new post</h1>",
            n.button("Next", "next", cls="link-btn") + n.button("Share", "share", cls="link-btn"),
        ])
        checkmark = (f'<svg aria-label="Animated checkmark" role="img" width="96" height="96"><circle cx="48" '
                     f'cy="48" r="40" fill="#c13584"/></svg>' if n.drift else
                     f'<img alt="Animated checkmark" width="96" height="96" src="{_DOT}">')
        return f"""
<div class="{n.cls('backdrop')}" data-part="create" hidden>
 <div role="dialog" aria-modal="true" aria-label="Create new post" class="{n.cls('create')}">
  <div class="{n.cls('create-head')}">{''.join(head)}</div>
  <div role="alert" class="{n.cls('alert')}" data-part="alert" hidden></div>
  <div class="{n.cls('create-body')}" data-step="select">
   {_svg("Icon to represent media such as images or videos", "M3 5h18v14H3zM10 9l5 3-5 3z")}
   {''.join(n.order(select))}
  </div>
  <div class="{n.cls('create-body')}" data-step="crop" hidden>
   <p>Preview</p>
   {n.button("", "select-crop", label="Select crop", inner=_svg("Select crop", "M6 2v16h16M2 6h16v16"))}
   <div class="{n.cls('aspect-menu')}" data-part="aspect-menu" hidden>{''.join(aspects)}</div>
  </div>
  <div class="{n.cls('create-body')}" data-step="edit" hidden>
   <div role="tablist"><span role="tab" aria-selected="true">Cover photo</span>
    <span role="tab" aria-selected="false">Trim</span></div>
   <div class="{n.cls('frames')}"><div></div><div></div><div></div><div></div></div>
   <span>Sound on</span>
  </div>
  <div class="{n.cls('create-body')}" data-step="caption" hidden>
   <div><img alt="{esc(user)}'s profile picture" src="{_DOT}"> <b>{esc(user)}</b></div>
   <div aria-label="Write a caption..." class="{n.cls('editor')}" contenteditable="true" role="textbox"
     spellcheck="true" tabindex="0"{'' if n.drift else ' data-lexical-editor="true"'}></div>
   <div class="{n.cls('counter')}" data-part="counter">0/2,200</div>
   <span>Add location</span><span>Accessibility</span><span>Advanced settings</span>
  </div>
  <div class="{n.cls('create-body')}" data-step="sharing" hidden>
   <img alt="Spinner placeholder" width="48" height="48" src="{_DOT}"></div>
  <div class="{n.cls('create-body')}" data-step="shared" hidden>
   {checkmark}<span>Your reel has been shared.</span></div>
  <div class="{n.cls('create-body')}" data-step="failed" hidden><span>Your reel couldn't be shared.</span></div>
 </div>
</div>
<div class="{n.cls('modal', 'reels-info')}" data-part="reels-info" hidden>
 <div role="dialog" aria-modal="true" class="{n.cls('modal-card')}">
  <h3>Video posts are now shared as reels</h3>
  <p>Your reel will be shared with your followers in their feeds and can be seen on your profile. It may also
  appear in places such as Reels, where anyone can watch it.</p>
  {n.button("OK", "reels-ok", tag="button")}</div></div>
<div class="{n.cls('modal', 'rate-dialog')}" data-part="rate-limit" hidden>
 <div role="dialog" aria-modal="true" class="{n.cls('modal-card')}">
  <h3>{RATE_LIMIT_TITLE}</h3><p data-part="rate-text">{RATE_LIMIT_MESSAGE}</p>
  {n.button("Tell us", "rate-tell", tag="button", cls="link-btn")}{n.button("OK", "rate-ok", tag="button")}</div></div>
"""

    def _layout(self, req: Request, account: str, sw: dict[str, Any], title: str, main: str) -> Response:
        n = Names(bool(sw.get("drift")))
        config = {"api": self.prefix, "sq": self._sq(req), "overlayDelay": self.overlay_delay_ms,
                  "reelsInfoDelay": self.reels_info_delay_ms, "defaultAspect": DEFAULT_ASPECT}
        raw = json.dumps(config).replace("</", "<\\/")
        script = f'<script type="application/json" id="sandbox-config">{raw}</script><script>{JS}</script>'
        body = (self._nav(n, account) + f'<main role="main">{main}</main>' + self._create_dialog(n, account)
                + self._overlays(n, sw))
        return self._page(title, body, n, script)

    def _new_code(self) -> str:
        while True:
            code = "D" + base64.urlsafe_b64encode(secrets.token_bytes(8)).decode()[:10]
            if self.sandbox.store.get(self.name, code) is None:
                return code

    def reel_url(self, code: str) -> str:
        return f"{self.base_url}/reel/{code}/"

    def _refresh(self, post: dict[str, Any]) -> dict[str, Any]:
        """Advance sharing by the clock (no background threads)."""
        if post["status"] == "sharing" and time.time() >= post["sharing_ends_at"]:
            if post.get("fail_message"):
                return self.sandbox.store.update(self.name, post["id"], status="failed", error=post["fail_message"])
            return self.sandbox.store.update(self.name, post["id"], status="shared", shared_at=iso(utcnow()),
                                             shared_ts=time.time())
        return post

    def reels(self, username: str) -> list[dict[str, Any]]:
        """The shared reels of a username, newest first (what its profile lists)."""
        posts = [self._refresh(p) for p in self.sandbox.store.list(self.name)
                 if username_of(p["account"]) == username.lower()]
        shared = [p for p in posts if p["status"] == "shared"]
        return sorted(shared, key=lambda p: (p.get("shared_ts") or 0, p["seq"]), reverse=True)

    def _by_upload(self, account: str, upload_id: str) -> dict[str, Any] | None:
        for post in self.sandbox.store.list(self.name, account):
            if post.get("upload_id") == upload_id:
                return post
        return None

    def seed(self, account: str, caption: str = "", *, data: bytes = b"seeded") -> dict[str, Any]:
        """An already shared reel on ``account``'s profile (tests and the demo)."""
        code = self._new_code()
        post = self.sandbox.store.create(self.name, account, code, username=username_of(account),
                                         caption=caption, url=self.reel_url(code), switches=[], seeded=True)
        target = Path(post["dir"]) / "video.mp4"
        target.write_bytes(data)
        return self.sandbox.store.update(self.name, code, status="shared", file=str(target), size=len(data),
                                         shared_at=iso(utcnow()), shared_ts=time.time())

    # -- pages -------------------------------------------------------------------------------------

    @route("GET", r"/?")
    def home(self, req: Request) -> Response:
        account, sw, redirect = self._gate(req)
        if redirect is not None:
            return redirect
        n = Names(bool(sw.get("drift")))
        posts = "".join(
            f'<article><header><b>{who}</b></header><div class="{n.cls("photo")}"></div>'
            f"<p><b>{who}</b> {esc(text)}</p></article>"
            for who, text in (("natgeo", "Sunrise over the dunes."), ("nasa", "A new look at an old galaxy.")))
        main = f'<section class="{n.cls("feed")}"><h2 hidden>Feed</h2>{posts}</section>'
        return self._layout(req, account, sw, "Instagram", main)

    @route("GET", rf"/(?!(?:{'|'.join(RESERVED)})/)(?P<username>{USERNAME})/(?:(?P<tab>reels)/)?")
    def profile(self, req: Request, username: str, tab: str | None = None) -> Response:
        account, sw, redirect = self._gate(req)
        if redirect is not None:
            return redirect
        username = username.lower()
        n = Names(bool(sw.get("drift")))
        known = username == username_of(account) or any(
            username_of(p["account"]) == username for p in self.sandbox.store.list(self.name))
        if not known:
            main = ("<h2>Sorry, this page isn't available.</h2><p>The link you followed may be broken, or the page "
                    "may have been removed.</p>")
            return self._layout(req, account, sw, "Page not found • Instagram", main)
        reels = self.reels(username)
        tiles = []
        for p in reels:
            href = (f"{self.prefix}/{username}/reel/{p['id']}/" if n.drift else f"{self.prefix}/reel/{p['id']}/")
            tiles.append(f'<a href="{href}" role="link" tabindex="0"><img alt="{esc(p.get("caption") or "")}" '
                         f'src="{_DOT}"><span>{esc((p.get("caption") or "")[:80])}</span></a>')
        if tiles:
            grid = f'<div class="{n.cls("grid")}">{"".join(tiles)}</div>'
        elif tab == "reels":
            grid = f'<div class="{n.cls("empty")}"><h2>Share a moment with the world</h2></div>'
        else:
            grid = (f'<div class="{n.cls("empty")}"><h2>Share Photos</h2><p>When you share photos, they will '
                    "appear on your profile.</p></div>")
        base = f"{self.prefix}/{username}/"
        main = (f'<header class="{n.cls("profile-head")}"><img alt="{esc(username)}\'s profile picture" '
                f'width="150" height="150" src="{_DOT}"><section><h2>{esc(username)}</h2>'
                f"<div><b>{len(reels)}</b> posts</div></section></header>"
                f'<div class="{n.cls("tabs")}" role="tablist">'
                f'<a href="{base}" role="tab" aria-selected="{str(tab != "reels").lower()}">Posts</a>'
                f'<a href="{base}reels/" role="tab" aria-selected="{str(tab == "reels").lower()}">Reels</a></div>'
                f"{grid}")
        title = f"{username} • Instagram photos and videos"
        return self._layout(req, account, sw, title, main)

    @route("GET", rf"/(?:{USERNAME}/)?(?:reel|p)/(?P<code>{SHORTCODE})/?")
    def reel(self, req: Request, code: str) -> Response:
        post = self.sandbox.store.get(self.name, code)
        post = self._refresh(post) if post else None
        if post is None or post["status"] != "shared":
            return self._page("Page not found • Instagram", "<main><h2>Sorry, this page isn't available.</h2></main>")
        user = username_of(post["account"])
        caption = post.get("caption") or ""
        og = f'<meta property="og:description" content="{esc(user)} on Instagram: &quot;{esc(caption)}&quot;">'
        body = (f"{og}<main><article><video controls width=\"320\" src=\"{self.prefix}/media/{code}\"></video>"
                f"<div><a href=\"{self.prefix}/{esc(user)}/\">{esc(user)}</a><h1 dir=\"auto\">{esc(caption)}</h1>"
                f"</div></article></main>")
        return self._page(f"{user} on Instagram", body)

    @route("GET", rf"/media/(?P<code>{SHORTCODE})")
    def media(self, req: Request, code: str) -> Response:
        post = self.sandbox.store.get(self.name, code)
        if post is None or not post.get("file") or not Path(post["file"]).is_file():
            return Response.html("<h1>404 Not Found</h1>", 404)
        return Response.send_file(Path(post["file"]), "video/mp4")

    # -- the upload API used by the page's script ----------------------------------------------------

    @route("POST", r"/rupload_igvideo/(?P<upload_id>[0-9A-Za-z_-]{1,64})")
    def rupload(self, req: Request, upload_id: str) -> Response:
        account = self.account(req)
        if account is None:
            return Response.json({"message": "login_required", "status": "fail"}, 403)
        sw = self.switches(req, account)
        if sw.get("rate_limit"):
            return Response.json({"message": RATE_LIMIT_MESSAGE, "title": RATE_LIMIT_TITLE, "status": "fail"}, 429)
        if self._by_upload(account, upload_id) is not None:
            return Response.json({"message": "This upload was already received.", "status": "fail"}, 409)
        code = self._new_code()
        post = self.sandbox.store.create(self.name, account, code, upload_id=upload_id, username=username_of(account),
                                         caption=None, aspect=None, url=self.reel_url(code), switches=sorted(sw))
        try:
            _, files = req.multipart(Path(post["dir"]))
        except MultipartError as exc:
            self.sandbox.store.update(self.name, code, status="failed", error=str(exc))
            return Response.json({"message": f"Something went wrong: {exc}", "status": "fail"}, 400)
        saved = files.get("video")
        if saved is None:
            self.sandbox.store.update(self.name, code, status="failed", error="no file")
            return Response.json({"message": "Something went wrong: no video was received.", "status": "fail"}, 400)
        target = Path(post["dir"]) / f"video{saved.path.suffix}"
        saved.path.replace(target)
        if sw.get("fail") in ("transient", "network"):
            target.unlink(missing_ok=True)
            self.sandbox.store.update(self.name, code, status="failed", error=NETWORK_MESSAGE)
            return Response.json({"message": NETWORK_MESSAGE, "status": "fail"}, 503)
        self.sandbox.store.update(self.name, code, status="uploaded", filename=saved.filename, file=str(target),
                                  size=saved.size, sha256=saved.sha256, uploaded_at=iso(utcnow()))
        return Response.json({"upload_id": upload_id, "status": "ok"})

    @route("POST", r"/api/v1/media/configure_to_clips/?")
    def configure(self, req: Request) -> Response:
        account = self.account(req)
        if account is None:
            return Response.json({"message": "login_required", "status": "fail"}, 403)
        sw = self.switches(req, account)
        if sw.get("rate_limit"):
            return Response.json({"message": RATE_LIMIT_MESSAGE, "title": RATE_LIMIT_TITLE, "status": "fail"}, 429)
        data = req.json()
        post = self._by_upload(account, str(data.get("upload_id") or ""))
        if post is None or post["status"] != "uploaded":
            return Response.json({"message": "Your reel couldn't be shared. Please try again.", "status": "fail"}, 409)
        caption = str(data.get("caption") or "")
        if len(caption) > CAPTION_LIMIT:
            return Response.json({"message": "Your reel couldn't be shared: the caption is too long "
                                             f"({len(caption)}/2,200).", "status": "fail"}, 400)
        if len(HASHTAG_RE.findall(caption)) > HASHTAG_LIMIT:
            return Response.json({"message": "Your reel couldn't be shared because it has more than 30 hashtags.",
                                  "status": "fail"}, 400)
        aspect = str(data.get("aspect") or DEFAULT_ASPECT)
        fail = sw.get("fail")
        fail_message = None
        if fail in ("permanent", "rejected", "invalid"):
            fail_message = REJECTED_MESSAGE
        elif fail and fail not in ("transient", "network"):
            fail_message = str(fail)
        seconds = sw.get("slow") or self.sandbox.processing_seconds
        self.sandbox.store.update(self.name, post["id"], status="sharing", caption=caption, aspect=aspect,
                                  cover_frame=data.get("cover_frame"), share_clicked_at=iso(utcnow()),
                                  share_ts=time.time(), sharing_seconds=seconds, sharing_ends_at=time.time() + seconds,
                                  fail_message=fail_message)
        return Response.json({"status": "ok", "upload_id": post["upload_id"]})

    @route("GET", r"/api/v1/clips/status/(?P<upload_id>[0-9A-Za-z_-]{1,64})/?")
    def share_status(self, req: Request, upload_id: str) -> Response:
        account = self.account(req)
        post = self._by_upload(account, upload_id) if account else None
        if post is None:
            return Response.json({"message": "Not found", "status": "fail"}, 404)
        post = self._refresh(post)
        return Response.json({"state": post["status"], "message": post.get("error")})

    # -- accounts ---------------------------------------------------------------------------------------

    @route("GET", r"/accounts/login/?")
    def login_page(self, req: Request, error: str = "") -> Response:
        if self.account(req) is not None and not error:
            return Response.redirect(continue_target(self, req.query.get("next")))
        nxt = req.query.get("next", "")
        err = f'<p role="alert" style="color:#ed4956">{esc(error)}</p>' if error else ""
        body = ("<main style='margin:60px auto;max-width:350px'><h1 style='font:italic 600 36px Georgia'>Instagram</h1>"
                f'{err}<form id="loginForm" method="post"><input type="hidden" name="next" value="{esc(nxt)}">'
                '<p><input name="username" aria-label="Phone number, username, or email" autocomplete="username" '
                'style="width:100%;padding:9px"></p>'
                '<p><input name="password" type="password" aria-label="Password" autocomplete="current-password" '
                'style="width:100%;padding:9px"></p>'
                '<p><button type="submit">Log in</button></p></form>'
                "<p>Don't have an account? <a href=\"#\">Sign up</a></p></main>")
        return self._page("Login • Instagram", body)

    @route("POST", r"/accounts/login/?")
    def login_post(self, req: Request) -> Response:
        form = req.form()
        account = form.get("username", "").strip()
        if not account or not form.get("password"):
            return self.login_page(req, "Sorry, your password was incorrect. Please double-check your password.")
        token = self.sandbox.new_session(self.name, account)
        resp = Response.redirect(continue_target(self, form.get("next")))
        return resp.set_cookie(self.session_cookie, token, path=self.prefix)

    @route("GET", r"/accounts/logout/?")
    def logout(self, req: Request) -> Response:
        account = self.sandbox.session_account(self.name, req.cookies.get(self.session_cookie))
        if account:
            self.sandbox.sign_out(self.name, account)
        resp = Response.redirect(f"{self.prefix}/accounts/login/")
        return resp.set_cookie(self.session_cookie, "", path=self.prefix, max_age=0)

    @route("GET", r"/challenge/?")
    def challenge(self, req: Request) -> Response:
        frame = ("<label style='font:16px Arial'><input type=checkbox> I'm not a robot</label>"
                 "<div style='font:10px Arial;color:#777'>reCAPTCHA</div>")
        body = ("<main style='margin:60px auto;max-width:420px'><h2>Help us confirm it's you</h2>"
                "<p>We noticed unusual activity on your account. Complete this security check to continue.</p>"
                f'<form method="post" action="{self.prefix}/challenge/"><iframe title="reCAPTCHA" width="304" '
                f'height="78" srcdoc="{esc(frame)}"></iframe><p><button type="submit">Next</button></p></form></main>')
        return self._page("Instagram", body)

    # -- automation ---------------------------------------------------------------------------------------

    def sign_in(self, page: Any, account: str, password: str | None = None, timeout: float = 10.0) -> None:
        """Fill the log-in page that ``page`` shows (no-op when it is not on it)."""
        if "/accounts/login" not in page.url:
            return
        ms = timeout * 1000
        page.locator("input[name=username]").fill(account, timeout=ms)
        page.locator("input[name=password]").fill(password or "sandbox-password", timeout=ms)
        page.locator("#loginForm button[type=submit]").click(timeout=ms)
        page.wait_for_url(lambda u: "/accounts/login" not in u, timeout=ms)
