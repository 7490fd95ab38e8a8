"""A seeded, embedded catalogue with histories, and the process's embedder set to the test double."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from sidecar.embeddings import embed_items
from sidecar.jobs.progress import Progress
from sidecar.services import Services
from tests.embeddings.doubles import HashingEmbedder
from tests.recommendations.catalogue import Seeded, seed_catalogue, seed_histories


@dataclass
class World:
    services: Services
    seeded: Seeded
    embedder: HashingEmbedder


@pytest.fixture
async def world(services: Services) -> World:
    seeded = await seed_catalogue(services.engine)
    await seed_histories(services.engine, seeded)
    embedder = HashingEmbedder(64)
    services.embedder = embedder
    for media_type in ("movies", "series"):
        await embed_items(services, embedder, media_type, Progress.detached())  # type: ignore[arg-type]
    return World(services, seeded, embedder)
