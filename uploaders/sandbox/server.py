"""The sandbox platform's web server: one stdlib HTTP server, one app per platform.

Each platform app (``uploaders/sandbox/youtube.py``, later ``tiktok.py``, ``instagram.py``)
is a :class:`PlatformApp` subclass registered with :func:`register_app`; the server mounts
it under ``/<name>`` (``http://127.0.0.1:<port>/youtube``), which is the ``base_url`` a
channel points at. Apps share the post store, the sessions and the switches.

Switches change how an app behaves, for one account (``Sandbox.configure``), for one browser
(cookie ``sandbox``) or for one request (query ``?sandbox=``); the cookie and the query hold
a comma list such as ``drift,overlay,slow=2``. The known switches are in :data:`SWITCHES`.
"""

from __future__ import annotations

import hashlib
import html
import itertools
import json
import logging
import re
import secrets
import shutil
import tempfile
import threading
import time
import traceback
import weakref
from dataclasses import dataclass
from datetime import datetime, timezone
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterator
from urllib.parse import parse_qsl, quote, urlsplit

log = logging.getLogger("asfs.sandbox")

MAX_UPLOAD_BYTES = 2 * 1024 ** 3

# name -> (kind, help). Values from cookies/queries are strings and are parsed by kind.
SWITCHES: dict[str, tuple[str, str]] = {
    "slow": ("seconds", "processing takes this many seconds (true = 4 s)"),
    "rate_limit": ("bool", "answer every new upload with the platform's rate-limit message"),
    "signed_out": ("bool", "treat the account as signed out: redirect to the sign-in page"),
    "captcha": ("bool", "show a captcha instead of the upload page"),
    "fail": ("text", "fail the upload: 'transient' (network error), 'permanent' (rejected) or a message"),
    "overlay": ("bool", "put a modal overlay over the buttons once the upload starts"),
    "drift": ("bool", "rename ids/class names and reorder the page, so only fallbacks match"),
    "timezone": ("text", "the account's time zone, for scheduled posts (default UTC)"),
    "iframe": ("bool", "serve the upload UI inside an iframe (TikTok Studio does, for some accounts)"),
}


def parse_switches(text: str | None) -> dict[str, Any]:
    """``"drift,slow=2,fail=permanent"`` -> ``{"drift": True, "slow": 2.0, "fail": "permanent"}``."""
    out: dict[str, Any] = {}
    for item in (text or "").split(","):
        item = item.strip()
        if not item:
            continue
        name, _, value = item.partition("=")
        name = name.strip()
        if name not in SWITCHES:
            continue  # unknown switches in a browser cookie are ignored, not fatal
        out[name] = _coerce(name, value.strip() if _ else True)
    return out


def _coerce(name: str, value: Any) -> Any:
    kind = SWITCHES[name][0]
    if value is None:
        return None
    if kind == "bool":
        if isinstance(value, str):
            return value.lower() not in ("0", "false", "no", "off", "")
        return bool(value)
    if kind == "seconds":
        if value is True or (isinstance(value, str) and value.lower() in ("1", "true", "yes", "on", "")):
            return 4.0
        if value is False or (isinstance(value, str) and value.lower() in ("0", "false", "no", "off")):
            return None
        return float(value)
    if value is True:
        return "transient"
    return str(value) if value else None


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def iso(dt: datetime | None) -> str | None:
    return dt.astimezone(timezone.utc).isoformat(timespec="seconds") if dt else None


def esc(text: Any) -> str:
    return html.escape("" if text is None else str(text), quote=True)


# -- requests and responses ------------------------------------------------------------------


@dataclass
class SavedFile:
    field: str
    filename: str
    path: Path
    size: int
    sha256: str


class MultipartError(ValueError):
    pass


