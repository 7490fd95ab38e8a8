"""The JSON API: every malformed request is a 4xx naming the problem, never a 500; CRUD round trips."""

from __future__ import annotations

from typing import Any

import pytest

from sidecar.db.models import JobDefinition
from tests.web.conftest import Web


async def test_channel_crud_round_trip(web: Web) -> None:
    bob = await web.user_row("bob")
    film = await web.add_item("Heat", year=1995, genres=["Crime"])
    client, token = await web.api_login("alice")
    headers = {"X-CSRF-Token": token}
    body: dict[str, Any] = {
        "name": "  Night crime  ",
        "media_type": "movies",
        "genre_filters": ["Crime", "Crime", " "],
        "text_preferences": "neon and rain",
        "example_item_ids": [film.id],
        "shared_with": [bob.id],
    }
    created = await client.post("/api/channels", json=body, headers=headers)
    assert created.status_code == 201, created.text
    channel = created.json()
    assert channel["name"] == "Night crime" and channel["genre_filters"] == ["Crime"]
    assert [e["name"] for e in channel["examples"]] == ["Heat"]
    assert channel["shared_with"] == [{"id": bob.id, "name": "bob"}]
    updated = await client.put(
        f"/api/channels/{channel['id']}", json={**body, "name": "Crime", "shared_with": []}, headers=headers
    )
    assert updated.status_code == 200 and updated.json()["shared_with"] == []
    listed = (await client.get("/api/channels")).json()["channels"]
    assert [c["name"] for c in listed] == ["Crime"]
    bob_client, _ = await web.api_login("bob")
    assert (await bob_client.get(f"/api/channels/{channel['id']}")).status_code == 404  # no longer shared
    assert (await client.delete(f"/api/channels/{channel['id']}", headers=headers)).status_code == 204
    assert (await client.get(f"/api/channels/{channel['id']}")).status_code == 404


async def test_shared_channel_is_read_only_for_the_guest(web: Web) -> None:
    bob = await web.user_row("bob")
    alice, alice_token = await web.api_login("alice")
    created = await alice.post(
        "/api/channels", json={"name": "Shared", "shared_with": [bob.id]}, headers={"X-CSRF-Token": alice_token}
    )
    channel_id = created.json()["id"]
    guest, guest_token = await web.api_login("bob")
    headers = {"X-CSRF-Token": guest_token}
    assert (await guest.get(f"/api/channels/{channel_id}")).json()["is_owner"] is False
    assert (await guest.put(f"/api/channels/{channel_id}", json={"name": "Taken"}, headers=headers)).status_code == 403
    assert (await guest.delete(f"/api/channels/{channel_id}", headers=headers)).status_code == 403


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ("not json", 400, "not valid JSON"),
        ("[1, 2]", 422, "body"),
        ('{"name": ""}', 422, "name"),
        ('{"name": "x", "media_type": "music"}', 422, "media_type"),
        ('{"name": "x", "example_item_ids": ["a"]}', 422, "example_item_ids"),
        ('{"name": "x", "example_item_ids": [999999]}', 422, "no movies title with id 999999"),
        ('{"name": "x", "shared_with": [999999]}', 422, "no user with id 999999"),
        ('{"name": "x", "surprise": 1}', 422, "surprise"),
        ('{"name": "' + "x" * 101 + '"}', 422, "name"),
        ('{"name": "x", "genre_filters": "Drama"}', 422, "genre_filters"),
    ],
)
async def test_malformed_channel_bodies_are_4xx(web: Web, body: str, status: int, message: str) -> None:
    client, token = await web.api_login("alice")
    response = await client.post(
        "/api/channels", content=body, headers={"X-CSRF-Token": token, "Content-Type": "application/json"}
    )
    assert response.status_code == status, response.text
    assert message in response.json()["error"]["message"]


