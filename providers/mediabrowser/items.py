"""Items and their user data: paging through items, counts, single items, edits, played and favourite marks."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from providers.base import Item, UserData, UserItem
from providers.errors import ProviderResponseError
from providers.mediabrowser import dto as d
from providers.mediabrowser.connection import IDS_PER_REQUEST, ITEM_FIELDS, STABLE_SORT, Connection, chunks

_GUID = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")


def _fields(fields: Sequence[str] | None) -> list[str] | None:
    """The ``Fields`` parameter: None asks for every field Marquee stores; no names leave it out (the servers
    then send only their always-present properties)."""
    if fields is None:
        return list(ITEM_FIELDS)
    return list(fields) or None


class Items(Connection):
    async def _page(self, path: str, params: dict[str, Any]) -> list[d.Dto]:
        return self._query_result(await self._get(path, params), path)

    async def _iter_dtos(self, path: str, params: dict[str, Any], page_size: int) -> AsyncIterator[d.Dto]:
        start = 0
        while True:
            page = await self._page(
                path, {**params, "StartIndex": start, "Limit": page_size, "EnableTotalRecordCount": False}
            )
            for dto in page:
                yield dto
            if len(page) < page_size:
                return
            start += len(page)

    def _item_params(
        self,
        types: Sequence[str] | None,
        *,
        parent_id: str | None,
        user_id: str | None,
        is_played: bool | None,
        is_favorite: bool | None,
        recursive: bool,
        fields: Sequence[str] | None = None,
        enable_images: bool = True,
    ) -> tuple[str, dict[str, Any]]:
        path, extra = self.items_path(user_id)
        params: dict[str, Any] = {
            **extra,
            "Recursive": recursive,
            "IncludeItemTypes": list(types) if types else None,
            "ParentId": parent_id,
            "IsPlayed": is_played,
            "IsFavorite": is_favorite,
            "Fields": _fields(fields),
            "EnableImages": None if enable_images else False,
            "EnableUserData": True if user_id else None,
        }
        return path, params

    async def _iter_query(
        self,
        types: Sequence[str] | None,
        *,
        parent_id: str | None = None,
        user_id: str | None = None,
        is_played: bool | None = None,
        is_favorite: bool | None = None,
        min_date_last_saved: datetime | None = None,
        min_date_last_saved_for_user: datetime | None = None,
        ids: Sequence[str] | None = None,
        recursive: bool = True,
        page_size: int = 500,
        sort_by: Sequence[str] | None = STABLE_SORT,
        fields: Sequence[str] | None = None,
        enable_images: bool = True,
    ) -> AsyncIterator[d.Dto]:
        path, params = self._item_params(
            types,
            parent_id=parent_id,
            user_id=user_id,
            is_played=is_played,
            is_favorite=is_favorite,
            recursive=recursive,
            fields=fields,
            enable_images=enable_images,
        )
        params["MinDateLastSaved"] = d.format_datetime(min_date_last_saved) if min_date_last_saved else None
        params["MinDateLastSavedForUser"] = (
            d.format_datetime(min_date_last_saved_for_user) if min_date_last_saved_for_user else None
        )
        if sort_by:
            params["SortBy"] = list(sort_by)
            params["SortOrder"] = "Ascending"
        id_groups: list[Sequence[str] | None] = [None]
        if ids is not None:
            if self.kind == "jellyfin":
                # Jellyfin's binder drops ids that are not GUIDs, and an empty ``ids`` filters nothing: one stray id
                # would page through the whole server. Such an id matches no Jellyfin item, so leave it out here.
                ids = [i for i in ids if _GUID.fullmatch(i)]
            id_groups = list(chunks(list(ids), IDS_PER_REQUEST))
        for group in id_groups:
            group_params = {**params, "Ids": list(group) if group is not None else None}
            async for dto in self._iter_dtos(path, group_params, page_size):
                yield dto

    async def iter_items(
        self,
        types: Sequence[str] | None = None,
        *,
        parent_id: str | None = None,
        user_id: str | None = None,
        is_played: bool | None = None,
        is_favorite: bool | None = None,
        min_date_last_saved: datetime | None = None,
        min_date_last_saved_for_user: datetime | None = None,
        ids: Sequence[str] | None = None,
        recursive: bool = True,
        page_size: int = 500,
        sort_by: Sequence[str] | None = STABLE_SORT,
        fields: Sequence[str] | None = None,
        enable_images: bool = True,
    ) -> AsyncIterator[Item]:
        dtos = self._iter_query(
            types,
            parent_id=parent_id,
            user_id=user_id,
            is_played=is_played,
            is_favorite=is_favorite,
            min_date_last_saved=min_date_last_saved,
            min_date_last_saved_for_user=min_date_last_saved_for_user,
            ids=ids,
            recursive=recursive,
            page_size=page_size,
            sort_by=sort_by,
            fields=fields,
            enable_images=enable_images,
        )
        async for dto in dtos:
            yield d.item_from_dto(dto)

    async def iter_user_data(
        self,
        types: Sequence[str] | None,
        *,
        user_id: str,
        is_played: bool | None = None,
        is_favorite: bool | None = None,
        min_date_last_saved_for_user: datetime | None = None,
        page_size: int = 500,
    ) -> AsyncIterator[UserItem]:
        dtos = self._iter_query(
            types,
            user_id=user_id,
            is_played=is_played,
            is_favorite=is_favorite,
            min_date_last_saved_for_user=min_date_last_saved_for_user,
            page_size=page_size,
            fields=(),
            enable_images=False,
        )
        async for dto in dtos:
            row = d.user_item_from_dto(dto)
            if row is not None:
                yield row

    async def count_items(
        self,
        types: Sequence[str] | None = None,
        *,
        parent_id: str | None = None,
        user_id: str | None = None,
        is_played: bool | None = None,
        is_favorite: bool | None = None,
        recursive: bool = True,
    ) -> int:
        path, params = self._item_params(
            types,
            parent_id=parent_id,
            user_id=user_id,
            is_played=is_played,
            is_favorite=is_favorite,
            recursive=recursive,
        )
        params.update(Fields=None, Limit=0, EnableTotalRecordCount=True)
        body = await self._get(path, params)
        if not isinstance(body, dict) or not isinstance(body.get("TotalRecordCount"), int):
            raise ProviderResponseError(f"{self.label} answered {path} without TotalRecordCount", server=self.label)
        return int(body["TotalRecordCount"])

    async def get_item(self, item_id: str, user_id: str | None = None) -> Item:
        return d.item_from_dto(await self._item_dto(item_id, user_id))

    async def get_user_data(self, user_id: str, item_ids: Sequence[str]) -> dict[str, UserData]:
        dtos = self._iter_query(None, user_id=user_id, ids=item_ids, sort_by=None, fields=(), enable_images=False)
        out: dict[str, UserData] = {}
        async for dto in dtos:
            row = d.user_item_from_dto(dto)
            if row is not None:
                out[row.id] = row.user_data
        return out

    async def resume_items(
        self, user_id: str, *, limit: int = 100, fields: Sequence[str] | None = None, enable_images: bool = True
    ) -> list[Item]:
        path, extra = self.resume_path(user_id)
        params = {
            **extra,
            "Limit": limit,
            "Fields": _fields(fields),
            "EnableImages": None if enable_images else False,
            "MediaTypes": "Video",
            "EnableUserData": True,
        }
        return [d.item_from_dto(x) for x in await self._page(path, params)]

    async def update_item(self, item_id: str, changes: dict[str, Any]) -> None:
        current = await self._item_dto(item_id, None)
        await self._post(f"/Items/{item_id}", json_body={**current, **changes}, what=f"item {item_id}", idempotent=True)

    async def set_sort_name(self, item_id: str, sort_name: str, *, lock: bool = True) -> None:
        current = await self._item_dto(item_id, None)
        current["ForcedSortName"] = sort_name
        if lock:
            # Neither server has a "SortName" lock (MetadataField rejects it with 400); the "Name" lock
            # is the one metadata refreshes honour for the name and the forced sort name.
            locked = [str(f) for f in current.get("LockedFields") or []]
            if "Name" not in locked:
                locked.append("Name")
            current["LockedFields"] = locked
        await self._post(f"/Items/{item_id}", json_body=current, what=f"item {item_id}", idempotent=True)

    async def delete_item(self, item_id: str) -> None:
        await self._delete(f"/Items/{item_id}", None, what=f"item {item_id}")

    # --- user actions -------------------------------------------------------------------------------
    async def mark_played(self, user_id: str, item_id: str, date_played: datetime | None = None) -> UserData:
        return d.user_data_from_dto(await self._set_played(user_id, item_id, True, date_played), item_id)

    async def mark_unplayed(self, user_id: str, item_id: str) -> UserData:
        return d.user_data_from_dto(await self._set_played(user_id, item_id, False, None), item_id)

    async def set_favorite(self, user_id: str, item_id: str, favorite: bool) -> UserData:
        return d.user_data_from_dto(await self._set_favorite(user_id, item_id, favorite), item_id)
