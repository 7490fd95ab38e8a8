"""The real local model end to end: the default settings embed the catalogue and drive the picks."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from sidecar.ai_factory import get_embedder
from sidecar.jobs.progress import Progress
from sidecar.jobs.registry import load_jobs
from sidecar.picks_store.similar import similar_items
from sidecar.services import Services
from tests.recommendations.catalogue import MOVIES, seed_catalogue, seed_histories

pytest.importorskip("sentence_transformers")


@pytest.mark.model
async def test_default_settings_embed_with_the_local_model_and_recommend(services: Services) -> None:
    seeded = await seed_catalogue(services.engine)
    await seed_histories(services.engine, seeded)
    assert get_embedder(services).name == "local:all-MiniLM-L6-v2"
    jobs = load_jobs()
    report = await jobs["generate-embeddings"].func(services, Progress.detached(), then_recommend=False)
    assert report is not None and report["embedded"] == len(MOVIES) + 1 and report["dimension"] == 384
    await jobs["generate-recommendations"].func(services, Progress.detached())

    space = {seeded.items[t] for t in ("Nebula Drift", "Mars Colony")}
    async with services.engine.connect() as conn:
        top = (
            await conn.execute(
                text(
                    "SELECT r.item_id FROM recommendation r JOIN recommendation_run run ON run.id = r.run_id"
                    " WHERE run.user_id = :u AND run.media_type = 'movies' ORDER BY r.rank LIMIT 1"
                ),
                {"u": seeded.users["alice"]},
            )
        ).scalar_one()
    assert top in space
    similar = await similar_items(services, seeded.items["Dark Cellar"], limit=2)
    assert {s.title for s in similar} == {"Haunted Manor", "Ritual Night"}
