"""The admin pages for jobs and webhook events: internal jobs offer no "Run now", a refused "Run now" says
why, and the rejected/failed events are cleared only by the admin."""

from __future__ import annotations

from sqlalchemy import text

from sidecar.db.models import JobDefinition
from tests.web.conftest import Web, csrf_of


async def test_jobs_page_hides_run_now_for_internal_jobs_and_says_why_a_run_did_not_start(web: Web) -> None:
    async with web.services.sessions() as session:
        for name in ("sync-movies", "process-webhook-event", "user-follow-up"):
            session.add(JobDefinition(name=name, description=name))
        await session.commit()
    admin = await web.login("admin")
    token = await csrf_of(admin, "/admin/jobs")
    page = (await admin.get("/admin/jobs")).text
    assert 'action="/admin/jobs/sync-movies/run"' in page
    assert 'action="/admin/jobs/process-webhook-event/run"' not in page
    assert 'action="/admin/jobs/user-follow-up/run"' not in page

    internal = await admin.post("/admin/jobs/user-follow-up/run", data={"csrf_token": token})
    assert internal.status_code == 303 and "reason=internal" in internal.headers["location"]
    shown = await admin.get(internal.headers["location"])
    assert "user-follow-up is an internal job" in shown.text

    assert (await admin.post("/admin/jobs/sync-movies/run", data={"csrf_token": token})).status_code == 303
    again = await admin.post("/admin/jobs/sync-movies/run", data={"csrf_token": token})
    assert again.status_code == 303 and "not_started=sync-movies" in again.headers["location"]
    assert "sync-movies was not started: it is already queued" in (await admin.get(again.headers["location"])).text
    # the notice is rebuilt from known reasons only, never from whatever the query says
    forged = await admin.get("/admin/jobs?not_started=x&reason=<script>&since=<b>")
    assert "was not started" not in forged.text


async def test_webhooks_page_clears_rejected_and_failed_events(web: Web) -> None:
    async with web.services.engine.begin() as conn:
        for n, status in enumerate(("rejected", "failed", "done")):
            await conn.execute(
                text(
                    "INSERT INTO webhook_event (source, content_hash, headers, body, status, attempts)"
                    " VALUES ('jellyfin', :h, '{}', 'x', :s, 0)"
                ),
                {"h": f"h{n}", "s": status},
            )
    admin = await web.login("admin")
    page = await admin.get("/admin/webhooks")
    assert 'action="/admin/webhooks/clear"' in page.text and "kept 14 days" in page.text
    token = await csrf_of(admin, "/admin/webhooks")
    assert (await admin.post("/admin/webhooks/clear", data={"csrf_token": "forged"})).status_code == 403
    cleared = await admin.post("/admin/webhooks/clear", data={"csrf_token": token})
    assert cleared.status_code == 303 and cleared.headers["location"] == "/admin/webhooks?cleared=2"
    after = await admin.get(cleared.headers["location"])
    assert "Cleared 2 rejected or failed events." in after.text
    assert 'action="/admin/webhooks/clear"' not in after.text  # nothing left to clear
    counts = (await admin.get("/api/admin/webhook-events")).json()["counts"]
    assert counts == {"done": 1}
