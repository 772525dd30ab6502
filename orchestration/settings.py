"""The operator's settings: ``<data dir>/settings.json``, with defaults for every key.

Only the keys below are read here; other keys (the window's, the browser's) are left to the
code that owns them. A value of the wrong type raises :class:`ValidationError` naming the
key, so a typo in the file is reported at start-up instead of misbehaving later.

``ASFS_GITHUB_TOKEN`` in the environment wins over ``github_token`` in the file, so a server
can keep the secret out of the data directory.

The local HTTP API (``orchestration/api.py``) reads ``api_enabled``, ``api_host`` and
``api_port``. ``api_enabled`` left unset (null) means "on for ``--headless``, off for the
window"; true or false decides for both.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from database.errors import ValidationError
from database.paths import DataPaths

TOKEN_ENV = "ASFS_GITHUB_TOKEN"
DEFAULT_GITHUB_API = "https://api.github.com"
DEFAULT_CONFIG_PATH = "asfs/channel.toml"  # where a channel's config goes in its repository
DEFAULT_API_HOST = "127.0.0.1"
DEFAULT_API_PORT = 8765
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
_HOST = re.compile(r"^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252})|\[?[0-9A-Fa-f:.]+\]?)$")
_REPO_PATH = re.compile(r"^[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*$")


@dataclass(frozen=True)
class Settings:
    """What the scheduler and the publishers read from ``settings.json``."""

    execute_interval_seconds: float = 30
    distribute_interval_seconds: float = 3600
    retry_interval_seconds: float = 60
    missed_grace_seconds: float = 900
    schedule_max_attempts: int = 3
    github_token: str | None = None
    github_api_url: str = DEFAULT_GITHUB_API
    github_timeout_seconds: float = 10
    github_config_path: str = DEFAULT_CONFIG_PATH
    api_enabled: bool | None = None
    api_host: str = DEFAULT_API_HOST
    api_port: int = DEFAULT_API_PORT

    def api_enabled_for(self, *, headless: bool) -> bool:
        """Whether the HTTP API is served: ``api_enabled`` when set, else only in headless mode."""
        return headless if self.api_enabled is None else self.api_enabled

    def replace(self, **changes: Any) -> "Settings":
        """A copy with ``changes`` applied and validated like the file's values."""
        return _validated({**dataclasses.asdict(self), **changes}, source="settings")

    def to_dict(self, *, hide_secrets: bool = True) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        if hide_secrets and d.get("github_token"):
            d["github_token"] = "***"
        return d


# key -> (kind, lowest allowed, highest allowed)
_NUMBERS: dict[str, tuple[type, float, float]] = {
    "execute_interval_seconds": (float, 0.05, 86_400),
    "distribute_interval_seconds": (float, 1, 7 * 86_400),
    "retry_interval_seconds": (float, 0.05, 86_400),
    "missed_grace_seconds": (float, 0, 30 * 86_400),
    "schedule_max_attempts": (int, 1, 100),
    "github_timeout_seconds": (float, 0.1, 300),
    "api_port": (int, 0, 65535),
}
KEYS = tuple(f.name for f in dataclasses.fields(Settings))


def _validated(values: Mapping[str, Any], *, source: str) -> Settings:
    out: dict[str, Any] = {}
    for key in KEYS:
        if key not in values or values[key] is None and key not in ("github_token", "api_enabled"):
            continue
        value = values[key]
        if key in _NUMBERS:
            kind, lo, hi = _NUMBERS[key]
            ok_type = isinstance(value, int) if kind is int else isinstance(value, (int, float))
            if isinstance(value, bool) or not ok_type or not lo <= value <= hi:
                what = "a whole number" if kind is int else "a number of seconds"
                raise ValidationError(f"{source}: {key} must be {what} from {lo:g} to {hi:g}, got {value!r}", key)
            out[key] = value
        elif key == "github_token":
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ValidationError(f"{source}: github_token must be text (a GitHub token) or null", key)
            out[key] = value.strip() if isinstance(value, str) else None
        elif key == "github_api_url":
            if not isinstance(value, str) or not _URL.match(value.strip()):
                raise ValidationError(f"{source}: github_api_url must be an http(s) URL, got {value!r}", key)
            out[key] = value.strip().rstrip("/")
        elif key == "github_config_path":
            if (not isinstance(value, str) or not _REPO_PATH.match(value.strip().strip("/"))
                    or ".." in value.split("/")):
                raise ValidationError(f"{source}: github_config_path must be a path inside a repository such as "
                                      f"'asfs/channel.toml', got {value!r}", key)
            out[key] = value.strip().strip("/")
        elif key == "api_enabled":
            if value is not None and not isinstance(value, bool):
                raise ValidationError(f"{source}: api_enabled must be true, false or null, got {value!r}", key)
            out[key] = value
        elif key == "api_host":
            if not isinstance(value, str) or not _HOST.match(value.strip()):
                raise ValidationError(f"{source}: api_host must be a host name or IP address such as 127.0.0.1, "
                                      f"got {value!r}", key)
            out[key] = value.strip().strip("[]")
    return Settings(**out)


def settings_path(source: Any = None) -> Path:
    """Where settings.json is for a data directory, a ``DataPaths``, a ``Database`` or a file path."""
    if source is None:
        return DataPaths.default().settings_file
    if isinstance(source, DataPaths):
        return source.settings_file
    paths = getattr(source, "paths", None)  # a Database
    if isinstance(paths, DataPaths):
        return paths.settings_file
    p = Path(source).expanduser()
    return p if p.suffix == ".json" else DataPaths(p).settings_file


def load_settings(source: Any = None, *, environ: Mapping[str, str] | None = None) -> Settings:
    """The settings of a data directory (defaults for what the file leaves out).

    Args:
        source: a data directory, a ``DataPaths``, a ``Database``, a ``settings.json`` path,
            a mapping of values, or None for the default data directory.
        environ: where ``ASFS_GITHUB_TOKEN`` is looked up (default: ``os.environ``).
    Raises:
        ValidationError: the file is not a JSON object, or a value has the wrong type (the
            error's ``field`` is the key).
    """
    env = os.environ if environ is None else environ
    if isinstance(source, Mapping):
        values, where = dict(source), "settings"
    else:
        path = settings_path(source)
        where = str(path)
        values = {}
        if path.is_file():
            try:
                values = json.loads(path.read_text(encoding="utf-8") or "{}")
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                raise ValidationError(f"{path} is not valid JSON: {exc}", "settings.json") from None
            if not isinstance(values, dict):
                raise ValidationError(f"{path} must hold a JSON object of settings", "settings.json")
    token = (env.get(TOKEN_ENV) or "").strip()
    if token:
        values = {**values, "github_token": token}
    return _validated(values, source=where)


__all__ = ["DEFAULT_API_HOST", "DEFAULT_API_PORT", "DEFAULT_CONFIG_PATH", "DEFAULT_GITHUB_API", "KEYS", "Settings", "TOKEN_ENV", "load_settings", "settings_path"]
