"""The built-in browser uploaders, registered with ``uploaders.register`` on import.

``uploaders.get()`` imports this module the first time a platform has no uploader. Each
factory builds an uploader for one channel: the channel's ``base_url`` (the real site when
empty, the sandbox in tests and the demo), its profile and ``logs/failures`` under the data
directory (the channel's ``data_dir`` when the caller put one there, else the default data
directory), headless for the sandbox and visible for real sites.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import uploaders

from .instagram import InstagramUploader
from .playwright_base import PlaywrightUploader, Timeouts
from .tiktok import TikTokUploader
from .youtube import YouTubeUploader

BUILTIN: dict[str, type[PlaywrightUploader]] = {
    "YouTube": YouTubeUploader,
    "Instagram": InstagramUploader,
    "TikTok": TikTokUploader,
}


def make_factory(cls: type[PlaywrightUploader], paths: Any = None, *, headless: bool | None = None,
                 timeouts: Timeouts | None = None, browser_path: str | None = None
                 ) -> Callable[[Mapping[str, Any]], PlaywrightUploader]:
    """A factory(channel) -> uploader of ``cls`` with a fixed data directory and options.

    Args:
        paths: a :class:`database.paths.DataPaths`; None = the channel's ``data_dir`` or the default.
    """

    def factory(channel: Mapping[str, Any]) -> PlaywrightUploader:
        return cls(channel, paths, headless=headless, timeouts=timeouts, browser_path=browser_path)

    factory.uploader_class = cls  # type: ignore[attr-defined]
    return factory


def register_builtins(*, replace: bool = False) -> list[str]:
    """Register the built-in uploaders for platforms that have none yet (or all, with ``replace``).

    Returns the platforms it registered. Safe to call more than once.
    """
    done = []
    current = uploaders.registered()
    for platform, cls in BUILTIN.items():
        if replace or platform not in current:
            uploaders.register(platform, make_factory(cls))
            done.append(platform)
    return done


register_builtins()

__all__ = ["BUILTIN", "make_factory", "register_builtins"]
