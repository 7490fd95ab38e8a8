"""The scheduled channel refresh: every channel refilled from its criteria, synced playlists rewritten."""

from __future__ import annotations

from typing import Any

from sidecar.channel_refresh import refresh_channels
from sidecar.jobs.progress import Progress
from sidecar.services import Services


async def refresh_channels_job(services: Services, progress: Progress) -> dict[str, Any]:
    report = await refresh_channels(services)
    progress.log(f"{report.refilled} channels refilled, {report.synced} playlists synced, {len(report.failed)} failed")
    return report.as_dict()
