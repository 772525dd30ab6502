"""The local HTTP API (seed 004's endpoints) over :class:`CentralOrchestrationService`.

Built on FastAPI: request bodies are pydantic models, and the OpenAPI document
(``/openapi.json``) and the interactive docs (``/docs``) come with it. Every handler calls the
same service method the window and scripts call.

Security: the server listens on 127.0.0.1 unless ``api_host`` says otherwise, and every request
under ``/api/`` must carry ``Authorization: Bearer <token>``, where the token is made at the
first start and kept in ``<data dir>/api-token`` (mode 0600); a missing or wrong token gets 401
before anything else is looked at. ``/docs`` and ``/openapi.json`` describe the API without
touching any data and stay open, so the docs page loads in a browser (its "Authorize" button
takes the token).

Statuses: 200 with the service's result; 401 (no or wrong token); 404 (an unknown video,
channel or job); 409 (a rule: a duplicate, a schedule conflict or a past time — with every
conflict listed —, a paused system, an unavailable channel); 422 (a malformed body or a bad
value, with ``field`` naming it); 502 (GitHub refused or could not be reached). Bad input never
gets a 500.

    server = start_api_server(db_path, settings)        # a thread running uvicorn
    print(server.url, server.token_path)
    server.stop()
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
import stat
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from starlette.exceptions import HTTPException as StarletteHTTPException

from database import Database, utcnow
from database.errors import ASFSError, ConflictError, NotFoundError, ValidationError
from database.paths import DataPaths

from .orchestrator import MAX_DELAY_SECONDS, CentralOrchestrationService
from .scheduling import ScheduleConflictError
from .settings import Settings

log = logging.getLogger("asfs.api")

TOKEN_FILE = "api-token"
PREFIX = "/api/orchestration"


# -- the token --------------------------------------------------------------------------------------------


def token_path(data_dir: str | os.PathLike) -> Path:
    return Path(data_dir) / TOKEN_FILE


def ensure_api_token(data_dir: str | os.PathLike) -> str:
    """The API token of a data directory, made (random, 256 bits) and stored with mode 0600 on first use."""
    path = token_path(data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        text = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        text = ""
    if len(text) >= 32:
        if os.name == "posix" and stat.S_IMODE(path.stat().st_mode) & 0o077:
            os.chmod(path, 0o600)  # someone loosened it: only the owner may read the token
        return text
    token = secrets.token_urlsafe(32)
    tmp = path.with_name(f".{TOKEN_FILE}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o600)
        os.write(fd, (token + "\n").encode("ascii"))
    finally:
        os.close(fd)
    os.replace(tmp, path)
    log.info("created the API token in %s", path)
    return token


class _BearerAuth:
    """ASGI middleware: every ``/api/`` request needs the token, checked before the body is read."""

    def __init__(self, app, token: str, prefix: str = "/api/"):
        self.app = app
        self.token = token.encode("utf-8")
        self.prefix = prefix

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope.get("path", "").startswith(self.prefix):
            auth = b""
            for name, value in scope.get("headers") or ():
                if name.lower() == b"authorization":
                    auth = value
                    break
            scheme, _, given = auth.partition(b" ")
            if scheme.lower() != b"bearer" or not hmac.compare_digest(given.strip(), self.token):
                what = "missing" if not auth else "wrong"
                response = JSONResponse(
                    {"detail": f"The API token is {what}: send 'Authorization: Bearer <token>' with the token from "
                               f"the data directory's {TOKEN_FILE} file."},
                    status_code=401, headers={"WWW-Authenticate": 'Bearer realm="asfs"'})
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


# -- request bodies ----------------------------------------------------------------------------------------


def _encodable(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


Ident = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(_encodable)]
Timing = Literal["simultaneous", "staggered", "independent"]
Delay = Annotated[float, Field(ge=0, le=MAX_DELAY_SECONDS, description="seconds")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class CoordinatePublicationRequest(_Body):
    """One video on several channels."""

    video_id: Ident
    channel_ids: list[Ident] = Field(min_length=1, max_length=500)
    timing: Timing = "simultaneous"
    scheduled_at: datetime | None = Field(None, description="the start, ISO-8601 (naive = UTC); default: in a minute")
    delay_seconds: Delay | None = Field(None, description="the stagger between channels (default 3600)")


class WaveConfig(_Body):
    timing: Timing = "simultaneous"
    scheduled_at: datetime | None = None
    delay_seconds: Delay | None = None
    wave_id: Ident | None = None


class ScheduleWaveRequest(_Body):
    """Every video to every channel, as one wave."""

    video_ids: list[Ident] = Field(min_length=1, max_length=1000)
    channel_ids: list[Ident] = Field(min_length=1, max_length=500)
    wave_config: WaveConfig = Field(default_factory=WaveConfig)


class TriggerPipelineRequest(_Body):
    channel_id: Ident
    video_id: Ident | None = None


# -- errors -------------------------------------------------------------------------------------------------


def _loc(loc: Any) -> str:
    parts = [str(p) for p in (loc or ()) if p != "body"]
    return ".".join(parts)


def _invalid_body(_request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = []
    for e in exc.errors():
        field = _loc(e.get("loc"))
        errors.append({"field": field or None, "message": str(e.get("msg", "invalid value")),
                       "type": str(e.get("type", ""))})
    first = next((e["field"] for e in errors if e["field"]), None)
    detail = "; ".join(f"{e['field'] or 'body'}: {e['message']}" for e in errors) or "invalid request"
    return JSONResponse({"detail": detail, "field": first, "errors": errors}, status_code=422)


def _domain_error(_request: Request, exc: ASFSError) -> JSONResponse:
    from .channel_configs import GitHubPushError
    from .github import GitHubDispatchError

    body: dict[str, Any] = {"detail": str(exc)}
    if isinstance(exc, ScheduleConflictError):
        status = 409
        body["conflicts"] = [c.to_dict() for c in exc.conflicts]
        body["field"] = exc.field
    elif isinstance(exc, ConflictError):
        status = 409
    elif isinstance(exc, NotFoundError):
        status = 404
    elif isinstance(exc, ValidationError):
        status = 422
        body["field"] = exc.field
    elif isinstance(exc, (GitHubDispatchError, GitHubPushError)):
        status = 502
        body["upstream_status"] = getattr(exc, "status", None)
    else:
        status = 400
    return JSONResponse(body, status_code=status)


def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))


_ERRORS = {
    401: {"description": "The bearer token is missing or wrong"},
    404: {"description": "An unknown video, channel or job"},
    409: {"description": "A rule forbids it (duplicate, schedule conflict, past time, paused, channel unavailable)"},
    422: {"description": "A malformed body or a bad value; `field` names it"},
}
_GITHUB = {502: {"description": "GitHub refused or could not be reached"}}


# -- the app ------------------------------------------------------------------------------------------------


def create_app(service: CentralOrchestrationService, token: str) -> FastAPI:
    """The FastAPI application for one orchestration service, guarded by ``token``."""
    try:
        from importlib.metadata import version

        ver = version("asfs")
    except Exception:  # noqa: BLE001 - the version is cosmetic
        ver = "0"
    bearer = HTTPBearer(auto_error=False, description=f"The token in the data directory's {TOKEN_FILE} file")

    def authorised(_creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> None:
        """Documents the scheme; the middleware has already checked the token."""

    app = FastAPI(title="ASFS orchestration API", version=ver,
                  description="Seed 004's central orchestration endpoints. Every /api/ request needs "
                              "`Authorization: Bearer <token>` (the data directory's api-token file).",
                  dependencies=[Depends(authorised)])
    app.add_exception_handler(RequestValidationError, _invalid_body)
    app.add_exception_handler(ASFSError, _domain_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_middleware(_BearerAuth, token=token)
    app.state.service = service
    r = {"responses": _ERRORS}

    @app.post(f"{PREFIX}/start", tags=["system"], summary="Start orchestration", **r)
    def start() -> dict[str, Any]:
        return service.start(actor="api")

    @app.post(f"{PREFIX}/stop", tags=["system"], summary="Stop orchestration", **r)
    def stop() -> dict[str, Any]:
        return service.stop(actor="api")

    @app.post(f"{PREFIX}/pause", tags=["system"], summary="Pause orchestration", **r)
    def pause() -> dict[str, Any]:
        return service.pause(actor="api")

    @app.post(f"{PREFIX}/resume", tags=["system"], summary="Resume orchestration", **r)
    def resume() -> dict[str, Any]:
        return service.resume(actor="api")

    @app.get(f"{PREFIX}/status", tags=["system"], summary="System status", **r)
    def status() -> dict[str, Any]:
        return service.get_status()

    @app.post(f"{PREFIX}/coordinate-publication", tags=["coordination"],
              summary="Coordinate one video's publication across channels", **r)
    def coordinate_publication(body: CoordinatePublicationRequest) -> dict[str, Any]:
        return service.coordinate_publication(body.video_id, body.channel_ids, body.timing,
                                              scheduled_at=body.scheduled_at, delay_seconds=body.delay_seconds,
                                              actor="api")

    @app.post(f"{PREFIX}/schedule-wave", tags=["coordination"],
              summary="Schedule a wave: every video to every channel", **r)
    def schedule_wave(body: ScheduleWaveRequest) -> dict[str, Any]:
        return service.schedule_wave_publication(body.video_ids, body.channel_ids,
                                                 body.wave_config.model_dump(exclude_none=True), actor="api")

    @app.post(f"{PREFIX}/trigger-pipeline", tags=["coordination"],
              summary="Trigger a channel's pipeline (GitHub Actions or the local queue)",
              responses={**_ERRORS, **_GITHUB})
    def trigger_pipeline(body: TriggerPipelineRequest) -> dict[str, Any]:
        return service.trigger_pipeline(body.channel_id, body.video_id, actor="api")

    @app.get(f"{PREFIX}/pipeline-jobs/{{job_id}}", tags=["coordination"],
             summary="A pipeline job queued by trigger-pipeline", **r)
    def pipeline_job(job_id: Annotated[str, StringConstraints(max_length=200)]) -> dict[str, Any]:
        return service.pipeline_job(job_id)

    @app.get(f"{PREFIX}/monitor-channels", tags=["monitoring"], summary="Every channel's health and statistics", **r)
    def monitor_channels() -> list[dict[str, Any]]:
        return service.monitor_channels()

    @app.get(f"{PREFIX}/dashboard", tags=["monitoring"], summary="Status dashboard data", **r)
    def dashboard() -> dict[str, Any]:
        return service.get_dashboard_data()

    @app.post(f"{PREFIX}/distribute-videos", tags=["distribution"], summary="Auto-distribute videos to channels", **r)
    def distribute_videos() -> dict[str, Any]:
        return service.distribute_videos(actor="api")

    @app.post(f"{PREFIX}/sync-configs", tags=["configuration"], summary="Sync channel configurations",
              responses={**_ERRORS, **_GITHUB})
    def sync_configs() -> dict[str, Any]:
        return service.sync_channel_configs(actor="api")

    return app


# -- serving ------------------------------------------------------------------------------------------------


class ApiServer:
    """A running API server (uvicorn in a thread); :meth:`stop` ends it.

    Attributes:
        url: ``http://host:port`` it answers on.
        token: the bearer token; ``token_path``: where it is kept.
        service: the orchestration service behind it.
    """

    def __init__(self, server, thread: threading.Thread, service: CentralOrchestrationService, token: str,
                 token_file: Path, host: str, port: int, *, owned_db: Database | None, stop_service: bool):
        self._server = server
        self._thread = thread
        self.service = service
        self.token = token
        self.token_path = token_file
        self.host = host
        self.port = port
        self._owned_db = owned_db
        self._stop_service = stop_service
        self._stopped = False

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 15.0) -> None:
        """Stop serving (requests in flight finish), then the service when this server made it."""
        if self._stopped:
            return
        self._stopped = True
        self._server.should_exit = True
        self._thread.join(timeout)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(5)
        try:
            if self._stop_service:
                self.service.stop(actor="system")
        finally:
            if self._owned_db is not None:
                self._owned_db.close()
        log.info("HTTP API on %s stopped", self.url)

    def __enter__(self) -> "ApiServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_api_server(db_path: str | os.PathLike | Database, settings: Settings | None = None, *,
                     host: str | None = None, port: int | None = None, runner=None,
                     service: CentralOrchestrationService | None = None, clock=utcnow,
                     startup_timeout: float = 15.0) -> ApiServer:
    """Serve the API on a thread; returns once it accepts connections.

    Args:
        db_path: the registry file (or an open ``Database``); its data directory holds the token.
        settings: ``api_host`` / ``api_port`` and the service's settings (default: settings.json).
        host, port: override the settings (port 0 picks a free one; see ``ApiServer.port``).
        runner: the window's (or headless's) ``ScheduleRunner``, so the API drives that one
            instead of starting a second scheduler in the process.
        service: an existing orchestration service to serve (then ``runner`` is ignored).
    Raises:
        ASFSError: the server could not listen (the port is taken, the host is not local...).
    """
    from .settings import load_settings

    owned_db = None
    if isinstance(db_path, Database):
        db = db_path
    else:
        db = owned_db = Database.open(db_path)
    settings = settings or load_settings(db.paths)
    made_service = service is None
    if service is None:
        service = CentralOrchestrationService(db, clock, settings=settings, runner=runner)
    host = host or settings.api_host
    port = settings.api_port if port is None else port
    data_dir = DataPaths.for_registry(db.path).root
    token = ensure_api_token(data_dir)
    import uvicorn

    app = create_app(service, token)
    config = uvicorn.Config(app, host=host, port=port, log_config=None, log_level="warning", access_log=False,
                            lifespan="off", loop="asyncio", http="h11", ws="none", timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="asfs-api", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(5)
            if owned_db is not None:
                owned_db.close()
            raise ASFSError(f"The HTTP API could not listen on {host}:{port} (is the port taken? set api_port, or "
                            "api_enabled false, in settings.json).")
        time.sleep(0.01)
    bound = port
    for srv in getattr(server, "servers", []) or []:
        for sock in getattr(srv, "sockets", []) or []:
            bound = sock.getsockname()[1]
            break
    handle = ApiServer(server, thread, service, token, token_path(data_dir), host, bound, owned_db=owned_db,
                       stop_service=made_service and runner is None)
    if host not in ("127.0.0.1", "localhost", "::1"):
        log.warning("the HTTP API listens on %s, not only on this machine; keep the token secret", host)
    log.info("HTTP API on %s (docs at %s/docs; token in %s)", handle.url, handle.url, handle.token_path)
    return handle


__all__ = [
    "ApiServer", "CoordinatePublicationRequest", "PREFIX", "ScheduleWaveRequest", "TOKEN_FILE",
    "TriggerPipelineRequest", "WaveConfig", "create_app", "ensure_api_token", "start_api_server", "token_path",
]
