"""The admin's users table and user page, the explanations grant and the user's own choice, over real HTTP
against the simulator (rows the pages read are inserted directly)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from sidecar import runtime_settings as rs
from sidecar.db.models import AppUser, RecommendationRun, TasteProfile, WatchState
from sidecar.sync.follow_up_requests import take_requests
from tests.web.conftest import Web, csrf_of


async def _explanations(web: Web, *, enabled: bool, allow: bool = True) -> None:
    async with web.services.sessions() as session:
        await rs.save(session, rs.EXPLANATIONS, rs.ExplanationSettings(enabled=enabled, allow_user_override=allow))


async def _set_user(web: Web, name: str, **fields: object) -> AppUser:
    row = await web.user_row(name)
    async with web.services.sessions() as session:
        fresh = await session.get(AppUser, row.id)
        assert fresh is not None
        for key, value in fields.items():
            setattr(fresh, key, value)
        session.add(fresh)
        await session.commit()
        await session.refresh(fresh)
        return fresh


@pytest.mark.parametrize(
    ("enabled", "allow", "granted", "choice", "expected"),
    [
        (True, True, False, None, True),
        (False, True, False, True, False),  # a stored "always" without the grant is ignored
        (False, True, True, True, True),  # granted: the user's "always" beats the global off
        (True, True, True, False, False),  # granted: "never" beats the global on
        (False, True, True, None, False),  # granted but no choice: the global toggle
        (False, False, True, True, False),  # overrides not allowed at all: the grant is dormant
    ],
)
def test_effective_explanations(enabled: bool, allow: bool, granted: bool, choice: bool | None, expected: bool) -> None:
    settings = rs.ExplanationSettings(enabled=enabled, allow_user_override=allow)
    user = AppUser(server_id=1, provider_id="u", name="u", may_override_explanations=granted, show_explanations=choice)
    assert rs.effective_explanations(settings, user) is expected
    assert rs.may_choose_explanations(settings, user) is (allow and granted)


async def test_the_choice_is_offered_only_when_granted_and_a_stale_choice_is_ignored(web: Web) -> None:
    await _explanations(web, enabled=False)
    alice_row = await _set_user(web, "alice", show_explanations=True)  # chosen back when everyone could
    items = [await web.add_item("Stagecoach", year=1939, genres=["Western"])]
    await web.add_picks(alice_row, items)
    alice = await web.login("alice")

    page = await alice.get("/settings")
    assert 'name="show_explanations"' not in page.text
    assert "Explanations in your libraries are off, as set by the administrator." in page.text
    assert "likes slow dramas" not in (await alice.get("/picks")).text  # the UI follows the effective value
    token = await csrf_of(alice, "/settings")
    refused = await alice.post("/settings", data={"csrf_token": token, "show_explanations": "on"})
    assert refused.status_code == 400 and "an administrator decides" in refused.text
    api_token = (await alice.get("/api/me")).json()["csrf_token"]
    forbidden = await alice.put(
        "/api/me/settings", json={"show_explanations": True}, headers={"X-CSRF-Token": api_token}
    )
    assert forbidden.status_code == 403

    admin = await web.login("admin")
    admin_token = await csrf_of(admin, f"/admin/users/{alice_row.id}")
    grant = await admin.post(
        f"/admin/users/{alice_row.id}",
        data={
            "csrf_token": admin_token,
            "movies_enabled": "on",
            "series_enabled": "on",
            "may_override_explanations": "on",
        },
    )
    assert grant.status_code == 303 and "republishing=1" in grant.headers["location"]
    # her stored "always" now counts, so her libraries are rewritten at once (both types, republish only)
    assert await take_requests(web.services.redis, int(alice_row.id or 0)) == {"publish:movies", "publish:series"}

    page = await alice.get("/settings")
    assert re.search(r'value="on"\s+checked', page.text)
    assert "likes slow dramas" in (await alice.get("/picks")).text
    token = await csrf_of(alice, "/settings")
    never = await alice.post("/settings", data={"csrf_token": token, "show_explanations": "off"})
    assert never.status_code == 303
    assert "likes slow dramas" not in (await alice.get(f"/items/{items[0].id}")).text
    assert await take_requests(web.services.redis, int(alice_row.id or 0)) == {"publish:movies", "publish:series"}

    detail = (await admin.get(f"/api/admin/users/{alice_row.id}")).json()
    assert detail["explanations"] == {"granted": True, "may_choose": True, "choice": False, "effective": False}
    seed_path = await admin.get(f"/api/settings/ai-explanation/user/{alice_row.id}")
    assert seed_path.json()["effective"] is False


async def test_a_renamed_library_is_republished_by_a_follow_up(web: Web) -> None:
    bob_row = await web.user_row("bob")
    bob = await web.login("bob")
    token = await csrf_of(bob, "/settings")
    saved = await bob.post("/settings", data={"csrf_token": token, "movies_library_name": "Bob's Westerns"})
    assert saved.status_code == 303 and "republishing=1" in saved.headers["location"]
    assert await take_requests(web.services.redis, int(bob_row.id or 0)) == {"publish:movies"}
    again = await bob.post("/settings", data={"csrf_token": token, "movies_library_name": "Bob's Westerns"})
    assert again.status_code == 303 and "republishing" not in again.headers["location"]  # nothing changed
    assert await take_requests(web.services.redis, int(bob_row.id or 0)) == set()

    bad = await bob.post("/settings", data={"csrf_token": token, "series_library_name": "Bob/Series"})
    assert bad.status_code == 400
    html = bad.text
    assert 'value="Bob/Series"' in html  # what was typed stays
    assert 'aria-describedby="library-name-hint series_library_name-error"' in html
    assert re.search(r'id="series_library_name-error">a library name cannot contain', html)
    assert "check Series library" in html


async def test_the_users_table_says_what_the_server_says_and_links_each_user(web: Web) -> None:
    alice_row = await _set_user(web, "alice", enable_all_folders=True)
    web.sim.user("alice").policy["EnableAllFolders"] = False  # converted on the server since the last sync
    web.sim.user("alice").policy["EnabledFolders"] = []
    admin = await web.login("admin")
    page = await admin.get("/admin/users")
    assert page.status_code == 200
    row = re.search(rf'<a href="/admin/users/{alice_row.id}">alice</a>.*?</tr>', page.text, re.S)
    assert row is not None and "chosen libraries" in row.group(0) and "all libraries" not in row.group(0)
    bob = re.search(r'<a href="/admin/users/\d+">bob</a>.*?</tr>', page.text, re.S)
    assert bob is not None and "all libraries" in bob.group(0)
    users = (await admin.get("/api/admin/users")).json()["users"]
    assert {u["name"]: u["enable_all_folders"] for u in users}["alice"] is False
    assert (await (await web.login("alice")).get("/admin/users")).status_code == 403


async def test_the_admin_sees_one_users_picks_stats_history_taste_and_runs(web: Web) -> None:
    alice_row = await web.user_row("alice")
    films = [
        await web.add_item("Stagecoach", year=1939, genres=["Western"], runtime_ticks=60 * 60 * 10**7),
        await web.add_item("Rio Bravo", year=1959, genres=["Western"]),
    ]
    watched = await web.add_item("The Searchers", year=1956, genres=["Western"], runtime_ticks=2 * 60 * 60 * 10**7)
    await web.add_picks(alice_row, films)
    now = datetime.now(UTC)
    async with web.services.sessions() as session:
        session.add(
            WatchState(
                user_id=alice_row.id,
                item_id=watched.id,
                played=True,
                play_count=3,
                is_favorite=True,
                last_played_at=now,
            )
        )
        session.add(
            TasteProfile(
                user_id=alice_row.id,
                media_type="movies",
                text="Alice rides with John Wayne.",
                source="template",
                facts={},
            )
        )
        session.add(
            RecommendationRun(
                user_id=alice_row.id,
                media_type="series",
                trigger="webhook",
                status="failed",
                error="no series watched yet",
                started_at=now - timedelta(seconds=2),
                finished_at=now - timedelta(seconds=1),
            )
        )
        await session.commit()
    await _set_user(web, "alice", movies_library_name="Alice's Saloon")

    admin = await web.login("admin")
    users = await admin.get("/admin/users")
    assert f'href="/admin/users/{alice_row.id}"' in users.text
    page = await admin.get(f"/admin/users/{alice_row.id}")
    assert page.status_code == 200
    html = page.text
    assert html.index("Stagecoach") < html.index("Rio Bravo")  # picks in rank order, with their insights
    assert "94% match" in html and "Taste match" in html and "Evidence for Stagecoach" in html
    assert "Because alice likes slow dramas (Stagecoach)." in html
    assert "The Searchers" in html and "♥" in html  # history
    assert "Alice rides with John Wayne." in html  # taste
    assert "Alice&#39;s Saloon" in html and "AI Picks - alice (Series)" in html  # library names
    assert "no series watched yet" in html and "webhook" in html  # runs, the failed one too
    runs = (await admin.get(f"/api/admin/users/{alice_row.id}/recommendation-runs")).json()["runs"]
    assert [(r["media_type"], r["status"], r["picks"]) for r in runs] == [
        ("series", "failed", 0),
        ("movies", "done", 2),
    ]
    assert (await admin.get(f"/admin/users/{alice_row.id}?media_type=series")).status_code == 200
    assert (await admin.get("/admin/users/999999")).status_code == 404
    alice = await web.login("alice")
    assert (await alice.get(f"/admin/users/{alice_row.id}")).status_code == 403
    assert (await alice.get(f"/api/admin/users/{alice_row.id}")).status_code == 403