class Request:
    """One HTTP request as an app sees it (``path`` is relative to the app's mount point)."""

    def __init__(self, handler: BaseHTTPRequestHandler, app_path: str, prefix: str):
        parts = urlsplit(handler.path)
        self.handler = handler
        self.method = handler.command
        self.prefix = prefix
        self.path = app_path or "/"
        self.raw_query = parts.query
        self.query: dict[str, str] = dict(parse_qsl(parts.query, keep_blank_values=True))
        self.headers = handler.headers
        cookie = SimpleCookie()
        try:
            cookie.load(handler.headers.get("Cookie", ""))
        except Exception:  # noqa: BLE001 - a malformed cookie header is the browser's problem
            pass
        self.cookies = {k: m.value for k, m in cookie.items()}
        self._body: bytes | None = None

    @property
    def length(self) -> int:
        try:
            return max(0, int(self.headers.get("Content-Length") or 0))
        except ValueError:
            return 0

    def body(self, limit: int = 1024 * 1024) -> bytes:
        if self._body is None:
            n = self.length
            if n > limit:
                raise MultipartError(f"request body too large ({n} bytes)")
            self._body = self.handler.rfile.read(n) if n else b""
        return self._body

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body().decode("utf-8", "replace"), keep_blank_values=True))

    def json(self) -> Any:
        data = self.body()
        return json.loads(data.decode("utf-8")) if data else {}

    def multipart(self, dest: Path) -> tuple[dict[str, str], dict[str, SavedFile]]:
        """Stream a ``multipart/form-data`` body: text fields in memory, files to ``dest``."""
        ctype = self.headers.get("Content-Type", "")
        m = re.search(r'boundary="?([^";]+)"?', ctype)
        if not ctype.lower().startswith("multipart/form-data") or not m:
            raise MultipartError("expected a multipart/form-data body")
        if self.length > MAX_UPLOAD_BYTES:
            raise MultipartError("the file is too large for the sandbox")
        return _parse_multipart(self.handler.rfile, self.length, m.group(1).encode("latin-1"), dest)


def _parse_multipart(stream, length: int, boundary: bytes, dest: Path
                     ) -> tuple[dict[str, str], dict[str, SavedFile]]:
    remaining = length
    delim = b"\r\n--" + boundary
    buf = b"\r\n"  # so the first boundary looks like every later one
    fields: dict[str, str] = {}
    files: dict[str, SavedFile] = {}

    def fill() -> bool:
        nonlocal buf, remaining
        if remaining <= 0:
            return False
        chunk = stream.read(min(256 * 1024, remaining))
        if not chunk:
            remaining = 0
            return False
        remaining -= len(chunk)
        buf += chunk
        return True

    # preamble up to the first delimiter
    while (i := buf.find(delim)) < 0:
        if not fill():
            raise MultipartError("no multipart boundary in the body")
    buf = buf[i + len(delim):]
    while True:
        while len(buf) < 2 and fill():
            pass
        if buf.startswith(b"--"):
            break  # closing delimiter
        if not buf.startswith(b"\r\n"):
            raise MultipartError("malformed multipart delimiter")
        buf = buf[2:]
        while (h := buf.find(b"\r\n\r\n")) < 0:
            if not fill():
                raise MultipartError("truncated part headers")
        headers = buf[:h].decode("utf-8", "replace")
        buf = buf[h + 4:]
        disp = next((line for line in headers.split("\r\n") if line.lower().startswith("content-disposition")), "")
        name = (re.search(r'\bname="([^"]*)"', disp) or [None, ""])[1]
        fname_m = re.search(r'filename="([^"]*)"', disp)
        sink = None
        digest = hashlib.sha256()
        size = 0
        target = None
        chunks: list[bytes] = []
        if fname_m is not None:
            dest.mkdir(parents=True, exist_ok=True)
            suffix = Path(fname_m.group(1)).suffix.lower()
            suffix = suffix if re.fullmatch(r"\.[a-z0-9]{1,8}", suffix) else ".bin"
            target = dest / f"upload-{secrets.token_hex(6)}{suffix}"
            sink = target.open("wb")
        try:
            while True:
                i = buf.find(delim)
                if i >= 0:
                    piece, buf = buf[:i], buf[i + len(delim):]
                else:
                    keep = len(delim) - 1
                    piece, buf = buf[:-keep] if len(buf) > keep else b"", buf[-keep:] if len(buf) > keep else buf
                if piece:
                    size += len(piece)
                    if sink is not None:
                        sink.write(piece)
                        digest.update(piece)
                    else:
                        chunks.append(piece)
                if i >= 0:
                    break
                if not fill():
                    raise MultipartError("truncated multipart body")
        finally:
            if sink is not None:
                sink.close()
        if target is not None:
            files[name] = SavedFile(name, Path(fname_m.group(1)).name, target, size, digest.hexdigest())
        else:
            fields[name] = b"".join(chunks).decode("utf-8", "replace")
    return fields, files


