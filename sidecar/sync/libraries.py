"""Media-server libraries → ``library``; which of them are sources, and which are Marquee's own output.

A library is Marquee output (never synced as a source) when its name is an AI Picks / Top Picks name,
when one of its folders lies under the STRM root (as Marquee or as the media server sees it), or when
Marquee published it. Whether a source library is used is the admin's ``enabled`` flag.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert

from providers.base import Library as ProviderLibrary
from sidecar.db.models import Library
from sidecar.services import Services
from sidecar.settings import Settings
from sidecar.sync.server import ensure_server, provider

_LIBRARIES = Library.__table__  # type: ignore[attr-defined]
TOP_PICKS_PREFIX = "Top Picks"
# Collection types that can never hold movies or series.
NON_VIDEO_TYPES = frozenset({"music", "books", "photos", "playlists", "boxsets", "livetv", "musicvideos"})


@dataclass(frozen=True)
class SourceLibrary:
    id: int
    provider_id: str
    name: str
    collection_type: str | None
    locations: tuple[str, ...]


def _under(path: str, root: str) -> bool:
    root = root.rstrip("/")
    return bool(root) and (path == root or path.startswith(root + "/"))


def is_marquee_output(library: ProviderLibrary, settings: Settings, published_ids: set[str]) -> bool:
    prefix = settings.library_name_prefix
    name = library.name.strip()
    if name == prefix or name.startswith(f"{prefix} ") or name.startswith(TOP_PICKS_PREFIX):
        return True
    roots = {settings.resolved_strm_prefix, str(settings.resolved_strm_root)}
    if any(_under(location, root) for location in library.locations for root in roots):
        return True
    return library.id in published_ids


async def sync_libraries(services: Services) -> dict[str, int]:
    server_id = await ensure_server(services)
    libraries = await provider(services).list_libraries()
    now = datetime.now(UTC)
    async with services.engine.begin() as conn:
        published = {
            str(r[0])
            for r in await conn.execute(
                text("SELECT provider_library_id FROM published_library WHERE provider_library_id IS NOT NULL")
            )
        }
        outputs = 0
        if libraries:
            values = []
            for lib in libraries:
                output = is_marquee_output(lib, services.settings, published)
                outputs += output
                values.append(
                    {
                        "server_id": server_id,
                        "provider_id": lib.id,
                        "name": lib.name,
                        "collection_type": lib.collection_type,
                        "locations": list(lib.locations),
                        "enabled": not output and (lib.collection_type or "") not in NON_VIDEO_TYPES,
                        "is_marquee_output": output,
                        "synced_at": now,
                        "gone_at": None,
                    }
                )
            stmt = insert(_LIBRARIES).values(values)
            stmt = stmt.on_conflict_do_update(
                index_elements=["server_id", "provider_id"],
                set_={
                    c: stmt.excluded[c]
                    for c in ("name", "collection_type", "locations", "is_marquee_output", "synced_at", "gone_at")
                },
            )
            await conn.execute(stmt)
        gone = await conn.execute(
            text(
                "UPDATE library SET gone_at = now() WHERE server_id = :s AND gone_at IS NULL"
                " AND NOT (provider_id = ANY(:seen))"
            ),
            {"s": server_id, "seen": [lib.id for lib in libraries]},
        )
    return {
        "libraries": len(libraries),
        "outputs": outputs,
        "gone": int(getattr(gone, "rowcount", 0) or 0),
    }


async def source_libraries(services: Services, server_id: int) -> list[SourceLibrary]:
    """Enabled, live, non-output libraries that can hold movies or series."""
    async with services.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT id, provider_id, name, collection_type, locations FROM library"
                " WHERE server_id = :s AND enabled AND NOT is_marquee_output AND gone_at IS NULL ORDER BY id"
            ),
            {"s": server_id},
        )
        return [
            SourceLibrary(int(r[0]), str(r[1]), str(r[2]), r[3], tuple(r[4] or ()))
            for r in rows
            if (r[3] or "") not in NON_VIDEO_TYPES
        ]


async def library_for_path(services: Services, server_id: int, path: str | None) -> tuple[int | None, bool]:
    """(library row id, is a source) for an item path: the library whose folder holds it."""
    if not path:
        return None, False
    async with services.engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT id, locations, enabled AND NOT is_marquee_output AND gone_at IS NULL"
                " FROM library WHERE server_id = :s"
            ),
            {"s": server_id},
        )
        best: tuple[int, int, bool] | None = None
        for row in rows:
            for location in row[1] or ():
                if _under(path, str(location)) and (best is None or len(location) > best[1]):
                    best = (int(row[0]), len(location), bool(row[2]))
    if best is None:
        return None, False
    return best[0], best[2]


def is_output_path(settings: Settings, path: str | None) -> bool:
    if not path:
        return False
    return _under(path, settings.resolved_strm_prefix) or _under(path, str(settings.resolved_strm_root))
