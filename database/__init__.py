"""The ASFS registry: one SQLite file (WAL) holding videos, channels, uploads, distributions
and schedules.

    from database import Database, VideoRegistry
    registry = VideoRegistry(Database.open(path))
"""

from .connection import Database, from_iso, to_iso, utcnow
from .errors import (
    ASFSError,
    ChannelNotFoundError,
    ConflictError,
    IllegalTransitionError,
    MigrationError,
    NotFoundError,
    RegistryCorruptError,
    RegistryVersionError,
    ValidationError,
    VideoFileError,
    VideoIdConflictError,
    VideoNotFoundError,
)
from .paths import DataPaths, resolve_data_dir
from .schema import PLATFORMS, UPLOAD_STATUSES
from .uploads import (
    DEFAULT_POLICY,
    ErrorKind,
    RetryPolicy,
    UploadRecord,
    UploadRepository,
    UploadStatus,
    Verdict,
    can_transition,
    check_transition,
)
from .videos import Registration, VideoRegistry

__all__ = [
    "ASFSError", "ChannelNotFoundError", "ConflictError", "DataPaths", "Database", "DEFAULT_POLICY",
    "ErrorKind", "IllegalTransitionError", "MigrationError", "NotFoundError", "PLATFORMS",
    "Registration", "RegistryCorruptError", "RegistryVersionError", "RetryPolicy", "UPLOAD_STATUSES",
    "UploadRecord", "UploadRepository", "UploadStatus", "ValidationError", "Verdict", "VideoFileError",
    "VideoIdConflictError", "VideoNotFoundError", "VideoRegistry", "can_transition", "check_transition",
    "from_iso", "resolve_data_dir", "to_iso", "utcnow",
]
