"""Library scans: read the folders Marquee writes (STRM files, symlinks, Kodi NFO) like the real servers.

A movie library holds one folder per title (or loose files); a tvshows library one folder per series
with ``tvshow.nfo`` and season folders (real or symlinked). Each STRM file's content (the original file
path, or a stream URL) or each symlink's target maps back to the catalogue item, whose metadata fills
what the NFO does not say. Items keep their id across rescans (keyed by path); new ones fire ItemAdded,
vanished ones ItemDeleted, as on the real servers.
"""

from __future__ import annotations

import asyncio
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeVar

from providers.simulator.model import TICKS_PER_SECOND, VIDEO_EXTENSIONS, SimItem, SimLibrary, SimPerson, utcnow

if TYPE_CHECKING:
    from providers.simulator.state import Simulator

_T = TypeVar("_T")
_URL_ID = re.compile(r"/(?:Videos|Items)/([0-9a-fA-F-]{32,36}|\d+)/", re.IGNORECASE)
_SEASON_DIR = re.compile(r"season\s*(\d+)", re.IGNORECASE)
_SXXEYY = re.compile(r"S(\d{1,3})E(\d{1,4})", re.IGNORECASE)


@dataclass
class Nfo:
    title: str | None = None
    original_title: str | None = None
    sort_title: str | None = None
    year: int | None = None
    plot: str | None = None
    tagline: str | None = None
    runtime_min: int | None = None
    mpaa: str | None = None
    rating: float | None = None
    genres: list[str] = field(default_factory=list)
    studios: list[str] = field(default_factory=list)
    directors: list[str] = field(default_factory=list)
    actors: list[tuple[str, str | None]] = field(default_factory=list)
    unique_ids: dict[str, str] = field(default_factory=dict)
    date_added: datetime | None = None
    season: int | None = None
    episode: int | None = None


def _text(root: ET.Element, tag: str) -> str | None:
    node = root.find(tag)
    return node.text.strip() if node is not None and node.text and node.text.strip() else None


def _int(value: str | None) -> int | None:
    try:
        return int(float(value)) if value else None
    except ValueError:
        return None


def read_nfo(path: str) -> Nfo | None:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return None
    nfo = Nfo(
        title=_text(root, "title"),
        original_title=_text(root, "originaltitle"),
        sort_title=_text(root, "sorttitle"),
        year=_int(_text(root, "year")),
        plot=_text(root, "plot"),
        tagline=_text(root, "tagline"),
        runtime_min=_int(_text(root, "runtime")),
        mpaa=_text(root, "mpaa"),
        season=_int(_text(root, "season")),
        episode=_int(_text(root, "episode")),
    )
    rating = _text(root, "rating") or _text(root, "ratings/rating/value")
    try:
        nfo.rating = float(rating) if rating else None
    except ValueError:
        nfo.rating = None
    nfo.genres = [g.text.strip() for g in root.findall("genre") if g.text and g.text.strip()]
    nfo.studios = [s.text.strip() for s in root.findall("studio") if s.text and s.text.strip()]
    nfo.directors = [d.text.strip() for d in root.findall("director") if d.text and d.text.strip()]
    for actor in root.findall("actor"):
        name = _text(actor, "name")
        if name:
            nfo.actors.append((name, _text(actor, "role")))
    for uid in root.findall("uniqueid"):
        if uid.text and uid.text.strip():
            nfo.unique_ids[(uid.get("type") or "imdb").lower()] = uid.text.strip()
    for legacy, key in (("imdbid", "imdb"), ("tmdbid", "tmdb"), ("tvdbid", "tvdb")):
        value = _text(root, legacy)
        if value:
            nfo.unique_ids.setdefault(key, value)
    added = _text(root, "dateadded")
    if added:
        try:
            nfo.date_added = datetime.fromisoformat(added.replace(" ", "T")).replace(tzinfo=UTC)
        except ValueError:
            nfo.date_added = None
    return nfo


# What was read from each file, by path, with the file's (inode, mtime, size) when read. Like the real
# servers, which re-read an NFO only when its modification time moved past the item's last save, a
# rescan parses only files that changed; a publish that hard-links unchanged files costs no re-read.
_READ_CACHE: dict[tuple[str, str], tuple[tuple[int, int, int], object]] = {}
_READ_CACHE_MAX = 200_000


