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
