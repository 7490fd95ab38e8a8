"""An HTTP transport that records each request and the JSON the server answered, for tests that check what
the provider asked for and what came back."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Call:
    request: httpx.Request
    body: Any

    @property
    def params(self) -> dict[str, str]:
        """Query parameters by lowercase name (Jellyfin and Emby read them case-insensitively)."""
        return {k.lower(): v for k, v in self.request.url.params.multi_items()}


class RecordingTransport(httpx.AsyncBaseTransport):
    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.calls: list[Call] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        content = await response.aread()
        is_json = response.headers.get("content-type", "").startswith("application/json")
        self.calls.append(Call(request, json.loads(content) if is_json and content else None))
        return response

    def item_listings(self) -> list[Call]:
        """The item list requests (``/Items``, ``/Users/{id}/Items``, resume), in order."""
        return [c for c in self.calls if c.request.url.path.endswith(("/Items", "/Resume"))]

    async def aclose(self) -> None:
        await self._inner.aclose()
