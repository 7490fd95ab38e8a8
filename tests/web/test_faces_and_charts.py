"""Faces and logos through Marquee's image proxy (provider paths, cache, placeholders, login, no key in a page)
and the server-rendered SVG charts (text alternatives, escaping, numbers)."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from pytest_httpx import HTTPXMock

from providers.base import Image
from providers.errors import ProviderNotFound
from providers.mediabrowser import make_client
from sidecar.web import charts
from sidecar.web.images import ImageCache, cached_image
from tests.web.conftest import Web

PNG = b"\x89PNG\r\n\x1a\nfake"

# --- charts ------------------------------------------------------------------------------------------


def test_donut_says_what_it_shows_in_text_and_escapes_labels() -> None:
    rows = [{"label": "Drama", "count": 3}, {"label": "<script>x</script>", "count": 1}]
    svg = str(charts.donut(rows, "Favourite genres", "movies"))
    assert 'role="img"' in svg and "<title>Favourite genres</title>" in svg
    assert 'aria-label="Favourite genres. Drama: 3 movies; &lt;script&gt;x&lt;/script&gt;: 1 movies"' in svg
    assert "<script>" not in svg
    assert "75%" in svg and "25%" in svg  # shares written in the legend and the table
    assert re.findall(r'<th scope="row">([^<]*)</th><td>(\d+)</td>', svg) == [
        ("Drama", "3"),
        ("&lt;script&gt;x&lt;/script&gt;", "1"),
    ]
    assert len(set(re.findall(r'<pattern id="([^"]+)"', svg))) == 2  # each slice its own pattern


def test_area_and_bars_write_their_numbers_on_the_chart() -> None:
    months = [{"label": f"2026-{m:02d}", "count": c} for m, c in ((1, 0), (2, 4), (3, 1))]
    area = str(charts.area(months, "Timeline", "movies"))
    assert ">Jan</text>" in area and ">Feb</text>" in area and ">2026</text>" in area
    assert re.findall(r'class="value-label" font-size="15">(\d+)</text>', area) == ["4", "1"]
    bars = str(charts.hbars([{"label": "1990s", "count": 2}, {"label": "2000s", "count": 5}], "Decades", "movies"))
    assert re.findall(r'class="value-label" font-size="15">(\d+)</text>', bars) == ["2", "5"]
    widths = [float(w) for w in re.findall(r'<rect x="\d+" y="[\d.]+" width="([\d.]+)"', bars)]
    assert widths[1] > widths[0] * 2  # bars scale with the counts


def test_compare_scales_each_metric_to_its_larger_value() -> None:
    svg = str(charts.compare([{"label": "Hours", "values": [10, 40]}], ["Movies", "Series"], "Movies vs series"))
    assert "Hours: Movies 10, Series 40" in svg
    assert '<tspan class="value-label">40</tspan> series' in svg


def test_empty_charts_say_so() -> None:
    assert "Nothing yet." in str(charts.donut([], "Genres"))
    assert "Nothing yet." in str(charts.area([{"label": "2026-01", "count": 0}], "Timeline"))
    assert "Nothing watched yet." in str(charts.compare([{"label": "Hours", "values": [0, 0]}], ["M", "S"], "x"))


# --- the image cache ---------------------------------------------------------------------------------


def test_image_cache_is_bounded_and_expires() -> None:
    cache = ImageCache(max_entries=2, max_bytes=10)
    cache.put("a", Image(data=b"1234", content_type="image/png"), ttl_s=60, now=0)
    cache.put("b", Image(data=b"1234", content_type="image/png"), ttl_s=60, now=0)
    assert cache.get("a", now=1) is not None  # a is now the most recent
    cache.put("c", Image(data=b"1234", content_type="image/png"), ttl_s=60, now=1)  # 12 bytes: b goes
    assert cache.get("b", now=1) is None and cache.get("a", now=1) and cache.get("c", now=1)
    assert cache.get("a", now=61) is None  # expired
    cache.put("huge", Image(data=b"x" * 11, content_type="image/png"), ttl_s=60, now=1)
    assert cache.get("huge", now=1) is None


async def test_cached_image_asks_the_server_once_and_remembers_a_missing_one() -> None:
    cache = ImageCache()
    calls: list[str] = []

    async def found() -> Image:
        calls.append("found")
        return Image(data=PNG, content_type="image/png")

    async def missing() -> Image:
        calls.append("missing")
        raise ProviderNotFound("no image", server="test")

    async def not_an_image() -> Image:
        return Image(data=b"<html>", content_type="text/html")

    for _ in range(3):
        assert (await cached_image("people:A", found, cache)) == Image(data=PNG, content_type="image/png")
        assert await cached_image("people:B", missing, cache) is None
    assert calls == ["found", "missing"]
    assert await cached_image("people:C", not_an_image, cache) is None


# --- the provider's image calls ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "avatar_path"),
    [("jellyfin", r"/UserImage\?userId=u1&maxWidth=96$"), ("emby", r"/emby/Users/u1/Images/Primary\?maxWidth=96$")],
)
async def test_provider_asks_each_server_for_faces_where_it_keeps_them(
    httpx_mock: HTTPXMock, kind: str, avatar_path: str
) -> None:
    httpx_mock.add_response(content=PNG, headers={"content-type": "image/png"}, is_reusable=True)
    server = make_client(kind, "http://media.test:8096", "SECRET-KEY")  # type: ignore[arg-type]
    try:
        avatar = await server.fetch_user_image("u1", max_width=96)
        photo = await server.fetch_named_image("Persons", "Ana Lima/Jr", max_width=160)
        logo = await server.fetch_named_image("Studios", "A24", image_type="Thumb")
    finally:
        await server.aclose()
    assert avatar.data == photo.data == logo.data == PNG
    urls = [str(r.url) for r in httpx_mock.get_requests()]
    prefix = "/emby" if kind == "emby" else ""
    assert re.search(avatar_path, urls[0]), urls[0]
    assert urls[1].endswith(f"{prefix}/Persons/Ana%20Lima%2FJr/Images/Primary?maxWidth=160")
    assert urls[2].endswith(f"{prefix}/Studios/A24/Images/Thumb")
    assert all("SECRET-KEY" not in u for u in urls)  # the key goes in a header, not the URL


# --- the routes ------------------------------------------------------------------------------------------


async def test_faces_need_a_login_fall_back_to_placeholders_and_pages_carry_no_key(web: Web) -> None:
    anonymous = web.client()
    assert (await anonymous.get("/images/people/Ana%20Lima")).status_code in (303, 307)
    alice = await web.login("alice")
    me = await web.user_row("alice")
    sim_movie = next(i for i in web.sim.items.values() if i.type == "Movie" and i.people and i.studios)
    person, studio = quote(sim_movie.people[0].name), quote(sim_movie.studios[0])
    for path in (f"/images/people/{person}", f"/images/studios/{studio}"):
        answer = await alice.get(path)  # the server has these: its picture, through Marquee
        assert answer.status_code == 200 and answer.headers["content-type"] == "image/png", path
        assert answer.content.startswith(b"\x89PNG")
        assert answer.headers["cache-control"] == "private, max-age=86400"
    for path in (f"/images/users/{me.id}", "/images/people/Nobody%20Here", "/images/studios/No%20Such%20Studio"):
        answer = await alice.get(path)
        # no avatar set, no such person or studio on the server: a neutral placeholder, cached for an hour
        assert answer.status_code == 200, path
        assert answer.headers["content-type"].startswith("image/svg+xml")
        assert answer.headers["cache-control"] == "private, max-age=3600"
    assert (await alice.get("/images/users/999999")).status_code == 404
    stats = await alice.get("/stats")
    assert stats.status_code == 200
    assert web.sim.admin_api_key not in stats.text and "api_key" not in stats.text.lower()
    assert f'src="/images/users/{me.id}"' in stats.text  # the avatar in the header
