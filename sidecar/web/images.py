"""Art and faces from the media server, served by Marquee: posters, user avatars, people's photos, studio and
network logos. The browser only ever sees Marquee's own URLs (``/images/users/7``, ``/images/people/Ana%20Lima``), so
neither the server's address nor its API key reach a page.

Each image is fetched once through the provider (``MediaServer.fetch_user_image`` / ``fetch_named_image``) and
kept in a small in-process cache (``ImageCache``: by count and bytes, misses remembered too, so a person without
a photo does not cost a server call per page); the answer carries ``Cache-Control`` so the browser keeps it too.
When the server has no image (or cannot be reached) the answer is a neutral SVG placeholder, never an error.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote
from xml.sax.saxutils import escape

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from providers.base import Image, NamedImageKind
from providers.errors import MediaServerError
from sidecar.db.models import AppUser
from sidecar.web.auth import require_user, services_of
from sidecar.web.read_models import items as item_reads
from sidecar.web.rendering import path_int

log = logging.getLogger(__name__)

FOUND_TTL_S = 6 * 3600
MISSING_TTL_S = 15 * 60
BROWSER_MAX_AGE_S = 86400
PLACEHOLDER_MAX_AGE_S = 3600
MAX_NAME = 200
WIDTHS = {"items": 400, "users": 96, "people": 160, "studios": 240}


@dataclass(frozen=True)
class Cached:
    image: Image | None  # None: the server has no such image (or failed); answer the placeholder
    expires: float


class ImageCache:
    """Least-recently-used images, bounded by entry count and total bytes."""

    def __init__(self, max_entries: int = 512, max_bytes: int = 16 * 1024 * 1024) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, Cached] = OrderedDict()
        self._bytes = 0

    def get(self, key: str, now: float | None = None) -> Cached | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires <= (time.monotonic() if now is None else now):
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return entry

    def put(self, key: str, image: Image | None, ttl_s: float, now: float | None = None) -> None:
        size = len(image.data) if image else 0
        if size > self.max_bytes:
            return
        self._drop(key)
        self._entries[key] = Cached(image, (time.monotonic() if now is None else now) + ttl_s)
        self._bytes += size
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            self._drop(next(iter(self._entries)))

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None and entry.image is not None:
            self._bytes -= len(entry.image.data)

    def __len__(self) -> int:
        return len(self._entries)


CACHE = ImageCache()


def image_url(kind: str, name: str) -> str:
    """Marquee's URL of a person's photo (``people``) or a studio's logo (``studios``)."""
    return f"/images/{kind}/{quote(name, safe='')}"


def _hue(text: str) -> int:
    return hashlib.sha256(text.encode()).digest()[0] * 360 // 256


def placeholder_svg(kind: str, label: str) -> str:
    """Neutral art: a silhouette for a person, initials for a user, the name for a studio."""
    if kind == "items":  # the title's name on a poster-shaped card
        return (
            '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="300" viewBox="0 0 200 300">'
            '<rect width="200" height="300" fill="#2a313a"/>'
            '<text x="100" y="150" fill="#c4cbd3" font-family="sans-serif" font-size="15" text-anchor="middle">'
            f"{escape(label[:28])}</text></svg>"
        )
    if kind == "studios":  # a film-frame glyph (the name is printed beside the picture)
        return (
            '<svg xmlns="http://www.w3.org/2000/svg" width="240" height="135" viewBox="0 0 240 135">'
            '<rect width="240" height="135" rx="12" fill="#2a313a"/>'
            '<rect x="80" y="32" width="80" height="71" rx="6" fill="none" stroke="#58626e" stroke-width="6"/>'
            '<path d="M108 52 L136 67.5 L108 83 Z" fill="#58626e"/>'
            "</svg>"
        )
    if kind == "users":
        initial = escape(label[:1].upper() or "?")
        return (
            '<svg xmlns="http://www.w3.org/2000/svg" width="96" height="96" viewBox="0 0 96 96">'
            f'<circle cx="48" cy="48" r="48" fill="hsl({_hue(label)},30%,35%)"/>'
            '<text x="48" y="62" fill="#f2f4f6" font-family="sans-serif" font-size="42" text-anchor="middle">'
            f"{initial}</text>"
            "</svg>"
        )
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="160" height="160" viewBox="0 0 160 160">'
        '<rect width="160" height="160" fill="#2a313a"/>'
        '<circle cx="80" cy="62" r="30" fill="#58626e"/>'
        '<path d="M24 160c4-38 28-58 56-58s52 20 56 58z" fill="#58626e"/>'
        "</svg>"
    )


