"""The server's match calibration per media type, fitted on its users' later watches (``match_fit``).

Fitted once per snapshot (the catalogue and every user's history it was built from) and weights,
in a worker thread, and kept in the process until the snapshot changes: a webhook refresh of one
user reuses it, the batch job fits it once for everyone.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sidecar.picks_store.config import RecommendationConfig
from sidecar.picks_store.inputs import RECOMMENDER_TYPE, Snapshot
from sidecar.recommender.match import PRIOR, MatchCalibration
from sidecar.recommender.match_fit import fit_match_calibration


@dataclass(frozen=True, slots=True)
class _Key:
    model_name: str
    built_at: float
    weights: object
    recent_limit: int


_fitted: dict[str, tuple[_Key, MatchCalibration]] = {}  # one per media type


async def match_calibration(snapshot: Snapshot, config: RecommendationConfig) -> MatchCalibration:
    """The calibration for ``snapshot`` (the prior while the catalogue is empty)."""
    model = snapshot.model
    if model is None:
        return PRIOR
    key = _Key(snapshot.model_name, snapshot.built_at, config.weights, config.recent_limit)
    cached = _fitted.get(snapshot.media_type)
    if cached is not None and cached[0] == key:
        return cached[1]
    calibration = await asyncio.to_thread(
        fit_match_calibration,
        model,
        snapshot.histories,
        weights=config.weights,
        recent_limit=config.recent_limit,
        media_type=RECOMMENDER_TYPE[snapshot.media_type],
    )
    _fitted[snapshot.media_type] = (key, calibration)
    return calibration