async def test_wrong_content_type_and_oversized_bodies(web: Web) -> None:
    client, token = await web.api_login("alice")
    form = await client.post("/api/channels", data={"name": "x"}, headers={"X-CSRF-Token": token})
    assert form.status_code == 415
    huge = await client.post(
        "/api/channels",
        content='{"name": "' + "x" * 70_000 + '"}',
        headers={"X-CSRF-Token": token, "Content-Type": "application/json"},
    )
    assert huge.status_code == 413
    login = await web.client().post("/api/auth/login", content="name=alice", headers={"Content-Type": "text/plain"})
    assert login.status_code == 415
    missing = await web.client().post("/api/auth/login", json={"password": "x"})
    assert missing.status_code == 422 and "name" in missing.json()["error"]["message"]


async def test_admin_api_validation(web: Web) -> None:
    async with web.services.sessions() as session:
        session.add(JobDefinition(name="sync-movies", description="Sync movies"))
        await session.commit()
    alice = await web.user_row("alice")
    admin, token = await web.api_login("admin")
    headers = {"X-CSRF-Token": token}
    cases: list[tuple[str, str, Any, int, str]] = [
        ("PATCH", "/api/admin/settings/recommendations/movies", {"weights": {"novelty": 2}}, 422, "weights.novelty"),
        ("PATCH", "/api/admin/settings/recommendations/movies", {"count": "many"}, 422, "count"),
        ("PATCH", "/api/admin/settings/recommendations/movies", {"bogus": 1}, 422, "bogus"),
        ("PATCH", "/api/admin/settings/recommendations/music", {"count": 5}, 404, "media_type"),
        ("PATCH", "/api/admin/settings/top-picks/series", {"outputs": {"library_mode": "copy"}}, 422, "library_mode"),
        ("PATCH", "/api/admin/settings/publish", [1], 422, "JSON object"),
        ("PATCH", "/api/admin/settings/explanations", {"enabled": "maybe"}, 422, "enabled"),
        ("PATCH", "/api/admin/jobs/sync-movies", {"schedule": "hourly"}, 422, "schedule"),
        ("PATCH", "/api/admin/jobs/sync-movies", {"schedule": "weekly:someday:04:00"}, 422, "weekly"),
        ("PATCH", "/api/admin/jobs/no-such-job", {"schedule": None}, 404, "no-such-job"),
        ("POST", "/api/admin/jobs/no-such-job/run", None, 404, "no-such-job"),
        ("PATCH", f"/api/admin/users/{alice.id}", {"movies_enabled": "perhaps"}, 422, "movies_enabled"),
        ("PATCH", "/api/admin/users/999999", {"movies_enabled": True}, 404, "999999"),
        ("PATCH", "/api/admin/libraries/999999", {"enabled": True}, 404, "999999"),
        ("PATCH", "/api/admin/libraries/1", {}, 422, "enabled"),
        ("GET", "/api/admin/jobs/runs?limit=100000", None, 422, "limit"),
        ("GET", "/api/admin/jobs/runs/424242", None, 404, "424242"),
    ]
    for method, path, body, status, message in cases:
        response = await admin.request(method, path, json=body, headers=headers)
        assert response.status_code == status, (method, path, response.text)
        assert message in response.json()["error"]["message"], (path, response.text)

    ok = await admin.patch(
        "/api/admin/settings/recommendations/series", json={"weights": {"novelty": 0.9}}, headers=headers
    )
    assert ok.status_code == 200 and ok.json()["weights"] == {
        "similarity": 0.5,
        "novelty": 0.9,
        "rating": 0.2,
        "diversity": 0.3,
    }
    schedule = await admin.patch("/api/admin/jobs/sync-movies", json={"schedule": "interval:30"}, headers=headers)
    assert schedule.json() == {"name": "sync-movies", "schedule": "interval:30", "enabled": True}
    manual = await admin.patch("/api/admin/jobs/sync-movies", json={"schedule": None}, headers=headers)
    assert manual.json()["schedule"] is None
    run = await admin.post("/api/admin/jobs/sync-movies/run", headers=headers)
    assert run.status_code == 202 and run.json()["queued"] is True
    user = await admin.patch(f"/api/admin/users/{alice.id}", json={"series_enabled": False}, headers=headers)
    assert user.json()["series_enabled"] is False and user.json()["movies_enabled"] is True


