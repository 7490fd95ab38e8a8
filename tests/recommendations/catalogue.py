"""A small, hand-built server in the database: libraries, movies, series with episodes, users, plays.

Titles fall into clear themes (space, romance, horror, westerns) so similarity-driven behaviour is
checkable with the hashing test embedder. Rows are inserted straight into the real schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from sidecar.db.models import AppUser, Item, Library, MediaServer, WatchState

NOW = datetime(2025, 6, 1, 20, 0, tzinfo=UTC)
RUNTIME = 2 * 60 * 60 * 10_000_000  # two hours in ticks

SPACE = "space starship galaxy astronaut planet orbit alien crew voyage"
ROMANCE = "love romance wedding heart couple kiss paris date"
HORROR = "ghost haunted terror scream curse night demon cellar"
WESTERN = "cowboy sheriff outlaw desert horse saloon frontier gunfight"

MOVIES: list[tuple[str, int, list[str], str, float]] = [
    ("Star Voyage", 2001, ["Science Fiction"], SPACE, 7.5),
    ("Galaxy Siege", 2005, ["Science Fiction", "Action"], SPACE, 7.0),
    ("Orbit Station", 2010, ["Science Fiction"], SPACE, 7.2),
    ("Nebula Drift", 2012, ["Science Fiction"], SPACE, 7.8),
    ("Mars Colony", 2015, ["Science Fiction", "Drama"], SPACE, 6.9),
    ("Alien Harbor", 2018, ["Science Fiction"], SPACE, 6.5),
    ("Paris Love", 2003, ["Romance", "Comedy"], ROMANCE, 6.8),
    ("Wedding Season", 2008, ["Romance", "Comedy"], ROMANCE, 6.1),
    ("Summer Kiss", 2011, ["Romance"], ROMANCE, 6.4),
    ("Coffee Date", 2016, ["Romance", "Comedy"], ROMANCE, 7.1),
    ("Dark Cellar", 2004, ["Horror"], HORROR, 6.0),
    ("Haunted Manor", 2009, ["Horror"], HORROR, 6.6),
    ("Ritual Night", 2014, ["Horror", "Thriller"], HORROR, 5.9),
    ("Dust Riders", 1995, ["Western"], WESTERN, 7.0),
    ("Sheriff of Red Rock", 1999, ["Western"], WESTERN, 7.3),
    ("Frontier Gold", 2007, ["Western", "Adventure"], WESTERN, 6.7),
]

SERIES: list[tuple[str, int, list[str], str, int]] = [
    ("Space Patrol", 2010, ["Science Fiction"], SPACE, 4),
    ("Deep Space Crew", 2012, ["Science Fiction"], SPACE, 3),
    ("Galactic Rangers", 2016, ["Science Fiction", "Action"], SPACE, 5),
    ("Love Diaries", 2013, ["Romance"], ROMANCE, 4),
    ("Haunted Hospital", 2018, ["Horror"], HORROR, 3),
    ("Outlaw Trail", 2015, ["Western"], WESTERN, 3),
]


@dataclass
class Seeded:
    server_id: int
    libraries: dict[str, int] = field(default_factory=dict)
    items: dict[str, int] = field(default_factory=dict)  # title -> id (movies, series)
    episodes: dict[str, list[int]] = field(default_factory=dict)  # series title -> episode ids
    users: dict[str, int] = field(default_factory=dict)

    def title_of(self, item_id: int) -> str:
        return next(t for t, i in self.items.items() if i == item_id)


def _item(server_id: int, library_id: int, provider_id: str, kind: str, name: str, **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "server_id": server_id,
        "provider_id": provider_id,
        "kind": kind,
        "library_id": library_id,
        "name": name,
        "genres": [],
        "tags": [],
        "studios": [],
        "people": [],
        "provider_ids": {},
        "image_tags": {},
        "runtime_ticks": RUNTIME,
    }
    row.update(extra)
    return row


async def _insert(engine: AsyncEngine, table: Any, row: dict[str, Any]) -> int:
    async with engine.begin() as conn:
        return int((await conn.execute(insert(table).values(**row).returning(table.c.id))).scalar_one())


async def seed_catalogue(engine: AsyncEngine) -> Seeded:
    server_id = await _insert(engine, MediaServer.__table__, {"kind": "jellyfin", "url": "http://sim", "name": "Sim"})
    seeded = Seeded(server_id)
    for name, ctype, enabled in (("Movies", "movies", True), ("Shows", "tvshows", True), ("Kids", "movies", False)):
        seeded.libraries[name] = await _insert(
            engine,
            Library.__table__,
            {
                "server_id": server_id,
                "provider_id": f"lib-{name}",
                "name": name,
                "collection_type": ctype,
                "enabled": enabled,
            },
        )
    movies = seeded.libraries["Movies"]
    for n, (title, year, genres, words, rating) in enumerate(MOVIES):
        seeded.items[title] = await _insert(
            engine,
            Item.__table__,
            _item(
                server_id,
                movies,
                f"m{n}",
                "Movie",
                title,
                year=year,
                genres=genres,
                overview=f"{title}: a film about {words}.",
                community_rating=rating,
                people=[{"name": f"Director {n}", "type": "Director"}, {"name": f"Actor {n}", "type": "Actor"}],
                provider_ids={"Tmdb": str(1000 + n)},
            ),
        )
    # a second copy of Star Voyage (same TMDb id), a movie that left the server, one in a disabled library
    seeded.items["Star Voyage (4K)"] = await _insert(
        engine,
        Item.__table__,
        _item(
            server_id,
            movies,
            "m-dup",
            "Movie",
            "Star Voyage (4K)",
            year=2001,
            genres=["Science Fiction"],
            overview=f"Star Voyage: a film about {SPACE}.",
            provider_ids={"Tmdb": "1000"},
        ),
    )
    seeded.items["Lost Star"] = await _insert(
        engine,
        Item.__table__,
        _item(
            server_id,
            movies,
            "m-gone",
            "Movie",
            "Lost Star",
            year=2013,
            genres=["Science Fiction"],
            overview=f"Lost Star: a film about {SPACE}.",
            gone_at=NOW - timedelta(days=1),
        ),
    )
    seeded.items["Hidden Galaxy"] = await _insert(
        engine,
        Item.__table__,
        _item(
            server_id,
            seeded.libraries["Kids"],
            "m-kids",
            "Movie",
            "Hidden Galaxy",
            year=2014,
            genres=["Science Fiction"],
            overview=f"Hidden Galaxy: a film about {SPACE}.",
        ),
    )
    shows = seeded.libraries["Shows"]
    for n, (title, year, genres, words, episodes) in enumerate(SERIES):
        series_id = await _insert(
            engine,
            Item.__table__,
            _item(
                server_id,
                shows,
                f"s{n}",
                "Series",
                title,
                year=year,
                genres=genres,
                status="Continuing",
                overview=f"{title}: a series about {words}.",
                community_rating=7.0,
                provider_ids={"Tvdb": str(5000 + n)},
            ),
        )
        seeded.items[title] = series_id
        seeded.episodes[title] = [
            await _insert(
                engine,
                Item.__table__,
                _item(
                    server_id,
                    shows,
                    f"s{n}e{e}",
                    "Episode",
                    f"{title} {e}",
                    series_id=series_id,
                    parent_id=series_id,
                    season_number=1,
                    episode_number=e,
                    overview=f"Episode {e} of {title}.",
                ),
            )
            for e in range(1, episodes + 1)
        ]
    for name in ("alice", "bob", "carol"):
        seeded.users[name] = await _insert(
            engine, AppUser.__table__, {"server_id": server_id, "provider_id": f"u-{name}", "name": name}
        )
    return seeded


async def watch(
    engine: AsyncEngine,
    user_id: int,
    item_id: int,
    *,
    days_ago: float = 1.0,
    played: bool = True,
    completion: float | None = None,
    favourite: bool = False,
) -> None:
    position = 0 if played or completion is None else int(RUNTIME * completion)
    async with engine.begin() as conn:
        await conn.execute(
            insert(WatchState.__table__).values(
                user_id=user_id,
                item_id=item_id,
                played=played,
                play_count=1 if played else 0,
                is_favorite=favourite,
                last_played_at=NOW - timedelta(days=days_ago),
                position_ticks=position,
                completion=1.0 if played else (completion or 0.0),
            )
        )


async def seed_histories(engine: AsyncEngine, s: Seeded) -> None:
    """alice: space (and one started series); bob: romance; carol: space and romance."""
    alice, bob, carol = s.users["alice"], s.users["bob"], s.users["carol"]
    for days, title in enumerate(("Star Voyage", "Galaxy Siege", "Orbit Station")):
        await watch(engine, alice, s.items[title], days_ago=days + 1)
    await watch(engine, alice, s.items["Alien Harbor"], played=False, completion=0.3)  # in progress
    for ep in s.episodes["Deep Space Crew"]:
        await watch(engine, alice, ep, days_ago=5)
    await watch(engine, alice, s.episodes["Space Patrol"][0], days_ago=2)  # a series being watched
    for days, title in enumerate(("Paris Love", "Wedding Season", "Summer Kiss")):
        await watch(engine, bob, s.items[title], days_ago=days + 1)
    for ep in s.episodes["Love Diaries"]:
        await watch(engine, bob, ep, days_ago=3)
    for days, title in enumerate(("Star Voyage", "Nebula Drift", "Paris Love", "Coffee Date")):
        await watch(engine, carol, s.items[title], days_ago=days + 1)
