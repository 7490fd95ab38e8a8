"""Catalogues for the simulator: a ``movies.jsonl`` file (MovieLens/TMDB shape), the TV shows of a
``netflix_titles.csv`` file, or a synthetic demo catalogue generated here (no third-party data)."""

from __future__ import annotations

import csv
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(slots=True)
class CatalogMovie:
    key: str
    title: str
    year: int | None
    genres: list[str] = field(default_factory=list)
    overview: str | None = None
    tagline: str | None = None
    keywords: list[str] = field(default_factory=list)
    studios: list[str] = field(default_factory=list)
    runtime_min: int | None = None
    community_rating: float | None = None
    official_rating: str | None = None
    director: str | None = None
    actors: list[str] = field(default_factory=list)
    tmdb_id: str | None = None
    imdb_id: str | None = None
    movielens_id: int | None = None


@dataclass(slots=True)
class CatalogSeries:
    key: str
    title: str
    year: int | None
    genres: list[str] = field(default_factory=list)
    overview: str | None = None
    studios: list[str] = field(default_factory=list)
    official_rating: str | None = None
    community_rating: float | None = None
    directors: list[str] = field(default_factory=list)
    actors: list[str] = field(default_factory=list)
    episodes_per_season: list[int] = field(default_factory=list)
    episode_runtime_min: int = 45
    tvdb_id: str | None = None
    imdb_id: str | None = None


@dataclass(slots=True)
class Catalog:
    movies: list[CatalogMovie] = field(default_factory=list)
    series: list[CatalogSeries] = field(default_factory=list)


def movie_from_record(record: dict[str, object], key: str | None = None) -> CatalogMovie:
    """One line of ``movies.jsonl`` (or the body of the simulator's add-item endpoint)."""

    def text(name: str) -> str | None:
        value = record.get(name)
        return str(value) if value not in (None, "") else None

    def strings(name: str) -> list[str]:
        value = record.get(name)
        return [str(v) for v in value] if isinstance(value, list) else []

    movie_id = record.get("movieId")
    year = record.get("year")
    runtime = record.get("runtime_min")
    rating = record.get("community_rating")
    tmdb = record.get("tmdbId")
    return CatalogMovie(
        key=key or (f"ml:{movie_id}" if movie_id is not None else f"title:{record.get('title')}:{year}"),
        title=str(record.get("title") or "Untitled"),
        year=int(year) if isinstance(year, int | float) else None,
        genres=strings("genres"),
        overview=text("overview"),
        tagline=text("tagline"),
        keywords=strings("keywords"),
        studios=strings("studios"),
        runtime_min=int(runtime) if isinstance(runtime, int | float) else None,
        community_rating=float(rating) if isinstance(rating, int | float) else None,
        official_rating=text("official_rating"),
        director=text("director"),
        actors=strings("actors"),
        tmdb_id=str(int(tmdb)) if isinstance(tmdb, int | float) else (str(tmdb) if tmdb else None),
        imdb_id=text("imdbId"),
        movielens_id=int(movie_id) if isinstance(movie_id, int) else None,
    )


def load_movies_jsonl(path: Path, *, with_overview_only: bool = True, limit: int | None = None) -> list[CatalogMovie]:
    movies: list[CatalogMovie] = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            movie = movie_from_record(json.loads(line))
            if with_overview_only and not movie.overview:
                continue
            movies.append(movie)
            if limit is not None and len(movies) >= limit:
                break
    return movies


_SEASONS = re.compile(r"^(\d+)\s+Seasons?$")


def load_netflix_tv(path: Path, *, limit: int | None = None, seed: int = 0) -> list[CatalogSeries]:
    """TV shows of ``netflix_titles.csv``; "N Seasons" becomes N seasons of 6 to 12 episodes."""
    rng = random.Random(seed)
    shows: list[CatalogSeries] = []
    with path.open(encoding="utf-8-sig", newline="") as handle:
        for row in csv.DictReader(handle):
            if row.get("type") != "TV Show":
                continue
            match = _SEASONS.match((row.get("duration") or "").strip())
            if not match or not row.get("title"):
                continue
            seasons = min(int(match.group(1)), 10)
            year = row.get("release_year") or ""
            shows.append(
                CatalogSeries(
                    key=f"nf:{row['show_id']}",
                    title=row["title"].strip(),
                    year=int(year) if year.isdigit() else None,
                    genres=[g.strip() for g in (row.get("listed_in") or "").split(",") if g.strip()],
                    overview=(row.get("description") or "").strip() or None,
                    studios=["Netflix"],
                    official_rating=(row.get("rating") or "").strip() or None,
                    directors=[p.strip() for p in (row.get("director") or "").split(",") if p.strip()],
                    actors=[p.strip() for p in (row.get("cast") or "").split(",") if p.strip()][:8],
                    episodes_per_season=[rng.randint(6, 12) for _ in range(seasons)],
                    community_rating=round(rng.uniform(5.5, 8.8), 1),
                )
            )
            if limit is not None and len(shows) >= limit:
                break
    return shows


