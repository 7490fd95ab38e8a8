"""A simulated Jellyfin/Emby's catalogue and users mirrored straight into Marquee's tables, and finished
recommendation runs made by hand: what publishing benchmarks and tests start from without running the sync
or the recommender. Not test code: ``benchmarks`` import nothing from ``tests``; ``tests/publish`` uses it too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from providers.base import MediaServer
from providers.simulator.state import Simulator
from sidecar.db.models import AppUser, Item, Recommendation, RecommendationRun
from sidecar.db.models import MediaServer as MediaServerRow
from sidecar.services import Services

__all__ = ["World", "mirror", "set_picks"]


@dataclass
class World:
    sim: Simulator
    server: MediaServer
    users: dict[str, AppUser]
    movies: list[Item]  # in catalogue order
    series: list[Item]
    items_by_provider: dict[str, Item] = field(default_factory=dict)


async def mirror(services: Services, sim: Simulator, server: MediaServer) -> World:
    async with services.sessions() as session:
        row = MediaServerRow(kind=server.kind, url=server.base_url, name="sim")
        session.add(row)
        await session.commit()
        await session.refresh(row)
        server_id = int(row.id or 0)
        users: dict[str, AppUser] = {}
        for user in await server.list_users():
            app_user = AppUser(
                server_id=server_id,
                provider_id=user.id,
                name=user.name,
                is_admin=user.is_admin,
                enable_all_folders=user.enable_all_folders,
            )
            session.add(app_user)
            users[user.name] = app_user
        await session.commit()
        by_provider: dict[str, Item] = {}
        pending_episodes = []
        async for item in server.iter_items(["Movie", "Series", "Episode"]):
            row_item = Item(
                server_id=server_id,
                provider_id=item.id,
                kind=item.type,
                name=item.name,
                original_title=item.original_title,
                year=item.year,
                premiere_date=item.premiere_date,
                overview=item.overview,
                tagline=item.tagline,
                genres=item.genres,
                studios=item.studios,
                people=[{"name": p.name, "role": p.role, "type": p.type} for p in item.people],
                community_rating=item.community_rating,
                official_rating=item.official_rating,
                runtime_ticks=item.runtime_ticks,
                path=item.path,
                provider_ids=item.provider_ids,
                image_tags=item.image_tags,
                season_number=item.parent_index_number,
                episode_number=item.index_number,
            )
            session.add(row_item)
            by_provider[item.id] = row_item
            if item.type == "Episode":
                pending_episodes.append((row_item, item.series_id))
        await session.commit()
        for episode, series_pid in pending_episodes:
            if series_pid in by_provider:
                episode.series_id = by_provider[series_pid].id
                session.add(episode)
        await session.commit()
        for app_user in users.values():
            await session.refresh(app_user)
        for value in by_provider.values():
            await session.refresh(value)
    movies = [i for i in by_provider.values() if i.kind == "Movie"]
    shows = [i for i in by_provider.values() if i.kind == "Series"]
    return World(sim, server, users, movies, shows, by_provider)


async def set_picks(
    services: Services,
    user: AppUser,
    media_type: str,
    items: Sequence[Item],
    *,
    explanation: str = "Because you watched things like it.",
    age_s: float = 0.0,
) -> int:
    """A finished recommendation run holding ``items`` in this rank order; returns the run id."""
    finished = datetime.now(UTC) - timedelta(seconds=age_s)
    async with services.sessions() as session:
        run = RecommendationRun(user_id=int(user.id or 0), media_type=media_type, status="done", finished_at=finished)
        session.add(run)
        await session.commit()
        await session.refresh(run)
        for rank, item in enumerate(items, start=1):
            session.add(
                Recommendation(
                    run_id=int(run.id or 0),
                    user_id=int(user.id or 0),
                    media_type=media_type,
                    item_id=int(item.id or 0),
                    rank=rank,
                    score=1.0 / rank,
                    match_pct=90,
                    explanation=f"{explanation} #{rank}",
                )
            )
        await session.commit()
        return int(run.id or 0)
