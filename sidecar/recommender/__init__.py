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
- `rollup_series_history(...)`: episode events -> one `WatchEvent` per series.
- `similar_items(model, item_id, ...)`, `channel_items(model, ...)`: item-to-item and
  playlist retrieval on the same matrix.
- `top_picks(histories, ...)`: what this server's users watch most in a time window.
- `summarise_taste(model, history)` -> `TasteSummary`: counted facts for the taste-profile text
  (map them onto `providers.ai.writing.TasteFacts` for the template or LLM writer).
- `ItemDescription`, `embedding_text(...)`, `text_hash(...)`: the text to embed per item and
  the hash that tells the embedding job whether an item must be embedded again.
"""

from sidecar.recommender.catalogue import PreparedModel, prepare_model
from sidecar.recommender.embedding_text import ItemDescription, embedding_text, text_hash
from sidecar.recommender.picks import recommend, recommend_many
from sidecar.recommender.retrieval import channel_items, similar_items
from sidecar.recommender.series import rollup_series_history
from sidecar.recommender.summary import TasteSummary, summarise_taste
from sidecar.recommender.top_picks import TopPick, top_picks
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
    "TopPick",
    "WatchEvent",
    "Weights",
    "channel_items",
    "embedding_text",
    "prepare_model",
    "recommend",
    "recommend_many",
    "rollup_series_history",
    "similar_items",
    "summarise_taste",
    "text_hash",
    "top_picks",
]
