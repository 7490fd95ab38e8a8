"""Marquee's recommender: pure numpy, no database, HTTP or Redis.

Typical use by the jobs::

    model = prepare_model(items, embeddings, histories)        # once per catalogue change
    picks = recommend(model, histories[user_id], weights=w, count=50, media_type="movie")

Public API
- `ItemFacts`, `WatchEvent`, `Weights`, `Pick`, `ScoreBreakdown`, `Evidence`: value types.
- `prepare_model(items, embeddings, histories)` -> `PreparedModel`: the in-memory model
  (unit item matrix, genre matrix, shrunk ratings, duplicate groups, co-watch model). Build it
  once; reuse it for every user and for webhook-driven refreshes of one user.
- `recommend(model, history, ...)` -> ranked `Pick`s with match %, component breakdown,
  genre analysis and evidence. Fast enough (tens of ms on 50k items) to call per webhook.
- `recommend_many(model, histories, ...)`: the same for every user (nightly job), batched.
- `channel_items(model, ...)`: a channel's titles (genre filter, then similarity to a seed) on the
  same matrix.
- `summarise_taste(model, history, recent_limit)` -> `TasteSummary`: weighted facts of a user's taste
  (`sidecar.picks_store.taste` maps them onto `TasteFacts` for the taste page and the texts).
- `ItemDescription`, `embedding_text(...)`, `text_hash(...)`: the text to embed per item and
  the hash that tells the embedding job whether an item must be embedded again.
"""

from sidecar.recommender.embedding_text import ItemDescription, embedding_text, text_hash
from sidecar.recommender.picks import recommend, recommend_many
from sidecar.recommender.prepared_model import PreparedModel, prepare_model
from sidecar.recommender.retrieval import channel_items
from sidecar.recommender.summary import TasteSummary, summarise_taste
from sidecar.recommender.types import (
    MOVIE,
    SERIES,
    Evidence,
    ItemFacts,
    Pick,
    ScoreBreakdown,
    WatchEvent,
    Weights,
)

__all__ = [
    "MOVIE",
    "SERIES",
    "Evidence",
    "ItemDescription",
    "ItemFacts",
    "Pick",
    "PreparedModel",
    "ScoreBreakdown",
    "TasteSummary",
    "WatchEvent",
    "Weights",
    "channel_items",
    "embedding_text",
    "prepare_model",
    "recommend",
    "recommend_many",
    "summarise_taste",
    "text_hash",
]
