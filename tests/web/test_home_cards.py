"""Title cards across pages: Play deep links (Jellyfin and Emby forms, no key), Top Picks medals and plurals."""

from __future__ import annotations

import re

from pydantic import SecretStr

from sidecar.db.models import MediaServer, TopPick
from sidecar.settings import Settings
from sidecar.web.read_models.play_links import play_link_for
from tests.web.conftest import Web


def test_play_links_take_each_servers_own_form_and_never_a_key(settings: Settings) -> None:
    jellyfin = MediaServer(id=1, kind="jellyfin", url="http://jellyfin:8096", server_id="abc123")
    emby = MediaServer(id=2, kind="emby", url="http://emby:8096/", server_id="e9")
    keyed = settings.model_copy(update={"media_server_api_key": SecretStr("sekrit-key")})
    assert play_link_for(keyed, jellyfin, "f00d") == "http://jellyfin:8096/web/#/details?id=f00d&serverId=abc123"
    assert play_link_for(keyed, emby, "42") == "http://emby:8096/web/index.html#!/item?id=42&serverId=e9"
    public = keyed.model_copy(update={"media_server_public_url": "https://watch.example.org"})
    assert play_link_for(public, jellyfin, "f00d") == "https://watch.example.org/web/#/details?id=f00d&serverId=abc123"
    assert play_link_for(keyed, MediaServer(id=3, kind="jellyfin", url="http://x", server_id=None), "1") is None


async def test_top_picks_have_medals_viewer_plurals_and_play_buttons(web: Web) -> None:
    items = [await web.add_item(f"Crowd {k}", year=2000 + k) for k in range(4)]
    async with web.services.sessions() as session:
        for rank, (item, viewers) in enumerate(zip(items, (1, 3, 2, 1), strict=True), start=1):
            session.add(
                TopPick(
                    media_type="movies",
                    item_id=item.id,
                    rank=rank,
                    score=1.0 / rank,
                    unique_viewers=viewers,
                    play_count=viewers,
                    completion=0.5,
                )
            )
        await session.commit()
    client = await web.login("bob")
    page = (await client.get("/top-picks")).text
    assert "1 viewer · 1 play · 50% finished" in page and "3 viewers · 3 plays" in page
    assert "1 viewers" not in page and "1 plays" not in page
    assert page.index("medal1") < page.index("medal2") < page.index("medal3")
    assert "1st" in page and "2nd" in page and "3rd" in page and ">#4<" in page
    links = re.findall(r'class="play" href="([^"]+)"', page)
    assert len(links) == 4
    assert all(re.fullmatch(r"http://[^/]+/web/#/details\?id=[^&]+&amp;serverId=[0-9a-f]+", u) for u in links), links
    assert not any("api_key" in u.lower() or "token" in u.lower() for u in links)


async def test_real_picks_show_varied_badges_that_follow_their_breakdown(web: Web) -> None:
    from sidecar.db.models import WatchState
    from sidecar.media_types import MediaType
    from sidecar.picks_store.refresh import refresh_user_picks

    alice, bob = await web.user_row("alice"), await web.user_row("bob")
    films = []
    for k in range(45):
        genre = ("Crime", "Comedy", "Western")[k % 3]
        films.append(await web.add_item(f"{genre} Film {k}", year=1960 + k, genres=[genre], community_rating=5 + k % 5))
    async with web.services.sessions() as session:
        for user, genre, count in ((alice, "Crime", 8), (bob, "Comedy", 6)):
            mine = [f for f in films if genre in f.genres][:count]
            for film in mine:
                session.add(WatchState(user_id=user.id, item_id=film.id, played=True, play_count=1, completion=1.0))
        await session.commit()
    result = await refresh_user_picks(web.services, alice.id, MediaType.MOVIES)
    assert result.picks > 10
    client = await web.login("alice")
    api = (await client.get("/api/picks?media_type=movies")).json()["picks"]
    badges = [p["match_pct"] for p in api]
    assert len(set(badges)) >= 4 and set(badges) != {50}, badges
    for a in api:  # a higher overall score never shows a lower match
        assert 1 <= a["overall_pct"] <= 99 and a["overall_pct"] <= round(100 * a["score"])
        assert all(a["match_pct"] >= b["match_pct"] for b in api if a["score"] > b["score"])
    page = (await client.get("/picks?media_type=movies")).text
    shown = [int(v) for v in re.findall(r'class="badge right match"[^>]*>(\d+)%', page)]
    assert shown == badges  # the page shows the stored badges, in rank order
    assert page.count('class="play"') == len(api)
    first = api[0]
    item_page = (await client.get(f"/items/{first['item']['id']}")).text
    assert f"#1 · {first['match_pct']}% match" in item_page  # the title page shows the same badge ...
    assert f"higher than {first['overall_pct']}% of the titles" in item_page  # ... next to the score it follows
