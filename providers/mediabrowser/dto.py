"""Turn Jellyfin/Emby PascalCase DTOs into the models of ``providers.base``.

Both servers omit null properties, so every key is optional here. Ids are kept as the server sends
them, except Jellyfin GUIDs, which are normalised to 32 lowercase hex (webhooks may carry dashed ones).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any, cast

from providers.base import (
    Collection,
    Item,
    ItemType,
    Library,
    Person,
    Playlist,
    PlaylistEntry,
    ScanState,
    User,
    UserData,
    UserItem,
)

Dto = dict[str, Any]

_KNOWN_TYPES: frozenset[str] = frozenset(
    {"Movie", "Series", "Season", "Episode", "BoxSet", "Playlist", "CollectionFolder", "Folder", "Video"}
)
_PROVIDER_KEYS = {
    "tmdb": "Tmdb",
    "imdb": "Imdb",
    "tvdb": "Tvdb",
    "tvrage": "TvRage",
    "tmdbcollection": "TmdbCollection",
}


def normalise_id(value: str) -> str:
    """Jellyfin accepts dashed and undashed GUIDs; we always store the undashed lowercase form."""
    if len(value) == 36 and value.count("-") == 4:
        return value.replace("-", "").lower()
    return value


def parse_datetime(value: Any) -> datetime | None:
    if not value or not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    # .NET's DateTime.MinValue means "never".
    if parsed.year <= 1:
        return None
    return parsed.astimezone(UTC)


def format_datetime(value: datetime) -> str:
    """The servers' own format: 7 fractional digits and ``Z``."""
    value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond:06d}0Z"


