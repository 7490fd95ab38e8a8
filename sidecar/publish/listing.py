"""What a client shows in a published library: its titles, as the server lists them, in the server's order.

A library's items listed recursively with no type also bring every Season and Episode of a series library
(so "Top Picks - Series" seemed to hold a title called "Season 1"); a client's library view lists the
library's own kind only: movies for a movie library, series for a TV library.
"""

from __future__ import annotations

from providers.base import Library, MediaServer

KIND_OF_COLLECTION = {"movies": "Movie", "tvshows": "Series"}


def title_kinds(library: Library) -> list[str] | None:
    """The item kinds a client lists at the top of ``library`` (None: a mixed library, every kind)."""
    kind = KIND_OF_COLLECTION.get((library.collection_type or "").lower())
    return [kind] if kind else None


async def listed_titles(server: MediaServer, library: Library, user_id: str | None, limit: int) -> list[str]:
    """The first ``limit`` titles of ``library`` as ``user_id`` (None: the server's view) sees them."""
    names: list[str] = []
    # By sort name, as a client shows a library: Marquee's NFO sort titles put the titles in rank order.
    items = server.iter_items(title_kinds(library), parent_id=library.id, user_id=user_id, sort_by=("SortName",))
    async for item in items:
        names.append(item.name)
        if len(names) >= limit:
            break
    return names
