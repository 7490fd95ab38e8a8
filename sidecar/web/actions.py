"""What the pages and the API change: user settings, channels, admin toggles, the webhook log (what an admin
does to jobs is ``sidecar.jobs.control``).

Inputs arrive validated (``sidecar.web.schemas``); these functions check what needs the database
(ids exist, the user may touch the row) and raise ``NotFound`` / ``Forbidden`` / ``InvalidInput``
(``sidecar.errors``) with a message for the person.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from sidecar import media_types
from sidecar import runtime_settings as rs
from sidecar.db.models import AppUser, Channel, ChannelShare, Item, Library, WebhookEvent
from sidecar.errors import Forbidden, InvalidInput, NotFound
from sidecar.media_types import spec
from sidecar.services import Services
from sidecar.sync.follow_up_requests import republish_request, request_follow_up
from sidecar.web.read_models import channels as channel_reads
from sidecar.web.read_models import users as user_reads
from sidecar.web.schemas import ChannelIn, LibraryPatch, UserPatch, UserSettingsIn


async def update_user_settings(
    session: AsyncSession, user_id: int, data: UserSettingsIn, explanations: rs.ExplanationSettings
) -> tuple[AppUser, frozenset[str]]:
    """Save the user's own settings; returns the row and the media types whose libraries must be rewritten
    (a new name, or explanations that now show or no longer do). Choosing explanations without the admin's
    grant is ``Forbidden``."""
    user = await user_reads.get_user(session, user_id)
    names_before: dict[str, str | None] = {
        mt: getattr(user, media_types.spec(mt).library_name_field) for mt in media_types.MEDIA_TYPES
    }
    shown_before = rs.effective_explanations(explanations, user)
    if rs.may_choose_explanations(explanations, user):
        user.show_explanations = data.show_explanations
    elif data.show_explanations is not None:
        raise Forbidden(
            "You cannot choose this: an administrator decides whether your libraries show \"why we picked this\"."
        )
    user.movies_library_name = data.movies_library_name
    user.series_library_name = data.series_library_name
    user.updated_at = datetime.now(UTC)
    session.add(user)
    await session.commit()
    await session.refresh(user)
    return user, _republish_requests(user, names_before, shown_before, explanations)


def _republish_requests(
    user: AppUser, names_before: dict[str, str | None], shown_before: bool, explanations: rs.ExplanationSettings
) -> frozenset[str]:
    """Follow-up requests rewriting the libraries whose name or explanations changed."""
    if rs.effective_explanations(explanations, user) != shown_before:
        changed: set[str] = set(media_types.MEDIA_TYPES)
    else:
        changed = {
            mt
            for mt in media_types.MEDIA_TYPES
            if getattr(user, media_types.spec(mt).library_name_field) != names_before[mt]
        }
    return frozenset(republish_request(mt) for mt in changed)


async def follow_up(services: Services, user_id: int, requests: frozenset[str]) -> None:
    """Queue the user's follow-up for ``requests`` (media types, or ``publish:<type>`` to only rewrite the
    libraries): their libraries change within seconds, not at the nightly job."""
    if requests:
        await request_follow_up(services.redis, user_id, requests)


async def _check_channel_refs(session: AsyncSession, owner_id: int, data: ChannelIn) -> None:
    if data.example_item_ids:
        kind = spec(data.media_type).kind
        found = set(
            (
                await session.exec(select(Item.id).where(col(Item.id).in_(data.example_item_ids), Item.kind == kind))
            ).all()
        )
        missing = [i for i in data.example_item_ids if i not in found]
        if missing:
            raise InvalidInput(f"example_item_ids: no {data.media_type} title with id {', '.join(map(str, missing))}")
    if owner_id in data.shared_with:
        raise InvalidInput("shared_with: a channel is always visible to its owner; do not share it with yourself")
    if data.shared_with:
        users = set(
            (
                await session.exec(
                    select(AppUser.id).where(col(AppUser.id).in_(data.shared_with), col(AppUser.gone_at).is_(None))
                )
            ).all()
        )
        unknown = [i for i in data.shared_with if i not in users]
        if unknown:
            raise InvalidInput(f"shared_with: no user with id {', '.join(map(str, unknown))}")


async def _set_shares(session: AsyncSession, channel_id: int, user_ids: list[int]) -> None:
    await session.exec(delete(ChannelShare).where(col(ChannelShare.channel_id) == channel_id))
    for uid in user_ids:
        session.add(ChannelShare(channel_id=channel_id, user_id=uid))


async def create_channel(session: AsyncSession, owner_id: int, data: ChannelIn) -> Channel:
    await _check_channel_refs(session, owner_id, data)
    channel = Channel(
        owner_id=owner_id,
        name=data.name,
        media_type=data.media_type,
        genre_filters=data.genre_filters,
        text_preferences=data.text_preferences,
        example_item_ids=data.example_item_ids,
    )
    session.add(channel)
    await session.flush()
    assert channel.id is not None
    await _set_shares(session, channel.id, data.shared_with)
    await session.commit()
    await session.refresh(channel)
    return channel


async def owned_channel(session: AsyncSession, channel_id: int, user_id: int) -> Channel:
    """A channel the user may change: invisible ones are NotFound, shared-but-not-owned Forbidden."""
    channel = await channel_reads.channel_visible(session, channel_id, user_id)
    if channel.owner_id != user_id:
        raise Forbidden("Only the channel's owner can change it.")
    return channel


async def update_channel(session: AsyncSession, channel_id: int, user_id: int, data: ChannelIn) -> Channel:
    channel = await owned_channel(session, channel_id, user_id)
    await _check_channel_refs(session, user_id, data)
    if channel.media_type != data.media_type:
        channel.item_ids = []  # the generated contents were of the other kind
    channel.name = data.name
    channel.media_type = data.media_type
    channel.genre_filters = data.genre_filters
    channel.text_preferences = data.text_preferences
    channel.example_item_ids = data.example_item_ids
    channel.updated_at = datetime.now(UTC)
    session.add(channel)
    assert channel.id is not None
    await _set_shares(session, channel.id, data.shared_with)
    await session.commit()
    await session.refresh(channel)
    return channel


async def delete_channel(session: AsyncSession, channel_id: int, user_id: int) -> None:
    channel = await owned_channel(session, channel_id, user_id)
    await session.delete(channel)
    await session.commit()


async def patch_library(session: AsyncSession, library_id: int, data: LibraryPatch) -> Library:
    library = await session.get(Library, library_id)
    if library is None or library.is_marquee_output:
        raise NotFound(f"There is no source library with id {library_id}.")
    library.enabled = data.enabled
    session.add(library)
    await session.commit()
    await session.refresh(library)
    return library


async def patch_user(
    session: AsyncSession, user_id: int, data: UserPatch, explanations: rs.ExplanationSettings
) -> tuple[AppUser, frozenset[str]]:
    """The admin's changes to a user; returns the row and the follow-up requests that bring their libraries
    in line: a type switched on gets picks and a library, one switched off loses its library, a change of
    their effective explanations rewrites both."""
    user = await user_reads.get_user(session, user_id)
    enabled_before = {mt: bool(getattr(user, media_types.spec(mt).user_flag)) for mt in media_types.MEDIA_TYPES}
    shown_before = rs.effective_explanations(explanations, user)
    if data.movies_enabled is not None:
        user.movies_enabled = data.movies_enabled
    if data.series_enabled is not None:
        user.series_enabled = data.series_enabled
    if data.may_override_explanations is not None:
        user.may_override_explanations = data.may_override_explanations
    user.updated_at = datetime.now(UTC)
    session.add(user)
    await session.commit()
    await session.refresh(user)
    requests: set[str] = set()
    for mt in media_types.MEDIA_TYPES:
        now_on = bool(getattr(user, media_types.spec(mt).user_flag))
        if now_on and not enabled_before[mt]:
            requests.add(mt)
        elif now_on != enabled_before[mt] or rs.effective_explanations(explanations, user) != shown_before:
            requests.add(republish_request(mt))
    return user, frozenset(requests)


async def clear_failed_webhooks(session: AsyncSession, status: str | None = None) -> int:
    """Delete the rejected and failed webhook events (or only ``status``) the admin has looked at; they are
    the only ones retention keeps until then."""
    statuses = [status] if status else ["rejected", "failed"]
    result = await session.exec(delete(WebhookEvent).where(col(WebhookEvent.status).in_(statuses)))
    await session.commit()
    return int(getattr(result, "rowcount", 0) or 0)


async def save_explanations(services: Services, new: rs.ExplanationSettings) -> int:
    """Save the global explanation settings and rewrite the libraries of every user whose effective value
    changed; returns how many users' libraries are being rewritten."""
    async with services.sessions() as session:
        old = await rs.load(session, rs.EXPLANATIONS)
        await rs.save(session, rs.EXPLANATIONS, new)
        users = await user_reads.live_users(session)
    changed = [u for u in users if rs.effective_explanations(old, u) != rs.effective_explanations(new, u)]
    for user in changed:
        await follow_up(services, int(user.id or 0), frozenset(republish_request(mt) for mt in media_types.MEDIA_TYPES))
    return len(changed)