def normalise_provider_ids(raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        return {}
    out: dict[str, str] = {}
    for key, value in raw.items():
        if value is None or value == "":
            continue
        name = _PROVIDER_KEYS.get(str(key).lower(), str(key)[:1].upper() + str(key)[1:])
        out[name] = str(value)
    return out


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


INT32_MAX = 2**31 - 1  # INTEGER columns: years, episode and season numbers, play counts
INT64_MAX = 2**63 - 1  # BIGINT columns: ticks


def _int(value: Any, limit: int = INT32_MAX) -> int | None:
    """A whole number the server sent, or None when it is missing, not a number, or beyond the column it goes
    into (``-limit-1..limit``): one odd field must not fail a whole sync."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(inf)
        return None
    return number if -limit - 1 <= number <= limit else None


def _float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: a huge int
        return None
    return number if math.isfinite(number) else None


def _names(values: Any) -> list[str]:
    """``["a"]`` or ``[{"Name": "a", "Id": ..}]`` (Studios, GenreItems) → ``["a"]``."""
    if not isinstance(values, list):
        return []
    out: list[str] = []
    for value in values:
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, dict) and value.get("Name"):
            out.append(str(value["Name"]))
    return out


def item_type(raw: Any) -> ItemType:
    return cast(ItemType, raw) if raw in _KNOWN_TYPES else "Other"


def user_data_from_dto(dto: Dto, item_id: str) -> UserData:
    return UserData(
        item_id=normalise_id(str(dto.get("ItemId") or item_id)),
        played=bool(dto.get("Played", False)),
        play_count=_int(dto.get("PlayCount")) or 0,
        is_favorite=bool(dto.get("IsFavorite", False)),
        last_played=parse_datetime(dto.get("LastPlayedDate")),
        position_ticks=_int(dto.get("PlaybackPositionTicks"), INT64_MAX) or 0,
        played_percentage=_float(dto.get("PlayedPercentage")),
        rating=_float(dto.get("Rating")),
        likes=dto.get("Likes") if isinstance(dto.get("Likes"), bool) else None,
        unplayed_item_count=_int(dto.get("UnplayedItemCount")),
    )


def user_item_from_dto(dto: Dto) -> UserItem | None:
    """A watch-history row: the item's id (its ``Id``, as ``Item.id``) and its ``UserData``; None without one."""
    user_data = dto.get("UserData")
    if not isinstance(user_data, dict):
        return None
    item_id = normalise_id(str(dto["Id"]))
    return UserItem(item_id, user_data_from_dto(user_data, item_id))


def item_from_dto(dto: Dto) -> Item:
    item_id = normalise_id(str(dto["Id"]))
    people = [
        Person(
            name=str(p["Name"]),
            role=_str(p.get("Role")),
            type=_str(p.get("Type")),
            id=normalise_id(str(p["Id"])) if p.get("Id") is not None else None,
        )
        for p in dto.get("People") or []
        if isinstance(p, dict) and p.get("Name")
    ]
    user_data = dto.get("UserData")
    raw_type = dto.get("Type")
    return Item(
        id=item_id,
        type=item_type(raw_type),
        server_type=_str(raw_type),
        name=str(dto.get("Name") or ""),
        original_title=_str(dto.get("OriginalTitle")),
        sort_name=_str(dto.get("SortName")),
        forced_sort_name=_str(dto.get("ForcedSortName")),
        year=_int(dto.get("ProductionYear")),
        premiere_date=parse_datetime(dto.get("PremiereDate")),
        overview=_str(dto.get("Overview")),
        taglines=[str(t) for t in dto.get("Taglines") or [] if t],
        genres=_names(dto.get("Genres")) or _names(dto.get("GenreItems")),
        tags=_names(dto.get("Tags")) or _names(dto.get("TagItems")),
        studios=_names(dto.get("Studios")),
        people=people,
        community_rating=_float(dto.get("CommunityRating")),
        critic_rating=_float(dto.get("CriticRating")),
        official_rating=_str(dto.get("OfficialRating")),
        runtime_ticks=_int(dto.get("RunTimeTicks"), INT64_MAX),
        provider_ids=normalise_provider_ids(dto.get("ProviderIds")),
        path=_str(dto.get("Path")),
        parent_id=normalise_id(str(dto["ParentId"])) if dto.get("ParentId") else None,
        series_id=normalise_id(str(dto["SeriesId"])) if dto.get("SeriesId") else None,
        series_name=_str(dto.get("SeriesName")),
        season_id=normalise_id(str(dto["SeasonId"])) if dto.get("SeasonId") else None,
        season_name=_str(dto.get("SeasonName")),
        index_number=_int(dto.get("IndexNumber")),
        parent_index_number=_int(dto.get("ParentIndexNumber")),
        is_folder=bool(dto.get("IsFolder", False)),
        media_type=_str(dto.get("MediaType")),
        image_tags=_image_tags(dto),
        date_created=parse_datetime(dto.get("DateCreated")),
        date_last_saved=parse_datetime(dto.get("DateLastSaved")),
        locked_fields=[str(f) for f in dto.get("LockedFields") or []],
        child_count=_int(dto.get("ChildCount")),
        user_data=user_data_from_dto(user_data, item_id) if isinstance(user_data, dict) else None,
    )


def user_from_dto(dto: Dto) -> User:
    policy: Dto = dto.get("Policy") or {}
    return User(
        id=normalise_id(str(dto["Id"])),
        name=str(dto.get("Name") or ""),
        is_admin=bool(policy.get("IsAdministrator", False)),
        is_disabled=bool(policy.get("IsDisabled", False)),
        is_hidden=bool(policy.get("IsHidden", False)),
        enable_all_folders=bool(policy.get("EnableAllFolders", True)),
        enabled_folders=[normalise_id(str(f)) for f in policy.get("EnabledFolders") or []],
        has_password=dto.get("HasPassword") if isinstance(dto.get("HasPassword"), bool) else None,
        last_activity=parse_datetime(dto.get("LastActivityDate")),
        policy=policy,
    )


def library_from_dto(dto: Dto) -> Library:
    return Library(
        id=normalise_id(str(dto.get("ItemId") or "")),
        name=str(dto.get("Name") or ""),
        collection_type=_str(dto.get("CollectionType")),
        locations=[str(p) for p in dto.get("Locations") or []],
        refresh_status=_str(dto.get("RefreshStatus")),
        refresh_progress=_float(dto.get("RefreshProgress")),
        options=dto.get("LibraryOptions") or {},
    )


def collection_from_dto(dto: Dto) -> Collection:
    return Collection(
        id=normalise_id(str(dto["Id"])),
        name=str(dto.get("Name") or ""),
        child_count=_int(dto.get("ChildCount")),
    )


def playlist_from_dto(dto: Dto) -> Playlist:
    return Playlist(
        id=normalise_id(str(dto["Id"])),
        name=str(dto.get("Name") or ""),
        child_count=_int(dto.get("ChildCount")),
    )


def playlist_entry_from_dto(dto: Dto) -> PlaylistEntry:
    return PlaylistEntry(
        entry_id=normalise_id(str(dto.get("PlaylistItemId") or "")),
        item_id=normalise_id(str(dto["Id"])),
        name=str(dto.get("Name") or ""),
        type=item_type(dto.get("Type")),
    )


def scan_state_from_tasks(tasks: list[Dto]) -> ScanState:
    """The "Scan Media Library" task (Key ``RefreshLibrary``) out of ``/ScheduledTasks``."""
    for task in tasks:
        if task.get("Key") == "RefreshLibrary":
            last: Dto = task.get("LastExecutionResult") or {}
            state = str(task.get("State") or "Idle")
            return ScanState(
                running=state != "Idle",
                state=state,
                progress=_float(task.get("CurrentProgressPercentage")),
                last_status=_str(last.get("Status")),
                last_start=parse_datetime(last.get("StartTimeUtc")),
                last_end=parse_datetime(last.get("EndTimeUtc")),
            )
    return ScanState(running=False, state="Idle")


def _image_tags(dto: Dto) -> dict[str, str]:
    """``ImageTags`` by type; backdrops are listed apart (``BackdropImageTags``), the first one kept here."""
    tags = {str(k): str(v) for k, v in (dto.get("ImageTags") or {}).items() if v}
    backdrops = dto.get("BackdropImageTags")
    if isinstance(backdrops, list) and backdrops and backdrops[0]:
        tags["Backdrop"] = str(backdrops[0])
    return tags
