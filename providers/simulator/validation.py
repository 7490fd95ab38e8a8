"""Jellyfin's request binding, as strict and as lenient as ASP.NET Core and Jellyfin's model binders.

Read from Jellyfin 10.10/10.11 (``Jellyfin.Api/ModelBinders``) and ASP.NET Core's ``[ApiController]`` behaviour:

- A single value that does not convert (a GUID route or query parameter like ``/Items/not-a-guid`` or
  ``userId=x``, a boolean like ``isPlayed=1``, an integer, a date) fails model binding: 400 with a
  ``ValidationProblemDetails`` body (``errors: {name: ["The value 'x' is not valid."]}``).
- Comma-delimited arrays (``includeItemTypes``, ``fields``, ``sortBy``, ``filters``, ``ids``…) go through
  ``CommaDelimitedCollectionModelBinder``, which *drops* values that do not convert: ``fields=Bogus`` is an
  empty list, ``includeItemTypes=Movie,Bogus`` is ``[Movie]``, ``ids=not-a-guid`` is no filter at all.
- A single nullable enum (``collectionType``, ``mediaType``) that does not convert stays unbound (null).

Emby is a ServiceStack server that binds these as strings; none of this applies to it.
"""

from __future__ import annotations

import json
import re
import secrets
from datetime import datetime

from starlette.responses import Response


def _members(names: str) -> frozenset[str]:
    """An enum's members, lowercase (the binders compare case-insensitively)."""
    return frozenset(names.lower().split())


ITEM_SORT_BY = _members(
    "Default AiredEpisodeOrder Album AlbumArtist Artist DateCreated OfficialRating DatePlayed PremiereDate "
    "StartDate SortName Name Random Runtime CommunityRating ProductionYear PlayCount CriticRating IsFolder "
    "IsUnplayed IsPlayed SeriesSortName VideoBitRate AirTime Studio IsFavoriteOrLiked DateLastContentAdded "
    "SeriesDatePlayed ParentIndexNumber IndexNumber"
)
"""Jellyfin's 30 ``ItemSortBy`` values (10.11)."""

ITEM_FIELDS = _members(
    "AirTime CanDelete CanDownload ChannelInfo Chapters Trickplay ChildCount CumulativeRunTimeTicks CustomRating "
    "DateCreated DateLastMediaAdded DisplayPreferencesId Etag ExternalUrls Genres ItemCounts MediaSourceCount "
    "MediaSources OriginalTitle Overview ParentId Path People PlayAccess ProductionLocations ProviderIds "
    "PrimaryImageAspectRatio RecursiveItemCount Settings SeriesStudio SortName SpecialEpisodeNumbers Studios "
    "Taglines Tags RemoteTrailers MediaStreams SeasonUserData DateLastRefreshed DateLastSaved RefreshState "
    "ChannelImage EnableMediaSourceDisplay Width Height ExtraIds LocalTrailerCount IsHD SpecialFeatureCount"
)

BASE_ITEM_KINDS = _members(
    "AggregateFolder Audio AudioBook BasePluginFolder Book BoxSet Channel ChannelFolderItem CollectionFolder "
    "Episode Folder Genre ManualPlaylistsFolder Movie LiveTvChannel LiveTvProgram MusicAlbum MusicArtist "
    "MusicGenre MusicVideo Person Photo PhotoAlbum Playlist PlaylistsFolder Program Recording Season Series "
    "Studio Trailer TvChannel TvProgram UserRootFolder UserView Video Year"
)

ITEM_FILTERS = _members(
    "IsFolder IsNotFolder IsUnplayed IsPlayed IsFavorite IsResumable Likes Dislikes IsFavoriteOrLikes"
)
IMAGE_TYPES = _members("Primary Art Backdrop Banner Logo Thumb Disc Box Screenshot Menu Chapter BoxRear Profile")
MEDIA_TYPES = _members("Unknown Video Audio Photo Book")
COLLECTION_TYPES = _members("movies tvshows music musicvideos homevideos boxsets books mixed")
SORT_ORDERS = frozenset({"ascending", "descending"})

ENUM_LISTS: dict[str, frozenset[str]] = {
    "sortby": ITEM_SORT_BY,
    "fields": ITEM_FIELDS,
    "includeitemtypes": BASE_ITEM_KINDS,
    "excludeitemtypes": BASE_ITEM_KINDS,
    "filters": ITEM_FILTERS,
    "sortorder": SORT_ORDERS,
    "mediatypes": MEDIA_TYPES,
    "imagetypes": IMAGE_TYPES,
    "enableimagetypes": IMAGE_TYPES,
}
"""Comma-delimited enum arrays: values that are not members are dropped."""

