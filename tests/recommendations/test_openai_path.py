"""Settings pointing at an OpenAI-compatible endpoint (a fake one, served over real HTTP): the jobs
embed through it, record refused items, and a configured chat model writes the texts."""

from __future__ import annotations

from pydantic import SecretStr
from sqlalchemy import text

from sidecar.ai_factory import aclose_ai, get_embedder
from sidecar.jobs.progress import Progress
from sidecar.jobs.registry import load_jobs
from sidecar.picks_store.explain import LLM_EXPLANATIONS
from sidecar.picks_store.refresh import refresh_user_picks
from sidecar.services import Services
from tests.ai.fake_openai import GOOD_KEY, FakeState, fake_openai_app
from tests.recommendations.catalogue import MOVIES, seed_catalogue, seed_histories
from tests.servers import serve


async def test_embedding_and_writing_through_an_openai_compatible_endpoint(services: Services) -> None:
    seeded = await seed_catalogue(services.engine)
    await seed_histories(services.engine, seeded)
    async with services.engine.begin() as conn:
        await conn.execute(
            text("UPDATE item SET overview = 'TOO LONG ' || overview WHERE id = :i"), {"i": seeded.items["Dust Riders"]}
        )
    state = FakeState(dim=16, chat_reply="Picked because you loved the space titles you watched.")
    async with serve(fake_openai_app(state), lifespan="off") as url:
        services.settings = services.settings.model_copy(
            update={
                "embedding_provider": "openai",
                "embedding_model": "fake-embed",
                "openai_base_url": f"{url}/v1",
                "openai_api_key": SecretStr(GOOD_KEY),
                "openai_chat_model": "fake-chat",
            }
        )
        services.embedder = services.text_generator = None
        assert get_embedder(services).name == "openai:fake-embed"

        report = await load_jobs()["generate-embeddings"].func(services, Progress.detached(), then_recommend=False)
        assert report is not None
        assert report["model"] == "openai:fake-embed" and report["dimension"] == 16
        assert report["embedded"] == len(MOVIES) and report["failed"] == 1  # +1 copy, -1 refused
        async with services.engine.connect() as conn:
            error = (
                await conn.execute(
                    text("SELECT error FROM item_embedding WHERE item_id = :i"), {"i": seeded.items["Dust Riders"]}
                )
            ).scalar_one()
        assert error is not None and "refused" in error

        result = await refresh_user_picks(services, seeded.users["alice"], "movies")
        first_reply = state.chat_reply
        state.chat_reply = "A text written later."
        again = await refresh_user_picks(services, seeded.users["alice"], "movies")  # nothing changed
        await aclose_ai(services)

    assert result.picks > LLM_EXPLANATIONS
    async with services.engine.connect() as conn:
        sources = [
            r.explanation_source
            for r in await conn.execute(
                text("SELECT explanation_source FROM recommendation WHERE run_id = :r ORDER BY rank"),
                {"r": result.run_id},
            )
        ]
        profile = (
            await conn.execute(
                text("SELECT text, source FROM taste_profile WHERE user_id = :u AND media_type = 'movies'"),
                {"u": seeded.users["alice"]},
            )
        ).one()
    assert sources[:LLM_EXPLANATIONS] == ["llm"] * LLM_EXPLANATIONS
    assert set(sources[LLM_EXPLANATIONS:]) == {"template"}
    assert profile.source == "llm" and profile.text == first_reply  # not rewritten: same facts

    async with services.engine.connect() as conn:
        texts = [
            r.explanation
            for r in await conn.execute(
                text("SELECT explanation FROM recommendation WHERE run_id = :r ORDER BY rank"), {"r": again.run_id}
            )
        ]
    n = LLM_EXPLANATIONS
    assert texts[:n] == [first_reply] * n  # unchanged picks keep their text: no new chat calls for them
    assert texts[n:] == ["A text written later."] * (len(texts) - n)  # the rest now get chat-written texts
