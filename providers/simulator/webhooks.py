"""The webhooks the real servers send, built from simulator state and POSTed to configured URLs.

Jellyfin (webhook plugin, Generic destination with "Send All Properties"): one flat JSON object with
``NotificationType``, sent as ``text/plain; charset=utf-8`` unless the target asks for JSON.
Emby (built-in webhooks): a nested ``{Event, Item, User, Server, Session, PlaybackInfo}`` document, sent as
``multipart/form-data`` with the JSON in a ``data`` field (Emby ≤ 4.8) or as ``application/json``.
Deliveries go out in order from one background task; ``await hub.drain()`` waits for them. Library events
(items added or deleted: hundreds after a scan) go in order in their own lane, behind the user, playback
and other events, as on the real servers, whose library notifiers send their batches apart: a playback is
delivered at once even while a scan's announcements are still going out.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

import httpx

from providers.simulator.model import TICKS_PER_SECOND, PlaybackSession, SimItem, SimUser, SimUserData, utcnow

if TYPE_CHECKING:
    from providers.simulator.state import Simulator

log = logging.getLogger(__name__)

ContentType = Literal["text/plain", "application/json", "multipart/form-data", "application/x-www-form-urlencoded"]
PlaybackKind = Literal["start", "progress", "pause", "unpause", "stop"]
LIBRARY_EVENTS = frozenset({"ItemAdded", "ItemDeleted", "library.new", "library.deleted"})


def net_time(value: datetime) -> str:
    """.NET round-trip format: 7 fractional digits, ``Z``."""
    return value.astimezone(utcnow().tzinfo).strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond:06d}0Z"


def local_time(value: datetime) -> str:
    local = value.astimezone()
    offset = local.strftime("%z")
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond:06d}0{offset[:3]}:{offset[3:]}"


def clock(ticks: int) -> str:
    seconds = max(0, ticks) // TICKS_PER_SECOND
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


@dataclass
class WebhookTarget:
    url: str
    content_type: ContentType
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Delivery:
    url: str
    event: str
    status: int | None
    error: str | None = None


class WebhookHub:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.targets: list[WebhookTarget] = []
        self.sent: list[Delivery] = []
        self._queue: deque[tuple[str, dict[str, Any]]] = deque()
        self._added: deque[tuple[str, dict[str, Any]]] = deque()  # library events: in order, after the rest
        self._wakeup: asyncio.Event | None = None
        self._worker: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None
        self._busy = False
        self._failing: set[str] = set()  # target URLs whose last delivery failed

    # --- configuration ------------------------------------------------------------------------------
    def add_target(
        self, url: str, content_type: ContentType | None = None, headers: dict[str, str] | None = None
    ) -> WebhookTarget:
        default: ContentType = "text/plain" if self.sim.flavor == "jellyfin" else "multipart/form-data"
        target = WebhookTarget(url, content_type or default, dict(headers or {}))
        self.targets.append(target)
        return target

    def clear_targets(self) -> None:
        self.targets.clear()

    @property
    def backlog(self) -> int:
        """Webhooks waiting to be sent (the sender posts them one at a time, in order)."""
        return len(self._queue) + len(self._added)

    # --- delivery -----------------------------------------------------------------------------------
    def _enqueue(self, event: str, payload: dict[str, Any]) -> None:
        if not self.targets:
            return
        (self._added if event in LIBRARY_EVENTS else self._queue).append((event, payload))
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop yet: delivered by the next drain()
        if self._worker is None or self._worker.done():
            self._wakeup = asyncio.Event()
            self._worker = loop.create_task(self._run())
        if self._wakeup is not None:
            self._wakeup.set()

    async def _run(self) -> None:
        assert self._wakeup is not None
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            await self._deliver_all()

    async def _deliver_all(self) -> None:
        self._busy = True
        try:
            if self._client is None:
                self._client = httpx.AsyncClient(timeout=10.0)
            while self._queue or self._added:
                event, payload = (self._queue or self._added).popleft()
                for target in list(self.targets):
                    await self._post(target, event, payload)
        finally:
            self._busy = False

    async def _post(self, target: WebhookTarget, event: str, payload: dict[str, Any]) -> None:
        assert self._client is not None
        text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        headers = dict(target.headers)
        if target.content_type == "multipart/form-data":
            boundary = "----EmbyBoundary" + secrets.token_hex(8)
            body = (
                f'--{boundary}\r\nContent-Disposition: form-data; name="data"\r\n\r\n{text}\r\n--{boundary}--\r\n'
            ).encode()
            headers.setdefault("Content-Type", f"multipart/form-data; boundary={boundary}")
        elif target.content_type == "application/x-www-form-urlencoded":
            body = httpx.QueryParams({"data": text}).__str__().encode()
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        elif target.content_type == "application/json":
            body = text.encode()
            headers.setdefault("Content-Type", "application/json")
        else:
            body = text.encode()
            headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        try:
            response = await self._client.post(target.url, content=body, headers=headers)
            self.sent.append(Delivery(target.url, event, response.status_code))
            if target.url in self._failing:
                self._failing.discard(target.url)
                log.info("webhooks to %s are delivered again", target.url)
        except httpx.HTTPError as exc:
            # One warning per outage, not one per queued event (a stopped receiver would get hundreds).
            level = logging.DEBUG if target.url in self._failing else logging.WARNING
            self._failing.add(target.url)
            log.log(level, "webhook %s to %s failed: %s", event, target.url, exc)
            self.sent.append(Delivery(target.url, event, None, str(exc) or type(exc).__name__))

    async def drain(self) -> None:
        """Deliver everything queued so far (also works when no background worker runs)."""
        while self._queue or self._added or self._busy:
            if not self._busy:
                await self._deliver_all()
            else:
                await asyncio.sleep(0.005)

    async def aclose(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
            self._worker = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # --- events -------------------------------------------------------------------------------------
    def item_added(self, item: SimItem) -> None:
        if self.sim.flavor == "jellyfin":
            self._enqueue("ItemAdded", {**self._jf_base("ItemAdded"), **self._jf_item(item)})
        else:
            self._enqueue(
                "library.new",
                self._emby_doc("library.new", f"{item.name} has been added to {self.sim.server_name}", item),
            )

    def item_deleted(self, item: SimItem) -> None:
        if self.sim.flavor == "jellyfin":
            self._enqueue("ItemDeleted", {**self._jf_base("ItemDeleted"), **self._jf_item(item)})
        else:
            self._enqueue(
                "library.deleted",
                self._emby_doc("library.deleted", f"{item.name} has been deleted from {self.sim.server_name}", item),
            )

    def user_created(self, user: SimUser) -> None:
        self._user_event(user, "UserCreated", "user.created", f"{user.name} has been created")

    def user_deleted(self, user: SimUser) -> None:
        self._user_event(user, "UserDeleted", "user.deleted", f"{user.name} has been deleted")

    def _user_event(self, user: SimUser, jellyfin_type: str, emby_event: str, title: str) -> None:
        if self.sim.flavor == "jellyfin":
            doc = {**self._jf_base(jellyfin_type), "NotificationUsername": user.name, "UserId": user.id}
            self._enqueue(jellyfin_type, doc)
        else:
            server = {"Name": self.sim.server_name, "Id": self.sim.server_id, "Version": self.sim.version}
            self._enqueue(
                emby_event,
                {
                    "Title": title,
                    "Date": net_time(utcnow()),
                    "Event": emby_event,
                    "Severity": "Info",
                    "User": {"Name": user.name, "Id": user.id},
                    "Server": server,
                },
            )

    def user_data_saved(self, user: SimUser, item: SimItem, data: SimUserData, reason: str) -> None:
        if self.sim.flavor == "jellyfin":
            payload = {
                **self._jf_base("UserDataSaved"),
                **self._jf_item(item),
                "Likes": bool(data.likes),
                "Rating": data.rating or 0,
                "PlaybackPositionTicks": data.position_ticks,
                "PlaybackPosition": clock(data.position_ticks),
                "PlayCount": data.play_count,
                "Favorite": data.is_favorite,
                "Played": data.played,
                "AudioStreamIndex": -1,
                "SubtitleStreamIndex": -1,
            }
            if data.last_played is not None:
                payload["LastPlayedDate"] = net_time(data.last_played)
            payload.update(SaveReason=reason, NotificationUsername=user.name, UserId=user.id)
            self._enqueue("UserDataSaved", payload)
            return
        if reason == "TogglePlayed":
            event = "item.markplayed" if data.played else "item.markunplayed"
            verb = "played" if data.played else "unplayed"
            self._enqueue(event, self._emby_doc(event, f"{user.name} marked {item.name} as {verb}", item, user))
        elif reason == "UpdateUserRating":
            verb = "a favorite" if data.is_favorite else "not a favorite"
            self._enqueue(
                "item.rate", self._emby_doc("item.rate", f"{user.name} marked {item.name} as {verb}", item, user)
            )

    def playback(
        self,
        kind: PlaybackKind,
        session: PlaybackSession,
        user: SimUser,
        item: SimItem,
        data: SimUserData,
        played_to_completion: bool,
    ) -> None:
        if self.sim.flavor == "jellyfin":
            if kind in ("pause", "unpause"):
                kind = "progress"
            notification = {"start": "PlaybackStart", "progress": "PlaybackProgress", "stop": "PlaybackStop"}[kind]
            now = utcnow()
            payload: dict[str, Any] = {
                **self._jf_base(notification),
                **self._jf_item(item),
                "PlaybackPositionTicks": session.position_ticks,
                "PlaybackPosition": clock(session.position_ticks),
                "MediaSourceId": item.id,
                "IsPaused": session.is_paused,
                "IsAutomated": False,
                "DeviceId": session.device_id,
                "DeviceName": session.device_name,
                "ClientName": session.client,
                "PlayMethod": "DirectPlay",
            }
            if kind == "stop":
                payload["PlayedToCompletion"] = played_to_completion
            payload.update(
                Id=session.session_id,
                UserId=user.id,
                NotificationUsername=user.name,
                Client=session.client,
                LastActivityDate=net_time(now),
                LastPlaybackCheckIn=net_time(session.last_check_in),
                RemoteEndPoint="127.0.0.1",
            )
            self._enqueue(notification, payload)
            return
        if kind == "progress":
            return  # Emby sends no webhook for plain progress reports
        event = f"playback.{kind}"
        verbs = {"start": "is playing", "pause": "has paused", "unpause": "has resumed", "stop": "has finished playing"}
        title = f"{user.name} {verbs[kind]} {self._emby_title(item)} on {session.device_name}"
        doc = self._emby_doc(event, title, item, user)
        doc["Session"] = {
            "RemoteEndPoint": "127.0.0.1",
            "Client": session.client,
            "DeviceName": session.device_name,
            "DeviceId": session.device_id,
            "ApplicationVersion": self.sim.version,
            "Id": session.session_id,
        }
        playback: dict[str, Any] = {
            "PositionTicks": session.position_ticks,
            "PlaylistIndex": 0,
            "PlaylistLength": 1,
            "PlaySessionId": session.play_session_id,
            "MediaSourceId": f"mediasource_{item.id}",
        }
        if kind == "stop":
            playback = {"PlayedToCompletion": played_to_completion, **playback}
        doc["PlaybackInfo"] = playback
        self._enqueue(event, doc)

    # --- payload builders ---------------------------------------------------------------------------
    def _jf_base(self, notification: str) -> dict[str, Any]:
        sim = self.sim
        return {
            "ServerId": sim.server_id,
            "ServerName": sim.server_name,
            "ServerVersion": sim.version,
            "ServerUrl": sim.server_url,
            "NotificationType": notification,
        }

    def _jf_item(self, item: SimItem) -> dict[str, Any]:
        sim = self.sim
        now = utcnow()
        series = sim.items.get(item.series_id) if item.series_id else None
        genres = item.genres or (series.genres if series else [])
        out: dict[str, Any] = {
            "Timestamp": local_time(now),
            "UtcTimestamp": net_time(now),
            "Name": item.name,
            "Overview": item.overview or "",
            "Tagline": item.taglines[0] if item.taglines else "",
            "ItemId": item.id,
            "ItemType": item.type,
        }
        if item.runtime_ticks:
            out["RunTimeTicks"] = item.runtime_ticks
            out["RunTime"] = clock(item.runtime_ticks)
        if item.year:
            out["Year"] = item.year
        if item.premiere_date:
            out["PremiereDate"] = item.premiere_date.strftime("%Y-%m-%d")
        out["Genres"] = ", ".join(genres)
        if item.type == "Episode" and series is not None:
            out["SeriesName"] = series.name
            out["SeriesId"] = series.id
            out["SeasonId"] = item.season_id
            if series.premiere_date:
                out["SeriesPremiereDate"] = series.premiere_date.strftime("%Y-%m-%d")
            for label, value in (("SeasonNumber", item.parent_index_number), ("EpisodeNumber", item.index_number)):
                if value is not None:
                    out[label] = value
                    out[f"{label}00"] = f"{value:02d}"
                    out[f"{label}000"] = f"{value:03d}"
        elif item.type == "Season" and series is not None:
            out["SeriesName"] = series.name
            out["SeriesId"] = series.id
            if item.index_number is not None:
                out["SeasonNumber"] = item.index_number
        provider_ids = dict(series.provider_ids) if series and item.type == "Episode" else {}
        provider_ids.update(item.provider_ids)
        for key, provider_id in provider_ids.items():
            out[f"Provider_{key.lower()}"] = provider_id
        return out

    def _emby_title(self, item: SimItem) -> str:
        if item.type == "Episode" and item.series_id in self.sim.items:
            series = self.sim.items[item.series_id or ""]
            return f"{series.name} - S{item.parent_index_number}, Ep{item.index_number} - {item.name}"
        return item.name

    def _emby_doc(
        self,
        event: str,
        title: str,
        item: SimItem,
        user: SimUser | None = None,
    ) -> dict[str, Any]:
        from providers.simulator.dto import DtoBuilder

        doc: dict[str, Any] = {"Title": title, "Date": net_time(utcnow()), "Event": event, "Severity": "Info"}
        if user is not None:
            doc["User"] = {"Name": user.name, "Id": user.id}
        builder = DtoBuilder(self.sim)
        doc["Item"] = builder.webhook_item(item, user)
        doc["Server"] = {"Name": self.sim.server_name, "Id": self.sim.server_id, "Version": self.sim.version}
        return doc
