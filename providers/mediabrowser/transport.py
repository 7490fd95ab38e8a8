"""HTTP plumbing shared by the Jellyfin and Emby providers: one pooled ``httpx.AsyncClient``, retries
with exponential back-off on connection errors and 5xx, and translation of failures into
``providers.errors`` with messages a self-hoster can act on.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from providers.errors import (
    MediaServerError,
    ProviderAuthError,
    ProviderNotFound,
    ProviderRefused,
    ProviderResponseError,
    ProviderUnavailable,
)

Params = Mapping[str, str | int | float | bool | Sequence[str] | None]

_RETRY_ALWAYS = frozenset({502, 503, 504})
_IDEMPOTENT = frozenset({"GET", "HEAD", "DELETE", "PUT", "OPTIONS"})


def encode_params(params: Params | None) -> httpx.QueryParams:
    """Drop ``None``; booleans as ``true``/``false``; sequences comma-joined (the servers' array form)."""
    out: list[tuple[str, str | int | float | bool | None]] = []
    for key, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, bool):
            out.append((key, "true" if value else "false"))
        elif isinstance(value, str | int | float):
            out.append((key, str(value)))
        else:
            out.append((key, ",".join(value)))
    return httpx.QueryParams(out)


class Transport:
    """Sends requests to one server. ``label`` ("Jellyfin at http://x:8096") starts every error message."""

    def __init__(
        self,
        base_url: str,
        auth_headers: Mapping[str, str],
        *,
        label: str,
        key_hint: str,
        timeout: float,
        retries: int,
        backoff: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.label = label
        self._key_hint = key_hint
        self._retries = max(0, retries)
        self._backoff = backoff
        self._timeout = timeout
        self._auth_headers = dict(auth_headers)
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            headers={"Accept": "application/json"},
            timeout=httpx.Timeout(timeout),
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json_body: Any = None,
        what: str = "",
        idempotent: bool | None = None,
        auth_headers: Mapping[str, str] | None = None,
        retries: int | None = None,
    ) -> httpx.Response:
        """Send, retrying transient failures; returns a 2xx response or raises a MediaServerError.

        ``what`` names the thing asked for ("item 123") in a 404 message. POSTs are retried after a 500
        or a read error only when ``idempotent`` is true (a repeated "create" could make a duplicate).
        ``auth_headers`` replaces the API-key headers (a password login must not carry the key).
        ``retries`` overrides the transport's count for this request (0: one attempt, fail fast).
        """
        max_retries = self._retries if retries is None else max(0, retries)
        headers = self._auth_headers if auth_headers is None else dict(auth_headers)
        retry_ambiguous = idempotent if idempotent is not None else method.upper() in _IDEMPOTENT
        attempt = 0
        while True:
            try:
                response = await self._client.request(
                    method, path, params=encode_params(params), json=json_body, headers=headers
                )
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                error: MediaServerError = ProviderUnavailable(
                    f"Cannot reach {self.label} ({type(exc).__name__}: {exc or 'no answer'}): "
                    "is the server running and is the URL right?",
                    server=self.label,
                )
                retry = True
            except httpx.TimeoutException:
                error = ProviderUnavailable(
                    f"{self.label} did not answer {method} {path} within {self._timeout:g} s: "
                    "the server may be busy scanning; try again later or raise the timeout.",
                    server=self.label,
                )
                retry = retry_ambiguous
            except httpx.TransportError as exc:
                error = ProviderUnavailable(
                    f"Connection to {self.label} failed during {method} {path} ({type(exc).__name__}): "
                    "check the server and any proxy in front of it.",
                    server=self.label,
                )
                retry = retry_ambiguous
            else:
                if response.status_code < 400:
                    return response
                error = self._error_for(response, method, path, what)
                retry = response.status_code in _RETRY_ALWAYS or (response.status_code >= 500 and retry_ambiguous)
            if not retry or attempt >= max_retries:
                if isinstance(error, ProviderUnavailable) and attempt:
                    error.message = f"{error.message} (gave up after {attempt + 1} attempts)"
                    error.args = (error.message,)
                raise error
            await asyncio.sleep(self._backoff * (2**attempt) * (0.75 + random.random() / 2))
            attempt += 1

    async def get_json(self, path: str, *, params: Params | None = None, what: str = "") -> Any:
        response = await self.request("GET", path, params=params, what=what)
        return self.decode(response, "GET", path)

    def decode(self, response: httpx.Response, method: str, path: str) -> Any:
        try:
            return response.json()
        except (ValueError, RecursionError) as exc:  # bad JSON, bad UTF-8, a >4300-digit number, deep nesting
            if not isinstance(exc, (json.JSONDecodeError, UnicodeDecodeError)):
                raise ProviderResponseError(
                    f"{self.label} answered {method} {path} with JSON Marquee cannot read ({exc})",
                    server=self.label,
                    status_code=response.status_code,
                ) from exc
            raise ProviderResponseError(
                f"{self.label} answered {method} {path} with something that is not JSON "
                f"({response.headers.get('content-type', 'no content type')}): is the URL pointing at "
                "the media server itself and not at a login page or proxy?",
                server=self.label,
                status_code=response.status_code,
            ) from exc

    def _error_for(self, response: httpx.Response, method: str, path: str, what: str) -> MediaServerError:
        status = response.status_code
        detail = response.text.strip()[:200]
        if status == 401:
            return ProviderAuthError(
                f"{self.label} refused the API key (401): {self._key_hint}",
                server=self.label,
                status_code=status,
            )
        if status == 403:
            return ProviderRefused(
                f"{self.label} refused {method} {path} (403): the key or user is not an administrator, or this "
                f"server version no longer allows the call; {self._key_hint}",
                server=self.label,
                status_code=status,
            )
        if status == 404:
            return ProviderNotFound(
                f"{self.label} has no {what or path} (404); it may have been deleted on the server.",
                server=self.label,
                status_code=status,
            )
        if status >= 500:
            return ProviderUnavailable(
                f"{self.label} failed on {method} {path} with HTTP {status}"
                + (f": {detail}" if detail else "")
                + "; check the server's log.",
                server=self.label,
                status_code=status,
            )
        return ProviderResponseError(
            f"{self.label} rejected {method} {path} with HTTP {status}" + (f": {detail}" if detail else ""),
            server=self.label,
            status_code=status,
        )
