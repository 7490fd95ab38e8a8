"""A library to publish (``Target``) and its rows in the database: the ``published_library`` row and the
``published_file`` rows of its titles as last published."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlmodel import select

from sidecar.db.models import AppUser, PublishedFile, PublishedLibrary
from sidecar.publish.titles import Mode
from sidecar.services import Services

Kind = Literal["ai_picks", "top_picks"]


@dataclass(frozen=True)
class Target:
    """One library to publish: whose, what, where, how."""

    kind: Kind
    media_type: str
    name: str
    folder: str  # relative to the STRM root
    mode: Mode
    user: AppUser | None = None  # the owner of an AI Picks library


async def library_row(services: Services, target: Target) -> PublishedLibrary:
    user_id = target.user.id if target.user is not None else None
    async with services.sessions() as session:
        query = select(PublishedLibrary).where(
            PublishedLibrary.kind == target.kind, PublishedLibrary.media_type == target.media_type
        )
        query = query.where(
            PublishedLibrary.user_id == user_id if user_id is not None else PublishedLibrary.user_id.is_(None)  # type: ignore[union-attr]
        )
        row = (await session.exec(query.order_by(PublishedLibrary.id))).first()  # type: ignore[arg-type]
        if row is None:
            row = PublishedLibrary(
                kind=target.kind,
                media_type=target.media_type,
                user_id=user_id,
                name=target.name,
                folder=target.folder,
                mode=target.mode,
            )
            session.add(row)
            await session.commit()
            await session.refresh(row)
        return row


async def save_row(services: Services, row: PublishedLibrary, **changes: object) -> None:
    async with services.sessions() as session:
        fresh = await session.get(PublishedLibrary, row.id)
        if fresh is None:
            return
        for key, value in changes.items():
            setattr(fresh, key, value)
            setattr(row, key, value)
        session.add(fresh)
        await session.commit()


async def published_files(services: Services, row: PublishedLibrary) -> tuple[dict[str, str], dict[str, int]]:
    """``(content hash, slot)`` by title folder, as last published (the ``rank`` column holds the slot)."""
    async with services.sessions() as session:
        rows = (await session.exec(select(PublishedFile).where(PublishedFile.library_id == row.id))).all()
    return {f.folder_name: f.content_hash for f in rows}, {f.folder_name: f.rank for f in rows}
