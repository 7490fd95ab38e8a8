"""The user's pages and their API twins, on rows inserted directly; each user sees only their own data."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from sidecar.db.models import (
    Item,
    JobDefinition,
    Library,
    RecommendationRun,
    TasteProfile,
    TopPick,
    WatchState,
    WebhookEvent,
)
from sidecar.picks_store.inputs import model_name
from sidecar.web.read_models.watch_stats import Watched, watch_stats
from tests.web.conftest import Web, csrf_of


async def test_picks_page_shows_match_components_and_evidence(web: Web) -> None:
    alice = await web.user_row("alice")
    items = [
        await web.add_item("Stagecoach", year=1939, genres=["Western", "Drama"], community_rating=7.8),
        await web.add_item("Rio Bravo", year=1959, genres=["Western"]),
    ]
    await web.add_picks(alice, items)
    client = await web.login("alice")
    page = await client.get("/picks")
    assert page.status_code == 200
    html = page.text
    assert html.index("Stagecoach") < html.index("Rio Bravo")
    assert "94% match" in html and "Taste match" in html and "Discovery" in html and "Quality" in html
    assert "Variety" in html and "Evidence for Stagecoach" in html and "Western · new" in html
    assert "Because alice likes slow dramas (Stagecoach)." in html
    assert f'src="/images/items/{items[0].id}"' in html
    api = (await client.get("/api/picks?media_type=movies")).json()
    assert [p["item"]["name"] for p in api["picks"]] == ["Stagecoach", "Rio Bravo"]
    assert api["picks"][0]["match_pct"] == 94
    assert {c["key"]: c["value"] for c in api["picks"][0]["components"]}["taste"] == 0.8
    series = await client.get("/picks?media_type=series")
    assert series.status_code == 200 and "No series picks yet" in series.text
    assert (await client.get("/picks?media_type=music")).status_code == 400


async def test_only_the_latest_finished_run_counts(web: Web) -> None:
    alice = await web.user_row("alice")
    old = await web.add_item("Old Pick")
    new = await web.add_item("New Pick")
    await web.add_picks(alice, [old])
    await web.add_picks(alice, [new])
    async with web.services.sessions() as session:
        session.add(RecommendationRun(user_id=alice.id, media_type="movies", status="running"))
        await session.commit()
    client = await web.login("alice")
    picks = (await client.get("/api/picks")).json()["picks"]
    assert [p["item"]["name"] for p in picks] == ["New Pick"]


async def test_users_never_see_each_others_picks(web: Web) -> None:
    alice = await web.user_row("alice")
    secret_pick = await web.add_item("Alice Only Title")
    await web.add_picks(alice, [secret_pick])
    bob = await web.login("bob")
    page = await bob.get("/picks")
    assert page.status_code == 200 and "Alice Only Title" not in page.text
    assert (await bob.get("/api/picks")).json()["picks"] == []
    detail = await bob.get(f"/items/{secret_pick.id}")
    assert detail.status_code == 200 and "Why we picked this" not in detail.text
    assert (await bob.get(f"/api/items/{secret_pick.id}")).json()["pick"] is None
    alice_client = await web.login("alice")
    assert (await alice_client.get(f"/api/items/{secret_pick.id}")).json()["pick"]["rank"] == 1
    assert "Why we picked this" in (await alice_client.get(f"/items/{secret_pick.id}")).text


async def test_item_page_lists_similar_titles_by_embedding(web: Web) -> None:
    base = await web.add_item("Alien", year=1979, genres=["Horror", "Science Fiction"])
    near = await web.add_item("Aliens", year=1986)
    far = await web.add_item("Notting Hill", year=1999)
    show = await web.add_item("Alien Show", kind="Series")
    model = model_name(web.services)
    async with web.services.sessions() as session:
        for item, vector in ((base, "[1,0,0]"), (near, "[0.9,0.1,0]"), (far, "[0,0,1]"), (show, "[1,0,0]")):
            await session.exec(
                text(
                    "INSERT INTO item_embedding (item_id, model, dim, text_hash, embedding, attempts) "
                    "VALUES (:id, :model, 3, 'h', CAST(:v AS vector), 0)"
                ).bindparams(id=item.id, model=model, v=vector)
            )
        await session.commit()
    client = await web.login("alice")
    similar = (await client.get(f"/api/items/{base.id}/similar?limit=5")).json()["similar"]
    assert [s["name"] for s in similar] == ["Aliens", "Notting Hill"]  # same kind only, nearest first
    assert similar[0]["similarity"] > 0.9 > similar[1]["similarity"]
    page = await client.get(f"/items/{base.id}")
    assert page.status_code == 200 and "Alien" in page.text and "Similar titles" in page.text
    assert page.text.index("Aliens") < page.text.index("Notting Hill")
    play = f"/web/#/details?id={base.provider_id}&amp;serverId={web.sim.server_id}"  # Jellyfin's deep link
    assert f'href="{web.settings.media_server_url}{play}"' in page.text
    assert (await client.get(f"/api/items/{far.id + 1000}")).status_code == 404
    assert (await client.get(f"/items/{far.id + 1000}")).status_code == 404
    assert (await client.get(f"/api/items/{base.id}/similar?limit=0")).status_code == 422


async def test_poster_is_proxied_from_the_media_server_or_a_placeholder(web: Web) -> None:
    sim_item = next(i for i in web.sim.items.values() if i.type == "Movie")
    with_image = await web.add_item(sim_item.name, provider_id=sim_item.id, image_tags={"Primary": sim_item.image_tag})
    without = await web.add_item("No <Poster> & Co")
    client = await web.login("alice")
    poster = await client.get(f"/images/items/{with_image.id}")
    assert poster.status_code == 200 and poster.headers["content-type"] == "image/png"
    assert poster.content.startswith(b"\x89PNG")
    placeholder = await client.get(f"/images/items/{without.id}")
    assert placeholder.headers["content-type"].startswith("image/svg+xml")
    assert b"No &lt;Poster&gt; &amp; Co" in placeholder.content
    assert (await web.client().get(f"/images/items/{with_image.id}")).status_code == 303  # login first


async def test_stats_page_counts_genres_decades_people(web: Web) -> None:
    alice = await web.user_row("alice")
    bob = await web.user_row("bob")
    now = datetime.now(UTC)
    westerns = [
        await web.add_item(
            f"Western {i}",
            year=1950 + i,
            genres=["Western"],
            official_rating="PG",
            community_rating=8.2,
            runtime_ticks=2 * 36_000_000_000,
            studios=["Republic"],
            people=[{"name": "John Wayne", "type": "Actor"}, {"name": "John Ford", "type": "Director"}],
        )
        for i in range(3)
    ]
    comedy = await web.add_item("Comedy", year=1999, genres=["Comedy"])
    unwatched = await web.add_item("Unwatched", year=2001, genres=["Horror"])
    series = await web.add_item("Show", kind="Series", genres=["Mystery"], studios=["BBC"], year=2010)
    episodes = [
        await web.add_item(f"Ep {i}", kind="Episode", series_id=series.id, runtime_ticks=36_000_000_000)
        for i in range(2)
    ]
    async with web.services.sessions() as session:
        for item in [*westerns, comedy]:
            session.add(WatchState(user_id=alice.id, item_id=item.id, played=True, play_count=1, last_played_at=now))
        session.add(WatchState(user_id=alice.id, item_id=unwatched.id, played=False, play_count=0, completion=0.1))
        for ep in episodes:
            session.add(WatchState(user_id=alice.id, item_id=ep.id, played=True, play_count=1, last_played_at=now))
        session.add(WatchState(user_id=alice.id, item_id=series.id, is_favorite=True))
        session.add(WatchState(user_id=bob.id, item_id=unwatched.id, played=True, play_count=3, last_played_at=now))
        await session.commit()
    client = await web.login("alice")
    movies = (await client.get("/api/stats?media_type=movies")).json()
    assert movies["summary"] == {"titles": 4, "plays": 4, "favourites": 0, "hours": 6.0}
    assert movies["genres"][0] == {"label": "Western", "count": 3, "pct": 100}
    assert "Horror" not in [g["label"] for g in movies["genres"]]  # unfinished, and bob's plays are not hers
    assert movies["actors"][0]["label"] == "John Wayne" and movies["directors"][0]["label"] == "John Ford"
    assert [d["label"] for d in movies["decades"]] == ["1950s", "1990s"]
    assert movies["timeline"][-1]["count"] == 4
    tv = (await client.get("/api/stats?media_type=series")).json()
    assert tv["summary"] == {"titles": 1, "plays": 2, "favourites": 1, "hours": 2.0}
    assert tv["genres"][0]["label"] == "Mystery" and tv["studios"][0]["label"] == "BBC"
    page = await client.get("/stats")
    assert page.status_code == 200 and "John Wayne" in page.text and "Republic" in page.text
    assert (await client.get("/api/stats?media_type=books")).status_code == 422


def test_watch_stats_timeline_keeps_twelve_months() -> None:
    now = datetime(2026, 3, 15, tzinfo=UTC)
    item = Item(id=1, server_id=1, provider_id="x", kind="Movie", name="X", genres=["Drama"], year=2001)
    rows = [
        Watched(item, None, 1, False, now - timedelta(days=40)),
        Watched(item, None, 1, False, datetime(2020, 1, 1, tzinfo=UTC)),
    ]
    stats = watch_stats(rows, "movies", now)
    labels = [m["label"] for m in stats["timeline"]]
    assert labels[0] == "2025-04" and labels[-1] == "2026-03" and len(labels) == 12
    assert {m["label"]: m["count"] for m in stats["timeline"]}["2026-02"] == 1


async def test_top_picks_and_taste_pages(web: Web) -> None:
    alice = await web.user_row("alice")
    first = await web.add_item("Crowd Favourite")
    second = await web.add_item("Runner Up", kind="Series")
    async with web.services.sessions() as session:
        session.add(TopPick(media_type="movies", item_id=first.id, rank=1, score=0.9, unique_viewers=3, play_count=7))
        session.add(TopPick(media_type="series", item_id=second.id, rank=1, score=0.5, unique_viewers=2, play_count=4))
        session.add(TasteProfile(user_id=alice.id, media_type="movies", text="You love westerns.", source="template"))
        await session.commit()
    client = await web.login("alice")
    page = await client.get("/top-picks")
    assert page.status_code == 200 and "Crowd Favourite" in page.text and "3 viewers · 7 plays" in page.text
    api = (await client.get("/api/top-picks?media_type=series")).json()
    assert [t["item"]["name"] for t in api["top_picks"]] == ["Runner Up"]
    taste = await client.get("/taste")
    assert "You love westerns." in taste.text and "Not written yet" in taste.text
    bob = await web.login("bob")
    assert "You love westerns." not in (await bob.get("/taste")).text
    assert (await bob.get("/api/taste")).json() == {"profiles": {}}


async def test_channels_sharing_and_isolation(web: Web) -> None:
    for name in ("alice", "bob", "admin"):
        await web.user_row(name)
    western = await web.add_item("High Noon", year=1952, genres=["Western"])
    await web.add_item("High Noon", year=2000, genres=["Western"])
    bob_row = await web.user_row("bob")
    alice = await web.login("alice")
    token = await csrf_of(alice, "/channels/new")
    bad = await alice.post(
        "/channels",
        data={"csrf_token": token, "name": "Dusty", "media_type": "movies", "examples": "No Such Film"},
    )
    assert bad.status_code == 400 and "No movies titled: No Such Film" in bad.text
    created = await alice.post(
        "/channels",
        data={
            "csrf_token": token,
            "name": "Dusty",
            "media_type": "movies",
            "genre_filters": ["Western"],
            "text_preferences": "sunsets and long shadows",
            "examples": "High Noon (1952)",
            "shared_with": [str(bob_row.id)],
        },
    )
    assert created.status_code == 303
    channel_id = int(created.headers["location"].rsplit("/", 1)[1])
    view = await alice.get(f"/channels/{channel_id}")
    assert "sunsets and long shadows" in view.text and "shared with bob" in view.text
    api = (await alice.get(f"/api/channels/{channel_id}")).json()
    assert api["example_item_ids"] == [western.id] and api["genre_filters"] == ["Western"]

    bob = await web.login("bob")
    assert "Dusty" in (await bob.get("/channels")).text
    assert (await bob.get(f"/api/channels/{channel_id}")).status_code == 200
    assert (await bob.get(f"/channels/{channel_id}/edit")).status_code == 403
    bob_token = await csrf_of(bob)
    edit = await bob.post(f"/channels/{channel_id}", data={"csrf_token": bob_token, "name": "Mine now"})
    assert edit.status_code == 403

    admin = await web.login("admin")  # not shared with the admin either: it does not exist for them
    assert (await admin.get(f"/channels/{channel_id}")).status_code == 404
    assert (await admin.get(f"/api/channels/{channel_id}")).status_code == 404
    assert "Dusty" not in (await admin.get("/channels")).text
    assert (await admin.get("/api/channels")).json() == {"channels": []}
    admin_token = (await admin.get("/api/me")).json()["csrf_token"]
    assert (await admin.delete(f"/api/channels/{channel_id}", headers={"X-CSRF-Token": admin_token})).status_code == 404

    delete = await alice.post(f"/channels/{channel_id}/delete", data={"csrf_token": token})
    assert delete.status_code == 303
    assert (await bob.get(f"/api/channels/{channel_id}")).status_code == 404


async def test_admin_settings_forms_validate_and_save(web: Web) -> None:
    admin = await web.login("admin")
    token = await csrf_of(admin, "/admin/settings")
    bad = await admin.post(
        "/admin/settings/recommendations-series",
        data={
            "csrf_token": token,
            "similarity": "1.7",
            "novelty": "0.3",
            "rating": "0.2",
            "diversity": "0.3",
            "count": "50",
            "recent_watch_limit": "100",
        },
    )
    assert bad.status_code == 400 and "check Similarity" in bad.text and "must be 1 or less" in bad.text
    assert 'value="1.7"' in bad.text  # what was typed stays in the field
    good = await admin.post(
        "/admin/settings/recommendations-series",
        data={
            "csrf_token": token,
            "similarity": "0.6",
            "novelty": "0.1",
            "rating": "0.2",
            "diversity": "0.3",
            "count": "25",
            "recent_watch_limit": "80",
        },
    )
    assert good.status_code == 303
    top = await admin.post(
        "/admin/settings/top-picks-movies",
        data={
            "csrf_token": token,
            "enabled": "on",
            "window_days": "14",
            "min_viewers": "1",
            "count": "5",
            "unique_viewers": "0.4",
            "play_count": "0.4",
            "completion": "0.2",
            "library_mode": "symlink",
            "collection": "on",
            "name": "",
        },
    )
    assert top.status_code == 303
    publish = await admin.post(
        "/admin/settings/publish", data={"csrf_token": token, "mode": "symlink", "convert_all_folders_users": "on"}
    )
    assert publish.status_code == 303
    files = await admin.post(
        "/admin/settings/publish-files",
        data={"csrf_token": token, "strm_content": "stream_url", "artwork": "on", "scan_timeout_s": "60"},
    )
    assert files.status_code == 303
    bad_files = await admin.post(
        "/admin/settings/publish-files", data={"csrf_token": token, "strm_content": "ftp", "scan_timeout_s": "60"}
    )
    assert bad_files.status_code == 400 and "strm_content" in bad_files.text
    bad_wait = await admin.post(
        "/admin/settings/publish-files",
        data={"csrf_token": token, "strm_content": "path", "scan_timeout_s": "99999"},
    )
    assert bad_wait.status_code == 400
    assert 'id="scan-timeout-error"' in bad_wait.text and "must be 7200 or less" in bad_wait.text
    assert 'value="99999"' in bad_wait.text  # what the admin typed is kept
    assert (await admin.post("/admin/settings/nonsense", data={"csrf_token": token})).status_code == 404
    settings = (await admin.get("/api/admin/settings")).json()
    assert settings["recommendations"]["series"]["weights"]["similarity"] == 0.6
    assert settings["recommendations"]["series"]["count"] == 25
    assert settings["recommendations"]["movies"]["count"] == 50
    tp = settings["top_picks"]["movies"]
    assert (
        tp["window_days"],
        tp["outputs"]["library"],
        tp["outputs"]["collection"],
        tp["outputs"]["library_mode"],
    ) == (
        14,
        False,
        True,
        "symlink",
    )
    assert settings["publish"]["effective_mode"] == "symlink" and settings["publish"]["convert_all_folders_users"]
    assert settings["publish_files"] == {"strm_content": "stream_url", "artwork": True, "scan_timeout_s": 60.0}
    page = await admin.get("/admin/settings")
    assert 'value="0.6"' in page.text and "explicit library list" in page.text


async def test_admin_toggles_libraries_and_users(web: Web) -> None:
    alice = await web.user_row("alice")
    async with web.services.sessions() as session:
        session.add(Library(server_id=web.server_row, provider_id="L1", name="Films", collection_type="movies"))
        session.add(
            Library(
                server_id=web.server_row,
                provider_id="L2",
                name="AI Picks - alice",
                collection_type="movies",
                is_marquee_output=True,
            )
        )
        await session.commit()
    admin = await web.login("admin")
    libraries = (await admin.get("/api/admin/libraries")).json()["libraries"]
    assert [lib["name"] for lib in libraries] == ["Films"]  # our own outputs are never sources
    token = await csrf_of(admin, "/admin/settings")
    saved = await admin.post(
        "/admin/settings/libraries", data={"csrf_token": token, "library": [str(libraries[0]["id"])]}
    )
    assert saved.status_code == 303
    assert (await admin.get("/api/admin/libraries")).json()["libraries"][0]["enabled"] is False
    users = await admin.post(
        "/admin/users",
        data={"csrf_token": token, "user": [str(alice.id)], "movies": [str(alice.id)]},
    )
    assert users.status_code == 303
    rows = {u["name"]: u for u in (await admin.get("/api/admin/users")).json()["users"]}
    assert rows["alice"]["movies_enabled"] is True and rows["alice"]["series_enabled"] is False
    alice_client = await web.login("alice")
    assert "turned off for you" in (await alice_client.get("/picks?media_type=series")).text


async def test_admin_jobs_schedule_run_and_history(web: Web) -> None:
    async with web.services.sessions() as session:
        session.add(JobDefinition(name="sync-movies", description="Sync movies", schedule="daily:03:00"))
        await session.exec(
            text(
                "INSERT INTO job_run (job_name, status, progress_current, progress_total, message, error, log) "
                "VALUES ('sync-movies', 'failed', 3, 10, 'page 3', 'server went away', '[\"line one\"]')"
            )
        )
        await session.commit()
    admin = await web.login("admin")
    token = await csrf_of(admin, "/admin/jobs")
    page = await admin.get("/admin/jobs")
    assert "sync-movies" in page.text and "server went away" in page.text and 'value="daily:03:00"' in page.text
    bad = await admin.post("/admin/jobs/sync-movies/schedule", data={"csrf_token": token, "schedule": "daily:25:00"})
    assert bad.status_code == 400 and "not a time of day" in bad.text
    good = await admin.post(
        "/admin/jobs/sync-movies/schedule", data={"csrf_token": token, "schedule": "weekly:sun:04:30", "enabled": "on"}
    )
    assert good.status_code == 303
    run = await admin.post("/admin/jobs/sync-movies/run", data={"csrf_token": token})
    assert run.status_code == 303 and "started=sync-movies" in run.headers["location"]
    queued = [job.function for job in await web.services.redis.queued_jobs()]
    assert queued == ["sync-movies"]
    again = await admin.post("/admin/jobs/sync-movies/run", data={"csrf_token": token})
    assert again.status_code == 303
    assert len(await web.services.redis.queued_jobs()) == 1  # a queued manual run absorbs the second click
    jobs = (await admin.get("/api/admin/jobs")).json()["jobs"]
    assert jobs[0]["schedule"] == "weekly:sun:04:30" and jobs[0]["queued"] is True
    assert jobs[0]["last_run"]["progress_pct"] == 30
    history = await admin.get("/admin/jobs/sync-movies")
    assert history.status_code == 200 and "line one" in history.text and "server went away" in history.text
    assert (await admin.post("/admin/jobs/no-such-job/run", data={"csrf_token": token})).status_code == 404
    assert (await admin.get("/admin/jobs/no-such-job")).status_code == 404


async def test_webhook_page_shows_status_but_no_secrets(web: Web) -> None:
    secret = web.settings.secret_value("webhook_secret")
    async with web.services.sessions() as session:
        session.add(
            WebhookEvent(
                source="jellyfin",
                content_hash="h1",
                event_type="playback.stop",
                raw_type="PlaybackStop",
                headers={"x-marquee-secret": secret},
                body=f'{{"secret": "{secret}"}}'.encode(),
                payload={"secret": secret},
                status="failed",
                error="user unknown",
            )
        )
        await session.commit()
    admin = await web.login("admin")
    page = await admin.get("/admin/webhooks")
    assert "playback.stop" in page.text and "user unknown" in page.text and "failed (1)" in page.text
    assert secret not in page.text
    api = await admin.get("/api/admin/webhook-events?status=failed")
    assert api.json()["events"][0]["error"] == "user unknown" and secret not in api.text
    assert (await admin.get("/api/admin/webhook-events?status=odd")).status_code == 422
    odd = await admin.get("/admin/webhooks?status=odd")
    assert odd.status_code == 422 and "status" in odd.text  # the same InvalidInput as the API, on the error page


async def test_no_secret_on_any_page(web: Web) -> None:
    alice_row = await web.user_row("alice")
    item = await web.add_item("Anything", genres=["Drama"])
    await web.add_picks(alice_row, [item])
    secrets = {
        "webhook secret": web.settings.secret_value("webhook_secret"),
        "session secret": web.settings.secret_value("session_secret"),
        "media server API key": web.sim.admin_api_key,
    }
    admin = await web.login("admin")
    alice = await web.login("alice")
    token = await csrf_of(admin, "/admin/settings")
    pages = [
        "/",
        "/login",
        "/picks",
        "/picks?media_type=series",
        f"/items/{item.id}",
        "/taste",
        "/stats",
        "/stats?media_type=series",
        "/history",
        "/browse",
        "/api/items",
        "/api/history",
        "/top-picks",
        "/channels",
        "/channels/new",
        "/settings",
        "/admin/settings",
        "/admin/jobs",
        "/admin/webhooks",
        "/no-such-page",
        "/api/me",
        "/api/picks",
        f"/api/items/{item.id}",
        "/api/stats",
        "/api/taste",
        "/api/top-picks",
        "/api/channels",
        "/api/admin/settings",
        "/api/admin/users",
        "/api/admin/libraries",
        "/api/admin/jobs",
        "/api/admin/jobs/runs",
        "/api/admin/webhook-events",
    ]
    bodies = []
    for client in (admin, alice, web.client()):
        for path in pages:
            response = await client.get(path)
            assert response.status_code < 500, path
            bodies.append((path, response.text + str(response.headers)))
    tested = await admin.post("/admin/settings/test", data={"csrf_token": token})
    assert tested.status_code == 200 and "Connected to jellyfin server" in tested.text
    bodies.append(("/admin/settings/test", tested.text))
    for path, body in bodies:
        for what, value in secrets.items():
            assert value not in body, f"{what} leaked on {path}"
    assert re.search(r"API key</th><td>set \(hidden\)", "".join(b for _, b in bodies))


async def test_taste_profile_is_written_on_request(web: Web) -> None:
    alice = await web.user_row("alice")
    films = [
        await web.add_item(f"Noir {i}", year=1946 + i, genres=["Film-Noir", "Crime"], community_rating=7.5)
        for i in range(3)
    ]
    async with web.services.sessions() as session:
        for film in films:
            session.add(
                WatchState(
                    user_id=alice.id,
                    item_id=film.id,
                    played=True,
                    play_count=1,
                    completion=1.0,
                    last_played_at=datetime.now(UTC),
                )
            )
        await session.commit()
    client = await web.login("alice")
    token = await csrf_of(client, "/taste")
    assert (
        await client.post("/taste/regenerate", data={"csrf_token": token, "media_type": "books"})
    ).status_code == 400
    response = await client.post("/taste/regenerate", data={"csrf_token": token, "media_type": "movies"})
    assert response.status_code == 303, response.text
    page = await client.get("/taste")
    assert "Film-Noir" in page.text and "Not written yet" in page.text  # movies written, series not yet
    profiles = (await client.get("/api/taste")).json()["profiles"]
    assert profiles["movies"]["facts"]["titles_watched"] == 3 and profiles["movies"]["text"]


async def test_history_sorted_by_recent_or_plays(web: Web) -> None:
    alice = await web.user_row("alice")
    bob = await web.user_row("bob")
    now = datetime.now(UTC)
    old_favourite = await web.add_item("Old Favourite", year=1970)
    new_one = await web.add_item("New One", year=2020)
    show = await web.add_item("The Show", kind="Series")
    episodes = [await web.add_item(f"Episode {i}", kind="Episode", series_id=show.id) for i in range(3)]
    async with web.services.sessions() as session:
        session.add(
            WatchState(
                user_id=alice.id,
                item_id=old_favourite.id,
                played=True,
                play_count=5,
                is_favorite=True,
                last_played_at=now - timedelta(days=30),
            )
        )
        session.add(WatchState(user_id=alice.id, item_id=new_one.id, played=True, play_count=1, last_played_at=now))
        for i, ep in enumerate(episodes[:2]):
            session.add(
                WatchState(
                    user_id=alice.id, item_id=ep.id, played=True, play_count=1, last_played_at=now - timedelta(days=i)
                )
            )
        session.add(WatchState(user_id=bob.id, item_id=episodes[2].id, played=True, play_count=1, last_played_at=now))
        await session.commit()
    client = await web.login("alice")
    recent = (await client.get("/api/history")).json()["history"]
    assert [r["item"]["name"] for r in recent] == ["New One", "Old Favourite"]
    plays = (await client.get("/api/history?sort=plays")).json()["history"]
    assert [(r["item"]["name"], r["play_count"], r["is_favorite"]) for r in plays] == [
        ("Old Favourite", 5, True),
        ("New One", 1, False),
    ]
    series = (await client.get("/api/history?media_type=series")).json()["history"]
    assert [(r["item"]["name"], r["episodes_watched"]) for r in series] == [("The Show", 2)]  # bob's episode is his
    page = await client.get("/history?sort=plays")
    assert (
        page.status_code == 200 and page.text.index("Old Favourite") < page.text.index("New One") and "♥" in page.text
    )
    assert (await client.get("/history?sort=alpha")).status_code == 400
    assert (await client.get("/api/history?sort=alpha")).status_code == 422


async def test_browse_searches_and_filters_the_catalogue(web: Web) -> None:
    for name, genres in (
        ("The Thing", ["Horror"]),
        ("Thing_1", ["Comedy"]),
        ("100% Love", ["Romance"]),
        ("Alien", ["Horror"]),
    ):
        await web.add_item(name, genres=genres)
    await web.add_item("Thing Show", kind="Series", genres=["Horror"])
    gone = await web.add_item("Gone Thing", genres=["Horror"])
    async with web.services.sessions() as session:
        row = await session.get(Item, gone.id)
        assert row is not None
        row.gone_at = datetime.now(UTC)
        session.add(row)
        await session.commit()
    client = await web.login("alice")
    names = lambda body: [i["name"] for i in body["items"]]  # noqa: E731
    assert names((await client.get("/api/items?q=thing")).json()) == ["The Thing", "Thing_1"]
    assert names((await client.get("/api/items?q=thing&genre=Horror")).json()) == ["The Thing"]
    assert names((await client.get("/api/items?q=_")).json()) == ["Thing_1"]  # LIKE wildcards are literal
    assert names((await client.get("/api/items?q=100%25")).json()) == ["100% Love"]
    assert names((await client.get("/api/items?media_type=series")).json()) == ["Thing Show"]
    paged = (await client.get("/api/items?per_page=2&page=2")).json()
    assert paged["total"] == 4 and paged["pages"] == 2 and len(paged["items"]) == 2
    page = await client.get("/browse?q=thing&genre=Horror")
    assert page.status_code == 200 and "The Thing" in page.text and "Thing_1" not in page.text
    assert (await client.get("/browse?page=0")).status_code == 400
    assert (await client.get("/api/items?per_page=1000")).status_code == 422


async def test_forms_with_huge_or_foreign_numbers_are_400_with_a_message(web: Web) -> None:
    """Form fields are text: a 5,000-digit number or a non-ASCII digit is a 400 page naming the field."""
    huge = "9" * 5000
    admin = await web.login("admin")
    token = await csrf_of(admin, "/admin/settings")
    weights = {"similarity": "0.5", "novelty": "0.3", "rating": "0.2", "diversity": "0.3", "recent_watch_limit": "9"}
    for field, value in (("count", huge), ("similarity", huge), ("recent_watch_limit", "-" + huge)):
        data = {"csrf_token": token, **weights, "count": "20", field: value}
        response = await admin.post("/admin/settings/recommendations-movies", data=data)
        assert response.status_code == 400, (field, response.text[:200])
        assert field in response.text
    for ids in (huge, "²", "١٢", "12abc", "2147483648"):
        response = await admin.post("/admin/settings/libraries", data={"csrf_token": token, "library": ids})
        assert response.status_code == 400, (ids[:10], response.text[:200])
        assert "library:" in response.text and "is not an id" in response.text
    alice = await web.login("alice")
    alice_token = await csrf_of(alice, "/channels/new")
    channel = await alice.post(
        "/channels", data={"csrf_token": alice_token, "name": "x", "media_type": "movies", "shared_with": huge}
    )
    assert channel.status_code == 400 and "shared_with" in channel.text
