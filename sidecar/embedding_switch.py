"""Moving to another embedding model without a gap: embed everything with the new model first, then switch.

Saving a new embedding model on Admin → Models stores it as *pending* (``runtime_setting`` key
``models.pending_embedding``) and queues ``switch-embedding-model``. That job embeds every title with the
pending model while picks keep using the current one (a model with no vectors yet would give everybody
empty picks), then makes it the active model, applies it to the running process (other processes pick it
up at their next job, ``sidecar.live_settings``) and queues fresh picks. If the endpoint fails, the job
fails with its reason and the current model stays; a newer choice saved meanwhile wins.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from sidecar import live_settings, model_setup
from sidecar import runtime_settings as rs
from sidecar.ai_factory import build_embedder, pricing_model
from sidecar.embeddings import embed_items
from sidecar.jobs.progress import Progress
from sidecar.jobs.queue import enqueue
from sidecar.media_types import MEDIA_TYPES, SPECS
from sidecar.services import Services
from sidecar.settings import EmbeddingProvider

SWITCH_JOB = "switch-embedding-model"


class PendingEmbedding(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: EmbeddingProvider | None = None  # None: nothing pending
    model: str | None = None


PENDING: rs.RuntimeKey[PendingEmbedding] = rs.RuntimeKey("models.pending_embedding", PendingEmbedding)


async def pending(services: Services) -> PendingEmbedding:
    async with services.sessions() as session:
        return await rs.load(session, PENDING)


async def request_switch(services: Services, provider: EmbeddingProvider, model: str | None) -> None:
    """Store the new model as pending and queue the job that embeds with it, then switches."""
    async with services.sessions() as session:
        await rs.save(session, PENDING, PendingEmbedding(provider=provider, model=model or None))
    await enqueue(services.redis, SWITCH_JOB, job_id=SWITCH_JOB)


async def switch_embedding_model(services: Services, progress: Progress) -> dict[str, Any]:
    wanted = await pending(services)
    if wanted.provider is None:
        return {"switched": False, "reason": "no embedding model is waiting to be switched to"}
    target = services.settings.model_copy(
        update={"embedding_provider": wanted.provider, "embedding_model": wanted.model}
    )
    embedder = build_embedder(target)
    progress.log(f"embedding every title with {embedder.name} before switching to it")
    try:
        reports = [
            (await embed_items(services, embedder, media_type, progress, pricing_model=pricing_model(target))).as_dict()
            for media_type in MEDIA_TYPES
        ]
    finally:
        close = getattr(embedder, "aclose", None)
        if close is not None:
            await close()
    async with services.sessions() as session:
        if await rs.load(session, PENDING) != wanted:
            return {"switched": False, "reason": "another model was chosen meanwhile", "embedded": reports}
        stored = await rs.load(session, model_setup.MODELS)
        stored.embedding_provider = wanted.provider
        stored.embedding_model = wanted.model
        await rs.save(session, model_setup.MODELS, stored)
        await rs.save(session, PENDING, PendingEmbedding())
    await live_settings.apply(services)
    for spec in SPECS.values():
        await enqueue(services.redis, spec.recommend_job, job_id=spec.recommend_job)
    progress.log(f"switched to {embedder.name}; picks are being recomputed")
    return {"switched": True, "model": embedder.name, "embedded": reports}
