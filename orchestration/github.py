"""Schedules of channels that publish through GitHub Actions: a ``repository_dispatch`` event.

A channel with ``github_repo_url`` has its own repository whose workflow does the
publishing (seed 002, "Execution Methods"). Executing its schedule means asking GitHub to
start that workflow::

    POST {api}/repos/{owner}/{repo}/dispatches
    Authorization: Bearer <token>
    Accept: application/vnd.github+json
    {"event_type": "process-video", "client_payload": {"video_id": ..., "schedule_id": ...}}

GitHub answers 204 when the event was accepted. The token and the API base URL come from
the settings (``github_token`` / ``ASFS_GITHUB_TOKEN``, ``github_api_url``), so tests and
GitHub Enterprise point it elsewhere. Only the standard library is used, with a bounded
timeout.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any, Mapping

from database.errors import ASFSError, ValidationError

from .settings import DEFAULT_GITHUB_API, Settings

log = logging.getLogger("asfs.github")

EVENT_TYPE = "process-video"
API_VERSION = "2022-11-28"
_NAME = r"[A-Za-z0-9_.-]+"
_PATTERNS = (
    re.compile(rf"^https?://[^/]+/(?P<owner>{_NAME})/(?P<repo>{_NAME}?)(?:\.git)?/?$"),
    re.compile(rf"^git@[^:]+:(?P<owner>{_NAME})/(?P<repo>{_NAME}?)(?:\.git)?$"),
    re.compile(rf"^(?P<owner>{_NAME})/(?P<repo>{_NAME}?)(?:\.git)?$"),
)


class GitHubDispatchError(ASFSError):
    """GitHub did not accept the event.

    Attributes:
        status: the HTTP status (None when GitHub was not reached).
        retryable: whether trying again later may help (network trouble, 5xx, rate limits).
    """

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False):
        super().__init__(message)
        self.status = status
        self.retryable = retryable


def parse_repo(url: str) -> tuple[str, str]:
    """``(owner, repo)`` from ``https://github.com/o/r(.git)``, ``git@github.com:o/r.git`` or ``o/r``."""
    text = (url or "").strip() if isinstance(url, str) else ""
    for pattern in _PATTERNS:
        m = pattern.match(text)
        if m and m.group("repo"):
            return m.group("owner"), m.group("repo")
    raise ValidationError(
        f"{url!r} is not a GitHub repository (expected https://github.com/OWNER/REPO)", "github_repo_url")


@dataclass(frozen=True)
class DispatchResult:
    owner: str
    repo: str
    status: int
    url: str


class GitHubDispatcher:
    """Sends ``repository_dispatch`` events.

    Args:
        token: a token allowed to dispatch to the repositories (None: every dispatch fails
            with a message saying how to configure one).
        api_url: the REST API base (https://api.github.com, or a local fake in tests).
        timeout: seconds before giving up on one request.
    """

    def __init__(self, token: str | None, api_url: str = DEFAULT_GITHUB_API, *, timeout: float = 10.0):
        self.token = token
        self.api_url = (api_url or DEFAULT_GITHUB_API).rstrip("/")
        self.timeout = float(timeout)

    @classmethod
    def from_settings(cls, settings: Settings) -> "GitHubDispatcher":
        return cls(settings.github_token, settings.github_api_url, timeout=settings.github_timeout_seconds)

    def endpoint(self, repo_url: str) -> str:
        owner, repo = parse_repo(repo_url)
        return f"{self.api_url}/repos/{urllib.parse.quote(owner)}/{urllib.parse.quote(repo)}/dispatches"

    def dispatch(self, repo_url: str, client_payload: Mapping[str, Any], *,
                 event_type: str = EVENT_TYPE) -> DispatchResult:
        """Send one event; returns when GitHub accepted it.

        Raises:
            ValidationError: the repository URL is not a GitHub repository.
            GitHubDispatchError: no token, or GitHub refused or could not be reached.
        """
        owner, repo = parse_repo(repo_url)
        url = self.endpoint(repo_url)
        if not self.token:
            raise GitHubDispatchError(
                f"No GitHub token is configured for dispatching to {owner}/{repo}: set github_token in "
                "settings.json or the ASFS_GITHUB_TOKEN environment variable.")
        body = json.dumps({"event_type": event_type, "client_payload": dict(client_payload)},
                          default=str).encode("utf-8")
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Authorization": f"Bearer {self.token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": API_VERSION,
            "Content-Type": "application/json",
            "User-Agent": "asfs-scheduler",
        })
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as resp:  # noqa: S310 - http(s) only
                status = resp.status
        except urllib.error.HTTPError as exc:
            raise self._refused(exc, owner, repo) from None
        except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise GitHubDispatchError(f"Could not reach GitHub at {self.api_url} to dispatch to {owner}/{repo}: "
                                      f"{reason}", retryable=True) from None
        if not 200 <= status < 300:
            raise GitHubDispatchError(f"GitHub answered {status} to the dispatch to {owner}/{repo}",
                                      status=status, retryable=status >= 500)
        log.info("dispatched %s to %s/%s (%s)", event_type, owner, repo, status)
        return DispatchResult(owner, repo, status, url)

    @staticmethod
    def _refused(exc: urllib.error.HTTPError, owner: str, repo: str) -> GitHubDispatchError:
        try:
            detail = json.loads(exc.read().decode("utf-8", "replace") or "{}").get("message") or ""
        except (ValueError, AttributeError, OSError):
            detail = ""
        status = exc.code
        remaining = exc.headers.get("X-RateLimit-Remaining") if exc.headers else None
        rate_limited = status == 429 or (status == 403 and remaining == "0")
        words = {
            401: "the GitHub token was refused (expired or wrong)",
            403: "the GitHub token may not dispatch to this repository",
            404: "the repository does not exist or the token cannot see it",
            422: "GitHub refused the event",
        }.get(status, f"GitHub answered {status}")
        if rate_limited:
            words = "GitHub's rate limit was reached"
        msg = f"Dispatch to {owner}/{repo} failed: {words}" + (f" ({detail})" if detail else "")
        return GitHubDispatchError(msg, status=status, retryable=rate_limited or status >= 500)


__all__ = ["API_VERSION", "DispatchResult", "EVENT_TYPE", "GitHubDispatchError", "GitHubDispatcher", "parse_repo"]