async def test_unknown_routes_and_methods_are_json_4xx(web: Web) -> None:
    client, token = await web.api_login("alice")
    assert (await client.get("/api/nothing-here")).status_code == 404
    assert (await client.get("/api/items/abc")).status_code == 404
    assert (await client.delete("/api/picks", headers={"X-CSRF-Token": token})).status_code == 405
    assert (await client.get("/api/picks?media_type=")).status_code == 422
    assert (await client.get("/api/picks?media_type=movies&_=123")).status_code == 200  # cache busters are fine
    response = await client.put(
        "/api/me/settings", json={"movies_library_name": "x" * 101}, headers={"X-CSRF-Token": token}
    )
    assert response.status_code == 422 and "movies_library_name" in response.json()["error"]["message"]


async def test_fill_channel_from_genres_and_examples(web: Web) -> None:
    from sqlalchemy import text

    from sidecar.db.models import WatchState
    from sidecar.picks_store.inputs import model_name

    alice = await web.user_row("alice")
    a = await web.add_item("Western A", year=1950, genres=["Western"], community_rating=7.0)
    b = await web.add_item("Western B", year=1951, genres=["Western"], community_rating=7.0)
    c = await web.add_item("Western C", year=1952, genres=["Western"], community_rating=6.0)
    d = await web.add_item("Western D", year=1953, genres=["Western"], community_rating=9.0)
    comedy = await web.add_item("Comedy", year=1960, genres=["Comedy"], community_rating=8.0)
    model = model_name(web.services)
    async with web.services.sessions() as session:
        for item, vector in (
            (a, "[1,0,0]"),
            (b, "[0.95,0.05,0]"),
            (c, "[0.9,0.1,0]"),
            (d, "[0,0,1]"),
            (comedy, "[1,0,0]"),
        ):
            await session.exec(
                text(
                    "INSERT INTO item_embedding (item_id, model, dim, text_hash, embedding, attempts) "
                    "VALUES (:id, :model, 3, 'h', CAST(:v AS vector), 0)"
                ).bindparams(id=item.id, model=model, v=vector)
            )
        session.add(WatchState(user_id=alice.id, item_id=b.id, played=True, play_count=1, completion=1.0))
        await session.commit()
    client, token = await web.api_login("alice")
    headers = {"X-CSRF-Token": token}
    created = await client.post(
        "/api/channels",
        json={"name": "Westerns", "genre_filters": ["Western"], "example_item_ids": [a.id]},
        headers=headers,
    )
    channel_id = created.json()["id"]
    filled = await client.post(f"/api/channels/{channel_id}/fill", headers=headers)
    assert filled.status_code == 200, filled.text
    # Genre-filtered, nearest the example first; the example itself and what alice watched are left out.
    assert [i["name"] for i in filled.json()["items"]] == ["Western C", "Western D"]
    page = await client.get(f"/channels/{channel_id}")
    assert page.text.index("Western C") < page.text.index("Western D")
    bob = await web.user_row("bob")
    await client.put(
        f"/api/channels/{channel_id}",
        json={"name": "Westerns", "genre_filters": ["Western"], "example_item_ids": [a.id], "shared_with": [bob.id]},
        headers=headers,
    )
    guest, guest_token = await web.api_login("bob")
    refused = await guest.post(f"/api/channels/{channel_id}/fill", headers={"X-CSRF-Token": guest_token})
    assert refused.status_code == 403


