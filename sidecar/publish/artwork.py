"""Turn title plans into files: fetch posters and fanart from the media server, else generate a poster.

Only the titles that changed are materialised, so a republish downloads images for those alone; and as
a title that only moved in rank is rewritten for its new sort title, images the server named by a tag
(which changes whenever the image does) are kept in a small in-memory cache between publishes.
Downloads run concurrently, bounded by ``concurrency``; a failed or missing image never fails a publish.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import httpx

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
    """Least-recently-used image bytes by URL, bounded in total size."""

    def __init__(self, max_bytes: int = CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, tuple[str, bytes]] = OrderedDict()
        self._size = 0

    def get(self, url: str) -> tuple[str, bytes] | None:
        entry = self._entries.get(url)
        if entry is not None:
            self._entries.move_to_end(url)
        return entry

    def put(self, url: str, entry: tuple[str, bytes]) -> None:
        if len(entry[1]) > self.max_bytes // 8:
            return
        old = self._entries.pop(url, None)
        if old is not None:
            self._size -= len(old[1])
        self._entries[url] = entry
        self._size += len(entry[1])
        while self._size > self.max_bytes:
            _, (_, data) = self._entries.popitem(last=False)
            self._size -= len(data)


_cache = ImageCache()


async def _fetch(
    http: httpx.AsyncClient,
    server: MediaServer | None,
    request: ImageRequest,
    headers: Mapping[str, str],
    limit: asyncio.Semaphore,
) -> tuple[str, bytes] | None:
    if server is None:
        return None
    width = POSTER_WIDTH if request.stem == "poster" else FANART_WIDTH
    url = server.image_url(request.item_provider_id, image_type=request.image_type, tag=request.tag, max_width=width)
    if request.tag and (cached := _cache.get(url)) is not None:
        return cached
    try:
        async with limit:
            response = await http.get(url, headers=dict(headers))
    except httpx.HTTPError as exc:
        log.info("no %s for %s: %s", request.image_type, request.item_provider_id, exc)
        return None
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if response.status_code != 200 or kind not in _EXTENSIONS or not response.content:
        return None
    if request.tag:
        _cache.put(url, (_EXTENSIONS[kind], response.content))
    return _EXTENSIONS[kind], response.content


async def _resolve(
    http: httpx.AsyncClient,
    server: MediaServer | None,
    request: ImageRequest,
    headers: Mapping[str, str],
    limit: asyncio.Semaphore,
) -> OutFile | None:
    fetched = await _fetch(http, server, request, headers, limit)
    if fetched is not None:
        ext, data = fetched
        return OutFile(f"{request.stem}.{ext}", data=data)
    if request.placeholder_rank is not None:
        return OutFile(f"{request.stem}.png", data=placeholder_png(request.placeholder_title, request.placeholder_rank))
    return None


async def materialise(
    plans: Sequence[TitlePlan],
    *,
    http: httpx.AsyncClient,
    server: MediaServer | None,
    headers: Mapping[str, str] | None = None,
    concurrency: int = 8,
) -> list[OutTitle]:
    limit = asyncio.Semaphore(concurrency)
    jobs: list[tuple[int, ImageRequest]] = [
        (index, spec.image) for index, plan in enumerate(plans) for spec in plan.files if spec.image is not None
    ]
    resolved = await asyncio.gather(*(_resolve(http, server, req, headers or {}, limit) for _, req in jobs))
    images: dict[int, list[OutFile]] = {}
    for (index, _), out in zip(jobs, resolved, strict=True):
        if out is not None:
            images.setdefault(index, []).append(out)
    titles: list[OutTitle] = []
    for index, plan in enumerate(plans):
        files = [OutFile(spec.rel, data=spec.data, link=spec.link) for spec in plan.files if spec.image is None]
        titles.append(OutTitle(plan.folder, (*files, *images.get(index, []))))
    return titles