GUID_LISTS = frozenset({"ids", "excludeitemids", "genreids", "studioids", "personids"})

SINGLE_ENUMS: dict[str, frozenset[str]] = {"collectiontype": COLLECTION_TYPES, "mediatype": MEDIA_TYPES}
"""Nullable single enums: a value that is not a member stays unbound."""

GUID_PARAMS = frozenset(
    {"userid", "itemid", "parentid", "seriesid", "seasonid", "playlistid", "collectionid", "startitemid", "adjacentto"}
)
BOOL_PARAMS = frozenset(
    {
        "isplayed",
        "isfavorite",
        "recursive",
        "enableuserdata",
        "enableimages",
        "enabletotalrecordcount",
        "ishidden",
        "isdisabled",
        "refreshlibrary",
        "ismissing",
        "isfolder",
        "isunaired",
        "isvirtualitem",
        "islocked",
        "ispublic",
        "replaceallmetadata",
        "replaceallimages",
        "groupitems",
        "static",
        "hastmdbid",
        "hasimdbid",
        "hastvdbid",
        "collapseboxsetitems",
        "isspecialseason",
    }
)
INT_PARAMS = frozenset(
    {
        "startindex",
        "limit",
        "maxwidth",
        "maxheight",
        "width",
        "height",
        "quality",
        "imageindex",
        "newindex",
        "position",
        "season",
        "imagetypelimit",
        "fillwidth",
        "fillheight",
    }
)
DATE_PARAMS = frozenset({"mindatelastsaved", "mindatelastsavedforuser", "minpremieredate", "maxpremieredate"})

_GUID = re.compile(
    r"^\{?[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}\}?$|^\([0-9a-fA-F-]{36}\)$"
)
_INT = re.compile(r"^\s*[+-]?\d+\s*$")


def is_guid(value: str) -> bool:
    return bool(_GUID.match(value.strip()))


def _converts(name: str, value: str) -> bool:
    if name == "imagetype":
        return value.strip().lower() in IMAGE_TYPES
    if name in GUID_PARAMS:
        return is_guid(value)
    if name in BOOL_PARAMS:
        return value.strip().lower() in ("true", "false")
    if name in INT_PARAMS:
        return bool(_INT.match(value)) and -(2**31) <= int(value) < 2**31
    if name in DATE_PARAMS:
        try:
            datetime.fromisoformat(value.strip().replace(" ", "+") if "T" in value else value.strip())
        except ValueError:
            return False
    return True


def binding_errors(
    path_params: dict[str, str], query: dict[str, str], names: dict[str, str] | None = None
) -> dict[str, list[str]]:
    """Model-binding errors for one Jellyfin request, keyed by the parameter's name (``names`` maps the
    lowercase query keys back to the spelling the caller used)."""
    errors: dict[str, list[str]] = {}
    for name, value in path_params.items():
        if not _converts(name.lower(), value):
            errors[name] = [f"The value '{value}' is not valid."]
    for name, value in query.items():
        if value != "" and not _converts(name, value):
            errors[(names or {}).get(name, name)] = [f"The value '{value}' is not valid."]
    return errors


def drop_unbound(query: dict[str, str]) -> dict[str, str]:
    """The query as Jellyfin's binders see it: unknown enum and malformed GUID entries left out of arrays,
    unknown single enums unbound. Keys are the lowercase names the simulator keeps."""
    out = dict(query)
    for name, value in query.items():
        if name in ENUM_LISTS:
            members = ENUM_LISTS[name]
            out[name] = ",".join(v.strip() for v in value.split(",") if v.strip().lower() in members)
        elif name in GUID_LISTS:
            out[name] = ",".join(v.strip() for v in value.split(",") if v.strip() and is_guid(v))
        elif name in SINGLE_ENUMS and value.strip().lower() not in SINGLE_ENUMS[name]:
            out[name] = ""
    return out


def problem(errors: dict[str, list[str]]) -> Response:
    """ASP.NET Core's automatic 400 for an invalid model state."""
    body = {
        "type": "https://tools.ietf.org/html/rfc9110#section-15.5.1",
        "title": "One or more validation errors occurred.",
        "status": 400,
        "errors": errors,
        "traceId": f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-00",
    }
    return Response(
        json.dumps(body, separators=(",", ":")).encode(),
        status_code=400,
        media_type="application/problem+json; charset=utf-8",
    )