async def test_hostile_inputs_are_4xx_never_500(web: Web) -> None:
    client, token = await web.api_login("admin")
    headers = {"X-CSRF-Token": token}
    huge = 2**40
    requests: list[tuple[str, str, Any]] = [
        ("GET", f"/api/items/{huge}", None),
        ("GET", f"/api/items/{huge}/similar", None),
        ("GET", f"/api/channels/{huge}", None),
        ("PATCH", f"/api/admin/users/{huge}", {"movies_enabled": True}),
        ("PATCH", f"/api/admin/libraries/{huge}", {"enabled": True}),
        ("GET", f"/api/admin/jobs/runs/{huge}", None),
        ("POST", "/api/channels", {"name": "a\x00b"}),
        ("POST", "/api/channels", {"name": "ok", "example_item_ids": [huge]}),
        ("POST", "/api/channels", {"name": "ok", "shared_with": [-1]}),
        ("POST", "/api/channels", {"name": "ok", "genre_filters": ["x\x00"]}),
        ("PUT", "/api/me/settings", {"movies_library_name": "bad\x00"}),
        ("PATCH", "/api/admin/jobs/%00", {"enabled": False}),
        ("POST", "/api/admin/jobs/%00/run", None),
        ("GET", "/api/admin/jobs/runs?name=%00", None),
        ("GET", "/api/picks?media_type=%00", None),
        ("GET", "/api/history?limit=-1", None),
    ]
    for method, path, body in requests:
        response = await client.request(method, path, json=body, headers=headers)
        assert 400 <= response.status_code < 500, (method, path, response.status_code, response.text)
    pages = [
        f"/items/{huge}",
        f"/channels/{huge}",
        f"/channels/{huge}/edit",
        "/admin/jobs/%00",
        "/stats?media_type=%00",
    ]
    admin = await web.login("admin")
    for path in pages:
        response = await admin.get(path)
        assert 400 <= response.status_code < 500, (path, response.status_code)
    page_token = (await admin.get("/api/me")).json()["csrf_token"]
    for path, data in [
        ("/channels", {"name": "x", "examples": "Title\x00"}),
        ("/channels", {"name": "x\x00"}),
        ("/channels", {"name": "x", "shared_with": "abc"}),
        ("/settings", {"series_library_name": "\x00"}),
        ("/admin/settings/libraries", {"library": str(huge)}),
        ("/admin/users", {"user": "x"}),
        ("/admin/users/99999999", {"movies_enabled": "on"}),
        ("/admin/jobs/%00/run", {}),
        ("/admin/jobs/%00/schedule", {"schedule": "daily:03:00"}),
        ("/admin/settings/recommendations-movies", {"count": "many"}),
        ("/admin/settings/top-picks-series", {"window_days": ""}),
    ]:
        response = await admin.post(path, data={"csrf_token": page_token, **data})
        assert 400 <= response.status_code < 500, (path, response.status_code, response.text[:300])


async def test_run_now_says_why_a_job_does_not_start(web: Web) -> None:
    from sqlalchemy import text

    from sidecar.jobs import liveness

    async with web.services.sessions() as session:
        for name in ("sync-movies", "sync-series", "process-webhook-event"):
            session.add(JobDefinition(name=name, description=name))
        await session.commit()
    admin, token = await web.api_login("admin")
    headers = {"X-CSRF-Token": token}

    internal = await admin.post("/api/admin/jobs/process-webhook-event/run", headers=headers)
    assert internal.status_code == 400 and internal.json()["reason"] == "internal"
    assert "cannot be run by hand" in internal.json()["error"]["message"]

    first = await admin.post("/api/admin/jobs/sync-movies/run", headers=headers)
    assert first.status_code == 202 and first.json()["queued"] is True
    again = await admin.post("/api/admin/jobs/sync-movies/run", headers=headers)
    assert again.status_code == 409 and again.json()["reason"] == "queued" and again.json()["queued"] is False
    assert "already queued" in again.json()["error"]["message"]

    # A run of a live worker blocks "Run now" and says since when.
    await web.services.redis.set(liveness.alive_key("host:1:live"), "{}", ex=60)
    async with web.services.engine.begin() as conn:
        await conn.execute(
            text(
                "INSERT INTO job_run (job_name, arq_job_id, worker_id, status, progress_current, message, started_at)"
                " VALUES ('sync-series', 'sync-series', 'host:1:live', 'running', 0, '', '2026-05-09 21:07:00+00')"
            )
        )
    running = await admin.post("/api/admin/jobs/sync-series/run", headers=headers)
    assert running.status_code == 409 and running.json()["reason"] == "running"
    assert "already running (since 21:07 UTC)" in running.json()["error"]["message"]


