"""Embeddings from any OpenAI-compatible endpoint (OpenAI, Ollama, LM Studio, vLLM, ...)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import numpy as np
import openai
from openai import AsyncOpenAI

from providers.ai.embedder import FloatMatrix, l2_normalise
from providers.ai.errors import AIAuthError, AIBadInput, AIQuotaExceeded, AIRateLimited, AIUnavailable
from providers.ai.models import estimate_cost_usd, known_embedding_model

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]

DEFAULT_BATCH_SIZE = 128
MAX_RETRY_AFTER_S = 60.0


def _retry_after(exc: openai.APIStatusError) -> float | None:
    value = exc.response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _error_code(exc: openai.APIStatusError) -> str:
    body: Any = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            return str(inner.get("code") or inner.get("type") or "")
    return ""


def translate_error(exc: openai.OpenAIError, endpoint: str) -> Exception:
    """Map the client's exceptions onto our error tree, with a message an admin can act on."""
    if isinstance(exc, openai.APIStatusError):
        code = _error_code(exc)
        status = exc.status_code
        if status in (401, 403):
            return AIAuthError(f"{endpoint} rejected the API key (HTTP {status}); check the key in settings")
        if status == 402 or code == "insufficient_quota":
            return AIQuotaExceeded(f"{endpoint} reports insufficient quota; add credit or switch to the local model")
        if status == 429:
            return AIRateLimited(f"{endpoint} is rate limiting requests (HTTP 429)", _retry_after(exc))
        if status in (400, 404, 413, 422):
            return AIBadInput(f"{endpoint} refused the request (HTTP {status}): {exc.message}")
        return AIUnavailable(f"{endpoint} failed with HTTP {status}: {exc.message}")
    return AIUnavailable(f"{endpoint} could not be reached: {exc}")


class OpenAICompatibleEmbedder:
    """`Embedder` over the `openai` client's embeddings API.

    The dimension comes from the known-model table or from the first response. A 429 is
    retried with back-off (the server's Retry-After when given, else exponential); after
    `max_attempts` it surfaces as `AIRateLimited`. Auth and quota errors surface at once.
    """

    def __init__(
        self,
        *,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_attempts: int = 5,
        timeout_s: float = 60.0,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._model = model
        self._base_url = base_url
        self._client = AsyncOpenAI(base_url=base_url, api_key=api_key or "not-needed", max_retries=0, timeout=timeout_s)
        self._batch_size = batch_size
        self._max_attempts = max_attempts
        self._sleep = sleep
        known = known_embedding_model(model)
        self._dimension: int | None = known.dimension if known else None
        self.tokens_used = 0

    @property
    def name(self) -> str:
        return f"openai:{self._model}"

    @property
    def batch_size(self) -> int:
        return self._batch_size

    @property
    def endpoint(self) -> str:
        return self._base_url or "api.openai.com"

    async def dimension(self) -> int:
        if self._dimension is None:
            self._dimension = int((await self._embed_batch(["dimension probe"])).shape[1])
        return self._dimension

    def cost_usd(self, tokens: int) -> float | None:
        """List price for `tokens` tokens with this model (None when free or unknown)."""
        return estimate_cost_usd(self._model, tokens)

    async def embed(self, texts: Sequence[str]) -> FloatMatrix:
        if not texts:
            return np.zeros((0, await self.dimension()), dtype=np.float32)
        parts = [
            await self._embed_batch(list(texts[i : i + self._batch_size]))
            for i in range(0, len(texts), self._batch_size)
        ]
        return np.vstack(parts)

    async def _embed_batch(self, texts: list[str]) -> FloatMatrix:
        delay = 1.0
        for attempt in range(1, self._max_attempts + 1):
            try:
                response = await self._client.embeddings.create(model=self._model, input=texts)
            except openai.OpenAIError as exc:
                error = translate_error(exc, self.endpoint)
                if isinstance(error, AIRateLimited) and attempt < self._max_attempts:
                    wait = min(MAX_RETRY_AFTER_S, error.retry_after_s if error.retry_after_s is not None else delay)
                    log.warning("%s rate limited; retrying in %.1fs (attempt %d)", self.endpoint, wait, attempt)
                    await self._sleep(wait)
                    delay = min(MAX_RETRY_AFTER_S, delay * 2)
                    continue
                raise error from exc
            rows = sorted(response.data, key=lambda d: d.index)
            if len(rows) != len(texts):
                raise AIUnavailable(f"{self.endpoint} returned {len(rows)} vectors for {len(texts)} texts")
            if response.usage is not None:
                self.tokens_used += int(response.usage.prompt_tokens)
            matrix = l2_normalise(np.array([r.embedding for r in rows], dtype=np.float32))
            if self._dimension is None:
                self._dimension = int(matrix.shape[1])
            elif matrix.shape[1] != self._dimension:
                raise AIBadInput(
                    f"{self.endpoint} returned {matrix.shape[1]}-d vectors for {self._model}, expected "
                    f"{self._dimension}; set the model's dimension or pick another model name"
                )
            return matrix
        raise AssertionError("unreachable")  # pragma: no cover

    async def aclose(self) -> None:
        await self._client.close()
