"""Server settings and live state: ``/System/Configuration``, ``/DisplayPreferences/{id}`` and ``/Sessions``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from providers.simulator.state import SimError

if TYPE_CHECKING:
    from providers.simulator.app import Ctx, SimulatorApp


def routes(app: SimulatorApp) -> None:
    app.add("GET", "/System/Configuration", "admin", configuration)
    app.add("GET", "/DisplayPreferences/{displayPreferencesId}", "user", get_display_preferences)
    app.add("POST", "/DisplayPreferences/{displayPreferencesId}", "user", set_display_preferences)
    app.add("GET", "/Sessions", "user", sessions)


async def configuration(ctx: Ctx) -> Response:
    from providers.simulator.app import json_response

    sim = ctx.sim
    config: dict[str, Any] = {
        "LogFileRetentionDays": 3,
        "IsStartupWizardCompleted": True,
        "EnableUPnP": False,
        "PublicPort": 8096,
        "HttpServerPortNumber": 8096,
        "EnableHttps": False,
        "MetadataPath": "/config/metadata",
        "PreferredMetadataLanguage": "en",
        "MetadataCountryCode": "US",
        "SortReplaceCharacters": [".", "+", "%"],
        "SortRemoveCharacters": [",", "&", "-", "{", "}", "'"],
        "SortRemoveWords": ["the", "a", "an"],
        "MinResumePct": 5,
        "MaxResumePct": 90,
        "MinResumeDurationSeconds": 300,
        "LibraryMonitorDelay": 60,
        "ServerName": sim.server_name,
        "UICulture": "en-US",
        "EnableFolderView": False,
        "EnableGroupingIntoCollections": False,
        "DisplaySpecialsWithinSeasons": True,
        "RemoteClientBitrateLimit": 0,
        "EnableExternalContentInSuggestions": True,
        "ImageExtractionTimeoutMs": 0,
    }
    if sim.flavor == "jellyfin":
        config.update(
            EnableMetrics=False,
            EnableNormalizedItemByNameIds=True,
            IsPortAuthorizationEnabled=True,
            QuickConnectAvailable=True,
            EnableCaseSensitiveItemIds=True,
            DisableLiveTvChannelUserDataName=True,
            MinAudiobookResume=5,
            MaxAudiobookResume=5,
            LibraryScanFanoutConcurrency=0,
            LibraryMetadataRefreshConcurrency=0,
            EnableLegacyAuthorization=sim.legacy_auth,
            CacheSize=600,
            ActivityLogRetentionDays=30,
            LibraryUpdateDuration=30,
            AllowClientLogUpload=True,
            EnableSlowResponseWarning=True,
            SlowResponseThresholdMs=500,
        )
        for emby_only in ("PublicPort", "HttpServerPortNumber", "EnableHttps", "EnableUPnP"):
            config.pop(emby_only)
    else:
        config.update(EnableDashboardResponseCaching=True, SaveMetadataHidden=False, EnableAutoUpdate=False)
    return json_response(config)


def _client_prefs(ctx: Ctx) -> tuple[str, str, str]:
    caller = ctx.require_caller()
    user = ctx.user_for(ctx.arg("userId"))
    user_id = user.id if user is not None else ""
    if user is None and caller.user is None:
        raise SimError(400, "userId is required when authenticating with an API key")
    client = ctx.arg("client") or ("emby" if ctx.sim.flavor == "emby" else "")
    if not client:
        raise SimError(400, "The client field is required.")
    return user_id, ctx.params["displayPreferencesId"], client


async def get_display_preferences(ctx: Ctx) -> Response:
    from providers.simulator.app import json_response

    user_id, prefs_id, client = _client_prefs(ctx)
    stored = ctx.sim.display_preferences.get((user_id, prefs_id.lower(), client.lower()))
    prefs: dict[str, Any] = {
        "Id": prefs_id,
        "SortBy": "SortName",
        "RememberIndexing": False,
        "PrimaryImageHeight": 250,
        "PrimaryImageWidth": 250,
        "CustomPrefs": {},
        "ScrollDirection": "Horizontal",
        "ShowBackdrop": True,
        "RememberSorting": False,
        "SortOrder": "Ascending",
        "ShowSidebar": False,
        "Client": client,
    }
    if stored:
        prefs.update({k: v for k, v in stored.items() if k in prefs or k in ("ViewType", "IndexBy")})
        prefs["Id"], prefs["Client"] = prefs_id, client
    return json_response(prefs)


async def set_display_preferences(ctx: Ctx) -> Response:
    from providers.simulator.app import no_content

    user_id, prefs_id, client = _client_prefs(ctx)
    body = await ctx.body()
    if not isinstance(body, dict):
        raise SimError(400, "DisplayPreferences must be an object")
    if "ScrollDirection" in body and str(body["ScrollDirection"]) not in ("Horizontal", "Vertical"):
        raise SimError(400, f"The JSON value could not be converted to ScrollDirection: {body['ScrollDirection']}")
    if "SortOrder" in body and str(body["SortOrder"]) not in ("Ascending", "Descending"):
        raise SimError(400, f"The JSON value could not be converted to SortOrder: {body['SortOrder']}")
    ctx.sim.display_preferences[(user_id, prefs_id.lower(), client.lower())] = dict(body)
    return no_content()


async def sessions(ctx: Ctx) -> Response:
    from providers.simulator.app import json_response
    from providers.simulator.webhooks import net_time

    caller = ctx.require_caller()
    out = []
    for session in ctx.sim.sessions.values():
        if not caller.is_admin and (caller.user is None or caller.user.id != session.user_id):
            continue
        user = ctx.sim.users.get(session.user_id)
        item = ctx.sim.items.get(session.item_id)
        if user is None or item is None:
            continue
        info: dict[str, Any] = {
            "PlayState": {
                "PositionTicks": session.position_ticks,
                "CanSeek": True,
                "IsPaused": session.is_paused,
                "IsMuted": False,
                "RepeatMode": "RepeatNone",
                "PlayMethod": "DirectPlay",
            },
            "AdditionalUsers": [],
            "RemoteEndPoint": "127.0.0.1",
            "PlayableMediaTypes": ["Video"],
            "Id": session.session_id,
            "UserId": user.id,
            "UserName": user.name,
            "Client": session.client,
            "LastActivityDate": net_time(session.last_check_in),
            "DeviceName": session.device_name,
            "DeviceId": session.device_id,
            "ApplicationVersion": "1.0.0",
            "NowPlayingItem": ctx.dto.item(item, set(), None),
            "IsActive": True,
            "SupportsMediaControl": False,
            "SupportsRemoteControl": False,
            "ServerId": ctx.sim.server_id,
            "SupportedCommands": [],
        }
        if ctx.sim.flavor == "jellyfin":
            info.update(LastPlaybackCheckIn=net_time(session.last_check_in), HasCustomDeviceName=False)
        out.append(info)
    return json_response(out)
