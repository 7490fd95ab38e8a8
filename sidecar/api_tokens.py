"""API tokens for scripts: an admin creates one for a user, the token acts as that user.

The token is ``mq_`` + 43 URL-safe characters (256 random bits). Only its SHA-256 is stored (``api_token``):
a hash of that much randomness needs no salt or slow hash, and the value itself is shown once, at creation,
and never again (nor logged). A revoked token, or one whose owner left the media server or was disabled,
authenticates nobody.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from sidecar.db.models import ApiToken, AppUser
from sidecar.errors import InvalidInput, NotFound

PREFIX = "mq_"
NAME_MAX = 100
LAST_USED_EVERY = timedelta(minutes=1)  # at most one write per token a minute for "last used"


@dataclass(frozen=True)
class TokenView:
    id: int
    name: str
    user_id: int
    user_name: str
    created_at: str
    last_used_at: str | None
    revoked_at: str | None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _view(token: ApiToken, owner: AppUser) -> TokenView:
    assert token.id is not None
    return TokenView(
        id=token.id,
        name=token.name,
        user_id=token.user_id,
        user_name=owner.name,
        created_at=token.created_at.isoformat(),
        last_used_at=_iso(token.last_used_at),
        revoked_at=_iso(token.revoked_at),
    )


def check_name(name: object) -> str:
    text = str(name or "").strip()
    if not text:
        raise InvalidInput("name: give the token a name that says which script uses it")
    if len(text) > NAME_MAX or any(ord(c) < 32 for c in text):
        raise InvalidInput(f"name: at most {NAME_MAX} characters, no control characters")
    return text


async def create(session: AsyncSession, name: str, user_id: int, created_by: int) -> tuple[TokenView, str]:
    """A new token for ``user_id``: its view and the token value, which nothing keeps."""
    owner = await session.get(AppUser, user_id)
    if owner is None or owner.gone_at is not None:
        raise InvalidInput(f"user_id: there is no user {user_id}")
    token = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(name=check_name(name), user_id=user_id, token_hash=hash_token(token), created_by=created_by)
    session.add(row)
    await session.commit()
    await session.refresh(row)
    return _view(row, owner), token


async def list_tokens(session: AsyncSession, *, revoked: bool = False) -> list[TokenView]:
    query = select(ApiToken, AppUser).join(AppUser, col(AppUser.id) == col(ApiToken.user_id))
    if not revoked:
        query = query.where(col(ApiToken.revoked_at).is_(None))
    rows = (await session.exec(query.order_by(col(ApiToken.created_at).desc(), col(ApiToken.id).desc()))).all()
    return [_view(token, owner) for token, owner in rows]


async def revoke(session: AsyncSession, token_id: int) -> TokenView:
    row = (
        await session.exec(
            select(ApiToken, AppUser)
            .join(AppUser, col(AppUser.id) == col(ApiToken.user_id))
            .where(col(ApiToken.id) == token_id)
        )
    ).first()
    if row is None:
        raise NotFound(f"There is no API token {token_id}.")
    token, owner = row
    if token.revoked_at is None:
        token.revoked_at = datetime.now(UTC)
        session.add(token)
        await session.commit()
        await session.refresh(token)
    return _view(token, owner)


async def owner_of(session: AsyncSession, token: str) -> tuple[ApiToken, AppUser] | None:
    """The live token and its owner, or None (unknown, revoked, owner gone or disabled); notes the use."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    row = (
        await session.exec(
            select(ApiToken, AppUser)
            .join(AppUser, col(AppUser.id) == col(ApiToken.user_id))
            .where(col(ApiToken.token_hash) == hash_token(token))
        )
    ).first()
    if row is None:
        return None
    found, owner = row
    if found.revoked_at is not None or owner.gone_at is not None or owner.is_disabled:
        return None
    now = datetime.now(UTC)
    if found.last_used_at is None or now - found.last_used_at >= LAST_USED_EVERY:
        found.last_used_at = now
        session.add(found)
        await session.commit()
    return found, owner
