"""Filling a user's channel from its criteria: genre filters, example titles and text preferences.

The contents are the recommender's ``channel_items`` over the cached catalogue snapshot: titles that
match any of the genres, ranked by similarity to the examples plus the embedded text preference
(quality alone when neither is given), leaving out what the owner has already watched. The ordered
ids are stored on ``channel.item_ids``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from sidecar.ai_factory import get_embedder
from sidecar.db.models import Channel
from sidecar.errors import NotFound
from sidecar.media_types import MediaType
from sidecar.picks_store.inputs import snapshot_for
from sidecar.recommender.prepared_model import positive_event
from sidecar.recommender.retrieval import channel_items
from sidecar.services import Services

CHANNEL_SIZE = 30


async def fill_channel(services: Services, channel_id: int, *, count: int = CHANNEL_SIZE) -> list[int]:
    """Recompute and store the channel's contents; returns the item ids in order."""
    async with services.sessions() as session:
        channel = await session.get(Channel, channel_id)
        if channel is None:
            raise NotFound(f"There is no channel {channel_id}.")
        media_type = MediaType.SERIES if channel.media_type == MediaType.SERIES else MediaType.MOVIES
        genres, examples = list(channel.genre_filters), [str(i) for i in channel.example_item_ids]
        preference, owner = channel.text_preferences.strip(), channel.owner_id
    snapshot = await snapshot_for(services, media_type)
    if snapshot.model is None:  # nothing in the catalogue yet
        return await _store(services, channel_id, [])
    watched = [e.item_id for e in snapshot.histories.get(str(owner), []) if positive_event(e)]
    vector = None
    if preference and snapshot.dimension:
        vector = np.asarray((await get_embedder(services).embed([preference]))[0], dtype=np.float64)
        if vector.shape[0] != snapshot.model.vectors.shape[1]:
            vector = None  # the catalogue was embedded with another model; examples and genres still work
    ranked = channel_items(
        snapshot.model,
        genres=genres,
        example_ids=examples,
        preference_vector=vector,
        exclude_ids=watched,
        count=count,
    )
    return await _store(services, channel_id, [int(item_id) for item_id, _ in ranked])


async def _store(services: Services, channel_id: int, item_ids: list[int]) -> list[int]:
    async with services.sessions() as session:
        channel = await session.get(Channel, channel_id)
        if channel is None:
            raise NotFound(f"There is no channel {channel_id}.")
        channel.item_ids = item_ids
        channel.updated_at = datetime.now(UTC)
        session.add(channel)
        await session.commit()
    return item_ids
