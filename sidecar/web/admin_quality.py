"""Admin → Quality: how good the picks are on this server — the latest ``evaluate-server`` result per media type
(``sidecar.server_evaluation``), its run's live progress, and "Run now". Everyone but an administrator gets 403."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from sidecar.jobs import control
from sidecar.media_types import MEDIA_TYPES, SPECS
from sidecar.server_evaluation import DEFAULT_HOLDOUT, DEFAULT_MIN_HISTORY, METHODS
from sidecar.server_evaluation_store import latest_evaluations
from sidecar.web import auth
from sidecar.web.admin_jobs import _not_started
from sidecar.web.auth import require_admin, services_of
from sidecar.web.read_models import jobs as job_reads
from sidecar.web.read_models.shared import iso
from sidecar.web.rendering import render, see_other

JOB = "evaluate-server"
LABELS = {"marquee": "Marquee", "popularity": "Popularity", "content-only": "Content-only"}
BASELINES = ("popularity", "content-only")


def evaluation_view(row: dict[str, Any]) -> dict[str, Any]:
    """A stored result as the page shows it: methods in order with the best marked, users sorted by name."""
    overall = row["overall"]
    methods = [{"key": m, "label": LABELS[m], **overall[m]} for m in METHODS if m in overall]
    best = max((m["ndcg10"] for m in methods), default=0.0)
    for method in methods:
        method["best"] = bool(methods) and method["ndcg10"] == best and best > 0
    baseline = max((overall[b]["ndcg10"] for b in BASELINES if b in overall), default=0.0)
    marquee = overall.get("marquee", {}).get("ndcg10")
    users = sorted(row["per_user"], key=lambda u: str(u["name"]).lower())
    return {
        **row,
        "evaluated_at": iso(row["evaluated_at"]),
        "titles": row["items"],  # (``items`` would be the dict's method in a template)
        "label": SPECS[row["media_type"]].label,
        "needs": row["holdout"] + row["min_history"],
        "methods": methods,
        "ratio": round(marquee / baseline, 2) if marquee is not None and baseline > 0 else None,
        "counted": [u for u in users if u["counted"]],
        "skipped": [u for u in users if not u["counted"]],
    }


@require_admin
async def admin_quality_page(request: Request) -> Response:
    services = services_of(request)
    async with services.sessions() as session:
        runs = await job_reads.job_runs(session, name=JOB, active=False, limit=1)
    latest = await latest_evaluations(services)
    run = runs[0] if runs else None
    return await render(
        request,
        "admin_quality.html",
        {
            "evaluations": [evaluation_view(latest[mt]) for mt in MEDIA_TYPES if mt in latest],
            "run": run,
            "active": run if run and run["status"] in job_reads.ACTIVE_STATUSES else None,
            "queued": JOB in await control.queued_job_names(services),
            "job": JOB,
            "holdout": DEFAULT_HOLDOUT,
            "min_history": DEFAULT_MIN_HISTORY,
            "started": request.query_params.get("started") == JOB,
            "not_started": _not_started(request),
            "page": "admin-quality",
        },
    )


@require_admin
async def admin_quality_run(request: Request) -> Response:
    """Queue ``evaluate-server`` (as the Jobs page's Run now does) and come back to the page."""
    await auth.checked_form(request)
    try:
        await control.run_job(services_of(request), JOB)
    except control.JobNotStarted as exc:
        query = {"not_started": exc.name, "reason": exc.reason} | ({"since": exc.since} if exc.since else {})
        return see_other(f"/admin/quality?{urlencode(query)}")
    return see_other(f"/admin/quality?{urlencode({'started': JOB})}")


def routes() -> list[BaseRoute]:
    return [
        Route("/admin/quality", admin_quality_page, methods=["GET"]),
        Route("/admin/quality/run", admin_quality_run, methods=["POST"]),
    ]
