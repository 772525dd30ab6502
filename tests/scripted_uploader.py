"""A real PlatformUploader for tests, whose outcomes follow a script."""

from __future__ import annotations

import itertools
import threading
from collections import deque
from typing import Any, Callable, Mapping

from uploaders import PlatformUploader, UploadCancelled, UploadResult

Step = UploadResult | BaseException | Callable[["ScriptedUploader", str, dict], UploadResult]


class Script:
    """Outcomes for one platform or channel, shared by the uploaders its factory makes.

    Each upload takes the next step: an UploadResult to return, an exception to raise, or a
    callable(uploader, path, metadata) -> UploadResult. With no steps left it succeeds with
    a fresh post id.
    """

    def __init__(self, name: str = "post", *, login: bool | None = None,
                 existing: Callable[[Mapping[str, Any]], UploadResult | None] | None = None):
        self.name = name
        self.steps: deque[Step] = deque()
        self.calls: list[dict[str, Any]] = []
        self.login = login
        self.existing = existing
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0
        self.closed = 0
        self._ids = itertools.count(1)

    def then(self, *steps: Step) -> "Script":
        self.steps.extend(steps)
        return self

    def factory(self, channel: Mapping[str, Any]) -> "ScriptedUploader":
        return ScriptedUploader(self, dict(channel))


class ScriptedUploader(PlatformUploader):
    def __init__(self, script: Script, channel: dict[str, Any]):
        self.script = script
        self.channel = channel

    def check_login(self) -> bool | None:
        return self.script.login

    def find_existing(self, video):
        return self.script.existing(video) if self.script.existing else None

    def upload(self, video_path: str, metadata: dict) -> UploadResult:
        s = self.script
        with s.lock:
            s.active += 1
            s.max_active = max(s.max_active, s.active)
            step = s.steps.popleft() if s.steps else None
            n = next(s._ids)
            s.calls.append({"path": video_path, "metadata": dict(metadata), "channel": self.channel.get("id"),
                            "thread": threading.get_ident()})
        try:
            self.report_progress(0.5, "uploading")
            if step is None:
                return UploadResult(True, f"{s.name}-{n}", post_url=f"https://example.test/{s.name}-{n}")
            if isinstance(step, BaseException):
                raise step
            if callable(step):
                return step(self, video_path, metadata)
            return step
        finally:
            with s.lock:
                s.active -= 1

    def close(self) -> None:
        with self.script.lock:
            self.script.closed += 1


def wait_for_cancel(uploader: ScriptedUploader, path: str, metadata: dict) -> UploadResult:
    """A step that blocks like a slow upload until the operator cancels, then stops cleanly."""
    if uploader.cancel_event is None or not uploader.cancel_event.wait(30):
        return UploadResult.failed("never cancelled", "transient")
    raise UploadCancelled()
