"""The demo's catalogue: real movies and TV shows, and watch histories that follow each demo user's taste.

The titles (title, year, description, genres, cast, director, countries, rating, runtime) come from the
Netflix titles dataset (CC0), as a small derived file shipped in the package: ``data/demo_titles.json``
(licence note in ``data/demo_titles.NOTICE.txt``; ``python -m providers.simulator.demo_catalogue`` derives
it again from ``netflix_titles.csv``). Each demo user has a stated taste ("alice: crime and thrillers") and
a made-up history inside it, so anyone can see at a glance whether their picks fit.

The synthetic catalogue (``catalog.synthetic_catalog``) stays for scale tests and benchmarks.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import random
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from providers.simulator.catalog import Catalog, CatalogMovie, CatalogSeries
from providers.simulator.model import utcnow

if TYPE_CHECKING:
    from providers.simulator.state import Simulator

SOURCE = "Netflix titles dataset (netflix_titles.csv), CC0 1.0 Universal (public domain dedication)"


@dataclass(frozen=True, slots=True)
class Taste:
    user: str
    label: str
    movie_genres: frozenset[str]
    series_genres: frozenset[str]

    def likes(self, genres: Sequence[str], *, series: bool) -> bool:
        return bool(set(genres) & (self.series_genres if series else self.movie_genres))


def _taste(user: str, label: str, movies: str, series: str) -> Taste:
    return Taste(user, label, frozenset(movies.split("|")), frozenset(series.split("|")))


# The demo users' tastes, in the order of ``state.DEMO_NAMES``; the catalogue is drawn evenly from them.
DEMO_TASTES: tuple[Taste, ...] = (
    _taste("alice", "crime and thrillers", "Thrillers", "Crime TV Shows|TV Thrillers|TV Mysteries"),
    _taste("bob", "kids & family", "Children & Family Movies", "Kids' TV"),
    _taste("carol", "documentaries", "Documentaries", "Docuseries|Science & Nature TV"),
    _taste("dave", "comedy", "Comedies|Stand-Up Comedy", "TV Comedies|Stand-Up Comedy & Talk Shows"),
    _taste("erin", "horror", "Horror Movies", "TV Horror"),
    _taste("frank", "sci-fi & fantasy", "Sci-Fi & Fantasy", "TV Sci-Fi & Fantasy"),
    _taste("grace", "romance", "Romantic Movies", "Romantic TV Shows"),
    _taste("heidi", "action & adventure", "Action & Adventure", "TV Action & Adventure"),
    _taste("ivan", "anime", "Anime Features", "Anime Series"),
    _taste("judy", "dramas", "Dramas", "TV Dramas"),
)
TASTES = {taste.user: taste for taste in DEMO_TASTES}


def taste_of(user: str) -> Taste | None:
    return TASTES.get(user.lower())


# --- the shipped file -------------------------------------------------------------------------------


def load_demo_titles() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((files("providers.simulator.data") / "demo_titles.json").read_text("utf-8"))
    return data


def _movie(record: dict[str, Any]) -> CatalogMovie:
    return CatalogMovie(
        key=f"nf:{record['id']}",
        title=record["title"],
        year=record.get("year"),
        genres=list(record.get("genres") or []),
        overview=record.get("description"),
        keywords=list(record.get("countries") or []),
        runtime_min=record.get("runtime_min"),
        official_rating=record.get("rating"),
        director=(record.get("directors") or [None])[0],
        actors=list(record.get("cast") or []),
    )


def _series(record: dict[str, Any]) -> CatalogSeries:
    seasons = int(record.get("seasons") or 1)
    rng = random.Random(record["id"])
    return CatalogSeries(
        key=f"nf:{record['id']}",
        title=record["title"],
        year=record.get("year"),
        genres=list(record.get("genres") or []),
        overview=record.get("description"),
        official_rating=record.get("rating"),
        directors=list(record.get("directors") or []),
        actors=list(record.get("cast") or []),
        episodes_per_season=[rng.randint(5, 8) for _ in range(min(seasons, 3))],  # a demo-sized slice
        episode_runtime_min=30 if set(record.get("genres") or []) & {"Kids' TV", "TV Comedies"} else 45,
    )


def demo_catalogue(movies: int | None = None, series: int | None = None) -> Catalog:
    """The real demo catalogue, or its first ``movies``/``series`` titles (the file is ordered so that any
    prefix holds every taste about equally)."""
    data = load_demo_titles()
    return Catalog(
        movies=[_movie(r) for r in data["movies"][:movies]],
        series=[_series(r) for r in data["series"][:series]],
    )


# --- histories --------------------------------------------------------------------------------------


def seed_taste_histories(sim: Simulator, *, seed: int = 0, now: datetime | None = None) -> dict[str, str]:
    """Give every non-admin user a history inside their taste: completed movies over the last four months
    (a few favourites) and shows of theirs partly watched. Users with no stated taste get a mixed history.
    Returns ``{user name: taste label}``."""
    now = now or utcnow()
    movies = [i for i in sim.items.values() if i.type == "Movie"]
    shows = [i for i in sim.items.values() if i.type == "Series"]
    drawn_for = _drawn_for(sim)
    labels: dict[str, str] = {}
    for n, user in enumerate(u for u in sim.users.values() if not u.is_admin):
        rng = random.Random(seed * 1000 + n)
        taste = taste_of(user.name)
        labels[user.name] = taste.label if taste else "a bit of everything"
        # The titles drawn for this taste: no two demo users share a title, so no co-watching links one taste to
        # another (with four viewers it would be noise) and each user's picks come from their own taste.
        liked = [m for m in movies if (drawn_for.get(m.id) == user.name if taste else True)]
        watched = rng.sample(liked, k=min(len(liked), max(3, len(liked) * 2 // 5)))
        for movie in watched:
            when = now - timedelta(days=rng.uniform(1, 120), minutes=rng.randint(0, 600))
            sim.mark_played(user.id, movie.id, True, when, notify=False)
            if rng.random() < 0.2:
                sim.set_favorite(user.id, movie.id, True, notify=False)
        own_shows = [s for s in shows if (drawn_for.get(s.id) == user.name if taste else True)]
        for k, show in enumerate(rng.sample(own_shows, k=min(len(own_shows), 2))):
            episodes = sim.descendants(show, {"Episode"})
            for e, episode in enumerate(episodes[: max(1, len(episodes) * (2 - k) // 3)]):
                sim.mark_played(user.id, episode.id, True, now - timedelta(days=40 - e * 0.5), notify=False)
    return labels


def _drawn_for(sim: Simulator) -> dict[str, str]:
    """Simulator item id -> the demo user whose taste the title was drawn for."""
    data = load_demo_titles()
    taste_of_title = {
        (kind, record["title"], record.get("year")): str(record.get("taste") or "")
        for kind, records in (("Movie", data["movies"]), ("Series", data["series"]))
        for record in records
    }
    out: dict[str, str] = {}
    for item in sim.items.values():
        if item.type in ("Movie", "Series") and (taste := taste_of_title.get((item.type, item.name, item.year))):
            out[item.id] = taste
    return out


# --- deriving the file from netflix_titles.csv ------------------------------------------------------

_MINUTES = re.compile(r"^(\d+)\s*min$")
_SEASONS = re.compile(r"^(\d+)\s+Seasons?$")


# UTF-8 read as Windows-1252 in the CSV ("PokÃ©mon", "NCIS â€“ the"): a lead byte's character followed by
# continuation bytes' characters. A lone "Ã" at the end of a field lost its no-break-space byte ("à") to a strip.
_CP1252_CONTINUATION = (
    "\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013\u2014"
    "\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122"
)
_MOJIBAKE = re.compile(f"[\u00c2-\u00f4][{_CP1252_CONTINUATION}]+")


def _unmangle(text: str) -> str:
    def repair(match: re.Match[str]) -> str:
        try:
            return match.group(0).encode("cp1252").decode("utf-8")
        except UnicodeError:
            return match.group(0)

    return re.sub(r"Ã$", "à", _MOJIBAKE.sub(repair, text))


def _split(value: str | None, limit: int | None = None) -> list[str]:
    parts = [_unmangle(p.strip()) for p in (value or "").split(",") if p.strip()]
    return parts[:limit] if limit is not None else parts


def _record(row: dict[str, str]) -> dict[str, Any]:
    year = (row.get("release_year") or "").strip()
    record: dict[str, Any] = {
        "id": row["show_id"],
        "title": _unmangle(row["title"].strip()),
        "year": int(year) if year.isdigit() else None,
        "genres": _split(row.get("listed_in")),
        "description": _unmangle((row.get("description") or "").strip()),
        "directors": _split(row.get("director"), 2),
        "cast": _split(row.get("cast"), 6),
        "countries": _split(row.get("country"), 3),
        "rating": (row.get("rating") or "").strip() or None,
    }
    duration = (row.get("duration") or "").strip()
    if row["type"] == "Movie":
        minutes = _MINUTES.match(duration)
        record["runtime_min"] = int(minutes.group(1)) if minutes else None
    else:
        seasons = _SEASONS.match(duration)
        record["seasons"] = int(seasons.group(1)) if seasons else 1
    return record


def _order(rows: list[dict[str, str]], known: set[str], *, series: bool) -> list[dict[str, str]]:
    """Titles a person may know first, then by a stable hash: movies also in MovieLens (when given), shows
    that ran for more seasons."""

    def key(row: dict[str, str]) -> tuple[int, str]:
        digest = hashlib.sha1(row["show_id"].encode(), usedforsecurity=False).hexdigest()
        if series:
            seasons = _SEASONS.match(row["duration"])
            return (-int(seasons.group(1)) if seasons else 0, digest)
        return (int(_norm(row["title"]) not in known), digest)

    return sorted(rows, key=key)


def _norm(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", title.lower()).strip()


def _draw(rows: list[dict[str, str]], per_taste: int, *, series: bool, known: set[str]) -> list[dict[str, Any]]:
    """``per_taste`` titles for each taste, interleaved (taste 1, taste 2, …, taste 1, …)."""
    buckets: list[list[dict[str, str]]] = []
    taken: set[str] = set()
    ordered = _order(rows, known, series=series)
    for taste in DEMO_TASTES:
        likes = [r for r in ordered if taste.likes(_split(r["listed_in"]), series=series)]
        bucket = [r for r in likes if r["show_id"] not in taken][:per_taste]
        taken.update(r["show_id"] for r in bucket)
        buckets.append(bucket)
    out: list[dict[str, Any]] = []
    for rank in range(per_taste):
        for taste, bucket in zip(DEMO_TASTES, buckets, strict=True):
            if rank < len(bucket):
                out.append({**_record(bucket[rank]), "taste": taste.user})
    return out


def derive_demo_titles(
    netflix_csv: Path, *, known_titles: Path | None = None, movies_per_taste: int = 30, series_per_taste: int = 4
) -> dict[str, Any]:
    with netflix_csv.open(encoding="utf-8-sig", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r.get("type") in ("Movie", "TV Show") and r.get("title")]
    known: set[str] = set()
    if known_titles is not None:
        with known_titles.open(encoding="utf-8") as handle:
            known = {_norm(str(json.loads(line).get("title") or "")) for line in handle if line.strip()}
    complete = [r for r in rows if r.get("description") and r.get("cast") and r.get("country")]
    movies = [r for r in complete if r["type"] == "Movie" and r.get("director") and _MINUTES.match(r["duration"])]
    shows = [r for r in complete if r["type"] == "TV Show" and _SEASONS.match(r["duration"])]
    return {
        "source": SOURCE,
        "licence": "CC0-1.0",
        "derived": "python -m providers.simulator.demo_catalogue netflix_titles.csv --known movies.jsonl",
        "movies": _draw(movies, movies_per_taste, series=False, known=known),
        "series": _draw(shows, series_per_taste, series=True, known=known),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Derive the demo catalogue from netflix_titles.csv (CC0).")
    parser.add_argument("netflix_csv", type=Path)
    parser.add_argument("--known", type=Path, help="movies.jsonl: titles also there come first (only titles read)")
    args = parser.parse_args(argv)
    data = derive_demo_titles(args.netflix_csv, known_titles=args.known)
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
