"""Collections (box sets) and playlists, built on the item queries of ``items``."""

from __future__ import annotations

from collections.abc import Sequence

from providers.base import Collection, Item, Playlist, PlaylistEntry
from providers.mediabrowser import dto as d
from providers.mediabrowser.connection import IDS_PER_REQUEST, chunks
from providers.mediabrowser.items import Items


class CollectionsAndPlaylists(Items):
    async def list_collections(self) -> list[Collection]:
        path, params = self._item_params(
            ["BoxSet"], parent_id=None, user_id=None, is_played=None, is_favorite=None, recursive=True
        )
        params["Fields"] = ["ChildCount", "SortName"]
        return [d.collection_from_dto(x) async for x in self._iter_dtos(path, params, 500)]

    async def find_collection(self, name: str) -> Collection | None:
        return next((c for c in await self.list_collections() if c.name == name), None)

    async def create_collection(self, name: str, item_ids: Sequence[str] = ()) -> Collection:
        response = await self._post("/Collections", {"Name": name, "Ids": list(item_ids) or None, "IsLocked": False})
        body = self._json_object(response, "/Collections")
        return Collection(id=d.normalise_id(str(body["Id"])), name=name, child_count=len(item_ids))

    async def add_to_collection(self, collection_id: str, item_ids: Sequence[str]) -> None:
        for group in chunks(list(item_ids), IDS_PER_REQUEST):
            await self._post(
                f"/Collections/{collection_id}/Items",
                {"Ids": list(group)},
                what=f"collection {collection_id}",
                idempotent=True,
            )

    async def remove_from_collection(self, collection_id: str, item_ids: Sequence[str]) -> None:
        for group in chunks(list(item_ids), IDS_PER_REQUEST):
            await self._delete(
                f"/Collections/{collection_id}/Items", {"Ids": list(group)}, f"collection {collection_id}"
            )

    async def collection_items(self, collection_id: str, user_id: str | None = None) -> list[Item]:
        """Members in the collection's own order (no ``SortBy``, so the server's display order applies)."""
        return [
            item
            async for item in self.iter_items(parent_id=collection_id, user_id=user_id, recursive=False, sort_by=None)
        ]

    # --- playlists ----------------------------------------------------------------------------------
    async def list_playlists(self, user_id: str | None = None) -> list[Playlist]:
        path, params = self._item_params(
            ["Playlist"], parent_id=None, user_id=user_id, is_played=None, is_favorite=None, recursive=True
        )
        params["Fields"] = ["ChildCount", "SortName"]
        return [d.playlist_from_dto(x) async for x in self._iter_dtos(path, params, 500)]

    async def find_playlist(self, name: str, user_id: str | None = None) -> Playlist | None:
        return next((p for p in await self.list_playlists(user_id) if p.name == name), None)

    async def create_playlist(
        self,
        name: str,
        item_ids: Sequence[str],
        user_id: str,
        *,
        media_type: str = "Video",
        is_public: bool = True,
    ) -> Playlist:
        first, rest = list(item_ids[:IDS_PER_REQUEST]), list(item_ids[IDS_PER_REQUEST:])
        body = await self._create_playlist(name, first, user_id, media_type, is_public)
        playlist = Playlist(id=d.normalise_id(str(body["Id"])), name=name, child_count=len(item_ids))
        if rest:
            await self.add_to_playlist(playlist.id, rest, user_id)
        return playlist

    async def add_to_playlist(self, playlist_id: str, item_ids: Sequence[str], user_id: str) -> None:
        for group in chunks(list(item_ids), IDS_PER_REQUEST):
            await self._post(
                f"/Playlists/{playlist_id}/Items",
                {"Ids": list(group), "UserId": user_id},
                what=f"playlist {playlist_id}",
            )

    async def playlist_entries(self, playlist_id: str, user_id: str | None = None) -> list[PlaylistEntry]:
        path = f"/Playlists/{playlist_id}/Items"
        entries: list[PlaylistEntry] = []
        start, page_size = 0, 500
        while True:
            body = await self._get(
                path,
                {"UserId": user_id, "StartIndex": start, "Limit": page_size},
                what=f"playlist {playlist_id}",
            )
            page = self._query_result(body, path)
            entries.extend(d.playlist_entry_from_dto(x) for x in page)
            if len(page) < page_size:
                return entries
            start += len(page)

    async def remove_from_playlist(self, playlist_id: str, entry_ids: Sequence[str]) -> None:
        for group in chunks(list(entry_ids), IDS_PER_REQUEST):
            await self._delete(f"/Playlists/{playlist_id}/Items", {"EntryIds": list(group)}, f"playlist {playlist_id}")

    async def move_playlist_entry(self, playlist_id: str, entry_id: str, new_index: int) -> None:
        """Both servers move by the entry's PlaylistItemId (the route calls it ``itemId``)."""
        await self._post(f"/Playlists/{playlist_id}/Items/{entry_id}/Move/{new_index}", what=f"playlist {playlist_id}")

    async def update_playlist(
        self, playlist_id: str, *, name: str | None = None, shared_with: Sequence[str] | None = None
    ) -> bool:
        """Jellyfin 10.9+: ``POST /Playlists/{id}`` with ``Name`` and the read-only ``Users`` shares (``IsPublic``
        false, so only the owner and those users see it). ``emby.py`` overrides it."""
        body: dict[str, object] = {}
        if name is not None:
            body["Name"] = name
        if shared_with is not None:
            body["Users"] = [{"UserId": user_id, "CanEdit": False} for user_id in shared_with]
            body["IsPublic"] = False
        if body:
            await self._post(f"/Playlists/{playlist_id}", json_body=body, what=f"playlist {playlist_id}")
        return shared_with is not None

    async def playlist_shared_with(self, playlist_id: str) -> list[str] | None:
        """Jellyfin: the user ids the playlist is shared with (``GET /Playlists/{id}/Users``); ``emby.py``: None."""
        body = await self._get(f"/Playlists/{playlist_id}/Users", what=f"playlist {playlist_id}")
        if not isinstance(body, list):
            return []
        return [d.normalise_id(str(x.get("UserId"))) for x in body if isinstance(x, dict) and x.get("UserId")]
