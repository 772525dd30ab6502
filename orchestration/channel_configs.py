"""Channel configuration files: ``<data dir>/channels/<channel id>.toml`` (or ``.json``), one per
channel, kept in step with the registry, and pushed to each channel's GitHub repository.

A file holds what configures a channel — not its run-time state (status, login, cool-down)::

    id = "fitness-tt"
    name = "Fitness TikTok"
    platform = "TikTok"
    timezone = "Europe/Berlin"
    daily_cap = 3
    min_spacing_seconds = 0
    priority = 5
    github_repo_url = "https://github.com/acme/fitness-tt"

    [content_filters]
    min_resolution = "1080p"
    include_tags = ["fitness"]

    [posting_schedule.slots]
    mon = ["09:00", "18:00"]

Keys: ``id``, ``name``, ``platform``, ``account``, ``timezone``, ``daily_cap``,
``min_spacing_seconds``, ``priority``, ``github_repo_url``, ``base_url``, ``content_filters``,
``posting_schedule``, ``metadata_template``, ``transformation_profile``. A key left out means
its default (no filters, no cap, ...); an unknown key or a bad value makes the file an error.
``id`` inside the file names the channel (the file name is only a name; without ``id`` the
file name's stem is used).

**The reconciliation rule** (:func:`sync_channel_configs`). ``channels/.sync-state.json``
remembers, per channel, the configuration both sides agreed on at the last sync. Then:

* a channel with no file gets one (registry -> file);
* a file with no channel creates the channel (file -> registry), unless the channel was
  synced before and the file has not changed since: then the channel was deleted in the app,
  and the file is moved to ``channels/.deleted/`` instead of bringing it back;
* when both exist and differ, the side that changed since the last sync wins; when both
  changed (or they were never synced), **the newer wins**: the file's modification time
  against the channel's ``updated_at`` (a tie goes to the file, the operator's explicit edit);
* a file that cannot be read or does not validate is reported in ``errors`` and changes
  nothing, on either side.

Then every channel with a ``github_repo_url`` has its configuration (as TOML) pushed to
``github_config_path`` (``asfs/channel.toml``) in its repository through the GitHub
contents API (``GET`` for the current ``sha``, ``PUT`` when the content differs), against
``github_api_url`` with ``github_token``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import math
import os
import re
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from database import Database, from_iso, to_iso, utcnow
from database.errors import ASFSError, ValidationError

from .channels import ChannelService, _columns
from .github import API_VERSION, parse_repo
from .settings import Settings

try:  # Python 3.11+
    import tomllib
except ImportError:  # pragma: no cover - Python 3.10 without tomli reads JSON files only
    try:
        import tomli as tomllib  # type: ignore[no-redef]
    except ImportError:
        tomllib = None  # type: ignore[assignment]

log = logging.getLogger("asfs.configs")

CONFIG_DIR = "channels"
STATE_FILE = ".sync-state.json"
DELETED_DIR = ".deleted"
SYNC_ACTOR = "config-sync"
# The configuration's keys, in the order a file lists them; the four objects come last (TOML tables).
SCALAR_KEYS = ("id", "name", "platform", "account", "timezone", "daily_cap", "min_spacing_seconds", "priority",
               "github_repo_url", "base_url")
OBJECT_KEYS = ("content_filters", "posting_schedule", "metadata_template", "transformation_profile")
CONFIG_KEYS = SCALAR_KEYS + OBJECT_KEYS
_JSON_COLUMNS = ("content_filters", "posting_schedule", "metadata_template", "transformation_profile")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_sync_lock = threading.Lock()  # one sync at a time in this process (the API may be called twice at once)


class GitHubPushError(ASFSError):
    """The configuration could not be written to the channel's repository."""

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.status = status


# -- TOML out (the standard library only reads it) ----------------------------------------------------------


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else json.dumps(key, ensure_ascii=False)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("TOML cannot hold inf or nan here")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON's escapes are valid in TOML basic strings
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value if v is not None) + "]"
    if isinstance(value, Mapping):
        items = [f"{_toml_key(str(k))} = {_toml_value(v)}" for k, v in value.items() if v is not None]
        return "{" + ", ".join(items) + "}" if items else "{}"
    raise ValueError(f"TOML cannot hold a {type(value).__name__}")


def _toml_table(prefix: str, table: Mapping[str, Any], out: list[str]) -> None:
    scalars = [(k, v) for k, v in table.items() if v is not None and not isinstance(v, Mapping)]
    tables = [(k, v) for k, v in table.items() if isinstance(v, Mapping)]
    if prefix and (scalars or not tables):
        out.append(f"\n[{prefix}]")
    for k, v in scalars:
        out.append(f"{_toml_key(str(k))} = {_toml_value(v)}")
    for k, v in tables:
        _toml_table(f"{prefix}.{_toml_key(str(k))}" if prefix else _toml_key(str(k)), v, out)


