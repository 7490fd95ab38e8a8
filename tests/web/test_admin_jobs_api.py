"""The jobs JSON API and its progress streams, on real uvicorn: internal jobs refuse "Run now" at both paths,
Cancel answers 409 when nothing runs, a run's server-sent events follow it to its end, the stream of
running jobs names them, untracked jobs show their last run, and the webhook log pages and filters."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import text, update

from sidecar.db.models import JobDefinition, JobRun
from sidecar.jobs import untracked
from sidecar.webhooks.store import A_COPY
from tests.web.conftest import Web


async def _seed_definitions(web: Web, *names: str) -> None:
    async with web.services.sessions() as session:
        for name in names:
            session.add(JobDefinition(name=name, description=name))
        await session.commit()


async def _events(response: httpx.Response, until: str, limit: int = 50) -> list[tuple[str, Any]]:
    """Parse the stream's events up to (and including) the first ``until`` event."""
    events: list[tuple[str, Any]] = []
    name = None
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: ") and name:
            events.append((name, json.loads(line.removeprefix("data: "))))
            if name == until or len(events) >= limit:
                return events
    return events


async def test_internal_jobs_are_refused_and_cancel_says_when_nothing_runs(web: Web) -> None:
    await _seed_definitions(web, "sync-movies", "user-follow-up", "sync-watch-history-full")
    admin, token = await web.api_login("admin")
    headers = {"X-CSRF-Token": token}
    refused = await admin.post("/api/admin/jobs/user-follow-up/run", headers=headers)
    assert refused.status_code == 400
    assert refused.json()["reason"] == "internal" and "internal job" in refused.json()["error"]["message"]
    jobs = {j["name"]: j for j in (await admin.get("/api/admin/jobs")).json()["jobs"]}
    assert jobs["user-follow-up"]["internal"] is True and jobs["sync-movies"]["internal"] is False
    assert jobs["sync-watch-history-full"]["aliases"] == ["full-sync-watch-history", "full-sync-series-watch-history"]

    for path in ("/api/admin/jobs/sync-movies/cancel", "/api/jobs/sync-movies/cancel"):
        nothing = await admin.post(path, headers=headers)
        assert nothing.status_code == 409 and "nothing to cancel" in nothing.json()["error"]["message"]
    assert (await admin.post("/api/jobs/sync-movies/cancel")).status_code == 403  # no CSRF header
    assert (await admin.post("/api/jobs/no-such-job/cancel", headers=headers)).status_code == 404
    internal_cancel = await admin.post("/api/admin/jobs/user-follow-up/cancel", headers=headers)
    assert (
        internal_cancel.status_code == 400
        and "cannot be cancelled by hand" in internal_cancel.json()["error"]["message"]
    )

    # Aperture's name runs our job; its queued job is cancelled through the other name
    queued = await admin.post("/api/admin/jobs/full-sync-watch-history/run", headers=headers)
    assert queued.status_code == 202 and queued.json()["name"] == "sync-watch-history-full"
    cancelled = await admin.post("/api/jobs/full-sync-series-watch-history/cancel", headers=headers)
    assert cancelled.status_code == 200
    assert cancelled.json() == {
        "name": "sync-watch-history-full",
        "runs": [],
        "dequeued": ["manual:sync-watch-history-full"],
    }

    alice, alice_token = await web.api_login("alice")
    assert (await alice.post("/api/jobs/sync-movies/cancel", headers={"X-CSRF-Token": alice_token})).status_code == 403
    assert (await alice.get("/api/admin/jobs/events")).status_code == 403


async def test_a_runs_event_stream_follows_it_to_its_end(web: Web) -> None:
    async with web.services.sessions() as session:
        run = JobRun(job_name="sync-series", progress_current=0, progress_total=647, message="reading series")
        session.add(run)
        await session.commit()
        await session.refresh(run)
    assert run.id is not None
    admin, _ = await web.api_login("admin")

    async def advance() -> None:
        await asyncio.sleep(0.8)
        async with web.services.sessions() as session:
            await session.exec(
                update(JobRun)
                .where(JobRun.id == run.id)
                .values(progress_current=300, message="300 of 647 series items")
            )
            await session.commit()
        await asyncio.sleep(0.8)
        async with web.services.sessions() as session:
            await session.exec(
                update(JobRun)
                .where(JobRun.id == run.id)
                .values(
                    progress_current=647,
                    message="647 of 647 series items",
                    status="done",
                    finished_at=datetime.now(UTC),
                )
            )
            await session.commit()

    writer = asyncio.create_task(advance())
    async with admin.stream("GET", f"/api/admin/jobs/runs/{run.id}/events") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = await asyncio.wait_for(_events(response, "end"), 10)
    await writer
    names = [name for name, _ in events]
    texts = [data["progress_text"] for _, data in events]
    assert names[0] == "progress" and names[-1] == "end"
    assert texts[0] == "reading series (0 of 647)"
    assert "300 of 647 series items" in texts
    assert events[-1][1]["status"] == "done" and texts[-1] == "647 of 647 series items"
    # Aperture's path streams the same; a finished run ends at once
    async with admin.stream("GET", f"/api/jobs/progress/stream/{run.id}") as response:
        again = await asyncio.wait_for(_events(response, "end"), 5)
    assert [n for n, _ in again] == ["progress", "end"]
    assert (await admin.get("/api/admin/jobs/runs/999999/events")).status_code == 404


