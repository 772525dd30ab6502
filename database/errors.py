"""Typed errors with messages a person understands.

Every error ASFS raises for bad input or a broken rule derives from :class:`ASFSError`,
so the command line, the HTTP API and the window can catch one type and show ``str(e)``.
Raising one of these always means nothing was changed.
"""

from __future__ import annotations


class ASFSError(Exception):
    """Base class for every error ASFS reports to a person."""


class ValidationError(ASFSError, ValueError):
    """An argument or a field has a value ASFS cannot accept."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class NotFoundError(ASFSError, LookupError):
    """Something named by id does not exist."""


class VideoNotFoundError(NotFoundError):
    def __init__(self, video_id: str):
        super().__init__(f"Video '{video_id}' is not in the registry.")
        self.video_id = video_id


class ChannelNotFoundError(NotFoundError):
    def __init__(self, ref: str):
        super().__init__(
            f"'{ref}' is neither a platform (YouTube, TikTok, Instagram) nor a known channel id or name."
        )
        self.ref = ref


class VideoFileError(ASFSError):
    """A file cannot be registered or uploaded: missing, unreadable, empty, not a video."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class ConflictError(ASFSError):
    """The request breaks a rule of the registry (duplicate, taken id, illegal state change)."""


class VideoIdConflictError(ConflictError):
    def __init__(self, video_id: str, existing_path: str):
        super().__init__(
            f"Video id '{video_id}' is already used by different content ({existing_path})."
        )
        self.video_id = video_id


class IllegalTransitionError(ConflictError):
    def __init__(self, old: str | None, new: str, context: str = ""):
        old_txt = old or "not uploaded"
        where = f" ({context})" if context else ""
        super().__init__(f"An upload cannot go from {old_txt} to {new}{where}.")
        self.old = old
        self.new = new


class RegistryVersionError(ASFSError):
    """The registry file was written by a newer ASFS than this one."""


class RegistryCorruptError(ASFSError):
    """The file is not a usable SQLite registry."""


class MigrationError(ASFSError):
    """A schema migration failed; the file stays at its previous version."""
