"""The media-server side of a published library: create it once, pin it, scan it, check the scan.

A library is found by the id we stored, else by its path, else by name; a renamed library (the user
chose a new name) is re-created under the new name on the same folder. After a scan, the library must
hold the titles we wrote: an empty library after a scan almost always means the server sees the STRM
root under another path than ``MARQUEE_STRM_PATH_PREFIX`` says.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from providers.base import Library, MediaServer
from providers.errors import MediaServerError, ProviderResponseError
from sidecar.errors import JobError
from sidecar.publish.naming import PIN_PREFIX

log = logging.getLogger(__name__)

LIBRARY_OPTIONS = {"EnableRealtimeMonitor": False, "SaveLocalMetadata": False}
"""The server must not write into our folders nor react to our swaps half-way; we refresh explicitly."""


EMPTY_GRACE_S = 10.0


class ScanFoundNothing(JobError):
    """The server scanned the library and found none of the titles we wrote."""


def _norm(path: str) -> str:
    return path.rstrip("/\\")


def find_library(libraries: Sequence[Library], *, known_id: str | None, path: str, name: str) -> Library | None:
    by_id = next((lib for lib in libraries if known_id and lib.id == known_id), None)
    if by_id is not None:
        return by_id
    by_path = next((lib for lib in libraries if _norm(path) in {_norm(loc) for loc in lib.locations}), None)
    if by_path is not None:
        return by_path
    return next((lib for lib in libraries if lib.name == name), None)


async def ensure_library(
    server: MediaServer,
    *,
    name: str,
    collection_type: str,
    path: str,
    known_id: str | None,
    libraries: Sequence[Library] | None = None,
) -> tuple[Library, bool]:
    """The server library for ``path`` named ``name``; created (and pinned) when missing. Returns
    ``(library, created)``. ``libraries``: the server's list, when the caller just read it."""
    if libraries is None:
        libraries = await server.list_libraries()
    found = find_library(libraries, known_id=known_id, path=path, name=name)
    if found is not None and _norm(path) not in {_norm(loc) for loc in found.locations}:
        raise JobError(
            f"The media server already has another library named {name!r} "
            f"(it reads {', '.join(found.locations) or 'no folder'}); choose another name for this one."
        )
    if found is not None and found.name == name:
        return found, False
    if found is not None:
        await server.delete_library(found.name)
    try:
        library = await server.create_library(name, collection_type, [path], refresh=False, options=LIBRARY_OPTIONS)
    except ProviderResponseError as exc:
        raise JobError(
            f"The media server refused to create {name!r} on {path}: {exc.message} If the server sees the STRM "
            "root under another path, set MARQUEE_STRM_PATH_PREFIX to that path (and mount it there)."
        ) from exc
    await pin(server, library.id, name)
    return library, True


async def rename(server: MediaServer, item_id: str, name: str) -> None:
    """A collection or playlist renamed in place (same id, same items), pinned under its new name."""
    await server.update_item(item_id, {"Name": name})
    await pin(server, item_id, name)


async def pin(server: MediaServer, item_id: str, name: str) -> None:
    """Sort our library, collection or playlist above the others with a forced sort name."""
    try:
        await server.set_sort_name(item_id, PIN_PREFIX + name)
    except MediaServerError as exc:
        log.warning("could not pin %s to the top: %s", name, exc)


async def refresh_and_verify(
    server: MediaServer,
    library: Library,
    *,
    item_type: str,
    expected: int,
    server_path: str,
    timeout_s: float,
    settle_s: float = 1.0,
) -> int:
    """Scan the library, wait for the scan, and return how many titles the server lists in it."""
    await server.refresh_library(library.id)
    started = time.monotonic()
    await server.wait_for_scan(timeout_s=timeout_s, library_id=library.id, settle_s=settle_s)
    found = await server.count_items([item_type], parent_id=library.id, recursive=True)
    # A server that never reports the library busy can look idle before its scan ran: give it a while.
    delay = 0.1
    while expected > 0 and found == 0 and time.monotonic() - started < min(timeout_s, EMPTY_GRACE_S):
        await asyncio.sleep(delay)
        delay = min(delay * 2, 2.0)
        found = await server.count_items([item_type], parent_id=library.id, recursive=True)
    if expected > 0 and found == 0:
        raise ScanFoundNothing(
            f"The media server scanned {library.name!r} at {server_path} and found none of the {expected} titles "
            "Marquee wrote. It probably sees the STRM root under another path: set MARQUEE_STRM_PATH_PREFIX to "
            "the folder as the media server sees it (and mount it there)."
        )
    return found


async def remove_library(server: MediaServer, name: str) -> bool:
    """Delete a library by name; False when the server has no such library."""
    if not any(lib.name == name for lib in await server.list_libraries()):
        return False
    await server.delete_library(name)
    return True
