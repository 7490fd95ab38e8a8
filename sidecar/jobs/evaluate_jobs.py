"""``evaluate-server``: measure the picks on this server's own users (``sidecar.server_evaluation``) and store the
result for Admin → Quality."""

from __future__ import annotations

from typing import Any

from sidecar.jobs.progress import Progress
from sidecar.media_types import MEDIA_TYPES, MediaType
from sidecar.server_evaluation import DEFAULT_HOLDOUT, DEFAULT_MIN_HISTORY, evaluate_server
from sidecar.server_evaluation_store import save_evaluation
from sidecar.services import Services


async def evaluate_server_job(
    services: Services,
    progress: Progress,
    holdout: int = DEFAULT_HOLDOUT,
    min_history: int = DEFAULT_MIN_HISTORY,
    media_types: list[MediaType] | None = None,
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    types = media_types or MEDIA_TYPES
    for media_type in types:
        result = await evaluate_server(
            services, MediaType(media_type), holdout=holdout, min_history=min_history, progress=progress
        )
        await save_evaluation(services, result, progress.run_id)
        marquee = result.overall.get("marquee", {})
        results[media_type] = {
            "users_evaluated": result.users_evaluated,
            "users_with_history": result.users_with_history,
            "ndcg10": {m: round(s["ndcg10"], 4) for m, s in result.overall.items()},
        }
        progress.log(
            f"{media_type}: {result.users_evaluated} users, Marquee NDCG@10 {marquee.get('ndcg10', 0.0):.4f}"
            f" in {result.seconds:.1f}s"
        )
    await progress.update(len(types), len(types), f"evaluated {', '.join(types)}")
    return results