def _read_once(kind: str, path: str, read: Callable[[str], _T]) -> _T:
    try:
        st = os.stat(path)
    except OSError:
        return read(path)
    signature = (st.st_ino, st.st_mtime_ns, st.st_size)
    hit = _READ_CACHE.get((kind, path))
    if hit is not None and hit[0] == signature:
        return hit[1]  # type: ignore[return-value]
    value = read(path)
    if len(_READ_CACHE) >= _READ_CACHE_MAX:
        _READ_CACHE.clear()
    _READ_CACHE[(kind, path)] = (signature, value)
    return value


def _nfo(path: str) -> Nfo | None:
    return _read_once("nfo", path, read_nfo)


def _strm_target(path: str) -> str:
    """The first non-empty line of a STRM file ("" when unreadable)."""
    try:
        with open(path, encoding="utf-8") as handle:
            return next((line.strip() for line in handle if line.strip()), "")
    except OSError:
        return ""


def _is_media(name: str) -> bool:
    ext = os.path.splitext(name)[1].lower()
    return ext == ".strm" or ext in VIDEO_EXTENSIONS


class LibraryScanner:
    def __init__(self, sim: Simulator, library: SimLibrary) -> None:
        self.sim = sim
        self.library = library
        self.seen: dict[str, SimItem] = {}  # path key -> item
        self.order: list[str] = []

    # --- mapping files back to catalogue items --------------------------------------------------------
    def source_for(self, file_path: str, nfo: Nfo | None) -> SimItem | None:
        sim = self.sim
        found: SimItem | None = None
        if file_path.lower().endswith(".strm"):
            content = _read_once("strm", file_path, _strm_target)
            if content.startswith(("http://", "https://")):
                match = _URL_ID.search(content)
                if match:
                    found = sim.items.get(
                        match.group(1).replace("-", "").lower() if sim.flavor == "jellyfin" else match.group(1)
                    )
            elif content:
                found = sim.find_by_path(content)
        elif os.path.islink(file_path):
            target = os.readlink(file_path)
            if not os.path.isabs(target):
                target = os.path.join(os.path.dirname(file_path), target)
            found = sim.find_by_path(os.path.normpath(target)) or sim.find_by_path(os.path.realpath(file_path))
        else:
            real = os.path.realpath(file_path)
            candidate = sim.find_by_path(real)
            if candidate is not None and candidate.library_id != self.library.id:
                found = candidate
        if found is None and nfo is not None:
            for key, value in nfo.unique_ids.items():
                found = sim.find_by_provider(key, value)
                if found is not None:
                    break
        while found is not None and found.source_id and found.source_id in sim.items:
            found = sim.items[found.source_id]
        return found

    # --- item building ----------------------------------------------------------------------------------
    def _upsert(self, key: str, kind: str, template: SimItem | None, nfo: Nfo | None, **fields: object) -> SimItem:
        sim = self.sim
        item_id = sim.ids.item(f"scan:{self.library.id}:{kind}:{key}")
        existing = sim.items.get(item_id)
        item = SimItem(id=item_id, type=kind, name=str(fields.pop("name", "") or ""))
        if template is not None:
            for attr in (
                "name",
                "original_title",
                "year",
                "premiere_date",
                "overview",
                "community_rating",
                "critic_rating",
                "official_rating",
                "runtime_ticks",
                "index_number",
                "parent_index_number",
            ):
                if getattr(item, attr) in (None, ""):
                    setattr(item, attr, getattr(template, attr))
            item.taglines = list(template.taglines)
            item.genres = list(template.genres)
            item.tags = list(template.tags)
            item.studios = list(template.studios)
            item.people = list(template.people)
            item.provider_ids = dict(template.provider_ids)
            item.source_id = template.id
        if nfo is not None:
            item.name = nfo.title or item.name
            item.original_title = nfo.original_title or item.original_title
            item.forced_sort_name = nfo.sort_title
            item.year = nfo.year or item.year
            item.overview = nfo.plot or item.overview
            item.taglines = [nfo.tagline] if nfo.tagline else item.taglines
            item.runtime_ticks = nfo.runtime_min * 60 * TICKS_PER_SECOND if nfo.runtime_min else item.runtime_ticks
            item.official_rating = nfo.mpaa or item.official_rating
            item.community_rating = nfo.rating if nfo.rating is not None else item.community_rating
            item.genres = list(nfo.genres) or item.genres  # copies: the parsed NFO is kept for the next scan
            item.studios = list(nfo.studios) or item.studios
            if nfo.directors or nfo.actors:
                item.people = [SimPerson(n, "Director") for n in nfo.directors] + [
                    SimPerson(n, "Actor", role=r) for n, r in nfo.actors
                ]
            for key_name, unique_id in nfo.unique_ids.items():
                canonical = {"imdb": "Imdb", "tmdb": "Tmdb", "tvdb": "Tvdb"}.get(key_name, key_name.title())
                item.provider_ids[canonical] = unique_id
        for attr, field_value in fields.items():
            setattr(item, attr, field_value)
        item.library_id = self.library.id
        now = utcnow()
        if existing is not None:
            item.date_created = existing.date_created
            item.date_last_saved = existing.date_last_saved
            item.locked_fields = existing.locked_fields
            item.lock_data = existing.lock_data
            if "Name" in existing.locked_fields or existing.lock_data:
                item.name, item.forced_sort_name = existing.name, existing.forced_sort_name
            if self._changed(existing, item):
                item.date_last_saved = now
        else:
            item.date_created = now
            item.date_last_saved = now
        if nfo is not None and nfo.date_added is not None:
            item.date_created = nfo.date_added
        self.seen[item.id] = item
        self.order.append(item.id)
        return item

    @staticmethod
    def _changed(old: SimItem, new: SimItem) -> bool:
        keys = ("name", "forced_sort_name", "year", "overview", "path", "genres", "provider_ids", "runtime_ticks")
        return any(getattr(old, k) != getattr(new, k) for k in keys)

    def scan_movie(self, file_path: str, folder: str | None) -> None:
        stem = os.path.splitext(os.path.basename(file_path))[0]
        nfo = None
        for candidate in (
            os.path.join(os.path.dirname(file_path), stem + ".nfo"),
            os.path.join(os.path.dirname(file_path), "movie.nfo"),
        ):
            if os.path.exists(candidate):
                nfo = _nfo(candidate)
                break
        source = self.source_for(file_path, nfo)
        fallback = re.sub(r"\s*\(\d{4}\)\s*$", "", os.path.basename(folder) if folder else stem)
        self._upsert(
            file_path,
            "Movie",
            source,
            nfo,
            name=(nfo.title if nfo and nfo.title else (source.name if source else fallback)),
            path=file_path,
            parent_id=self.library.id,
        )

    def scan_series(self, folder: str) -> None:
        nfo = _nfo(os.path.join(folder, "tvshow.nfo")) if os.path.exists(os.path.join(folder, "tvshow.nfo")) else None
        episodes: list[tuple[str, SimItem | None, Nfo | None, int, int | None]] = []
        for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
            dirnames.sort()
            for name in sorted(filenames):
                if not _is_media(name):
                    continue
                file_path = os.path.join(dirpath, name)
                ep_nfo_path = os.path.splitext(file_path)[0] + ".nfo"
                ep_nfo = _nfo(ep_nfo_path) if os.path.exists(ep_nfo_path) else None
                source = self.source_for(file_path, ep_nfo)
                season_no = source.parent_index_number if source else None
                episode_no = source.index_number if source else None
                match = _SXXEYY.search(name)
                if season_no is None:
                    season_no = (ep_nfo.season if ep_nfo else None) or (int(match.group(1)) if match else None)
                    if season_no is None:
                        dir_match = _SEASON_DIR.search(os.path.basename(dirpath))
                        season_no = int(dir_match.group(1)) if dir_match else 1
                if episode_no is None:
                    episode_no = (ep_nfo.episode if ep_nfo else None) or (int(match.group(2)) if match else None)
                episodes.append((file_path, source, ep_nfo, season_no, episode_no))
        series_source = next(
            (self.sim.items.get(s.series_id) for _, s, _, _, _ in episodes if s and s.series_id), None
        ) or (self.source_for(os.path.join(folder, "tvshow.nfo"), nfo) if nfo else None)
        fallback = re.sub(r"\s*\(\d{4}\)\s*$", "", os.path.basename(folder))
        series = self._upsert(
            folder,
            "Series",
            series_source,
            nfo,
            name=(nfo.title if nfo and nfo.title else (series_source.name if series_source else fallback)),
            path=folder,
            parent_id=self.library.id,
        )
        series.runtime_ticks = None
        seasons: dict[int, SimItem] = {}
        for season_no in sorted({e[3] for e in episodes}):
            season_source = None
            if series_source is not None:
                season_source = next(
                    (
                        self.sim.items[c]
                        for c in series_source.children
                        if c in self.sim.items and self.sim.items[c].index_number == season_no
                    ),
                    None,
                )
            season = self._upsert(
                f"{folder}#season{season_no}",
                "Season",
                season_source,
                None,
                name=season_source.name if season_source else f"Season {season_no}",
                path=os.path.join(folder, f"Season {season_no:02d}"),
                parent_id=series.id,
                series_id=series.id,
                index_number=season_no,
            )
            seasons[season_no] = season
            series.children.append(season.id)
        for file_path, source, ep_nfo, season_no, episode_no in episodes:
            season = seasons[season_no]
            episode = self._upsert(
                file_path,
                "Episode",
                source,
                ep_nfo,
                name=(
                    ep_nfo.title
                    if ep_nfo and ep_nfo.title
                    else (source.name if source else os.path.basename(file_path))
                ),
                path=file_path,
                parent_id=season.id,
                series_id=series.id,
                season_id=season.id,
                parent_index_number=season_no,
                index_number=episode_no,
            )
            season.children.append(episode.id)

    def scan(self) -> None:
        for location in self.library.locations:
            if not os.path.isdir(location):
                continue
            for entry in sorted(os.scandir(location), key=lambda e: e.name):
                if self.library.collection_type == "tvshows":
                    if entry.is_dir(follow_symlinks=True):
                        self.scan_series(entry.path)
                elif entry.is_dir(follow_symlinks=True):
                    media = sorted(n for n in os.listdir(entry.path) if _is_media(n))
                    if media:
                        self.scan_movie(os.path.join(entry.path, media[0]), entry.path)
                elif _is_media(entry.name):
                    self.scan_movie(entry.path, None)
        self.apply()

    def apply(self) -> None:
        sim, library = self.sim, self.library
        old_ids = set(library.item_ids)
        for item_id in old_ids - set(self.seen):
            sim._drop_item(item_id, notify=sim.items.get(item_id, SimItem("", "Season", "")).type != "Season")
        library.item_ids = [i for i in library.item_ids if i in self.seen]
        for item_id in self.order:
            item = self.seen[item_id]
            is_new = item_id not in sim.items
            if not is_new:
                sim._path_index.pop(os.path.normpath(sim.items[item_id].path or ""), None)
            sim.items[item_id] = item
            if item.path:
                sim._path_index[os.path.normpath(item.path)] = item_id
            if is_new:
                library.item_ids.append(item_id)
                if item.type != "Season":
                    sim.webhooks.item_added(item)
        sim.bump()


def scan_library(sim: Simulator, library: SimLibrary) -> None:
    LibraryScanner(sim, library).scan()


async def run_scan(sim: Simulator, libraries: list[SimLibrary], *, whole: bool) -> None:
    status = "Completed"
    try:
        await asyncio.sleep(sim.scan_duration_s / 2)
        for n, library in enumerate(libraries, start=1):
            scan_library(sim, library)
            library.refresh_progress = 100.0
            if whole:
                sim.scan_task.progress = 100.0 * n / len(libraries)
            await asyncio.sleep(0)
        await asyncio.sleep(sim.scan_duration_s / 2)
    except Exception:
        status = "Failed"
        raise
    finally:
        for library in libraries:
            library.refresh_status = "Idle"
            library.refresh_progress = None
        if whole:
            sim.scan_task.state = "Idle"
            sim.scan_task.progress = None
            sim.scan_task.last_end = utcnow()
            sim.scan_task.last_status = status
        sim.bump()
