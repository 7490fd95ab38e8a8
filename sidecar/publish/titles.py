"""The files one title folder holds, as a plan: pure, deterministic, hashable.

STRM mode: ``Title (Year).strm`` holding the file path as the media server knows it (or, only when the
admin chose it, a streaming URL), ``movie.nfo``/``tvshow.nfo``, artwork. Series get one ``.strm`` per
episode under ``Season NN/``.

Symlink mode: the video file (``Title (Year).mkv`` → the original) or, for series, the original season
folders, plus the NFO and artwork as regular files. Targets are the server's own paths, so the server
must see the originals under the same paths it reported.

Images are requests (fetched later, only for titles that changed); the hash covers what identifies them
(the server's image tag), so an unchanged title never needs a download to be recognised as unchanged.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath, PureWindowsPath
from typing import Literal

from sidecar.publish.naming import episode_file_base, season_folder, title_base, title_folder
from sidecar.publish.nfo import build_nfo
from sidecar.publish.sources import EpisodeSource, RankedSource, TitleSource

PLAN_VERSION = "1"
Mode = Literal["strm", "symlink"]
StreamUrl = Callable[[str], str]


class UnpublishableTitle(ValueError):
    """The title lacks what the mode needs (e.g. no file path); it is left out with this reason."""


@dataclass(frozen=True)
class ImageRequest:
    stem: str  # poster | fanart
    item_provider_id: str
    image_type: str  # Primary | Backdrop
    tag: str | None
    placeholder: bool = False  # write a generated poster when nothing is fetched
    placeholder_rank: int | None = None  # drawn on it; only for titles the server has no poster for
    placeholder_title: str = ""


@dataclass(frozen=True)
class FileSpec:
    """One entry inside a title folder: exactly one of ``data``, ``link`` or ``image`` is set."""

    rel: str
    data: bytes | None = None
    link: str | None = None
    image: ImageRequest | None = None


@dataclass(frozen=True)
class TitlePlan:
    folder: str
    item_id: int
    provider_id: str
    rank: int
    slot: int  # orders the title on the server (publish.order)
    files: tuple[FileSpec, ...]
    content_hash: str  # "<everything>:<images>", so a rewritten title can keep unchanged images


@dataclass(frozen=True)
class PlanOptions:
    mode: Mode
    anchor: datetime
    artwork: bool = True
    stream_url: StreamUrl | None = None  # set only in streaming-URL STRM mode


def _pure_path(path: str) -> PurePosixPath | PureWindowsPath:
    if "\\" in path or (len(path) > 1 and path[1] == ":"):
        return PureWindowsPath(path)
    return PurePosixPath(path)


def _strm(path: str | None, provider_id: str, options: PlanOptions, what: str) -> bytes:
    if options.stream_url is not None:
        return (options.stream_url(provider_id) + "\n").encode("utf-8")
    if not path:
        raise UnpublishableTitle(f"{what} has no file path on the media server")
    return (path + "\n").encode("utf-8")


def _posix_target(path: str | None, what: str) -> str:
    if not path:
        raise UnpublishableTitle(f"{what} has no file path on the media server")
    if isinstance(_pure_path(path), PureWindowsPath):
        raise UnpublishableTitle(f"{what} lives on a Windows path ({path}); symlink mode needs POSIX paths")
    return path


def _movie_files(src: TitleSource, options: PlanOptions) -> list[FileSpec]:
    base = title_base(src.name, src.year)
    if options.mode == "strm":
        return [FileSpec(f"{base}.strm", data=_strm(src.path, src.provider_id, options, src.name))]
    target = _posix_target(src.path, src.name)
    suffix = PurePosixPath(target).suffix or ".mkv"
    return [FileSpec(f"{base}{suffix}", link=target)]


def _episode_strms(src: TitleSource, options: PlanOptions) -> list[FileSpec]:
    files: list[FileSpec] = []
    seen: set[str] = set()
    for ep in sorted(src.episodes, key=lambda e: (e.season, e.episode)):
        if not ep.path and options.stream_url is None:
            continue
        rel = f"{season_folder(ep.season)}/{episode_file_base(src.name, ep.season, ep.episode, ep.name)}.strm"
        if rel in seen:
            continue
        seen.add(rel)
        files.append(FileSpec(rel, data=_strm(ep.path, ep.provider_id, options, f"{src.name} {rel}")))
    if not files:
        raise UnpublishableTitle(f"{src.name} has no episodes with file paths")
    return files


def _season_links(src: TitleSource) -> list[FileSpec]:
    """Symlink each folder holding episodes (``Season 01`` …); episodes lying in the series folder itself
    are linked one by one."""
    series_dir = _pure_path(src.path) if src.path else None
    links: dict[str, str] = {}
    names: set[str] = set()
    paths = [ep.path for ep in sorted(src.episodes, key=_episode_key) if ep.path]
    for path in paths:
        target = _pure_path(_posix_target(path, src.name))
        parent = target.parent
        linked = target if series_dir is not None and parent == series_dir else parent
        if str(linked) in links.values():
            continue
        name = linked.name
        counter = 2
        while name in names:
            name = f"{linked.name} ({counter})"
            counter += 1
        names.add(name)
        links[name] = str(linked)
    if not links:
        raise UnpublishableTitle(f"{src.name} has no episodes with file paths")
    return [FileSpec(name, link=target) for name, target in links.items()]


def _episode_key(ep: EpisodeSource) -> tuple[int, int]:
    return ep.season, ep.episode


def _artwork(src: TitleSource, rank: int) -> list[FileSpec]:
    """A poster always (the server's, else a generated one); fan art when the server has some.

    Only a title without the server's poster shows its rank (on the generated one), so only such a title
    is rewritten when just its rank changes; a generated stand-in for a poster that failed to download
    has no rank on it."""
    primary = src.image_tags.get("Primary")
    specs = [
        FileSpec(
            "poster",
            image=ImageRequest(
                "poster",
                src.provider_id,
                "Primary",
                primary,
                placeholder=True,
                placeholder_rank=None if primary else rank,
                placeholder_title=src.name,
            ),
        ),
    ]
    if backdrop := src.image_tags.get("Backdrop"):
        specs.append(FileSpec("fanart", image=ImageRequest("fanart", src.provider_id, "Backdrop", backdrop)))
    return specs


def images_hash(files: tuple[FileSpec, ...]) -> str:
    """What identifies a title's images: equal means its published images can be kept as they are."""
    entries = sorted((f.rel, f.image) for f in files if f.image is not None)
    return hashlib.sha256(repr(entries).encode()).hexdigest()[:16]


def images_of(stored_hash: str | None) -> str | None:
    """The images part of a ``TitlePlan.content_hash`` as stored (None for one without it)."""
    if not stored_hash or ":" not in stored_hash:
        return None
    return stored_hash.rpartition(":")[2]


def content_hash(files: tuple[FileSpec, ...]) -> str:
    digest = hashlib.sha256(PLAN_VERSION.encode())
    for spec in sorted(files, key=lambda f: f.rel):
        entry = {
            "rel": spec.rel,
            "data": hashlib.sha256(spec.data).hexdigest() if spec.data is not None else None,
            "link": spec.link,
            "image": None
            if spec.image is None
            else [
                spec.image.image_type,
                spec.image.tag,
                spec.image.placeholder,
                spec.image.placeholder_rank,
                spec.image.placeholder_title,
            ],
        }
        digest.update(json.dumps(entry, sort_keys=True).encode())
    return digest.hexdigest()


def media_files(src: TitleSource, options: PlanOptions) -> list[FileSpec]:
    """The title's video entries (STRM files or links). Raises ``UnpublishableTitle`` when the mode cannot
    be served."""
    if src.kind == "Series":
        return _episode_strms(src, options) if options.mode == "strm" else _season_links(src)
    return _movie_files(src, options)


def plan_title(pick: RankedSource, options: PlanOptions, media: list[FileSpec] | None = None) -> TitlePlan:
    """Every file of one title folder (``media``: its ``media_files``, when already known). Raises
    ``UnpublishableTitle`` when the mode cannot be served."""
    src = pick.source
    if media is None:
        media = media_files(src, options)
    nfo = build_nfo(pick, anchor=options.anchor)
    files = [FileSpec("tvshow.nfo" if src.kind == "Series" else "movie.nfo", data=nfo), *media]
    if options.artwork:
        files += _artwork(src, pick.rank)
    frozen = tuple(files)
    return TitlePlan(
        folder=title_folder(src.name, src.year, src.provider_id),
        item_id=src.item_id,
        provider_id=src.provider_id,
        rank=pick.rank,
        slot=pick.slot if pick.slot is not None else pick.rank,
        files=frozen,
        content_hash=f"{content_hash(frozen)}:{images_hash(frozen)}",
    )
