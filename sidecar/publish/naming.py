"""Names of everything Marquee publishes: title folders, files, libraries, sort titles.

Folder and file names must be valid on every filesystem a media library lives on (ext4, NTFS over SMB,
exFAT), so the characters Windows forbids are replaced, names never end in a dot or space, never start
with a dot (hidden) and stay well under the 255-byte limit.
"""

from __future__ import annotations

import re
import unicodedata

from sidecar.media_types import MediaType, spec
from sidecar.publish.order import SLOT_DIGITS

_FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_SPACES = re.compile(r"\s+")
MAX_TITLE_BYTES = 150

PIN_PREFIX = "!!! "
"""Sorts our libraries, collections and playlists above everything else in the server's lists."""


def sanitise(name: str, *, max_bytes: int = MAX_TITLE_BYTES, fallback: str = "Untitled") -> str:
    text = unicodedata.normalize("NFC", name)
    text = _FORBIDDEN.sub(" ", text)
    text = _SPACES.sub(" ", text).strip().strip(".").strip()
    while len(text.encode("utf-8")) > max_bytes:
        text = text[:-1].rstrip()
    text = text.rstrip(". ")
    return text or fallback


def title_base(name: str, year: int | None) -> str:
    """``Title (Year)``: the base name of a title's files."""
    title = sanitise(name)
    return f"{title} ({year})" if year else title


def title_folder(name: str, year: int | None, provider_id: str) -> str:
    """``Title (Year) [id]``: unique even for two titles with the same name and year."""
    return f"{title_base(name, year)} [{sanitise(provider_id, max_bytes=64, fallback='x')}]"


def sort_title(slot: int, name: str) -> str:
    """``0491520 - Title``: the title's sort slot (``publish.order``), zero-padded to one width so a text
    sort and a numeric one (Jellyfin pads digit runs) both give the slot order."""
    return f"{slot:0{SLOT_DIGITS}d} - {name}"


def ai_picks_library_name(prefix: str, user_name: str, custom: str | None, media_type: str = "movies") -> str:
    """The user's custom name, else ``AI Picks - alice`` (movies) / ``AI Picks - alice (Series)``: a server
    cannot hold two libraries with the same name."""
    if custom and custom.strip():
        return custom.strip()
    base = f"{prefix} - {user_name}".strip()
    return base if media_type == MediaType.MOVIES else f"{base} ({spec(media_type).label})"


def top_picks_library_name(media_type: str, custom: str) -> str:
    return custom.strip() or f"Top Picks - {spec(media_type).label}"


def ai_picks_folder(user_provider_id: str, media_type: str) -> str:
    """Library folder relative to the STRM root; keyed by the server's user id, so a rename keeps it."""
    return f"ai-picks/{sanitise(user_provider_id, max_bytes=64, fallback='user')}/{media_type}"


def top_picks_folder(media_type: str) -> str:
    return f"top-picks/{media_type}"


def episode_file_base(series_name: str, season: int, episode: int, episode_name: str | None) -> str:
    base = f"{sanitise(series_name, max_bytes=80)} S{season:02d}E{episode:02d}"
    if episode_name:
        base += f" - {sanitise(episode_name, max_bytes=80)}"
    return base


def season_folder(season: int) -> str:
    return f"Season {season:02d}"