def dump_toml(data: Mapping[str, Any], header: str = "") -> str:
    """TOML for a configuration: scalars and arrays first, then each object as a table (None is left out)."""
    out = [f"# {line}" if line else "#" for line in header.splitlines()]
    _toml_table("", data, out)
    return "\n".join(out).lstrip("\n") + "\n"


_HEADER = ("ASFS channel configuration, kept in step with the registry by sync_channel_configs().\n"
           "Edit it and sync again; see orchestration/channel_configs.py for the keys and the rule.")


# -- the canonical configuration ---------------------------------------------------------------------------


def _decode(cols: Mapping[str, Any]) -> dict[str, Any]:
    """Registry column values -> the configuration (JSON columns as objects)."""
    out = {k: cols.get(k) for k in CONFIG_KEYS}
    for key in _JSON_COLUMNS:
        text = out.get(key)
        value = json.loads(text) if isinstance(text, str) and text else None
        out[key] = value if value is not None else ({} if key != "transformation_profile" else None)
    out["min_spacing_seconds"] = int(out.get("min_spacing_seconds") or 0)
    out["priority"] = int(out.get("priority") or 0)
    return out


def registry_config(row: Mapping[str, Any]) -> dict[str, Any]:
    """A channel's configuration as its file holds it, from its registry row."""
    return _decode(dict(row))


def file_config(raw: Any, *, default_id: str | None = None) -> dict[str, Any]:
    """Validate a file's content and return the configuration the registry would store.

    Raises:
        ValidationError: not an object, an unknown key, or a bad value (the field is named).
    """
    if not isinstance(raw, Mapping):
        raise ValidationError("a channel configuration must be an object (a TOML document or a JSON object)",
                              "config")
    unknown = sorted(str(k) for k in raw if k not in CONFIG_KEYS)
    if unknown:
        raise ValidationError(f"unknown key(s): {', '.join(unknown)}; known: {', '.join(CONFIG_KEYS)}", unknown[0])
    cid = raw.get("id", default_id)
    if not isinstance(cid, str) or not _ID.match(cid):
        raise ValidationError("id must be 1-100 letters, digits, '_', '-', '.' or ':' starting with a letter or digit",
                              "id")
    if "name" not in raw or "platform" not in raw:
        raise ValidationError("name and platform are required", "name" if "name" not in raw else "platform")
    full = {
        "name": raw["name"], "platform": raw["platform"], "account": raw.get("account"),
        "timezone": raw.get("timezone", "UTC"), "daily_cap": raw.get("daily_cap"),
        "min_spacing_seconds": raw.get("min_spacing_seconds", 0), "priority": raw.get("priority", 0),
        "github_repo_url": raw.get("github_repo_url"), "base_url": raw.get("base_url"),
        "content_filters": raw.get("content_filters") or {}, "posting_schedule": raw.get("posting_schedule") or {},
        "metadata_template": raw.get("metadata_template") or {},
        "transformation_profile": raw.get("transformation_profile"),
    }
    cols = _columns(None, full)  # the same validation as ChannelService (pydantic for the objects)
    return _decode({"id": cid, **cols})


