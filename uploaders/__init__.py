"""Publishing through browser automation: the ``PlatformUploader`` interface and its registry.

The Playwright uploaders, the browser/profile manager and the local sandbox platform live in
this package too; it is the only package that imports Playwright (lazily, in those modules).

An uploader answers one question — did this video get published on this channel? — with an
:class:`UploadResult`. The publishing core (``orchestration.publishing``) owns everything
around that: claiming, rules, retries, cool-downs and the audit trail.

    from uploaders import PlatformUploader, UploadResult, register, get

    class MyUploader(PlatformUploader):
        def upload(self, video_path, metadata):
            ...
            return UploadResult(success=True, platform_post_id="abc", post_url="https://...")

    register("TikTok", lambda channel: MyUploader())
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Dict, Mapping, Optional

ERROR_KINDS = ("transient", "rate_limited", "login_required", "permanent")


@dataclass
class UploadResult:
    """What one upload attempt achieved (seed 003's fields first).

    Args:
        success: the platform published the video.
        platform_post_id: the platform's id for the post.
        error_message: what went wrong, for a person.
        post_url: a link to the post.
        error_kind: transient (retry with backoff), rate_limited (cool the channel down),
            login_required (pause the channel), permanent (no retry).
        retry_after: when the platform allows the next upload (rate limits).
        artifacts: where a failure's screenshot and page HTML were saved.
    """

    success: bool
    platform_post_id: Optional[str] = None
    error_message: Optional[str] = None
    post_url: Optional[str] = None
    error_kind: Optional[str] = None
    retry_after: Optional[datetime] = None
    artifacts: Optional[str] = None
    details: Dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.success:
            if self.error_kind is None:
                self.error_kind = "transient"
            if self.error_kind not in ERROR_KINDS:
                raise ValueError(f"error_kind must be one of {', '.join(ERROR_KINDS)}, not {self.error_kind!r}")
            if not self.error_message:
                self.error_message = "upload failed (no reason given by the uploader)"

    @classmethod
    def failed(cls, message: str, kind: str = "transient", **kw) -> "UploadResult":
        return cls(success=False, error_message=message, error_kind=kind, **kw)


class UploadCancelled(Exception):
    """Raised by an uploader that noticed ``cancel_requested`` before the irreversible step."""


class PlatformUploader(ABC):
    """Publishes a file on one channel. Subclasses implement :meth:`upload`.

    The publishing core sets :attr:`cancel_event`; an uploader that can stop cleanly checks
    :meth:`cancel_requested` before its irreversible step (pressing "Post") and raises
    :class:`UploadCancelled`. After that step it must finish and report the outcome.
    """

    cancel_event: threading.Event | None = None
    # progress_callback(fraction 0..1, stage text); set by the publishing core
    progress_callback: Callable[[float, str], None] | None = None

    @abstractmethod
    def upload(self, video_path: str, metadata: Dict) -> UploadResult:
        """Publish ``video_path`` with ``metadata`` (title, description, caption, hashtags,
        visibility, made_for_kids, scheduled_at) and say what happened."""

    def check_login(self) -> bool | None:
        """True when the channel's session is logged in, False when not, None when unknown."""
        return None

    def find_existing(self, video: Mapping[str, Any]) -> UploadResult | None:
        """Look on the channel for an earlier upload of ``video`` (settles an unknown outcome).

        Returns a successful result when found, ``UploadResult(success=False)`` when it is
        certainly not there, and None when this uploader cannot tell.
        """
        return None

    def report_progress(self, fraction: float, stage: str = "") -> None:
        if self.progress_callback is not None:
            self.progress_callback(max(0.0, min(1.0, float(fraction))), stage)

    def cancel_requested(self) -> bool:
        return bool(self.cancel_event and self.cancel_event.is_set())

    def close(self) -> None:
        """Release browsers or sessions; called by the thread that used the uploader."""


# A factory receives the channel (a dict with id, name, platform, base_url, account, ...)
# and returns a fresh uploader for the calling thread.
UploaderFactory = Callable[[Mapping[str, Any]], PlatformUploader]

_registry: dict[str, UploaderFactory] = {}
_lock = threading.Lock()


def _key(platform_or_channel: str) -> str:
    from database.channels import canonical_platform

    return canonical_platform(platform_or_channel) or str(platform_or_channel)


def register(platform: str, factory: UploaderFactory | None) -> UploaderFactory | None:
    """Use ``factory`` for a platform name or a single channel id; None removes it.

    A channel's own factory wins over its platform's. Returns the factory it replaced.
    """
    if not platform or not str(platform).strip():
        raise ValueError("register() needs a platform name or a channel id")
    if factory is not None and not callable(factory):
        raise TypeError("factory must be callable: factory(channel) -> PlatformUploader")
    with _lock:
        key = _key(platform)
        old = _registry.get(key)
        if factory is None:
            _registry.pop(key, None)
        else:
            _registry[key] = factory
        return old


def get(platform: str, channel: Mapping[str, Any] | None = None) -> PlatformUploader:
    """A new uploader for a channel (by its id, then its platform) or a platform name.

    Raises:
        LookupError: nothing is registered for it.
    """
    channel = dict(channel or {})
    keys = [k for k in (channel.get("id"), channel.get("platform"), platform) if k]
    with _lock:
        for k in keys:
            factory = _registry.get(_key(k))
            if factory is not None:
                break
        else:
            factory = None
    if factory is None:
        _load_builtin()
        with _lock:
            factory = next((_registry[_key(k)] for k in keys if _key(k) in _registry), None)
    if factory is None:
        raise LookupError(f"No uploader is registered for '{platform}'.")
    uploader = factory(channel or {"platform": _key(platform)})
    if not isinstance(uploader, PlatformUploader):
        raise TypeError(f"the uploader factory for '{platform}' did not return a PlatformUploader")
    return uploader


def registered() -> dict[str, UploaderFactory]:
    with _lock:
        return dict(_registry)


def _load_builtin() -> None:
    """Register the built-in Playwright uploaders, once they exist (issue: Playwright uploaders)."""
    import importlib
    import importlib.util

    if importlib.util.find_spec(f"{__name__}.builtin") is not None:
        # The import is cached, so register explicitly: a cleared registry gets them back.
        importlib.import_module(f"{__name__}.builtin").register_builtins()


__all__ = [
    "ERROR_KINDS", "PlatformUploader", "UploadCancelled", "UploadResult", "UploaderFactory",
    "get", "register", "registered",
]
