"""Simulator state → the servers' PascalCase DTOs, nulls omitted, ids per flavour.

Like the real servers, list responses carry only the always-present properties plus those named in
``Fields``; single-item responses carry everything.
"""

from __future__ import annotations

import functools
import os
from typing import TYPE_CHECKING, Any

from providers.simulator.model import SimItem, SimLibrary, SimPerson, SimUser, SimUserData, hex_id
from providers.simulator.webhooks import net_time

BACKDROP_TYPES = ("Movie", "Series")  # titles with fan art (seasons and episodes have none of their own)


if TYPE_CHECKING:
    from providers.simulator.state import Simulator

ALL_FIELDS = None
_EXTERNAL = {
    "Imdb": ("IMDb", "https://www.imdb.com/title/{}"),
    "Tmdb": ("TheMovieDb", "https://www.themoviedb.org/movie/{}"),
    "Tvdb": ("TheTVDB", "https://thetvdb.com/?tab=series&id={}"),
}


@functools.lru_cache(maxsize=65536)
def name_id(emby: bool, kind: str, name: str) -> str | int:
    """Ids of people, studios and genres: Emby numbers (NameLongIdPair), Jellyfin GUIDs."""
    return int(hex_id(kind, name)[:8], 16) % 100000 if emby else hex_id(kind, name)


class _Everything:
    def __contains__(self, name: object) -> bool:
        return True


_EVERYTHING = _Everything()


def _person(emby: bool, person: SimPerson) -> dict[str, Any]:
    out: dict[str, Any] = {"Name": person.name, "Id": str(name_id(emby, "person", person.name))}
    if person.role is not None:
        out["Role"] = person.role
    out["Type"] = person.type
    return out


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


