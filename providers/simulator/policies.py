"""Default user policies, user configurations and library options, per flavour, with the real keys."""

from __future__ import annotations

from typing import Any

from providers.simulator.model import Flavor

JELLYFIN_AUTH_PROVIDER = "Jellyfin.Server.Implementations.Users.DefaultAuthenticationProvider"
JELLYFIN_RESET_PROVIDER = "Jellyfin.Server.Implementations.Users.DefaultPasswordResetProvider"


def default_policy(flavor: Flavor, *, is_admin: bool) -> dict[str, Any]:
    common: dict[str, Any] = {
        "IsAdministrator": is_admin,
        "IsHidden": False,
        "IsDisabled": False,
        "BlockedTags": [],
        "EnableUserPreferenceAccess": True,
        "AccessSchedules": [],
        "BlockUnratedItems": [],
        "EnableRemoteControlOfOtherUsers": is_admin,
        "EnableSharedDeviceControl": True,
        "EnableRemoteAccess": True,
        "EnableLiveTvManagement": is_admin,
        "EnableLiveTvAccess": True,
        "EnableMediaPlayback": True,
        "EnableAudioPlaybackTranscoding": True,
        "EnableVideoPlaybackTranscoding": True,
        "EnablePlaybackRemuxing": True,
        "EnableContentDeletion": is_admin,
        "EnableContentDeletionFromFolders": [],
        "EnableContentDownloading": True,
        "EnableSubtitleManagement": is_admin,
        "EnableSyncTranscoding": True,
        "EnableMediaConversion": True,
        "EnabledDevices": [],
        "EnableAllDevices": True,
        "EnabledChannels": [],
        "EnableAllChannels": True,
        "EnabledFolders": [],
        "EnableAllFolders": True,
        "InvalidLoginAttemptCount": 0,
        "EnablePublicSharing": True,
        "BlockedMediaFolders": [],
        "BlockedChannels": [],
        "RemoteClientBitrateLimit": 0,
    }
    if flavor == "jellyfin":
        return {
            **common,
            "EnableCollectionManagement": is_admin,
            "EnableLyricManagement": False,
            "ForceRemoteSourceTranscoding": False,
            "LoginAttemptsBeforeLockout": -1,
            "MaxActiveSessions": 0,
            "AllowedTags": [],
            "AuthenticationProviderId": JELLYFIN_AUTH_PROVIDER,
            "PasswordResetProviderId": JELLYFIN_RESET_PROVIDER,
            "SyncPlayAccess": "CreateAndJoinGroups",
        }
    return {
        **common,
        "IsHiddenRemotely": False,
        "EnableSubtitleDownloading": is_admin,
        "AuthenticationProviderId": "Emby.Server.Implementations.Library.DefaultAuthenticationProvider",
        "ExcludedSubFolders": [],
        "DisablePremiumFeatures": False,
    }


def zero_like(value: Any) -> Any:
    """What a .NET DTO property holds when the JSON left it out."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return 0
    if isinstance(value, list):
        return []
    return None


def default_configuration(flavor: Flavor) -> dict[str, Any]:
    config: dict[str, Any] = {
        "PlayDefaultAudioTrack": True,
        "DisplayMissingEpisodes": False,
        "GroupedFolders": [],
        "SubtitleMode": "Default",
        "DisplayCollectionsView": False,
        "EnableLocalPassword": False,
        "OrderedViews": [],
        "LatestItemsExcludes": [],
        "MyMediaExcludes": [],
        "HidePlayedInLatest": True,
        "RememberAudioSelections": True,
        "RememberSubtitleSelections": True,
        "EnableNextEpisodeAutoPlay": True,
    }
    if flavor == "jellyfin":
        config["AudioLanguagePreference"] = ""
        config["SubtitleLanguagePreference"] = ""
    return config


def default_library_options(paths: list[str]) -> dict[str, Any]:
    return {
        "Enabled": True,
        "EnablePhotos": True,
        "EnableRealtimeMonitor": True,
        "EnableChapterImageExtraction": False,
        "ExtractChapterImagesDuringLibraryScan": False,
        "PathInfos": [{"Path": p} for p in paths],
        "SaveLocalMetadata": False,
        "EnableInternetProviders": True,
        "EnableAutomaticSeriesGrouping": False,
        "EnableEmbeddedTitles": False,
        "EnableEmbeddedEpisodeInfos": False,
        "AutomaticRefreshIntervalDays": 0,
        "PreferredMetadataLanguage": "",
        "MetadataCountryCode": "",
        "SeasonZeroDisplayName": "Specials",
        "MetadataSavers": [],
        "DisabledLocalMetadataReaders": [],
        "LocalMetadataReaderOrder": ["Nfo"],
        "DisabledSubtitleFetchers": [],
        "SubtitleFetcherOrder": [],
        "SkipSubtitlesIfEmbeddedSubtitlesPresent": False,
        "SkipSubtitlesIfAudioTrackMatches": False,
        "SubtitleDownloadLanguages": [],
        "RequirePerfectSubtitleMatch": True,
        "SaveSubtitlesWithMedia": True,
        "TypeOptions": [],
    }
