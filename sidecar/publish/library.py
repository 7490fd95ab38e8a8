"""Publishing one library end to end: files on disk, then the media server.

Order matters for privacy and atomicity:
1. preflight (STRM root writable, symlinks possible) — a bad configuration fails before anything is written;
2. for AI Picks, make sure nobody but the owner could see the library (``access``), else stop;
3. plan every title; a title keeps its sort slot where the new order allows (``order``), so titles whose
   hash matches ``published_file`` are reused, the rest written into a new version folder, which is
   swapped in atomically (``writer``);
4. on the server: create the library once (pinned), grant access, scan, check the scan found our titles.

Publishing one library holds a PostgreSQL advisory lock, so a webhook follow-up and a nightly sync never
write the same library at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import delete, insert
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from providers.base import Library, MediaServer
from providers.errors import MediaServerError, ProviderUnavailable, ScanTimeout
from sidecar.db.locks import advisory_lock
from sidecar.db.models import PublishedFile, PublishedLibrary
from sidecar.errors import JobError
from sidecar.jobs.progress import Progress
from sidecar.media_types import spec
from sidecar.publish import access
from sidecar.publish.artwork import materialise
from sidecar.publish.library_rows import Target, library_row, published_files, save_row
from sidecar.publish.naming import title_folder
from sidecar.publish.options import PUBLISH_FILES, PublishFileSettings
from sidecar.publish.order import assign_slots
from sidecar.publish.picks import load_sources
from sidecar.publish.server_library import ensure_library, refresh_and_verify, remove_library
from sidecar.publish.sources import RankedSource
from sidecar.publish.titles import (
    FileSpec,
    PlanOptions,
    StreamUrl,
    TitlePlan,
    UnpublishableTitle,
    images_of,
    media_files,
    plan_title,
)
from sidecar.publish.writer import Fault, LibraryDir, check_symlinks, check_writable, remove_path
from sidecar.runtime_settings import PUBLISH, PublishSettings, load
from sidecar.services import Services

log = logging.getLogger(__name__)


@dataclass
class LibraryResult:
    library: str
    media_type: str
    titles: int = 0
    written: int = 0
    reused: int = 0
    removed: int = 0
    skipped: list[str] = field(default_factory=list)
    files_changed: bool = False
    scanned: bool = False
    server_titles: int | None = None
    provider_library_id: str | None = None
    converted_users: list[str] = field(default_factory=list)
    folders: dict[str, int] = field(default_factory=dict)  # folder -> item id, in rank order
    seconds: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        parts = [f"{self.titles} titles", f"{self.written} written", f"{self.reused} unchanged"]
        if self.removed:
            parts.append(f"{self.removed} removed")
        if self.skipped:
            parts.append(f"{len(self.skipped)} skipped")
        if self.server_titles is not None:
            parts.append(f"server lists {self.server_titles}")
        timings = ", ".join(f"{step} {seconds * 1000:.0f} ms" for step, seconds in self.seconds.items())
        return f"{self.library}: " + ", ".join(parts) + (f" ({timings})" if timings else "")


def require_server(services: Services) -> MediaServer:
    if services.media_server is None:
        raise JobError("No media server is configured: set one up on Admin → Server (or MARQUEE_MEDIA_SERVER_*).")
    return services.media_server


def library_lock(engine: AsyncEngine, key: str) -> AbstractAsyncContextManager[None]:
    """Serialise publishers of the same library across processes."""
    return advisory_lock(engine, f"publish:{key}")


def server_path(services: Services, folder: str) -> str:
    return f"{services.settings.resolved_strm_prefix}/{folder}"


def build_plans(
    picks: Sequence[RankedSource], options: PlanOptions, previous_slots: Mapping[str, int] | None = None
) -> tuple[list[TitlePlan], list[str]]:
    """Plans in rank order, renumbered 1..n after leaving out what cannot be published; each title keeps
    its ``previous_slots`` slot (folder -> slot) where the new order allows (``publish.order``)."""
    usable: list[tuple[RankedSource, str, list[FileSpec]]] = []
    skipped: list[str] = []
    seen: set[str] = set()
    for pick in picks:
        src = pick.source
        try:
            media = media_files(src, options)
        except UnpublishableTitle as exc:
            skipped.append(str(exc))
            continue
        folder = title_folder(src.name, src.year, src.provider_id)
        if folder in seen:
            continue
        seen.add(folder)
        usable.append((pick, folder, media))
    slots = assign_slots([folder for _, folder, _ in usable], previous_slots or {})
    plans = [
        plan_title(RankedSource(pick.source, rank, pick.explanation, slot), options, media)
        for rank, ((pick, _, media), slot) in enumerate(zip(usable, slots, strict=True), start=1)
    ]
    return plans, skipped


async def _publish_files(
    services: Services,
    row: PublishedLibrary,
    target: Target,
    plans: list[TitlePlan],
    outcome: LibraryResult,
    fault: Fault | None,
    known: Mapping[str, str],
) -> Path | None:
    """Write and swap in the new version; returns the previous version folder, for the caller to remove.
    ``known``: the content hash of each title folder as last published."""
    root = services.settings.resolved_strm_root
    directory = LibraryDir(root, target.folder)
    await asyncio.to_thread(directory.clean_debris)
    current = directory.current()
    present = {p.name for p in current.iterdir()} if current is not None else set()
    reuse = [p.folder for p in plans if known.get(p.folder) == p.content_hash and p.folder in present]
    reuse_set = set(reuse)
    changed = [p for p in plans if p.folder not in reuse_set]
    wanted = {p.folder for p in plans}
    outcome.reused, outcome.written = len(reuse), len(changed)
    outcome.removed = len(present - wanted)
    if current is not None and not changed and present == wanted:
        return None
    keep = {
        p.folder for p in changed if p.folder in present and images_of(known.get(p.folder)) == images_of(p.content_hash)
    }
    started = time.monotonic()
    titles = await materialise(changed, server=services.media_server, keep_images=keep)
    outcome.seconds["artwork"] = time.monotonic() - started
    started = time.monotonic()
    version = await asyncio.to_thread(directory.write_version, titles, reuse, fault=fault)
    try:
        previous = await asyncio.to_thread(directory.swap, version, fault=fault, keep_previous=True)
    except BaseException:
        if directory.current() != version:
            await asyncio.to_thread(remove_path, version)
        raise
    outcome.seconds["write"] = time.monotonic() - started
    outcome.files_changed = True
    # Only the rows of titles written or gone change: a reused title keeps its row (its slot is in its hash).
    now = datetime.now(UTC)
    rows = [
        {
            "library_id": int(row.id or 0),
            "folder_name": plan.folder,
            "item_id": plan.item_id,
            "rank": plan.slot,  # the column orders the titles; the slot does, and must survive
            "content_hash": plan.content_hash,
            "written_at": now,
        }
        for plan in changed
    ]
    async with services.sessions() as session:
        stale = delete(PublishedFile).where(
            col(PublishedFile.library_id) == row.id, col(PublishedFile.folder_name).not_in(reuse_set)
        )
        await session.exec(stale)
        if rows:
            await session.exec(insert(PublishedFile).values(rows))
        await session.commit()
    return previous


async def _withdraw(services: Services, server: MediaServer, row: PublishedLibrary, target: Target) -> None:
    """Take a library off the server (files stay) because it would be visible to the wrong people."""
    libraries = await server.list_libraries()
    path = server_path(services, target.folder).rstrip("/")
    for library in libraries:
        if library.id == row.provider_library_id or path in {loc.rstrip("/") for loc in library.locations}:
            await server.delete_library(library.name)
    await save_row(services, row, provider_library_id=None)


async def _on_server(
    services: Services,
    server: MediaServer,
    row: PublishedLibrary,
    target: Target,
    outcome: LibraryResult,
    files: PublishFileSettings,
) -> Library:
    started = time.monotonic()
    path = server_path(services, target.folder)
    libraries = await server.list_libraries()
    library, created = await ensure_library(
        server,
        name=target.name,
        collection_type=spec(target.media_type).collection_type,
        path=path,
        known_id=row.provider_library_id,
        libraries=libraries,
    )
    if library.id != row.provider_library_id or row.name != target.name:
        await save_row(services, row, provider_library_id=library.id, name=target.name)
    outcome.seconds["library"] = time.monotonic() - started
    step = time.monotonic()
    prefix = services.settings.resolved_strm_prefix
    if target.kind == "ai_picks" and target.user is not None:
        await access.grant_owner(server, target.user.provider_id, library.id, prefix, libraries)
    else:
        await access.grant_everyone(server, library.id)
    outcome.seconds["access"] = time.monotonic() - step
    if created or outcome.files_changed or row.status != "published":
        step = time.monotonic()
        outcome.server_titles = await refresh_and_verify(
            server,
            library,
            item_type=spec(target.media_type).kind,
            expected=outcome.titles,
            server_path=path,
            timeout_s=files.scan_timeout_s,
        )
        outcome.scanned = True
        outcome.seconds["scan"] = time.monotonic() - step
    outcome.seconds["server"] = time.monotonic() - started
    return library


async def publish_library(
    services: Services,
    target: Target,
    picks: Sequence[tuple[int, str | None]],
    progress: Progress,
    *,
    fault: Fault | None = None,
) -> LibraryResult:
    """Publish ``picks`` (item id, explanation) in order as ``target``; see the module docstring."""
    server = require_server(services)
    root = services.settings.resolved_strm_root
    outcome = LibraryResult(library=target.name, media_type=target.media_type)
    started = time.monotonic()
    await asyncio.to_thread(check_writable, root)
    if target.mode == "symlink":
        await asyncio.to_thread(check_symlinks, root)
    async with services.sessions() as session:
        files = await load(session, PUBLISH_FILES)
        publish: PublishSettings = await load(session, PUBLISH)
        sources = await load_sources(session, [item_id for item_id, _ in picks])
    key = f"{target.kind}:{target.media_type}:{target.user.id if target.user else '-'}"
    async with library_lock(services.engine, key):
        row = await library_row(services, target)
        try:
            if target.kind == "ai_picks" and target.user is not None:
                secure_started = time.monotonic()
                try:
                    outcome.converted_users = await access.secure_before_publish(
                        server,
                        owner_provider_id=target.user.provider_id,
                        library_name=target.name,
                        convert=publish.convert_all_folders_users,
                        prefix=services.settings.resolved_strm_prefix,
                    )
                except access.LeakRefused:
                    await _withdraw(services, server, row, target)
                    raise
                outcome.seconds["secure"] = time.monotonic() - secure_started
                if outcome.converted_users:
                    progress.log(f"converted to explicit library lists: {', '.join(outcome.converted_users)}")
            stream_url = None
            if files.strm_content == "stream_url" and target.mode == "strm":
                stream_url = _stream_url(server)
                progress.log(
                    f"{target.name}: WARNING: streaming-URL mode writes the media server's API key into .strm "
                    "files that every user of the server can read; prefer file paths (Settings → Publishing)."
                )
            chosen = [
                RankedSource(sources[i], rank, why) for rank, (i, why) in enumerate(picks, start=1) if i in sources
            ]
            options = PlanOptions(mode=target.mode, anchor=row.created_at, artwork=files.artwork, stream_url=stream_url)
            known, slots = await published_files(services, row)
            plans, outcome.skipped = build_plans(chosen, options, slots)
            for reason in outcome.skipped:
                progress.log(f"{target.name}: left out: {reason}")
            outcome.titles = len(plans)
            outcome.folders = {p.folder: p.item_id for p in plans}
            previous = await _publish_files(services, row, target, plans, outcome, fault, known)
            if row.mode != target.mode:
                await save_row(services, row, mode=target.mode)
            library = await _on_server(services, server, row, target, outcome, files)
            outcome.provider_library_id = library.id
            outcome.seconds["visible"] = time.monotonic() - started
        except (ProviderUnavailable, ScanTimeout) as exc:
            await save_row(services, row, status="failed", error=str(exc))
            raise
        except MediaServerError as exc:
            await save_row(services, row, status="failed", error=str(exc))
            raise JobError(f"{target.name}: {exc}") from exc
        except JobError as exc:
            await save_row(services, row, status="failed", error=str(exc))
            raise
        await save_row(services, row, status="published", error=None, published_at=datetime.now(UTC))
        # Only now, off the critical path: after a failure the next run's clean-up removes it instead.
        if previous is not None:
            await asyncio.to_thread(_retire, LibraryDir(services.settings.resolved_strm_root, target.folder), previous)
    progress.log(outcome.summary())
    return outcome


def _retire(directory: LibraryDir, previous: Path) -> None:
    """Remove the previous version (links only) and the stored titles only it linked to."""
    remove_path(previous)
    directory.prune_titles()


def _stream_url(server: MediaServer) -> StreamUrl:
    def url(provider_id: str) -> str:
        return server.stream_url(provider_id, with_key=True)

    return url


async def unpublish(services: Services, row: PublishedLibrary, progress: Progress) -> None:
    """Remove a library Marquee no longer publishes: from the server, from disk, from the database."""
    if services.media_server is not None and row.provider_library_id is not None:
        await remove_library(services.media_server, row.name)
    await asyncio.to_thread(LibraryDir(services.settings.resolved_strm_root, row.folder).remove)
    async with services.sessions() as session:
        await session.exec(delete(PublishedLibrary).where(PublishedLibrary.id == row.id))  # type: ignore[arg-type]
        await session.commit()
    progress.log(f"removed {row.name}")