async def cached_image(key: str, fetch: Callable[[], Awaitable[Image]], cache: ImageCache = CACHE) -> Image | None:
    """The image under ``key`` from the cache or, once per TTL, from the media server. Keys start with the
    provider object's id, so a media server configured anew starts with an empty cache."""
    entry = cache.get(key)
    if entry is not None:
        return entry.image
    try:
        image: Image | None = await fetch()
    except MediaServerError as exc:  # ProviderNotFound: no such image; others: try again after the miss TTL
        log.debug("image %s unavailable: %s", key, type(exc).__name__)
        image = None
    if image is not None and not image.content_type.startswith("image/"):
        image = None
    cache.put(key, image, FOUND_TTL_S if image else MISSING_TTL_S)
    return image


@require_user
async def poster(request: Request) -> Response:
    """A title's poster (its ``Primary`` image at the tag we synced), or the title's name on a neutral card."""
    services = services_of(request)
    async with services.sessions() as session:
        item = await item_reads.get_item(session, path_int(request, "item_id"))
    tag = item.image_tags.get("Primary")
    server = services.media_server
    image = None
    if tag and server is not None:
        image = await cached_image(
            f"{id(server)}:items:{item.provider_id}:{tag}",
            lambda: server.fetch_image(item.provider_id, tag=tag, max_width=WIDTHS["items"]),
        )
    return _answer("items", item.name, image)


def _answer(kind: str, label: str, image: Image | None) -> Response:
    if image is None:
        return Response(
            placeholder_svg(kind, label),
            media_type="image/svg+xml",
            headers={"Cache-Control": f"private, max-age={PLACEHOLDER_MAX_AGE_S}"},
        )
    return Response(
        image.data, media_type=image.content_type, headers={"Cache-Control": f"private, max-age={BROWSER_MAX_AGE_S}"}
    )


@require_user
async def user_avatar(request: Request) -> Response:
    services = services_of(request)
    async with services.sessions() as session:
        user = await session.get(AppUser, path_int(request, "user_id"))
    if user is None:
        raise HTTPException(404, "There is no such user.")
    server = services.media_server
    image = None
    if server is not None:
        image = await cached_image(
            f"{id(server)}:users:{user.provider_id}",
            lambda: server.fetch_user_image(user.provider_id, max_width=WIDTHS["users"]),
        )
    return _answer("users", user.name, image)


def _named(kind: str) -> Callable[[Request], Awaitable[Response]]:
    server_kind: NamedImageKind = "Persons" if kind == "people" else "Studios"

    @require_user
    async def page(request: Request) -> Response:
        name = str(request.path_params["name"]).strip()
        if not name or len(name) > MAX_NAME:
            raise HTTPException(404, "No such image.")
        server = services_of(request).media_server
        image = None
        if server is not None:
            image = await cached_image(
                f"{id(server)}:{kind}:{name}",
                lambda: server.fetch_named_image(server_kind, name, max_width=WIDTHS[kind]),
            )
        return _answer(kind, name, image)

    return page


def routes() -> list[BaseRoute]:
    return [
        Route("/images/items/{item_id:id}", poster),
        Route("/images/users/{user_id:id}", user_avatar),
        Route("/images/people/{name:path}", _named("people")),
        Route("/images/studios/{name:path}", _named("studios")),
    ]
