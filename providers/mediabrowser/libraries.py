"""Libraries (virtual folders) and library scans: create, delete, options, refresh, wait for the scan."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from providers.base import Library, ScanState
from providers.errors import ProviderNotFound, ProviderResponseError, ScanTimeout
from providers.mediabrowser import dto as d
from providers.mediabrowser.connection import Connection

SCAN_POLL_MAX_S = 0.25


class Libraries(Connection):
    async def list_libraries(self) -> list[Library]:
        return [d.library_from_dto(f) for f in await self._list_resource("/Library/VirtualFolders")]

    async def _library_by(self, *, name: str | None = None, library_id: str | None = None) -> Library:
        for library in await self.list_libraries():
            if (name is not None and library.name == name) or (library_id and library.id == library_id):
                return library
        raise ProviderNotFound(
            f"{self.label} has no library {name or library_id!r}; it may have been removed in the dashboard.",
            server=self.label,
        )

    async def create_library(
        self,
        name: str,
        collection_type: str,
        paths: Sequence[str],
        *,
        refresh: bool = False,
        options: dict[str, Any] | None = None,
    ) -> Library:
        library_options: d.Dto = {"PathInfos": [{"Path": p} for p in paths], **(options or {})}
        await self._create_library(name, collection_type, paths, refresh, library_options)
        return await self._library_by(name=name)

    async def delete_library(self, name: str, *, refresh: bool = False) -> None:
        if self.kind == "emby" and (await self._server_version() or (0,)) >= (4, 9):
            # Emby 4.9 removes a library by its Id, in a JSON body (its SDK's LibraryRemoveVirtualFolder).
            library = await self._library_by(name=name)
            await self._post(
                "/Library/VirtualFolders/Delete",
                json_body={"Id": library.id, "RefreshLibrary": refresh},
                what=f"library {name!r}",
                idempotent=True,
            )
            return
        await self._delete(
            "/Library/VirtualFolders", {"Name": name, "RefreshLibrary": refresh}, what=f"library {name!r}"
        )

    async def update_library_options(self, library_id: str, changes: dict[str, Any]) -> None:
        library = await self._library_by(library_id=library_id)
        merged = {**library.options, **changes}
        await self._post(
            "/Library/VirtualFolders/LibraryOptions",
            json_body={"Id": library_id, "LibraryOptions": merged},
            what=f"library {library_id}",
            idempotent=True,
        )

    async def refresh_library(self, library_id: str | None = None) -> None:
        if library_id is None:
            self._scan_baseline = (await self.scan_state()).last_end
            self._scan_requested_at = time.monotonic()
            await self._post("/Library/Refresh", idempotent=True)
            return
        self._library_refresh_requested_at[library_id] = time.monotonic()
        await self._post(
            f"/Items/{library_id}/Refresh",
            {
                "Recursive": True if self.kind == "emby" else None,  # Jellyfin's refresh has no such parameter
                "MetadataRefreshMode": "Default",
                "ImageRefreshMode": "Default",
                "ReplaceAllMetadata": False,
                "ReplaceAllImages": False,
            },
            what=f"library {library_id}",
            idempotent=True,
        )

    async def scan_state(self) -> ScanState:
        body = await self._get("/ScheduledTasks", {"IsHidden": False})
        if not isinstance(body, list):
            raise ProviderResponseError(f"{self.label} answered /ScheduledTasks without a list", server=self.label)
        return d.scan_state_from_tasks([t for t in body if isinstance(t, dict)])

    async def wait_for_scan(
        self, *, timeout_s: float = 300.0, library_id: str | None = None, settle_s: float = 1.0
    ) -> ScanState:
        """Global scan: done when the task is Idle with a newer ``EndTimeUtc`` than before the refresh.

        One library: done when its ``RefreshStatus`` is back to Idle after having been seen busy, or,
        if it was never seen busy (a very fast scan), once ``settle_s`` has passed since the request.
        """
        deadline = time.monotonic() + timeout_s
        delay = 0.02
        seen_busy = False
        while True:
            if library_id is None:
                state = await self.scan_state()
                if not state.running and state.last_end is not None and state.last_end != self._scan_baseline:
                    return state
            else:
                library = await self._library_by(library_id=library_id)
                idle = library.refresh_status in (None, "Idle")
                requested = self._library_refresh_requested_at.get(library_id, 0.0)
                if not idle:
                    seen_busy = True
                elif seen_busy or time.monotonic() - requested >= settle_s:
                    return ScanState(running=False, state="Idle", progress=library.refresh_progress)
            if time.monotonic() >= deadline:
                raise ScanTimeout(
                    f"{self.label} was still scanning after {timeout_s:g} s; large libraries take longer, "
                    "raise the scan timeout or check the server's scheduled tasks.",
                    server=self.label,
                )
            await asyncio.sleep(delay)
            # Gently growing, capped low: the scan's end is seen within a quarter second of it (a published
            # library's freshness waits on this), at one cheap library listing per poll.
            delay = min(delay * 1.5, SCAN_POLL_MAX_S)