def load_catalog(
    movies_path: Path | None,
    tv_path: Path | None = None,
    *,
    max_movies: int | None = None,
    max_series: int | None = 200,
) -> Catalog:
    """A catalogue from files; ``tv_path`` defaults to ``netflix_titles.csv`` beside the movies file."""
    catalog = Catalog()
    if movies_path is not None:
        catalog.movies = load_movies_jsonl(movies_path, limit=max_movies)
        if tv_path is None and (movies_path.parent / "netflix_titles.csv").exists():
            tv_path = movies_path.parent / "netflix_titles.csv"
    if tv_path is not None:
        catalog.series = load_netflix_tv(tv_path, limit=max_series)
    return catalog


# --- synthetic demo catalogue ----------------------------------------------------------------------

_FIRST = [
    "Ada",
    "Alan",
    "Ana",
    "Ben",
    "Carla",
    "Chen",
    "Dara",
    "Eli",
    "Emma",
    "Felix",
    "Gia",
    "Hugo",
    "Ines",
    "Ivan",
    "Jana",
    "Jon",
    "Kai",
    "Lena",
    "Leo",
    "Lior",
    "Mara",
    "Milo",
    "Nia",
    "Noah",
    "Omar",
    "Paz",
    "Quinn",
    "Rafa",
    "Rosa",
    "Sami",
    "Tara",
    "Theo",
    "Uma",
    "Vera",
    "Wes",
    "Yara",
    "Zane",
    "Aiko",
    "Bruno",
    "Cleo",
]
_LAST = [
    "Abara",
    "Bauer",
    "Castillo",
    "Dubois",
    "Eriksen",
    "Fontaine",
    "Garcia",
    "Haddad",
    "Ito",
    "Jensen",
    "Kowalski",
    "Laurent",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quiroga",
    "Rossi",
    "Silva",
    "Tanaka",
    "Ueda",
    "Varga",
    "Walsh",
    "Xu",
    "Yilmaz",
    "Zielinski",
    "Brandt",
    "Costa",
    "Duarte",
    "Novak",
    "Marsh",
    "Whitlock",
    "Ferreira",
    "Lindqvist",
    "Achterberg",
]