async def test_the_running_jobs_stream_names_each_job(web: Web) -> None:
    async with web.services.sessions() as session:
        run = JobRun(
            job_name="generate-embeddings", progress_current=40, progress_total=100, message="embedded 40/100 movies"
        )
        session.add(run)
        await session.commit()
        await session.refresh(run)
    admin, _ = await web.api_login("admin")

    async def finish() -> None:
        await asyncio.sleep(0.8)
        async with web.services.sessions() as session:
            await session.exec(
                update(JobRun).where(JobRun.id == run.id).values(status="cancelled", finished_at=datetime.now(UTC))
            )
            await session.commit()

    finisher = asyncio.create_task(finish())
    async with admin.stream("GET", "/api/admin/jobs/events") as response:
        events = await asyncio.wait_for(_events(response, "finished"), 10)
    await finisher
    first = events[0]
    assert first[0] == "jobs"
    assert [(r["job_name"], r["progress_pct"], r["progress_text"]) for r in first[1]["running"]] == [
        ("generate-embeddings", 40, "embedded 40/100 movies")
    ]
    assert events[-1][0] == "finished" and events[-1][1]["status"] == "cancelled"


async def test_a_job_that_records_no_runs_shows_its_last_run(web: Web) -> None:
    await _seed_definitions(web, "sweep-webhooks")
    started = datetime(2026, 11, 30, 5, 0, tzinfo=UTC)
    await untracked.record(
        web.services.redis, "sweep-webhooks", started, started.replace(second=2), "done", "events: 0, follow_ups: 1"
    )
    admin = await web.login("admin")
    jobs = {j["name"]: j for j in (await admin.get("/api/admin/jobs")).json()["jobs"]}
    last = jobs["sweep-webhooks"]["last_run"]
    assert (last["status"], last["duration_s"], last["message"]) == ("done", 2.0, "events: 0, follow_ups: 1")
    page = (await admin.get("/admin/jobs")).text
    row = page[page.index('id="job-sweep-webhooks"') :]
    row = row[: row.index("</tr>")]
    assert "never" not in row
    assert "2026-11-30 05:00 UTC" in row and "took 2.0 s" in row and "events: 0, follow_ups: 1" in row


async def test_the_webhook_log_filters_by_type_hides_own_copies_and_pages(web: Web) -> None:
    async with web.services.engine.begin() as conn:
        for n in range(60):
            kind, status, note = ("item.added", "done", A_COPY) if n % 2 else ("playback.stop", "done", None)
            await conn.execute(
                text(
                    "INSERT INTO webhook_event"
                    " (source, content_hash, headers, body, status, attempts, event_type, error)"
                    " VALUES ('jellyfin', :h, '{}', 'x', :s, 1, :t, :e)"
                ),
                {"h": f"h{n}", "s": status, "t": kind, "e": note},
            )
    admin = await web.login("admin")
    body = (await admin.get("/api/admin/webhook-events?limit=20")).json()
    assert body["total"] == 30 and body["own_copies"] == 30 and len(body["events"]) == 20
    assert {e["event_type"] for e in body["events"]} == {"playback.stop"}
    assert body["types"] == {"item.added": 30, "playback.stop": 30}
    rest = (await admin.get("/api/admin/webhook-events?limit=20&offset=20")).json()
    assert len(rest["events"]) == 10 and not {e["id"] for e in rest["events"]} & {e["id"] for e in body["events"]}
    own = (await admin.get("/api/admin/webhook-events?type=item.added&own=true")).json()
    assert own["total"] == 30 and all(e["own_copy"] for e in own["events"])
    assert (await admin.get("/api/admin/webhook-events?offset=-1")).status_code == 422

    page = await admin.get("/admin/webhooks")
    assert "1\u201330 of 30" in page.text and "30 events are the server announcing" in page.text
    assert '<option value="item.added"' in page.text
    both = await admin.get("/admin/webhooks?own=1")
    assert "1\u201350 of 60" in both.text and 'href="/admin/webhooks?own=1&amp;offset=50"' in both.text
    second = await admin.get("/admin/webhooks?own=1&offset=50")
    assert "51\u201360 of 60" in second.text and "Newer" in second.text
    assert (await admin.get("/admin/webhooks?offset=x")).status_code == 422


async def test_apertures_job_paths_answer_like_ours(web: Web) -> None:
    await _seed_definitions(web, "sync-movies", "sync-watch-history-full")
    async with web.services.sessions() as session:
        session.add(JobRun(job_name="sync-movies", status="done", finished_at=datetime.now(UTC), message="m"))
        session.add(JobRun(job_name="sync-watch-history-full", progress_current=3, progress_total=9))
        await session.commit()
    admin, token = await web.api_login("admin")
    headers = {"X-CSRF-Token": token}
    assert {j["name"] for j in (await admin.get("/api/jobs")).json()["jobs"]} == {
        "sync-movies",
        "sync-watch-history-full",
    }
    active = (await admin.get("/api/jobs/active")).json()["runs"]
    assert [(r["job_name"], r["progress_text"]) for r in active] == [("sync-watch-history-full", "3 of 9")]
    config = await admin.patch(
        "/api/jobs/full-sync-watch-history/config", json={"schedule": "daily:03:00"}, headers=headers
    )
    assert config.status_code == 200 and config.json()["schedule"] == "daily:03:00"
    assert (await admin.get("/api/jobs/full-sync-watch-history/config")).json() == {
        "name": "sync-watch-history-full",
        "schedule": "daily:03:00",
        "enabled": True,
    }
    bad = await admin.patch("/api/jobs/sync-movies/config", json={"schedule": "at noon"}, headers=headers)
    assert bad.status_code == 422
    history = (await admin.get("/api/jobs/sync-movies/history?limit=5")).json()
    assert history["name"] == "sync-movies" and [r["status"] for r in history["runs"]] == ["done"]
    assert (await admin.post("/api/jobs/sync-movies/run", headers=headers)).status_code == 202
    assert (await admin.get("/api/jobs/nope/history")).status_code == 404