class Response:
    def __init__(self, body: bytes | str = b"", status: int = 200, content_type: str = "text/html; charset=utf-8"):
        self.body = body.encode("utf-8") if isinstance(body, str) else body
        self.status = status
        self.headers: list[tuple[str, str]] = [("Content-Type", content_type)]
        self.file: Path | None = None

    @classmethod
    def html(cls, text: str, status: int = 200) -> "Response":
        return cls(text, status)

    @classmethod
    def json(cls, obj: Any, status: int = 200) -> "Response":
        return cls(json.dumps(obj), status, "application/json")

    @classmethod
    def redirect(cls, location: str, status: int = 302) -> "Response":
        r = cls(f'<a href="{esc(location)}">moved</a>', status)
        r.headers.append(("Location", location))
        return r

    @classmethod
    def send_file(cls, path: Path, content_type: str = "application/octet-stream") -> "Response":
        r = cls(b"", 200, content_type)
        r.file = path
        return r

    def set_cookie(self, name: str, value: str, *, path: str = "/", max_age: int | None = 30 * 86400) -> "Response":
        parts = [f"{name}={value}", f"Path={path}", "HttpOnly", "SameSite=Lax"]
        if max_age is not None:
            parts.append(f"Max-Age={max_age}")
        self.headers.append(("Set-Cookie", "; ".join(parts)))
        return self


# -- apps --------------------------------------------------------------------------------------

Route = tuple[str, re.Pattern, str]


def route(method: str, pattern: str) -> Callable:
    """Mark a PlatformApp method as the handler of ``method`` + path regex (full match)."""

    def mark(fn: Callable) -> Callable:
        fn._sandbox_routes = getattr(fn, "_sandbox_routes", []) + [(method.upper(), pattern)]
        return fn

    return mark


class PlatformApp:
    """One platform's pages and API, mounted under ``/<name>``.

    Subclasses set ``name`` (mount point and key), ``platform`` (the ASFS platform name) and
    ``session_cookie``; they mark handlers with :func:`route` and implement :meth:`sign_in`
    (drive their sign-in page in a Playwright page, for tests and the demo).
    """

    name: ClassVar[str] = ""
    platform: ClassVar[str] = ""
    session_cookie: ClassVar[str] = "sandbox_session"

    def __init__(self, sandbox: "Sandbox"):
        self.sandbox = sandbox
        self.routes: list[Route] = []
        for attr in dir(type(self)):
            fn = getattr(type(self), attr, None)
            for method, pattern in getattr(fn, "_sandbox_routes", ()):
                self.routes.append((method, re.compile(pattern), attr))

    @property
    def prefix(self) -> str:
        return f"/{self.name}"

    @property
    def base_url(self) -> str:
        return self.sandbox.url + self.prefix

    def handle(self, req: Request) -> Response:
        allowed = False
        for method, pattern, attr in self.routes:
            m = pattern.fullmatch(req.path)
            if m is None:
                continue
            allowed = True
            if method == req.method:
                return getattr(self, attr)(req, **m.groupdict())
        return Response.html("<h1>405</h1>", 405) if allowed else Response.html("<h1>404 Not Found</h1>", 404)

    # sessions and switches

    def account(self, req: Request) -> str | None:
        """The signed-in account of this request (None when signed out)."""
        token = req.cookies.get(self.session_cookie)
        account = self.sandbox.session_account(self.name, token)
        if account is None or self.switches(req, account).get("signed_out"):
            return None
        return account

    def switches(self, req: Request, account: str | None) -> dict[str, Any]:
        sw = dict(self.sandbox.switches(self.name, account))
        sw.update(parse_switches(req.cookies.get("sandbox")))
        sw.update(parse_switches(req.query.get("sandbox")))
        return {k: v for k, v in sw.items() if v not in (None, False)}

    def sign_in(self, page: Any, account: str, password: str | None = None) -> None:  # pragma: no cover
        raise NotImplementedError


APPS: dict[str, type[PlatformApp]] = {}


def register_app(cls: type[PlatformApp]) -> type[PlatformApp]:
    """Class decorator: make a platform app part of every new sandbox."""
    if not cls.name or not re.fullmatch(r"[a-z0-9_-]+", cls.name):
        raise ValueError("a sandbox app needs a lowercase name")
    APPS[cls.name] = cls
    return cls


def _load_apps() -> None:
    import importlib
    import pkgutil

    import uploaders.sandbox as pkg

    for mod in pkgutil.iter_modules(pkg.__path__):
        if mod.name not in ("server", "__init__") and not mod.name.startswith("_"):
            importlib.import_module(f"{pkg.__name__}.{mod.name}")


# -- posts on disk ------------------------------------------------------------------------------


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9._-]+", "-", str(text).lower()).strip("-.")[:60] or "account"


