"""Where ASFS keeps its files.

Everything lives under one data directory so that moving it (``--data-dir`` or
``ASFS_DATA_DIR``) moves the registry, the audit database, the logs, thumbnails and
browser profiles together. By default the data directory is the project folder, which
puts the files where seed 003 says: ``database/videos.db``, ``audit/events.db`` and
``logs/uploads.log``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENV_VAR = "ASFS_DATA_DIR"
PROJECT_DIR = Path(__file__).resolve().parent.parent


def resolve_data_dir(explicit: str | os.PathLike | None = None) -> Path:
    """The data directory: an explicit value, else ``$ASFS_DATA_DIR``, else the project folder."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        return Path(env).expanduser().resolve()
    return PROJECT_DIR


@dataclass(frozen=True)
class DataPaths:
    """The file layout under one data directory."""

    root: Path

    @classmethod
    def default(cls) -> "DataPaths":
        return cls(resolve_data_dir())

    @classmethod
    def for_registry(cls, registry_path: str | os.PathLike) -> "DataPaths":
        """The layout a registry file belongs to.

        ``<root>/database/videos.db`` belongs to ``<root>``; a registry anywhere else
        (a test's ``tmp/reg.db``) keeps its companions in its own folder.
        """
        p = Path(registry_path).expanduser().resolve()
        root = p.parent.parent if p.parent.name == "database" else p.parent
        return cls(root)

    @property
    def registry(self) -> Path:
        return self.root / "database" / "videos.db"

    @property
    def backups(self) -> Path:
        return self.root / "database" / "backups"

    @property
    def audit(self) -> Path:
        return self.root / "audit" / "events.db"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def upload_log(self) -> Path:
        return self.logs / "uploads.log"

    @property
    def failures(self) -> Path:
        return self.logs / "failures"

    @property
    def thumbnails(self) -> Path:
        return self.root / "thumbnails"

    @property
    def derived(self) -> Path:
        """Per-channel transformed copies of videos (never the originals)."""
        return self.root / "derived"

    @property
    def profiles(self) -> Path:
        return self.root / "profiles"

    @property
    def settings_file(self) -> Path:
        return self.root / "settings.json"