class DtoBuilder:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.emby = sim.flavor == "emby"

    def _name_id(self, kind: str, name: str) -> dict[str, Any]:
        return {"Name": name, "Id": name_id(self.emby, kind, name)}

    def user_data(self, user: SimUser, item: SimItem, data: SimUserData | None = None) -> dict[str, Any]:
        sim = self.sim
        data = data or sim.get_user_data(user.id, item)
        out: dict[str, Any] = {}
        if data.rating is not None:
            out["Rating"] = data.rating
        runtime = item.runtime_ticks or 0
        played, position = data.played, data.position_ticks
        if item.type in ("Series", "Season"):
            watched, total = sim.folder_counts(user.id, item)
            played = total > 0 and watched == total
            out["PlayedPercentage"] = 100.0 * watched / total if total else None
            out["UnplayedItemCount"] = total - watched
        elif position > 0 and runtime > 0:
            out["PlayedPercentage"] = 100.0 * position / runtime
        out.update(
            PlaybackPositionTicks=position,
            PlayCount=data.play_count,
            IsFavorite=data.is_favorite,
            Likes=data.likes,
            LastPlayedDate=net_time(data.last_played) if data.last_played else None,
            Played=played,
            Key=sim.data_key(item),
            ItemId=item.id,
        )
        return _clean(out)

    def item(
        self,
        item: SimItem,
        fields: set[str] | None,
        user: SimUser | None,
        *,
        playlist_item_id: str | None = None,
        images: bool = True,
    ) -> dict[str, Any]:
        """``fields`` None means all (single-item requests); otherwise the lowercase ``Fields`` names.
        ``images=False`` (``EnableImages=false``) leaves out every image tag, as both servers do."""
        sim = self.sim

        want = (_EVERYTHING if fields is None else fields).__contains__  # lowercase names

        series = sim.items.get(item.series_id) if item.series_id else None
        season = sim.items.get(item.season_id) if item.season_id else None
        dto: dict[str, Any] = {"Name": item.name}
        if want("originaltitle"):
            dto["OriginalTitle"] = item.original_title
        dto["ServerId"] = sim.server_id
        dto["Id"] = item.id
        if want("etag"):
            dto["Etag"] = hex_id("etag", item.id, net_time(item.date_last_saved))
        if playlist_item_id is not None:
            dto["PlaylistItemId"] = playlist_item_id
        if want("datecreated"):
            dto["DateCreated"] = net_time(item.date_created)
        if not item.is_folder:
            dto["Container"] = "strm" if (item.path or "").endswith(".strm") else "mkv"
        if want("sortname"):
            dto["SortName"] = item.sort_name
        if want("settings"):
            dto["ForcedSortName"] = item.forced_sort_name
        dto["PremiereDate"] = net_time(item.premiere_date) if item.premiere_date else None
        if want("externalurls"):
            dto["ExternalUrls"] = [
                {"Name": _EXTERNAL[k][0], "Url": _EXTERNAL[k][1].format(v)}
                for k, v in item.provider_ids.items()
                if k in _EXTERNAL
            ]
        dto["CriticRating"] = item.critic_rating
        if want("path"):
            dto["Path"] = item.path
        dto["OfficialRating"] = item.official_rating
        if want("overview"):
            dto["Overview"] = item.overview
        if want("taglines"):
            dto["Taglines"] = list(item.taglines)
        if want("genres"):
            dto["Genres"] = list(item.genres)
        dto["CommunityRating"] = item.community_rating
        dto["RunTimeTicks"] = item.runtime_ticks
        dto["ProductionYear"] = item.year
        dto["IndexNumber"] = item.index_number
        dto["ParentIndexNumber"] = item.parent_index_number
        if want("providerids"):
            dto["ProviderIds"] = dict(item.provider_ids)
        dto["IsFolder"] = item.is_folder
        if want("parentid") and item.parent_id:
            dto["ParentId"] = item.parent_id
        dto["Type"] = item.type
        if want("people"):
            dto["People"] = [_person(self.emby, p) for p in item.people]
        if want("studios"):
            dto["Studios"] = [self._name_id("studio", s) for s in item.studios]
        if want("genres"):
            dto["GenreItems"] = [self._name_id("genre", g) for g in item.genres]
        if user is not None:
            dto["UserData"] = self.user_data(user, item)
        if want("childcount") and item.is_folder:
            dto["ChildCount"] = self._child_count(item)
        if series is not None:
            dto["SeriesName"] = series.name
            dto["SeriesId"] = series.id
            if item.type == "Episode":
                dto["SeasonId"] = item.season_id
                if images:
                    dto["SeriesPrimaryImageTag"] = series.image_tag
        if want("tags"):
            dto["Tags"] = list(item.tags)
        if item.type == "CollectionFolder" and item.id in sim.libraries:
            dto["CollectionType"] = sim.libraries[item.id].collection_type
        if item.type == "BoxSet" and item.display_order:
            dto["DisplayOrder"] = item.display_order
        if season is not None:
            dto["SeasonName"] = season.name
        if images:
            dto["ImageTags"] = {"Primary": item.image_tag}
            dto["BackdropImageTags"] = [item.image_tag] if item.type in BACKDROP_TYPES else []
        dto["LocationType"] = "FileSystem" if item.type != "Playlist" else None
        if item.type == "Playlist":
            dto["MediaType"] = item.media_type or "Video"
        elif not item.is_folder:
            dto["MediaType"] = "Video"
        elif not self.emby:
            dto["MediaType"] = "Unknown"
        if want("settings"):
            dto["LockedFields"] = list(item.locked_fields)
            dto["LockData"] = item.lock_data
        if item.type == "Series":
            dto.update(self._series_status(item))
        if not item.is_folder and (want("mediasources") or want("mediastreams")):
            source = self._media_source(item)
            if want("mediasources"):
                dto["MediaSources"] = [source]
            if want("mediastreams"):
                dto["MediaStreams"] = source["MediaStreams"]
        return _clean(dto)

    def _series_status(self, series: SimItem) -> dict[str, Any]:
        """``Status``, ``AirDays`` and, once ended, ``EndDate``: series before 2015 have ended."""
        days = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
        day = days[int(hex_id("airday", series.id)[:4], 16) % 7]
        out: dict[str, Any] = {"Status": "Continuing", "AirDays": [day], "AirTime": "20:00"}
        if series.year is not None and series.year < 2015:
            out["Status"] = "Ended"
            seasons = max(1, len(series.children))
            end = series.premiere_date.replace(year=min(series.year + seasons, 2014)) if series.premiere_date else None
            out["EndDate"] = net_time(end) if end else None
        return out

    def _media_source(self, item: SimItem) -> dict[str, Any]:
        """One file-backed source with a video and an audio stream, as a direct-playable file has."""
        path = item.path or f"/media/{item.id}.mkv"
        container = "strm" if path.endswith(".strm") else "mkv"
        size = os.path.getsize(path) if item.path and os.path.exists(path) else 0
        streams: list[dict[str, Any]] = [
            {
                "Codec": "h264",
                "Language": "eng",
                "TimeBase": "1/1000",
                "VideoRange": "SDR",
                "DisplayTitle": "1080p H264 SDR",
                "IsInterlaced": False,
                "BitRate": 8000000,
                "BitDepth": 8,
                "RefFrames": 1,
                "IsDefault": True,
                "IsForced": False,
                "Height": 1080,
                "Width": 1920,
                "AverageFrameRate": 23.976,
                "RealFrameRate": 23.976,
                "Profile": "High",
                "Type": "Video",
                "AspectRatio": "16:9",
                "Index": 0,
                "IsExternal": False,
                "IsTextSubtitleStream": False,
                "SupportsExternalStream": False,
                "PixelFormat": "yuv420p",
                "Level": 41,
            },
            {
                "Codec": "aac",
                "Language": "eng",
                "TimeBase": "1/1000",
                "DisplayTitle": "English - AAC - Stereo - Default",
                "IsInterlaced": False,
                "ChannelLayout": "stereo",
                "BitRate": 192000,
                "Channels": 2,
                "SampleRate": 48000,
                "IsDefault": True,
                "IsForced": False,
                "Type": "Audio",
                "Index": 1,
                "IsExternal": False,
                "IsTextSubtitleStream": False,
                "SupportsExternalStream": False,
            },
        ]
        source: dict[str, Any] = {
            "Protocol": "File",
            "Id": item.id,
            "Path": path,
            "Type": "Default",
            "Container": container,
            "Size": size,
            "Name": os.path.splitext(os.path.basename(path))[0],
            "IsRemote": False,
            "RunTimeTicks": item.runtime_ticks,
            "SupportsTranscoding": True,
            "SupportsDirectStream": True,
            "SupportsDirectPlay": True,
            "IsInfiniteStream": False,
            "RequiresOpening": False,
            "RequiresClosing": False,
            "SupportsProbing": True,
            "MediaStreams": streams,
            "Formats": [],
            "Bitrate": 8192000,
            "RequiredHttpHeaders": {},
            "DefaultAudioStreamIndex": 1,
        }
        if not self.emby:
            source.update(
                ETag=hex_id("etag", item.id),
                ReadAtNativeFramerate=False,
                IgnoreDts=False,
                IgnoreIndex=False,
                GenPtsInput=False,
                RequiresLooping=False,
                IsoType=None,
                VideoType="VideoFile",
                MediaAttachments=[],
                TranscodingSubProtocol="http",
                HasSegments=False,
                UseMostCompatibleTranscodingProfile=False,
            )
        return _clean(source)

    def _child_count(self, item: SimItem) -> int:
        if item.type == "Playlist":
            return len(self.sim.playlist_entries.get(item.id, []))
        if item.type == "CollectionFolder" and item.id in self.sim.libraries:
            return sum(
                1
                for i in self.sim.libraries[item.id].item_ids
                if i in self.sim.items and self.sim.items[i].parent_id == item.id
            )
        return len(item.children)

    def webhook_item(self, item: SimItem, user: SimUser | None) -> dict[str, Any]:
        """The ``Item`` of an Emby webhook: the full DTO plus the file facts Emby 4.8 adds."""
        dto = self.item(item, None, user)
        for key in ("Etag", "ForcedSortName", "LockedFields", "LockData", "OriginalTitle", "People", "Tags"):
            dto.pop(key, None)
        if not item.is_folder and item.path:
            dto.setdefault("Container", "mkv")
            dto["Size"] = os.path.getsize(item.path) if os.path.exists(item.path) else 0
            dto["FileName"] = os.path.basename(item.path)
            dto["Bitrate"] = 0
            dto["PlayAccess"] = "Full"
            dto["RemoteTrailers"] = []
            dto["TagItems"] = []
            dto["PrimaryImageAspectRatio"] = 0.6666666666666666
        if item.type == "Episode" and item.series_id:
            dto["ParentLogoItemId"] = item.series_id
            dto["ParentBackdropItemId"] = item.series_id
            dto["ParentBackdropImageTags"] = []
        return dto

    def user(self, user: SimUser) -> dict[str, Any]:
        sim = self.sim
        dto: dict[str, Any] = {
            "Name": user.name,
            "ServerId": sim.server_id,
            "ServerName": sim.server_name if not self.emby else None,
            "Id": user.id,
            "HasPassword": bool(user.password),
            "HasConfiguredPassword": bool(user.password),
            "HasConfiguredEasyPassword": False,
            "EnableAutoLogin": False,
            "LastLoginDate": net_time(user.last_login) if user.last_login else None,
            "LastActivityDate": net_time(user.last_activity) if user.last_activity else None,
            "Configuration": dict(user.configuration),
            "Policy": dict(user.policy),
        }
        return _clean(dto)

    def library(self, library: SimLibrary) -> dict[str, Any]:
        return _clean(
            {
                "Name": library.name,
                "Locations": list(library.locations),
                "CollectionType": library.collection_type,
                "LibraryOptions": dict(library.options),
                "ItemId": library.id,
                "Id": library.id if self.emby else None,
                "Guid": hex_id("library-guid", library.id) if self.emby else None,
                "PrimaryImageItemId": library.id,
                "RefreshProgress": library.refresh_progress,
                "RefreshStatus": library.refresh_status,
            }
        )

    def scan_task(self) -> dict[str, Any]:
        task = self.sim.scan_task
        last = None
        if task.last_end is not None and task.last_start is not None:
            last = {
                "StartTimeUtc": net_time(task.last_start),
                "EndTimeUtc": net_time(task.last_end),
                "Status": task.last_status or "Completed",
                "Name": "Scan Media Library",
                "Key": "RefreshLibrary",
                "Id": task.id,
            }
        return _clean(
            {
                "Name": "Scan Media Library",
                "State": task.state,
                "CurrentProgressPercentage": task.progress if task.state == "Running" else None,
                "Id": task.id,
                "LastExecutionResult": last,
                "Triggers": [{"Type": "IntervalTrigger", "IntervalTicks": 432000000000}],
                "Description": "Scans your media library for new files and refreshes metadata.",
                "Category": "Library",
                "IsHidden": False,
                "Key": "RefreshLibrary",
            }
        )

    def other_tasks(self) -> list[dict[str, Any]]:
        return [
            {
                "Name": name,
                "State": "Idle",
                "Id": hex_id("task", key),
                "Triggers": [{"Type": "IntervalTrigger", "IntervalTicks": 864000000000}],
                "Description": description,
                "Category": category,
                "IsHidden": False,
                "Key": key,
            }
            for name, key, description, category in (
                ("Clean Cache Directory", "DeleteCacheFiles", "Deletes cache files no longer needed.", "Maintenance"),
                ("Refresh People", "RefreshPeople", "Updates metadata for actors and directors.", "Library"),
            )
        ]
