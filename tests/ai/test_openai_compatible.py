from __future__ import annotations

import numpy as np
import pytest

from providers.ai import AIAuthError, AIBadInput, AIQuotaExceeded, AIRateLimited, build_embedder, build_text_generator
from providers.ai.openai_chat import OpenAIChatWriter
from providers.ai.openai_compatible import OpenAICompatibleEmbedder
from providers.ai.writing import PickFacts, TasteFacts
from tests.ai.fake_openai import BROKE_KEY, GOOD_KEY, FakeState, _vector, fake_openai_app
from tests.servers import serve


async def test_embeds_in_batches_in_order_and_normalised() -> None:
    state = FakeState(dim=6)
    async with serve(fake_openai_app(state), lifespan="off") as url:
        embedder = OpenAICompatibleEmbedder(model="my-model", base_url=f"{url}/v1", api_key=GOOD_KEY, batch_size=2)
        assert embedder.name == "openai:my-model"
        texts = ["one", "two", "three", "four", "five"]
        vectors = await embedder.embed(texts)
        assert await embedder.dimension() == 6  # discovered from the first response
        await embedder.aclose()
    assert vectors.shape == (5, 6) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-6)
    expected = np.array(_vector("three", 6), dtype=np.float64)
    assert np.allclose(vectors[2], expected / np.linalg.norm(expected), atol=1e-6)
    assert state.batches == [2, 2, 1]
    assert embedder.tokens_used == 5


async def test_backs_off_on_429_then_succeeds() -> None:
    state = FakeState(rate_limits_left=2, retry_after="0.05")
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    async with serve(fake_openai_app(state), lifespan="off") as url:
        embedder = OpenAICompatibleEmbedder(model="m", base_url=f"{url}/v1", api_key=GOOD_KEY, sleep=sleep)
        vectors = await embedder.embed(["hello"])
        await embedder.aclose()
    assert vectors.shape == (1, 6)
    assert slept == [0.05, 0.05] and state.calls == 3


async def test_gives_up_after_max_attempts_with_retry_after() -> None:
    state = FakeState(rate_limits_left=10, retry_after="7")

    async def sleep(seconds: float) -> None:
        return None

    async with serve(fake_openai_app(state), lifespan="off") as url:
        embedder = OpenAICompatibleEmbedder(
            model="m", base_url=f"{url}/v1", api_key=GOOD_KEY, max_attempts=3, sleep=sleep
        )
        with pytest.raises(AIRateLimited) as caught:
            await embedder.embed(["hello"])
        await embedder.aclose()
    assert caught.value.retry_after_s == 7.0 and state.calls == 3


async def test_clear_errors_for_bad_key_quota_and_bad_input() -> None:
    state = FakeState()
    async with serve(fake_openai_app(state), lifespan="off") as url:
        bad = OpenAICompatibleEmbedder(model="m", base_url=f"{url}/v1", api_key="sk-wrong")
        with pytest.raises(AIAuthError, match="rejected the API key"):
            await bad.embed(["x"])
        broke = OpenAICompatibleEmbedder(model="m", base_url=f"{url}/v1", api_key=BROKE_KEY)
        with pytest.raises(AIQuotaExceeded, match="insufficient quota"):
            await broke.embed(["x"])
        good = OpenAICompatibleEmbedder(model="m", base_url=f"{url}/v1", api_key=GOOD_KEY)
        with pytest.raises(AIBadInput):
            await good.embed(["fine", "TOO LONG"])
        for e in (bad, broke, good):
            await e.aclose()
    assert state.calls == 3  # no retries for these


async def test_known_model_dimension_and_cost() -> None:
    embedder = build_embedder("openai", model="text-embedding-3-small", api_key="sk-unused")
    assert isinstance(embedder, OpenAICompatibleEmbedder)
    assert await embedder.dimension() == 1536  # from the table, no request
    assert embedder.cost_usd(1_000_000) == pytest.approx(0.02)
    assert build_embedder("ollama", model="nomic-embed-text:latest").name == "openai:nomic-embed-text:latest"
    with pytest.raises(ValueError):
        build_embedder("openai")
    with pytest.raises(ValueError):
        build_embedder("nonsense", model="x")
    await embedder.aclose()


async def test_chat_writer_uses_the_model_and_falls_back_to_the_template() -> None:
    state = FakeState()
    facts = PickFacts(title="Alien", evidence=[("Aliens", 0.91)], matching_genres=["Horror"])
    async with serve(fake_openai_app(state), lifespan="off") as url:
        writer = build_text_generator("openai-compatible", model="chat-m", base_url=f"{url}/v1", api_key=GOOD_KEY)
        assert isinstance(writer, OpenAIChatWriter)
        assert await writer.taste_profile(TasteFacts(media_type="movie", top_genres=["Science Fiction"])) == (
            "You love space operas."
        )
        state.chat_fails = True
        fallback = await writer.why_picked(facts)
        await writer.aclose()
    assert fallback.startswith("Because you watched Aliens.")
