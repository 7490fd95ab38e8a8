"""Turn title plans into files: fetch posters and fanart from the media server, else generate a poster.

Only the titles that changed are materialised, so a republish downloads images for those alone; images
the server named by a tag (which changes whenever the image does) are kept in a small in-memory cache
between publishes, for titles rewritten for a new explanation or sort slot.
Downloads run concurrently, bounded by ``concurrency``; a failed or missing image never fails a publish.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from providers.errors import MediaServerError
from sidecar.publish.placeholder import placeholder_png
from sidecar.publish.titles import ImageRequest, TitlePlan
from sidecar.publish.writer import OutFile, OutTitle

if TYPE_CHECKING:
    from providers.base import MediaServer

log = logging.getLogger(__name__)

POSTER_WIDTH = 600
FANART_WIDTH = 1280
_EXTENSIONS = {"image/jpeg": "jpg", "image/jpg": "jpg", "image/png": "png", "image/webp": "webp"}
CACHE_BYTES = 48 * 1024 * 1024


class ImageCache:
    """Least-recently-used image bytes by item, image type, tag and width, bounded in total size."""

    def __init__(self, max_bytes: int = CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, tuple[str, bytes]] = OrderedDict()
        self._size = 0

    def get(self, key: str) -> tuple[str, bytes] | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, key: str, entry: tuple[str, bytes]) -> None:
        if len(entry[1]) > self.max_bytes // 8:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self._size -= len(old[1])
        self._entries[key] = entry
        self._size += len(entry[1])
        while self._size > self.max_bytes:
            _, (_, data) = self._entries.popitem(last=False)
            self._size -= len(data)


_cache = ImageCache()


def _cache_key(request: ImageRequest, width: int) -> str:
    return f"{request.item_provider_id}/{request.image_type}/{request.tag}/{width}"


async def _fetch(
    server: MediaServer | None, request: ImageRequest, limit: asyncio.Semaphore
) -> tuple[str, bytes] | None:
    if server is None:
        return None
    width = POSTER_WIDTH if request.stem == "poster" else FANART_WIDTH
    key = _cache_key(request, width)
    if request.tag and (cached := _cache.get(key)) is not None:
        return cached
    try:
        async with limit:
            image = await server.fetch_image(
                request.item_provider_id, image_type=request.image_type, tag=request.tag, max_width=width
            )
    except MediaServerError as exc:  # ProviderNotFound: the item has no such image
        log.info("no %s for %s: %s", request.image_type, request.item_provider_id, exc)
        return None
    if image.content_type not in _EXTENSIONS or not image.data:
        return None
    if request.tag:
        _cache.put(key, (_EXTENSIONS[image.content_type], image.data))
    return _EXTENSIONS[image.content_type], image.data


async def _resolve(server: MediaServer | None, request: ImageRequest, limit: asyncio.Semaphore) -> OutFile | None:
    fetched = await _fetch(server, request, limit)
    if fetched is not None:
        ext, data = fetched
        return OutFile(f"{request.stem}.{ext}", data=data)
    if request.placeholder:
        return OutFile(f"{request.stem}.png", data=placeholder_png(request.placeholder_title, request.placeholder_rank))
    return None


async def materialise(
    plans: Sequence[TitlePlan],
    *,
    server: MediaServer | None,
    concurrency: int = 8,
    keep_images: Collection[str] = (),
) -> list[OutTitle]:
    """The changed titles' files, images fetched through the provider (or a placeholder poster); titles
    in ``keep_images`` (folders whose images are unchanged) keep their published images instead."""
    limit = asyncio.Semaphore(concurrency)
    jobs: list[tuple[int, ImageRequest]] = [
        (index, spec.image)
        for index, plan in enumerate(plans)
        if plan.folder not in keep_images
        for spec in plan.files
        if spec.image is not None
    ]
    resolved = await asyncio.gather(*(_resolve(server, req, limit) for _, req in jobs))
    images: dict[int, list[OutFile]] = {}
    for (index, _), out in zip(jobs, resolved, strict=True):
        if out is not None:
            images.setdefault(index, []).append(out)
    titles: list[OutTitle] = []
    for index, plan in enumerate(plans):
        files = [OutFile(spec.rel, data=spec.data, link=spec.link) for spec in plan.files if spec.image is None]
        if plan.folder in keep_images:
            files += [OutFile(spec.image.stem, keep=True) for spec in plan.files if spec.image is not None]
        titles.append(OutTitle(plan.folder, (*files, *images.get(index, []))))
    return titles
