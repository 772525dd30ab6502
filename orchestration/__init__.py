"""The domain: channels, content filters, distribution, scheduling, publishing, orchestrator.

Plain Python with no Qt and no Playwright, called the same way by tests, the command
line, the HTTP API and the window.
"""

from __future__ import annotations

import importlib
from typing import Any

# Public names and the module that defines each. Imported on first use, so importing one
# service does not load the others (and modules may import each other without cycles).
_EXPORTS = {
    "ChannelService": "channels",
    "Channel": "channels",
    "ContentFilters": "filters",
    "PostingSchedule": "filters",
    "MatchResult": "filters",
    "match": "filters",
    "VideoDistributionService": "distribution",
    "VideoDistribution": "distribution",
    "DistributionRepository": "distribution",
    "DistributionNotFoundError": "distribution",
    "TransformProfile": "transform",
    "Transformer": "transform",
    "TransformError": "transform",
    "Publisher": "publishing",
    "SchedulingService": "scheduling",
    "Schedule": "scheduling",
    "ScheduleRepository": "scheduling",
    "ScheduleConflict": "scheduling",
    "ScheduleConflictError": "scheduling",
    "ScheduleNotFoundError": "scheduling",
    "ScheduleRunner": "scheduler_jobs",
    "Settings": "settings",
    "load_settings": "settings",
    "GitHubDispatcher": "github",
    "GitHubDispatchError": "github",
    "CentralOrchestrationService": "orchestrator",
    "ApiServer": "api",
    "create_app": "api",
    "ensure_api_token": "api",
    "start_api_server": "api",
    "sync_channel_configs": "channel_configs",
    "GitHubContents": "channel_configs",
    "GitHubPushError": "channel_configs",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'orchestration' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
