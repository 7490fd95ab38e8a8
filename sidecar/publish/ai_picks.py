"""AI Picks: one library per user and media type holding their current picks in rank order.

``publish_user`` republishes one user's libraries (the webhook follow-up); ``publish_everyone`` does all
users and removes libraries that no longer belong to anyone (user gone, disabled, or the type switched
off; also server libraries under our ``ai-picks`` folder that the database does not know). One user's
failure does not stop the others: it is logged, recorded on their library row and reported at the end.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import select

from providers.errors import ProviderUnavailable, ScanTimeout
from sidecar.db.models import AppUser, PublishedLibrary
from sidecar.errors import JobError
from sidecar.jobs.progress import Progress
from sidecar.media_types import spec
from sidecar.publish import access
from sidecar.publish.library import LibraryResult, publish_library, require_server, unpublish
from sidecar.publish.library_rows import Target
from sidecar.publish.naming import ai_picks_folder, ai_picks_library_name
from sidecar.publish.picks import current_picks, publishable_users
from sidecar.publish.server_library import remove_library
from sidecar.runtime_settings import (
    EXPLANATIONS,
    PUBLISH,
    PublishSettings,
    effective_explanations,
    effective_publish_mode,
    load,
)
from sidecar.services import Services

log = logging.getLogger(__name__)


@dataclass
class PublishReport:
    outcomes: list[LibraryResult] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "libraries": [o.summary() for o in self.outcomes],
            "removed": self.removed,
            "failed": self.failures,
        }

    def raise_failures(self) -> None:
        if self.failures:
            lines = "; ".join(f"{name}: {error}" for name, error in self.failures.items())
            raise JobError(f"{len(self.failures)} librar{'y' if len(self.failures) == 1 else 'ies'} failed: {lines}")


async def _target(services: Services, user: AppUser, media_type: str) -> Target:
    async with services.sessions() as session:
        publish = await load(session, PUBLISH)
    custom = getattr(user, spec(media_type).library_name_field)
    return Target(
        kind="ai_picks",
        media_type=media_type,
        name=ai_picks_library_name(services.settings.library_name_prefix, user.name, custom, media_type),
        folder=ai_picks_folder(user.provider_id, media_type),
        mode=effective_publish_mode(publish, services.settings),
        user=user,
    )


async def _rows(services: Services, media_type: str, user_id: int | None = None) -> list[PublishedLibrary]:
    async with services.sessions() as session:
        query = select(PublishedLibrary).where(
            PublishedLibrary.kind == "ai_picks", PublishedLibrary.media_type == media_type
        )
        if user_id is not None:
            query = query.where(PublishedLibrary.user_id == user_id)
        return list((await session.exec(query)).all())


async def publish_for(services: Services, user: AppUser, media_type: str, progress: Progress) -> LibraryResult | None:
    """Publish one user's library of one type; None when they have no picks and no library yet."""
    async with services.sessions() as session:
        picks = await current_picks(session, int(user.id or 0), media_type)
        shown = effective_explanations(await load(session, EXPLANATIONS), user)
    existing = await _rows(services, media_type, user.id)
    if not picks and not existing:
        progress.log(f"{user.name}: no {media_type} recommendations yet")
        return None
    target = await _target(services, user, media_type)
    return await publish_library(services, target, [(i, why if shown else None) for i, why in picks], progress)


async def publish_user(
    services: Services, user_id: int, media_types: frozenset[str] | set[str], progress: Progress
) -> PublishReport:
    """Republish only this user's libraries (after their recommendations changed)."""
    report = PublishReport()
    async with services.sessions() as session:
        user = await session.get(AppUser, user_id)
    if user is None:
        return report
    for media_type in sorted(media_types):
        if not is_eligible(user, media_type):
            for row in await _rows(services, media_type, user.id):
                await unpublish(services, row, progress)
                report.removed.append(row.name)
            continue
        outcome = await publish_for(services, user, media_type, progress)
        if outcome is not None:
            report.outcomes.append(outcome)
    return report


def is_eligible(user: AppUser, media_type: str) -> bool:
    wanted: bool = getattr(user, spec(media_type).user_flag)
    return wanted and user.gone_at is None and not user.is_disabled


async def _eligible(services: Services, media_type: str) -> list[AppUser]:
    async with services.sessions() as session:
        return await publishable_users(session, media_type)


async def publish_everyone(services: Services, media_type: str, progress: Progress) -> PublishReport:
    """Every eligible user's library of this type, then removal of libraries nobody owns any more."""
    server = require_server(services)
    report = PublishReport()
    users = await _eligible(services, media_type)
    async with services.sessions() as session:
        convert = (await load(session, PUBLISH)).convert_all_folders_users
    if convert:
        converted = await access.convert_all_folders_users(server, services.settings.resolved_strm_prefix)
        if converted:
            progress.log(f"converted to explicit library lists: {', '.join(converted)}")
    await progress.update(0, len(users), f"publishing {media_type}")
    for done, user in enumerate(users, start=1):
        try:
            outcome = await publish_for(services, user, media_type, progress)
        except (ProviderUnavailable, ScanTimeout):
            raise
        except JobError as exc:
            report.failures[user.name] = str(exc)
            progress.log(f"{user.name}: {exc}")
        else:
            if outcome is not None:
                report.outcomes.append(outcome)
        await progress.update(done, len(users), f"published {user.name}")
    keep = {u.id for u in users}
    for row in await _rows(services, media_type):
        if row.user_id not in keep:
            await unpublish(services, row, progress)
            report.removed.append(row.name)
    report.removed += await _remove_orphans(services, media_type)
    return report


async def _remove_orphans(services: Services, media_type: str) -> list[str]:
    """Server libraries in our ai-picks folder for this type that no row accounts for."""
    server = require_server(services)
    prefix = services.settings.resolved_strm_prefix
    known = {r.provider_library_id for r in await _rows(services, media_type)}
    removed: list[str] = []
    for library in await server.list_libraries():
        owner = access.ai_picks_owner(library, prefix)
        if owner is None or library.id in known:
            continue
        if not any(loc.rstrip("/").endswith(f"/{media_type}") for loc in library.locations):
            continue
        if await remove_library(server, library.name):
            removed.append(library.name)
    return removed


async def secure_changed_user(services: Services, user_provider_id: str) -> str | None:
    """A user was created or changed: make sure they cannot see other users' AI Picks (see ``access``)."""
    server = require_server(services)
    async with services.sessions() as session:
        publish: PublishSettings = await load(session, PUBLISH)
    note = await access.secure_user(
        server,
        user_provider_id,
        convert=publish.convert_all_folders_users,
        prefix=services.settings.resolved_strm_prefix,
    )
    if note is not None:
        log.log(logging.INFO if publish.convert_all_folders_users else logging.WARNING, "%s", note)
    return note
