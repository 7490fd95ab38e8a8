"""The home dashboard: logged out an introduction; a user's own stats, taste, picks, history and Top Picks
with Play buttons; an administrator's system health, hidden from everyone else."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from sidecar.db.models import AppUser, Item, JobRun, MediaServer, TasteProfile, TopPick, WatchState
from tests.web.conftest import Web


async def _watch(web: Web, user: AppUser, item: Item, *, plays: int, favourite: bool = False, days: int = 1) -> None:
    async with web.services.sessions() as session:
        session.add(
            WatchState(
                user_id=user.id,
                item_id=item.id,
                played=True,
                play_count=plays,
                is_favorite=favourite,
                last_played_at=datetime.now(UTC) - timedelta(days=days),
                completion=1.0,
            )
        )
        await session.commit()


async def _world(web: Web) -> tuple[AppUser, list[Item]]:
    alice = await web.user_row("alice")
    movies = [
        await web.add_item(f"Home Movie {k}", year=2010 + k, genres=["Drama"], runtime_ticks=72_000_000_000)
        for k in range(4)
    ]
    show = await web.add_item("Home Show", kind="Series", year=2015, genres=["Comedy"])
    episode = await web.add_item("Pilot", kind="Episode", series_id=show.id, runtime_ticks=18_000_000_000)
    await _watch(web, alice, movies[0], plays=3, favourite=True, days=1)
    await _watch(web, alice, movies[1], plays=1, days=5)
    await _watch(web, alice, episode, plays=1, days=2)
    await web.add_picks(alice, movies[2:])
    async with web.services.sessions() as session:
        session.add(TasteProfile(user_id=alice.id, media_type="movies", text="Mostly Drama movies.", facts={}))
        session.add(
            TopPick(media_type="movies", item_id=movies[3].id, rank=1, score=1.0, unique_viewers=1, play_count=3)
        )
        session.add(
            TopPick(media_type="movies", item_id=movies[2].id, rank=2, score=0.5, unique_viewers=3, play_count=1)
        )
        await session.commit()
    return alice, movies


async def test_logged_out_home_is_an_introduction_with_a_login_link(web: Web) -> None:
    page = await web.client().get("/")
    assert page.status_code == 200
    assert 'href="/login"' in page.text
    assert "Hello," not in page.text and "System health" not in page.text


async def test_a_users_home_holds_their_dashboard_and_nothing_for_admins(web: Web) -> None:
    await _world(web)
    client = await web.login("alice")
    page = (await client.get("/")).text
    assert "Hello, alice" in page
    assert "<strong>2</strong> movies watched" in page
    assert "<strong>2</strong> picks for you" in page
    assert "<strong>1</strong> episode</div>" in page and "<strong>1</strong> favourite</div>" in page
    assert "<strong>8.5</strong> hours watched" in page  # 2 h x 3 plays + 2 h + a 0.5 h episode, as on the stats page
    assert "Mostly Drama movies." in page and 'action="/taste/regenerate"' in page
    assert page.count('class="badge right match"') == 2  # the picks carousel with match badges
    assert "Home Movie 0" in page and "3 plays" in page and 'title="Favourite"' in page  # recently watched
    assert "1 viewer ·" in page and "3 viewers ·" in page and "medal1" in page  # Top Picks teaser
    assert page.count('class="play"') >= 4
    for url in re.findall(r'class="play" href="([^"]+)"', page):
        assert "/web/#/details?id=" in url and "serverId=" in url and "api_key" not in url.lower()
    # never for a user: log-in prompts, the system's health, the webhook tip or the server's address
    assert 'href="/login"' not in page and "Log in</a>" not in page
    assert "System health" not in page and "webhook" not in page.lower()
    async with web.services.sessions() as session:
        server = (await session.exec(select(MediaServer))).first()
    assert server is not None
    page_without_links = re.sub(r'href="[^"]*"', "", page)
    assert server.url not in page_without_links


async def test_an_administrators_home_adds_system_health(web: Web) -> None:
    await _world(web)
    now = datetime.now(UTC)
    async with web.services.sessions() as session:
        session.add(
            JobRun(job_name="initial-sync", status="done", started_at=now - timedelta(minutes=5), finished_at=now)
        )
        session.add(JobRun(job_name="generate-embeddings", status="running", progress_current=1, progress_total=4))
        await session.commit()
    client = await web.login("admin")
    page = (await client.get("/")).text
    assert "Hello, admin" in page and "System health" in page
    assert "Jobs running:" in page and "generate-embeddings</a> (25%)" in page
    assert "Last sync:</strong>\n      initial-sync" in page and "Webhooks:" in page
    assert "none received yet" in page and "marquee webhook-url" in page
    user_page = (await (await web.login("bob")).get("/")).text  # none of it for a user
    assert "Hello, bob" in user_page
    assert (
        "generate-embeddings" not in user_page and "initial-sync" not in user_page and "System health" not in user_page
    )


@pytest.mark.model
async def test_the_taste_text_agrees_with_the_stats_page(web: Web) -> None:
    alice = await web.user_row("alice")
    old = [await web.add_item(f"Tenties {k}", year=2011 + k, genres=["Drama"]) for k in range(6)]
    new = [await web.add_item(f"Twenties {k}", year=2021 + k, genres=["Action", "Drama"]) for k in range(2)]
    for k, film in enumerate(old):
        await _watch(web, alice, film, plays=1, days=300 + k)  # long ago
    for film in new:
        await _watch(web, alice, film, plays=1, days=1)  # yesterday
    client = await web.login("alice")
    token = re.search(r'name="csrf_token" value="([^"]+)"', (await client.get("/")).text)
    assert token is not None
    response = await client.post("/taste/regenerate", data={"csrf_token": token.group(1), "media_type": "movies"})
    assert response.status_code == 303, response.text
    again = await client.post(
        "/taste/regenerate", data={"csrf_token": token.group(1), "media_type": "movies", "back": "home"}
    )
    assert again.status_code == 303 and again.headers["location"] == "/#taste-movies"  # regenerate from home
    stats = (await client.get("/api/stats?media_type=movies")).json()
    stats = stats.get("stats", stats)
    decades = {row["label"]: row["count"] for row in stats["decades"]}
    assert decades == {"2010s": 6, "2020s": 2}
    text = (await client.get("/api/taste")).json()["profiles"]["movies"]["text"]
    assert f"Based on {stats['summary']['titles']} movies watched." in text
    top = stats["genres"][0]
    assert f"Mostly {top['label']} ({top['count']} of {stats['summary']['titles']})" in text
    assert "Most from the 2010s (6 titles)." in text and "2020s" not in text
    home = (await client.get("/")).text
    assert text.replace("'", "&#39;") in home  # the home taste card shows the same text
