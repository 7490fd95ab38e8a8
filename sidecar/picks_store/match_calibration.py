"""The server's match calibration per media type, fitted on its users' later watches (``match_fit``).

Fitted in a worker thread on a snapshot (the catalogue and every user's history) and kept in the process:
a webhook refresh of one user reuses it while it is younger than ``MAX_AGE_S`` (a server-wide statistic
moves slowly, and a fit costs about one recommendation per sampled user); the batch job fits it afresh
for everyone. Changed weights or embedding model always refit.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from dataclasses import dataclass

from sidecar.picks_store.config import RecommendationConfig
from sidecar.picks_store.inputs import RECOMMENDER_TYPE, Snapshot, SnapshotCache, snapshot_cache
from sidecar.recommender.match import PRIOR, MatchCalibration
from sidecar.recommender.match_fit import fit_match_calibration
from sidecar.services import Services

MAX_AGE_S = 3600.0


@dataclass(frozen=True, slots=True)
class _Key:
    model_name: str
    weights: object
    recent_limit: int


Fitted = dict[str, tuple[_Key, float, MatchCalibration]]  # media type -> (key, fitted at, calibration)
# kept beside the process's snapshot cache (one per Services), so two apps in one process never share one
_by_cache: weakref.WeakKeyDictionary[SnapshotCache, Fitted] = weakref.WeakKeyDictionary()


async def match_calibration(
    services: Services, snapshot: Snapshot, config: RecommendationConfig, *, fresh: bool = False
) -> MatchCalibration:
    """The calibration for ``snapshot`` (the prior while the catalogue is empty); ``fresh`` refits."""
    model = snapshot.model
    if model is None:
        return PRIOR
    key = _Key(snapshot.model_name, config.weights, config.recent_limit)
    _fitted = _by_cache.setdefault(snapshot_cache(services), {})
    cached = _fitted.get(snapshot.media_type)
    if not fresh and cached is not None and cached[0] == key and time.monotonic() - cached[1] < MAX_AGE_S:
        return cached[2]
    calibration = await asyncio.to_thread(
        fit_match_calibration,
        model,
        snapshot.histories,
        weights=config.weights,
        recent_limit=config.recent_limit,
        media_type=RECOMMENDER_TYPE[snapshot.media_type],
    )
    _fitted[snapshot.media_type] = (key, time.monotonic(), calibration)
    return calibration