async def test_admin_clears_rejected_and_failed_webhook_events(web: Web) -> None:
    from sqlalchemy import text

    async with web.services.engine.begin() as conn:
        for n, status in enumerate(("rejected", "failed", "failed", "done", "ignored", "pending")):
            await conn.execute(
                text(
                    "INSERT INTO webhook_event (source, content_hash, headers, body, status, attempts)"
                    " VALUES ('emby', :h, '{}', 'x', :s, 0)"
                ),
                {"h": f"h{n}", "s": status},
            )
    admin, token = await web.api_login("admin")
    assert (await admin.post("/api/admin/webhook-events/clear")).status_code == 403  # no CSRF token
    bad = await admin.post("/api/admin/webhook-events/clear?status=done", headers={"X-CSRF-Token": token})
    assert bad.status_code == 422
    only = await admin.post("/api/admin/webhook-events/clear?status=rejected", headers={"X-CSRF-Token": token})
    assert only.json() == {"cleared": 1}
    cleared = await admin.post("/api/admin/webhook-events/clear", headers={"X-CSRF-Token": token})
    assert cleared.status_code == 200 and cleared.json() == {"cleared": 2}
    counts = (await admin.get("/api/admin/webhook-events")).json()["counts"]
    assert counts == {"done": 1, "ignored": 1, "pending": 1}
    alice, alice_token = await web.api_login("alice")
    refused = await alice.post("/api/admin/webhook-events/clear", headers={"X-CSRF-Token": alice_token})
    assert refused.status_code == 403


async def test_huge_and_out_of_range_numbers_are_4xx_with_a_message(web: Web) -> None:
    """A 5,000-digit number (beyond Python's int-conversion limit), numbers no column can hold and deep nesting:
    each a 4xx naming the problem, never a 500, on every kind of JSON body."""
    huge = "9" * 5000
    alice = await web.user_row("alice")
    admin, token = await web.api_login("admin")
    headers = {"X-CSRF-Token": token, "Content-Type": "application/json"}
    cases: list[tuple[str, str, str, int, str]] = [
        ("POST", "/api/channels", '{"name": "x", "example_item_ids": [' + huge + "]}", 400, "5000 digits"),
        ("POST", "/api/channels", '{"name": "x", "shared_with": [-' + huge + "]}", 400, "5000 digits"),
        ("POST", "/api/channels", '{"name": "x", "example_item_ids": [9223372036854775808]}', 422, "example_item_ids"),
        ("POST", "/api/channels", '{"name": "x", "shared_with": [2147483648]}', 422, "shared_with"),
        ("POST", "/api/channels", "[" * 10_000 + "]" * 10_000, 400, "nested too deeply"),
        ("POST", "/api/channels", '{"name": "x", "genre_filters": ' + "[" * 70 + "]" * 70 + "}", 400, "nested"),
        ("POST", "/api/channels", b'{"name": "\xff"}'.decode("latin-1"), 400, "UTF-8"),
        ("PATCH", "/api/admin/settings/recommendations/movies", '{"count": ' + huge + "}", 400, "5000 digits"),
        ("PATCH", "/api/admin/settings/recommendations/movies", '{"count": ' + "9" * 4000 + "}", 422, "count"),
        ("PATCH", "/api/admin/settings/recommendations/movies", '{"weights": {"novelty": 1e400}}', 422, "novelty"),
        ("PATCH", "/api/admin/settings/top-picks/movies", '{"window_days": 9223372036854775808}', 422, "window_days"),
        ("PATCH", "/api/admin/settings/publish-files", '{"scan_timeout_s": ' + "9" * 400 + "}", 422, "scan_timeout_s"),
        ("PATCH", f"/api/admin/users/{alice.id}", '{"movies_enabled": ' + huge + "}", 400, "5000 digits"),
        ("PUT", "/api/me/settings", '{"show_explanations": ' + huge + "}", 400, "5000 digits"),
    ]
    for method, path, body, status, message in cases:
        response = await admin.request(method, path, content=body.encode("latin-1"), headers=headers)
        assert response.status_code == status, (method, path, response.text[:300])
        assert message in response.json()["error"]["message"], (path, response.text[:300])
    login = await web.client().post(
        "/api/auth/login",
        content='{"name": "alice", "password": ' + huge + "}",
        headers={"Content-Type": "application/json"},
    )
    assert login.status_code == 400 and "5000 digits" in login.json()["error"]["message"]
    # Nothing was saved along the way.
    settings = (await admin.get("/api/admin/settings")).json()
    assert settings["recommendations"]["movies"]["count"] == 50