_GENRES: dict[str, dict[str, list[str]]] = {
    "Science Fiction": {
        "a": ["Last", "Silent", "Hollow", "Quantum", "Far", "Red", "Iron", "Distant"],
        "b": ["Orbit", "Signal", "Colony", "Horizon", "Machine", "Star", "Frontier", "Protocol"],
        "plot": [
            "When {hero}, a {job}, intercepts a signal from beyond the solar system, the crew of a failing "
            "station must decide who to trust before the air runs out.",
            "In {year2}, {hero} wakes from cryosleep to find the colony ship off course and an AI that "
            "insists nothing is wrong.",
        ],
        "jobs": ["engineer", "pilot", "xenobiologist", "navigator"],
        "studios": ["Polaris Pictures", "Meridian Works"],
    },
    "Drama": {
        "a": ["Quiet", "Long", "Small", "Last", "Open", "Broken", "Winter", "Paper"],
        "b": ["Harbour", "Summer", "Letters", "House", "Road", "Promise", "Garden", "Years"],
        "plot": [
            "{hero}, a {job} returning to a small coastal town, confronts a family secret that has shaped "
            "three generations.",
            "After a sudden loss, {hero} takes a job as a {job} and slowly learns to let people in again.",
        ],
        "jobs": ["teacher", "nurse", "carpenter", "widowed farmer"],
        "studios": ["Lantern Films", "Northlight Studio"],
    },
    "Comedy": {
        "a": ["Totally", "Big", "Accidental", "Wrong", "Second", "Crazy", "Perfect", "Lucky"],
        "b": ["Wedding", "Weekend", "Neighbours", "Road Trip", "Roommates", "Heist", "Reunion", "Vacation"],
        "plot": [
            "{hero}, an overconfident {job}, fakes a perfect life for a school reunion and has one weekend "
            "to keep the lie alive.",
            "Two rival {job}s are forced to share a food truck for a summer festival, with disastrous results.",
        ],
        "jobs": ["wedding planner", "chef", "dentist", "real-estate agent"],
        "studios": ["Sunny Side Pictures", "Bright Lane"],
    },
    "Thriller": {
        "a": ["Dark", "Cold", "Blind", "Final", "Hidden", "Seventh", "Black", "Deep"],
        "b": ["Witness", "Alibi", "Hour", "Contract", "Exit", "Room", "Ledger", "Trace"],
        "plot": [
            "A {job} named {hero} finds a ledger that ties a city councillor to a string of disappearances "
            "and has one night to get it out.",
            "{hero}, a disgraced {job}, is framed for a murder and must find the real killer before dawn.",
        ],
        "jobs": ["detective", "journalist", "forensic accountant", "locksmith"],
        "studios": ["Grey Harbor Films", "Nightjar Pictures"],
    },
    "Animation": {
        "a": ["Little", "Brave", "Magic", "Tiny", "Flying", "Lost", "Wild", "Clever"],
        "b": ["Fox", "Dragon", "Robot", "Kingdom", "Island", "Balloon", "Lantern", "Forest"],
        "plot": [
            "A curious young {job} and a grumpy talking {animal} set off across the sky to bring the lost lights home.",
            "When the forest's oldest tree falls silent, a tiny {animal} must become the hero nobody expected.",
        ],
        "jobs": ["inventor", "mapmaker", "lighthouse keeper", "baker"],
        "studios": ["Paper Moon Animation", "Kite Studios"],
    },
    "Horror": {
        "a": ["Hollow", "Crimson", "Silent", "Rotten", "Pale", "Howling", "Buried", "Sleeping"],
        "b": ["Manor", "Woods", "Cellar", "Choir", "Lake", "Doll", "Orchard", "Chapel"],
        "plot": [
            "A group of friends rent a remote cabin, where {hero}, a skeptical {job}, starts hearing the "
            "walls whisper their names.",
            "{hero}, a {job}, inherits a manor whose previous owners all vanished on the same night of the year.",
        ],
        "jobs": ["paramedic", "historian", "sound engineer", "priest"],
        "studios": ["Blackwater Horror", "Moth House"],
    },
    "Romance": {
        "a": ["Paris", "Second", "Autumn", "Sweet", "Midnight", "Endless", "Tender", "Secret"],
        "b": ["Kiss", "Letters", "Promise", "Chance", "Dance", "Melody", "Affair", "Spring"],
        "plot": [
            "{hero}, a {job}, keeps missing the stranger she met on a night train, until a misdelivered "
            "letter changes everything.",
            "Two {job}s competing for the same restoration job in Lisbon discover they are falling for each other.",
        ],
        "jobs": ["architect", "violinist", "translator", "florist"],
        "studios": ["Rose Quartz Films", "Velvet Pictures"],
    },
    "Action": {
        "a": ["Rogue", "Iron", "Maximum", "Fast", "Steel", "Hard", "Outlaw", "Blood"],
        "b": ["Strike", "Protocol", "Force", "Pursuit", "Vengeance", "Target", "Run", "Impact"],
        "plot": [
            "Former special-forces {job} {hero} is pulled back for one last mission when a hijacked train "
            "threatens a capital city.",
            "{hero}, a getaway {job}, double-crosses a cartel and spends the night outrunning everyone.",
        ],
        "jobs": ["operative", "driver", "bodyguard", "pilot"],
        "studios": ["Titan Action", "Redline Films"],
    },
    "Documentary": {
        "a": ["Inside", "Beyond", "Saving", "The Secret", "Chasing", "Voices of", "Under", "Across"],
        "b": ["the Reef", "the Ice", "the Archive", "the Market", "the Deep", "Silicon", "the Desert", "Tides"],
        "plot": [
            "A {job} follows the people racing to protect a vanishing ecosystem over three years.",
            "Filmmaker {hero} investigates how a small town became the centre of a global industry.",
        ],
        "jobs": ["marine biologist", "journalist", "photographer", "economist"],
        "studios": ["True North Docs", "Open Lens"],
    },
    "Fantasy": {
        "a": ["Shadow", "Crown of", "Ember", "Elder", "Stone", "Moon", "Ashen", "Glass"],
        "b": ["Throne", "Blade", "Realm", "Oath", "Keep", "Sorcerer", "Tower", "Covenant"],
        "plot": [
            "{hero}, an apprentice {job}, steals a forbidden book and unleashes a war between the kingdoms.",
            "Exiled {job} {hero} must unite five quarrelling clans before the ember moon rises.",
        ],
        "jobs": ["sorcerer", "blacksmith", "scribe", "knight"],
        "studios": ["Ember Gate Pictures", "Runestone Films"],
    },
}
_SECONDARY = {
    "Science Fiction": ["Adventure", "Thriller", "Action"],
    "Drama": ["Romance", "History", "Family"],
    "Comedy": ["Romance", "Family", "Adventure"],
    "Thriller": ["Crime", "Mystery", "Drama"],
    "Animation": ["Family", "Adventure", "Comedy"],
    "Horror": ["Mystery", "Thriller"],
    "Romance": ["Drama", "Comedy"],
    "Action": ["Adventure", "Crime", "Thriller"],
    "Documentary": ["History", "Nature"],
    "Fantasy": ["Adventure", "Family", "Action"],
}
_RATINGS = {"Animation": ["G", "PG"], "Horror": ["R"], "Documentary": ["PG", "TV-PG"]}
_ANIMALS = ["owl", "fox", "badger", "hedgehog", "raven", "otter"]


