"""Filling a user's channel from its criteria: genre filters, example titles and text preferences.

The contents are the recommender's ``channel_items`` over the cached catalogue snapshot: titles that
match any of the genres, ranked by similarity to the examples and the embedded text preference, the genres
the text means, the owner's taste and quality (see ``sidecar.recommender.retrieval``), leaving out what the
owner has already watched. The ordered ids are stored on ``channel.item_ids``.
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
from sidecar.recommender.taste import build_taste
from sidecar.services import Services

CHANNEL_SIZE = 30
TASTE_TITLES = 50  # the owner's most recent titles that make the taste a channel leans towards


async def fill_channel(
    services: Services, channel_id: int, *, count: int = CHANNEL_SIZE, fresh_histories: bool = False
) -> list[int]:
    """Recompute and store the channel's contents; returns the item ids in order. ``fresh_histories`` reads
    the owner's latest watches (after a webhook) instead of a snapshot up to a minute old."""
    async with services.sessions() as session:
        channel = await session.get(Channel, channel_id)
        if channel is None:
            raise NotFound(f"There is no channel {channel_id}.")
        media_type = MediaType.SERIES if channel.media_type == MediaType.SERIES else MediaType.MOVIES
        genres, examples = list(channel.genre_filters), [str(i) for i in channel.example_item_ids]
        preference, owner = channel.text_preferences.strip(), channel.owner_id
    snapshot = await snapshot_for(services, media_type, fresh_histories=fresh_histories)
    if snapshot.model is None:  # nothing in the catalogue yet
        return await _store(services, channel_id, [])
    history = snapshot.histories.get(str(owner), [])
    watched = [e.item_id for e in history if positive_event(e)]
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
        taste=build_taste(snapshot.model, history, TASTE_TITLES),
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
        channel.refreshed_at = datetime.now(UTC)
        session.add(channel)
        await session.commit()
    return item_ids