def config_hash(config: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def render(config: Mapping[str, Any]) -> str:
    """The TOML text of a configuration (what files and repositories hold)."""
    return dump_toml({k: config.get(k) for k in CONFIG_KEYS}, _HEADER)


def read_file(path: Path) -> dict[str, Any]:
    """Parse one configuration file (TOML or JSON by its extension) and validate it.

    Raises:
        ValidationError: unreadable, not TOML/JSON, or invalid.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"cannot read {path.name}: {exc}", "file") from None
    if path.suffix == ".toml":
        if tomllib is None:
            raise ValidationError("TOML files need Python 3.11 (or the tomli package); use JSON", "file")
        try:
            raw = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ValidationError(f"{path.name} is not valid TOML: {exc}", "file") from None
    else:
        try:
            raw = json.loads(text)
        except ValueError as exc:
            raise ValidationError(f"{path.name} is not valid JSON: {exc}", "file") from None
    try:
        return file_config(raw, default_id=path.stem)
    except ValidationError as exc:
        raise ValidationError(f"{path.name}: {exc}", exc.field) from None


def file_name(channel_id: str) -> str:
    # ':' is legal in an id but not in a Windows file name
    return channel_id.replace(":", "_") + ".toml"


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# -- GitHub contents API -------------------------------------------------------------------------------------


class GitHubContents:
    """Reads and writes one file in a repository through the REST contents endpoint.

    Args:
        token: a token that may write the repository's contents.
        api_url: the REST API base (https://api.github.com, or a local fake in tests).
        timeout: seconds for one request.
    """

    def __init__(self, token: str | None, api_url: str, *, timeout: float = 10.0):
        self.token = token
        self.api_url = api_url.rstrip("/")
        self.timeout = float(timeout)

    @classmethod
    def from_settings(cls, settings: Settings) -> "GitHubContents":
        return cls(settings.github_token, settings.github_api_url, timeout=settings.github_timeout_seconds)

    def _url(self, repo_url: str, path: str) -> tuple[str, str]:
        owner, repo = parse_repo(repo_url)
        quoted = "/".join(urllib.parse.quote(p) for p in path.split("/"))
        return (f"{self.api_url}/repos/{urllib.parse.quote(owner)}/{urllib.parse.quote(repo)}/contents/{quoted}",
                f"{owner}/{repo}")

    def _request(self, method: str, url: str, where: str, body: dict | None = None) -> tuple[int, dict]:
        data = json.dumps(body).encode("utf-8") if body is not None else None
        req = urllib.request.Request(url, data=data, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION, "User-Agent": "asfs-config-sync",
            **({"Content-Type": "application/json"} if data is not None else {}),
        })
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310 - http(s) only
                status, payload = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, payload = exc.code, exc.read()
        except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError, OSError) as exc:
            raise GitHubPushError(f"Could not reach GitHub at {self.api_url} for {where}: "
                                  f"{getattr(exc, 'reason', exc)}") from None
        try:
            parsed = json.loads(payload.decode("utf-8", "replace") or "{}")
        except ValueError:
            parsed = {}
        return status, parsed if isinstance(parsed, dict) else {}

    def push(self, repo_url: str, path: str, content: str, message: str) -> str:
        """Make ``path`` hold ``content``; returns "created", "updated" or "unchanged".

        Raises:
            ValidationError: not a GitHub repository URL.
            GitHubPushError: no token, or GitHub refused or could not be reached.
        """
        url, where = self._url(repo_url, path)
        if not self.token:
            raise GitHubPushError(f"No GitHub token is configured for pushing to {where}: set github_token in "
                                  "settings.json or the ASFS_GITHUB_TOKEN environment variable.")
        status, current = self._request("GET", url, where)
        sha = None
        if status == 200:
            sha = current.get("sha")
            try:
                old = base64.b64decode(str(current.get("content") or "").encode("ascii"), validate=False)
            except (ValueError, UnicodeEncodeError):
                old = b""
            if old == content.encode("utf-8"):
                return "unchanged"
        elif status != 404:
            raise GitHubPushError(f"Reading {path} in {where} failed: GitHub answered {status}"
                                  + (f" ({current.get('message')})" if current.get("message") else ""),
                                  status=status)
        body: dict[str, Any] = {"message": message, "content": base64.b64encode(content.encode("utf-8")).decode("ascii")}
        if sha:
            body["sha"] = sha
        status, answer = self._request("PUT", url, where, body)
        if status not in (200, 201):
            raise GitHubPushError(f"Writing {path} in {where} failed: GitHub answered {status}"
                                  + (f" ({answer.get('message')})" if answer.get("message") else ""), status=status)
        return "updated" if sha else "created"


# -- the sync --------------------------------------------------------------------------------------------------


def _load_state(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    channels = data.get("channels") if isinstance(data, dict) else None
    return {k: v for k, v in channels.items() if isinstance(v, dict)} if isinstance(channels, dict) else {}


def sync_channel_configs(db: Database, *, settings: Settings, clock=utcnow, folder: str | os.PathLike | None = None,
                         github: GitHubContents | None = None, actor: str = SYNC_ACTOR) -> dict[str, Any]:
    """Reconcile ``channels/`` with the registry both ways, then push to the channels' repositories.

    Args:
        db: the registry (its data directory holds ``channels/``).
        settings: ``github_token``, ``github_api_url``, ``github_config_path``.
        folder: another folder instead of ``<data dir>/channels``.
        github: the contents client (default: one from the settings).
    Returns:
        ``synced`` (channels in step on every side, repository included), ``errors``
        (``[{"file", "channel_id", "field", "error"}]``), and what was done: ``created``,
        ``updated`` (registry from a file), ``written`` (file from the registry), ``unchanged``,
        ``removed`` (files of deleted channels), ``pushed``, plus ``directory``.
    """
    root = Path(folder) if folder is not None else db.paths.root / CONFIG_DIR
    with _sync_lock:
        return _Sync(db, settings, clock, root, github or GitHubContents.from_settings(settings), actor).run()


class _Sync:
    def __init__(self, db: Database, settings: Settings, clock, root: Path, github: GitHubContents, actor: str):
        self.db, self.settings, self.clock, self.root, self.github, self.actor = db, settings, clock, root, github, actor
        self.channels = ChannelService(db, clock=clock)
        self.result: dict[str, Any] = {"synced": 0, "errors": [], "created": [], "updated": [], "written": [],
                                       "unchanged": [], "removed": [], "pushed": [], "directory": str(root)}
        self.failed: set[str] = set()

    def _error(self, file: Path | None, channel_id: str | None, exc: BaseException | str) -> None:
        field = getattr(exc, "field", None)
        entry = {"file": file.name if file else None, "channel_id": channel_id, "field": field, "error": str(exc)}
        self.result["errors"].append(entry)
        if channel_id:
            self.failed.add(channel_id)
        self.db.audit.record("config.error", f"Channel config {entry['file'] or channel_id}: {exc}",
                             subject_type="channel", subject_id=channel_id, actor=self.actor, details=entry)

    def _audit(self, kind: str, message: str, channel_id: str, **details: Any) -> None:
        self.db.audit.record(kind, message, subject_type="channel", subject_id=channel_id, actor=self.actor,
                             details=details)

    def run(self) -> dict[str, Any]:
        self.root.mkdir(parents=True, exist_ok=True)
        state_path = self.root / STATE_FILE
        state = _load_state(state_path)
        files: dict[str, list[tuple[Path, dict[str, Any]]]] = {}
        for path in sorted(p for p in self.root.iterdir()
                           if p.is_file() and p.suffix in (".toml", ".json") and not p.name.startswith(".")):
            try:
                cfg = read_file(path)
            except ValidationError as exc:
                # the id inside a broken file is unknown; a stem that names a channel protects that channel
                stem = path.stem
                self._error(path, stem if self._row(stem) is not None else None, exc)
                continue
            files.setdefault(cfg["id"], []).append((path, cfg))
        rows = {r["id"]: r for r in self.db.query("SELECT * FROM channels ORDER BY id")}
        for cid, found in files.items():
            if len(found) > 1:
                names = ", ".join(p.name for p, _ in found)
                for p, _ in found:
                    self._error(p, cid, ValidationError(f"{names} all configure channel '{cid}'; keep one", "id"))
        new_state: dict[str, dict[str, Any]] = {}
        for cid in sorted(set(files) | set(rows)):
            if cid in self.failed:
                if cid in state:
                    new_state[cid] = state[cid]
                continue
            found = files.get(cid)
            try:
                agreed = self._reconcile(cid, found[0] if found else None, rows.get(cid), state.get(cid))
            except (ASFSError, OSError, ValueError) as exc:
                self._error(found[0][0] if found else None, cid, exc)
                if cid in state:
                    new_state[cid] = state[cid]
                continue
            if agreed is not None:
                new_state[cid] = agreed
        for cid in sorted(new_state):
            if cid not in self.failed:
                self._push(cid)
        self._save_state(state_path, new_state)
        self.result["synced"] = sum(1 for cid in new_state if cid not in self.failed)
        return self.result

    def _row(self, cid: str):
        return self.db.query_one("SELECT * FROM channels WHERE id = ?", (cid,))

    def _reconcile(self, cid: str, found: tuple[Path, dict[str, Any]] | None, row, last: dict[str, Any] | None
                   ) -> dict[str, Any] | None:
        """Bring one channel's file and registry row together; returns its new state entry."""
        now = to_iso(self.clock())
        if found is None:  # registry only: write its file
            cfg = registry_config(row)
            path = self.root / file_name(cid)
            if path.exists():
                raise ValidationError(f"{path.name} exists but configures another channel", "id")
            _write_atomic(path, render(cfg))
            self.result["written"].append(cid)
            self._audit("config.file_written", f"Wrote {path.name} from the registry", cid, file=path.name)
            return {"hash": config_hash(cfg), "file": path.name, "synced_at": now}
        path, fcfg = found
        fhash = config_hash(fcfg)
        if row is None:
            if last is not None and last.get("hash") == fhash:
                # synced before and untouched since: the channel was deleted in the app
                target = self.root / DELETED_DIR / f"{path.name}.{datetime.now(timezone.utc):%Y%m%dT%H%M%S}"
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(path, target)
                self.result["removed"].append(path.name)
                self._audit("config.file_retired", f"Channel '{cid}' was deleted; {path.name} moved to "
                            f"{DELETED_DIR}/", cid, file=path.name, moved_to=str(target))
                return None
            ch = self._create(fcfg)
            self.result["created"].append(cid)
            self._audit("config.channel_created", f"Channel '{ch.name}' created from {path.name}", cid,
                        file=path.name, config=fcfg)
            return {"hash": fhash, "file": path.name, "synced_at": now}
        rcfg = registry_config(row)
        rhash = config_hash(rcfg)
        if rhash == fhash:
            self.result["unchanged"].append(cid)
            return {"hash": fhash, "file": path.name, "synced_at": now}
        base = (last or {}).get("hash")
        file_changed, reg_changed = fhash != base, rhash != base
        if base is not None and file_changed != reg_changed:
            file_wins, why = file_changed, "changed since the last sync"
        else:
            mtime = datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
            updated = from_iso(row["updated_at"])
            file_wins = updated is None or mtime >= updated
            why = (f"newer ({'file' if file_wins else 'registry'}: file {to_iso(mtime)}, "
                   f"registry {row['updated_at']})")
        if file_wins:
            changes = {k: fcfg[k] for k in CONFIG_KEYS if k != "id" and fcfg[k] != rcfg[k]}
            self.channels.update_channel(cid, actor=self.actor, **changes)
            self.result["updated"].append(cid)
            self._audit("config.registry_updated", f"Channel '{fcfg['name']}' updated from {path.name}: "
                        f"{', '.join(changes)} (the file is {why})", cid, file=path.name,
                        changes={k: {"old": rcfg[k], "new": fcfg[k]} for k in changes})
            # what the registry holds now (it may normalise), so the next sync sees agreement
            agreed = registry_config(self._row(cid))
            if config_hash(agreed) != fhash:
                _write_atomic(path, _serialise(path, agreed))
            return {"hash": config_hash(agreed), "file": path.name, "synced_at": now}
        _write_atomic(path, _serialise(path, rcfg))
        self.result["written"].append(cid)
        self._audit("config.file_written", f"Rewrote {path.name} from the registry (the registry is {why})", cid,
                    file=path.name, changes=[k for k in CONFIG_KEYS if fcfg[k] != rcfg[k]])
        return {"hash": rhash, "file": path.name, "synced_at": now}

    def _create(self, cfg: Mapping[str, Any]):
        extra = {k: cfg[k] for k in ("account", "daily_cap", "min_spacing_seconds", "priority", "metadata_template",
                                     "transformation_profile", "github_repo_url", "base_url")}
        return self.channels.create_channel(cfg["name"], cfg["platform"], content_filters=cfg["content_filters"],
                                            posting_schedule=cfg["posting_schedule"], timezone=cfg["timezone"],
                                            id=cfg["id"], actor=self.actor, **extra)

    def _push(self, cid: str) -> None:
        row = self._row(cid)
        if row is None or not row["github_repo_url"]:
            return
        cfg = registry_config(row)
        path = self.settings.github_config_path
        try:
            outcome = self.github.push(row["github_repo_url"], path, render(cfg),
                                       f"ASFS: channel configuration of {row['name']} ({cid})")
        except (ASFSError, ValueError) as exc:
            self.result["errors"].append({"file": None, "channel_id": cid, "field": "github_repo_url",
                                          "error": str(exc)})
            self.failed.add(cid)
            self._audit("config.push_failed", f"Pushing the configuration of '{row['name']}' failed: {exc}", cid,
                        repository=row["github_repo_url"], path=path)
            return
        if outcome != "unchanged":
            self.result["pushed"].append(cid)
            self._audit("config.pushed", f"Configuration of '{row['name']}' {outcome} at {path} in "
                        f"{row['github_repo_url']}", cid, repository=row["github_repo_url"], path=path,
                        outcome=outcome)

    def _save_state(self, path: Path, state: dict[str, dict[str, Any]]) -> None:
        _write_atomic(path, json.dumps({"version": 1, "channels": state}, indent=2, sort_keys=True))


def _serialise(path: Path, cfg: Mapping[str, Any]) -> str:
    """A file's new content in its own format (JSON files stay JSON)."""
    if path.suffix == ".json":
        return json.dumps({k: cfg[k] for k in CONFIG_KEYS if cfg[k] is not None}, indent=2, ensure_ascii=False) + "\n"
    return render(cfg)


__all__ = [
    "CONFIG_DIR", "CONFIG_KEYS", "GitHubContents", "GitHubPushError", "config_hash", "dump_toml", "file_config",
    "read_file", "registry_config", "render", "sync_channel_configs",
]