class PostStore:
    """Posts as folders: ``<root>/<app>/<account>/<post id>/post.json`` plus the video file."""

    def __init__(self, root: Path):
        self.root = root
        self._posts: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.RLock()
        self._seq = itertools.count(1)

    def _dir(self, app: str, account: str, post_id: str) -> Path:
        return self.root / app / _slug(account) / post_id

    def create(self, app: str, account: str, post_id: str, **fields: Any) -> dict[str, Any]:
        with self._lock:
            if (app, post_id) in self._posts:
                raise KeyError(post_id)
            post = {"id": post_id, "platform": app, "account": account, "status": "created",
                    "created_at": iso(utcnow()), "seq": next(self._seq), **fields}
            post["dir"] = str(self._dir(app, account, post_id))
            self._posts[(app, post_id)] = post
            self._save(post)
            return dict(post)

    def update(self, app: str, post_id: str, **fields: Any) -> dict[str, Any]:
        with self._lock:
            post = self._posts[(app, post_id)]
            post.update(fields)
            self._save(post)
            return dict(post)

    def get(self, app: str, post_id: str) -> dict[str, Any] | None:
        with self._lock:
            post = self._posts.get((app, post_id))
            return dict(post) if post else None

    def list(self, app: str | None = None, account: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            posts = [dict(p) for (a, _), p in self._posts.items()
                     if (app is None or a == app) and (account is None or p["account"] == account)]
        return sorted(posts, key=lambda p: p["seq"], reverse=True)

    def _save(self, post: dict[str, Any]) -> None:
        d = Path(post["dir"])
        d.mkdir(parents=True, exist_ok=True)
        tmp = d / "post.json.tmp"
        tmp.write_text(json.dumps(post, indent=2, sort_keys=True))
        tmp.replace(d / "post.json")


# -- the server ---------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    sandbox: "Sandbox"
    server_version = "ASFS-Sandbox/1"

    def log_message(self, fmt: str, *args: Any) -> None:  # quiet: the stdlib prints to stderr
        log.debug("%s " + fmt, self.address_string(), *args)

    def _dispatch(self) -> None:
        path = urlsplit(self.path).path
        try:
            resp = self.sandbox._route(self, path)
        except Exception:  # noqa: BLE001 - a sandbox bug shows as a 500 page, the server lives on
            log.exception("sandbox handler failed for %s %s", self.command, self.path)
            resp = Response.html(f"<h1>500 Internal Server Error</h1><pre>{esc(traceback.format_exc())}</pre>", 500)
        self._send(resp)

    def _send(self, resp: Response) -> None:
        try:
            self.send_response(resp.status)
            size = resp.file.stat().st_size if resp.file is not None else len(resp.body)
            for k, v in resp.headers:
                self.send_header(k, v)
            self.send_header("Content-Length", str(size))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if self.command == "HEAD":
                return
            if resp.file is not None:
                with resp.file.open("rb") as f:
                    shutil.copyfileobj(f, self.wfile)
            else:
                self.wfile.write(resp.body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    do_GET = do_POST = do_HEAD = _dispatch


class Sandbox:
    """The local sandbox platform on 127.0.0.1.

        with Sandbox(tmp_path / "sandbox") as sb:
            channel["base_url"] = sb.base_url("youtube")
            sb.configure("my-account", platform="youtube", rate_limit=True)

    Args:
        root: where posts are stored (a temporary folder, removed on stop, when None).
        port: 0 picks any free port.
        processing_seconds: how long "processing" takes without the ``slow`` switch.
    """

    def __init__(self, root: str | Path | None = None, *, port: int = 0, processing_seconds: float = 0.4,
                 apps: list[str] | None = None):
        self._own_root = root is None
        self.root = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="asfs-sandbox-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.port = port
        self.processing_seconds = processing_seconds
        self.store = PostStore(self.root)
        self._config: dict[tuple[str, str], dict[str, Any]] = {}
        self._sessions: dict[tuple[str, str], str] = {}
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        _load_apps()
        names = apps or list(APPS)
        self.apps: dict[str, PlatformApp] = {n: APPS[n](self) for n in names}
        self._finalizer: weakref.finalize | None = None

    # lifecycle

    def start(self) -> "Sandbox":
        if self._server is not None:
            return self
        handler = type("SandboxHandler", (_Handler,), {"sandbox": self})
        server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        server.daemon_threads = True
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"asfs-sandbox-{self.port}", daemon=True)
        self._thread.start()
        # A forgotten sandbox still stops when it is garbage-collected or at exit.
        self._finalizer = weakref.finalize(self, _stop_server, server, self._thread,
                                           self.root if self._own_root else None)
        log.info("sandbox platform on %s (%s)", self.url, ", ".join(self.apps))
        return self

    def stop(self) -> None:
        if self._finalizer is not None:
            self._finalizer()
        self._server = None
        self._thread = None

    @property
    def running(self) -> bool:
        return self._server is not None

    def __enter__(self) -> "Sandbox":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the sandbox is not running; call start() first")
        return f"http://127.0.0.1:{self.port}"

    def base_url(self, platform: str) -> str:
        """The base URL a channel of ``platform`` (``"youtube"`` or ``"YouTube"``) points at."""
        return self.app(platform).base_url

    def app(self, platform: str) -> PlatformApp:
        key = str(platform).lower()
        if key not in self.apps:
            raise KeyError(f"the sandbox has no {platform!r} app (it has: {', '.join(self.apps)})")
        return self.apps[key]

    # switches

    def configure(self, account: str, platform: str | None = None, **switches: Any) -> dict[str, Any]:
        """Set switches for one account (on one platform, or on all when None); None clears one.

        Returns the account's switches after the change.
        """
        key = (str(platform).lower() if platform else "*", account)
        with self._lock:
            cfg = self._config.setdefault(key, {})
            for name, value in switches.items():
                if name not in SWITCHES:
                    raise ValueError(f"unknown sandbox switch {name!r}; known: {', '.join(SWITCHES)}")
                value = _coerce(name, value)
                if value in (None, False):
                    cfg.pop(name, None)
                else:
                    cfg[name] = value
            return dict(cfg)

    def reset(self, account: str | None = None) -> None:
        with self._lock:
            for key in [k for k in self._config if account is None or k[1] == account]:
                del self._config[key]

    def switches(self, platform: str, account: str | None) -> dict[str, Any]:
        with self._lock:
            out = dict(self._config.get(("*", account or ""), {}))
            out.update(self._config.get((platform.lower(), account or ""), {}))
            return out

    # sessions

    def new_session(self, platform: str, account: str) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._sessions[(platform.lower(), token)] = account
        return token

    def session_account(self, platform: str, token: str | None) -> str | None:
        if not token:
            return None
        with self._lock:
            return self._sessions.get((platform.lower(), token))

    def sign_out(self, platform: str, account: str) -> int:
        """End every session of ``account`` on ``platform``; returns how many there were."""
        with self._lock:
            keys = [k for k, a in self._sessions.items() if k[0] == platform.lower() and a == account]
            for k in keys:
                del self._sessions[k]
            return len(keys)

    def cookie(self, platform: str, account: str) -> dict[str, Any]:
        """A signed-in session cookie for Playwright's ``context.add_cookies([...])``."""
        app = self.app(platform)
        return {"name": app.session_cookie, "value": self.new_session(app.name, account),
                "url": app.base_url + "/", "httpOnly": True, "sameSite": "Lax",
                "expires": time.time() + 30 * 86400}

    def sign_in(self, page: Any, platform: str, account: str, password: str | None = None) -> None:
        """Fill the app's sign-in page that ``page`` shows (for ``browser.login(on_page=...)``)."""
        self.app(platform).sign_in(page, account, password)

    # posts

    def posts(self, platform: str | None = None, account: str | None = None) -> list[dict[str, Any]]:
        """Stored posts, newest first."""
        return self.store.list(platform.lower() if platform else None, account)

    def post(self, platform: str, post_id: str) -> dict[str, Any] | None:
        return self.store.get(platform.lower(), post_id)

    # routing

    def _route(self, handler: BaseHTTPRequestHandler, path: str) -> Response:
        for name, app in self.apps.items():
            if path == app.prefix or path.startswith(app.prefix + "/"):
                return app.handle(Request(handler, path[len(app.prefix):], app.prefix))
        if path in ("/", ""):
            links = "".join(f'<li><a href="{esc(a.prefix)}/">{esc(a.platform or n)}</a></li>'
                            for n, a in self.apps.items())
            return Response.html(f"<!doctype html><title>ASFS sandbox</title><h1>ASFS sandbox platform</h1>"
                                 f"<ul>{links}</ul>")
        return Response.html("<h1>404 Not Found</h1>", 404)


def _stop_server(server: ThreadingHTTPServer, thread: threading.Thread, remove: Path | None) -> None:
    try:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    finally:
        if remove is not None:
            shutil.rmtree(remove, ignore_errors=True)


def continue_target(app: PlatformApp, value: str | None) -> str:
    """A sign-in ``continue`` target, kept on the sandbox (no open redirects)."""
    if value:
        parts = urlsplit(value)
        if (not parts.scheme or value.startswith(app.sandbox.url)) and parts.path.startswith(app.prefix):
            return parts.path + (f"?{parts.query}" if parts.query else "")
    return app.prefix + "/"


def quote_url(value: str) -> str:
    return quote(value, safe="")


def iter_apps() -> Iterator[type[PlatformApp]]:
    _load_apps()
    return iter(APPS.values())