def _person(rng: random.Random) -> str:
    return f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"


def synthetic_catalog(movies: int = 300, series: int = 30, *, seed: int = 7) -> Catalog:
    """A coherent made-up catalogue: per-genre title words, plots, studios, recurring directors/casts."""
    rng = random.Random(seed)
    genre_names = list(_GENRES)
    directors = {g: [_person(rng) for _ in range(6)] for g in genre_names}
    casts = {g: [_person(rng) for _ in range(24)] for g in genre_names}
    catalog = Catalog()

    sequels = ["", " II", " III", " Returns", " Rising", " Reborn"]
    uses: dict[str, int] = {}

    def title(genre: str) -> str:
        words = _GENRES[genre]
        base = f"{rng.choice(words['a'])} {rng.choice(words['b'])}"
        n = uses.get(base, 0)
        uses[base] = n + 1
        # "Silent Orbit", "Silent Orbit II", ... then "Silent Orbit 7", "Silent Orbit 8", ...
        return base + (sequels[n] if n < len(sequels) else f" {n + 1}")

    def plot(genre: str, year: int) -> str:
        words = _GENRES[genre]
        return rng.choice(words["plot"]).format(
            hero=rng.choice(_FIRST),
            job=rng.choice(words["jobs"]),
            year2=year + rng.randint(80, 400),
            animal=rng.choice(_ANIMALS),
        )

    for n in range(movies):
        genre = rng.choice(genre_names)
        genres = [genre, *rng.sample(_SECONDARY[genre], k=rng.randint(0, 2))]
        year = rng.randint(1972, 2025)
        catalog.movies.append(
            CatalogMovie(
                key=f"demo:movie:{n}",
                title=title(genre),
                year=year,
                genres=genres,
                overview=plot(genre, year),
                tagline=rng.choice([None, "Some stories find you.", "No way back.", "Hold on tight.", "Believe."]),
                keywords=[genre.lower(), rng.choice(_GENRES[genre]["b"]).lower()],
                studios=[rng.choice(_GENRES[genre]["studios"])],
                runtime_min=rng.randint(82, 165),
                community_rating=round(min(9.5, max(3.0, rng.gauss(6.6, 1.0))), 1),
                official_rating=rng.choice(_RATINGS.get(genre, ["PG-13", "R", "PG"])),
                director=rng.choice(directors[genre]),
                actors=rng.sample(casts[genre], k=4),
                tmdb_id=str(900000 + n),
                imdb_id=f"tt9{n:06d}",
            )
        )
    for n in range(series):
        genre = rng.choice(genre_names)
        year = rng.randint(1995, 2025)
        catalog.series.append(
            CatalogSeries(
                key=f"demo:series:{n}",
                title=title(genre),
                year=year,
                genres=[genre, *rng.sample(_SECONDARY[genre], k=1)],
                overview=plot(genre, year),
                studios=[rng.choice(["Channel Nine", "Streamline", "Atlas TV", "Beacon Network"])],
                official_rating=rng.choice(["TV-14", "TV-MA", "TV-PG"]),
                community_rating=round(min(9.5, max(4.0, rng.gauss(7.2, 0.8))), 1),
                directors=[rng.choice(directors[genre])],
                actors=rng.sample(casts[genre], k=5),
                episodes_per_season=[rng.randint(6, 10) for _ in range(rng.randint(1, 4))],
                episode_runtime_min=rng.choice([24, 30, 45, 55]),
                tvdb_id=str(800000 + n),
                imdb_id=f"tt8{n:06d}",
            )
        )
    return catalog
