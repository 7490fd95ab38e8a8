"""Pure parsing of Jellyfin and Emby webhook requests into one normalised ``ParsedEvent``.

Two steps, both free of I/O so they can be fuzzed: ``decode_body`` turns the raw bytes into a JSON
object whatever the transport (JSON under any content type, ``multipart/form-data`` with a ``data``
field, urlencoded ``data=`` or the Jellyfin "GenericForm" fields), and ``parse_event`` reads the
server's vocabulary (Jellyfin's flat ``NotificationType`` dictionary, Emby's nested ``Event`` document)
into event types Marquee acts on. Anything wrong raises ``WebhookParseError`` with a message for the
person configuring the webhook.

The payload's user data is only a hint: the processing job re-reads the truth from the server.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any, Literal
from urllib.parse import parse_qs

from sidecar.json_body import JsonBodyError, read_json

Source = Literal["jellyfin", "emby"]
Action = Literal["user_data", "item_added", "item_deleted", "user_changed", "ignore"]

# Normalised event types (the ``webhook_event.event_type`` column).
PLAYBACK_START = "playback.start"
PLAYBACK_PROGRESS = "playback.progress"
PLAYBACK_PAUSE = "playback.pause"
PLAYBACK_UNPAUSE = "playback.unpause"
PLAYBACK_STOP = "playback.stop"
USERDATA_SAVED = "userdata.saved"
ITEM_PLAYED = "item.played"
ITEM_UNPLAYED = "item.unplayed"
ITEM_RATED = "item.rated"
ITEM_FAVOURITE = "item.favourite"
ITEM_UNFAVOURITE = "item.unfavourite"
ITEM_ADDED = "item.added"
ITEM_DELETED = "item.deleted"
USER_CREATED = "user.created"
USER_UPDATED = "user.updated"
USER_DELETED = "user.deleted"
OTHER = "other"

JELLYFIN_TYPES: dict[str, str] = {
    "PlaybackStart": PLAYBACK_START,
    "PlaybackProgress": PLAYBACK_PROGRESS,
    "PlaybackStop": PLAYBACK_STOP,
    "UserDataSaved": USERDATA_SAVED,
    "ItemAdded": ITEM_ADDED,
    "ItemDeleted": ITEM_DELETED,
    "UserCreated": USER_CREATED,
    "UserUpdated": USER_UPDATED,
    "UserDeleted": USER_DELETED,
    "UserLockedOut": USER_UPDATED,
}

EMBY_TYPES: dict[str, str] = {
    "playback.start": PLAYBACK_START,
    "playback.pause": PLAYBACK_PAUSE,
    "playback.unpause": PLAYBACK_UNPAUSE,
    "playback.progress": PLAYBACK_PROGRESS,
    "playback.stop": PLAYBACK_STOP,
    "playback.scrobble": PLAYBACK_STOP,
    "item.markplayed": ITEM_PLAYED,
    "item.markunplayed": ITEM_UNPLAYED,
    "item.rate": ITEM_RATED,
    "item.addedtofavorites": ITEM_FAVOURITE,
    "item.removedfromfavorites": ITEM_UNFAVOURITE,
    "library.new": ITEM_ADDED,
    "library.deleted": ITEM_DELETED,
    "user.created": USER_CREATED,
    "user.deleted": USER_DELETED,
    "user.policyupdated": USER_UPDATED,
    "user.lockedout": USER_UPDATED,
}

USER_DATA_EVENTS = frozenset(
    {PLAYBACK_START, PLAYBACK_STOP, ITEM_PLAYED, ITEM_UNPLAYED, ITEM_RATED, ITEM_FAVOURITE, ITEM_UNFAVOURITE}
)
# Progress saves fire every few seconds during playback; the stop event carries the final state.
NOISY_SAVE_REASONS = frozenset({"PlaybackStart", "PlaybackProgress"})
# Ticks go into BIGINT columns (play_event.position_ticks); a position is never negative.
MAX_TICKS = 2**63 - 1
_ID_RE = re.compile(r"^[0-9A-Za-z]{1,64}$")
_GUID_DASHED_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class WebhookParseError(ValueError):
    """The request cannot be understood; the message says what was wrong."""


@dataclass(frozen=True)
class ParsedEvent:
    source: Source
    event_type: str
    raw_type: str
    action: Action
    user_id: str | None = None
    item_id: str | None = None
    item_type: str | None = None
    position_ticks: int | None = None
    played_to_completion: bool | None = None
    save_reason: str | None = None
    ignore_reason: str | None = None


# --- bodies ---------------------------------------------------------------------------------------


def decode_body(body: bytes, content_type: str | None) -> dict[str, Any]:
    """The JSON object a webhook request carries, whatever the transport."""
    if not body.strip():
        raise WebhookParseError("empty body: the webhook sent no payload")
    ctype = (content_type or "").split(";", 1)[0].strip().lower()
    stripped = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith((b"{", b"[")):
        return _json_object(stripped, "body")
    if ctype == "multipart/form-data":
        return _json_object(_multipart_field(body, content_type or "", "data"), "multipart field 'data'")
    if ctype == "application/x-www-form-urlencoded" or (b"=" in body and not ctype.startswith("multipart/")):
        return _from_urlencoded(body)
    raise WebhookParseError(
        f"body is not JSON, multipart form data with a 'data' field, or urlencoded (Content-Type {ctype or 'none'})"
    )


def _text(raw: bytes, what: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise WebhookParseError(f"{what} is not valid UTF-8 (byte {exc.start})") from None


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        value = read_json(raw, what)
    except JsonBodyError as exc:
        raise WebhookParseError(str(exc)) from None
    if not isinstance(value, dict):
        raise WebhookParseError(f"{what} must be a JSON object, not {type(value).__name__}")
    return value


def _multipart_field(body: bytes, content_type: str, name: str) -> bytes:
    if "boundary=" not in content_type.lower():
        raise WebhookParseError("multipart body without a boundary in its Content-Type")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise WebhookParseError("multipart body could not be split into parts")
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == name:
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload
    raise WebhookParseError(f"multipart body has no '{name}' field")


def _from_urlencoded(body: bytes) -> dict[str, Any]:
    text = _text(body, "urlencoded body")
    try:
        fields = parse_qs(text, keep_blank_values=True, strict_parsing=True, max_num_fields=1000)
    except ValueError as exc:
        raise WebhookParseError(f"urlencoded body is malformed: {exc}") from None
    if "data" in fields:
        return _json_object(fields["data"][0].encode("utf-8"), "urlencoded field 'data'")
    # Jellyfin's GenericForm destination posts the data dictionary as form fields.
    return {key: values[0] for key, values in fields.items()}


# --- events ---------------------------------------------------------------------------------------


def normalise_id(value: Any, what: str) -> str | None:
    """A server id as the REST API spells it: undashed lowercase GUIDs, Emby numbers as strings."""
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise WebhookParseError(f"{what} must be a string, not {type(value).__name__}")
    text = str(value).strip()
    if _GUID_DASHED_RE.match(text):
        return text.replace("-", "").lower()
    if not _ID_RE.match(text):
        raise WebhookParseError(f"{what} {text[:40]!r} is not a media-server id")
    return text.lower() if len(text) == 32 else text


def _ticks(value: Any, what: str) -> int | None:
    """A position in ticks (100 ns) from 0 to 2**63-1 (a BIGINT), as a JSON number or a digit string."""
    if value is None or value == "":
        return None
    number = isinstance(value, int) and not isinstance(value, bool)
    finite = isinstance(value, float) and math.isfinite(value)
    digits = isinstance(value, str) and re.fullmatch(r"\s*-?[0-9]{1,25}\s*", value) is not None
    if not (number or finite or digits):
        raise WebhookParseError(f"{what} must be a number of ticks, not {str(value)[:40]!r}")
    ticks = int(value)
    if not 0 <= ticks <= MAX_TICKS:
        text = str(ticks)
        shown = text if len(text) <= 40 else f"a {len(text.lstrip('-'))}-digit number"
        raise WebhookParseError(f"{what} must be between 0 and {MAX_TICKS} ticks, not {shown}")
    return ticks


def _flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
        return value.strip().lower() == "true"
    return None


def _string(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise WebhookParseError(f"{what} must be a string, not {type(value).__name__}")
    return value.strip() or None


def _section(payload: dict[str, Any], key: str) -> dict[str, Any]:
    value = payload.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise WebhookParseError(f"'{key}' must be an object, not {type(value).__name__}")
    return value


def _action_for(event_type: str, save_reason: str | None) -> tuple[Action, str | None]:
    if event_type in USER_DATA_EVENTS:
        return "user_data", None
    if event_type == USERDATA_SAVED:
        if save_reason in NOISY_SAVE_REASONS:
            return "ignore", f"progress save ({save_reason})"
        return "user_data", None
    if event_type == ITEM_ADDED:
        return "item_added", None
    if event_type == ITEM_DELETED:
        return "item_deleted", None
    if event_type in (USER_CREATED, USER_UPDATED, USER_DELETED):
        return "user_changed", None
    if event_type in (PLAYBACK_PROGRESS, PLAYBACK_PAUSE, PLAYBACK_UNPAUSE):
        return "ignore", "playback progress"
    return "ignore", "event type Marquee does not act on"


def _require(event: ParsedEvent) -> ParsedEvent:
    needs_user = event.action in ("user_data", "user_changed")
    needs_item = event.action in ("user_data", "item_added", "item_deleted")
    if needs_user and event.user_id is None:
        raise WebhookParseError(f"{event.raw_type} payload has no user id")
    if needs_item and event.item_id is None:
        raise WebhookParseError(f"{event.raw_type} payload has no item id")
    return event


def parse_jellyfin(payload: dict[str, Any]) -> ParsedEvent:
    raw_type = _string(payload.get("NotificationType"), "NotificationType")
    if raw_type is None:
        raise WebhookParseError(
            "Jellyfin payload has no NotificationType: enable 'Send All Properties' or add it to the template"
        )
    event_type = JELLYFIN_TYPES.get(raw_type, OTHER)
    save_reason = _string(payload.get("SaveReason"), "SaveReason")
    action, ignore_reason = _action_for(event_type, save_reason)
    user_id = normalise_id(payload.get("UserId"), "UserId")
    if action == "user_changed" and user_id is None:
        user_id = normalise_id(payload.get("Id"), "Id")
    event = ParsedEvent(
        source="jellyfin",
        event_type=event_type,
        raw_type=raw_type,
        action=action,
        user_id=user_id,
        item_id=normalise_id(payload.get("ItemId"), "ItemId"),
        item_type=_string(payload.get("ItemType"), "ItemType"),
        position_ticks=_ticks(payload.get("PlaybackPositionTicks"), "PlaybackPositionTicks"),
        played_to_completion=_flag(payload.get("PlayedToCompletion")),
        save_reason=save_reason,
        ignore_reason=ignore_reason,
    )
    return _require(event)


def parse_emby(payload: dict[str, Any]) -> ParsedEvent:
    raw_type = _string(payload.get("Event"), "Event")
    if raw_type is None:
        raise WebhookParseError("Emby payload has no Event")
    event_type = EMBY_TYPES.get(raw_type.lower(), OTHER)
    action, ignore_reason = _action_for(event_type, None)
    user = _section(payload, "User")
    item = _section(payload, "Item")
    playback = _section(payload, "PlaybackInfo")
    event = ParsedEvent(
        source="emby",
        event_type=event_type,
        raw_type=raw_type,
        action=action,
        user_id=normalise_id(user.get("Id"), "User.Id"),
        item_id=normalise_id(item.get("Id"), "Item.Id"),
        item_type=_string(item.get("Type"), "Item.Type"),
        position_ticks=_ticks(playback.get("PositionTicks"), "PlaybackInfo.PositionTicks"),
        played_to_completion=_flag(playback.get("PlayedToCompletion")),
        ignore_reason=ignore_reason,
    )
    return _require(event)


def parse_event(source: Source, payload: dict[str, Any]) -> ParsedEvent:
    return parse_jellyfin(payload) if source == "jellyfin" else parse_emby(payload)


def parse_request(source: Source, body: bytes, content_type: str | None) -> tuple[dict[str, Any], ParsedEvent]:
    payload = decode_body(body, content_type)
    return payload, parse_event(source, payload)


def payload_item_facts(payload: dict[str, Any]) -> tuple[dict[str, str], str | None]:
    """(provider ids, path) of the item a payload names, as far as it says: Jellyfin's plugin sends flat
    ``Provider_<name>`` keys and no path; Emby sends the whole item with ``ProviderIds`` and ``Path``."""
    ids: dict[str, str] = {}
    item = payload.get("Item")
    if isinstance(item, dict):
        raw = item.get("ProviderIds")
        if isinstance(raw, dict):
            ids = {str(k).capitalize(): str(v) for k, v in raw.items() if isinstance(v, str | int) and str(v)}
        path = item.get("Path")
        return ids, path if isinstance(path, str) else None
    for key, value in payload.items():
        if key.startswith("Provider_") and isinstance(value, str | int) and str(value):
            ids[key[len("Provider_") :].capitalize()] = str(value)
    return ids, None
