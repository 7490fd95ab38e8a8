"""Hand-built catalogues: items placed on chosen directions of a small embedding space."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from sidecar.recommender import ItemFacts, PreparedModel, WatchEvent, prepare_model

DIM = 8


def direction(axis: int, tilt: float = 0.0, towards: int | None = None) -> np.ndarray:
    """Unit vector on `axis`, tilted by `tilt` towards another axis."""
    v = np.zeros(DIM)
    v[axis] = 1.0
    if towards is not None:
        v[towards] = tilt
    return v / np.linalg.norm(v)


def item(item_id: str, genres: Sequence[str] = (), *, year: int = 2000, rating: float = 7.0, **kw: object) -> ItemFacts:
    facts: dict[str, object] = {"title": f"Title {item_id}", "genres": tuple(genres), "year": year}
    return ItemFacts(item_id=item_id, community_rating=rating, **facts, **kw)  # type: ignore[arg-type]


def build(
    entries: Sequence[tuple[ItemFacts, np.ndarray]], histories: Mapping[str, Sequence[WatchEvent]] | None = None
) -> PreparedModel:
    items = [e[0] for e in entries]
    vectors = np.stack([e[1] for e in entries]).astype(np.float32)
    return prepare_model(items, vectors, histories or {})


def watched(*ids: str, start: float = 1_700_000_000.0, **kw: object) -> list[WatchEvent]:
    """Played events, oldest first, one day apart."""
    return [WatchEvent(item_id=i, last_played=start + k * 86_400, **kw) for k, i in enumerate(ids)]  # type: ignore[arg-type]
