"""Who may see which published library, enforced through each user's policy (``EnabledFolders``).

An AI Picks library is for its owner only. A user whose policy says "access to all libraries"
(``EnableAllFolders``, the servers' default) would see every user's AI Picks, so before such a library is
created or refreshed, either every such user is converted to an explicit folder list (their current
libraries, minus other users' AI Picks, plus their own) when the admin allowed it, or publishing stops
with ``LeakRefused``. Top Picks libraries are for everyone.

AI Picks libraries are recognised by where they live (``<prefix>/ai-picks/<user id>/…``), so the rule
holds even for libraries the database no longer knows.
"""

from __future__ import annotations

from collections.abc import Sequence

from providers.base import Library, MediaServer, User
from providers.errors import ProviderNotFound
from sidecar.errors import JobError
from sidecar.publish.naming import sanitise


class LeakRefused(JobError):
    """Publishing would show a user's AI Picks to other users; nothing was made visible."""


def _norm(path: str) -> str:
    return path.rstrip("/\\")


def ai_picks_owner(library: Library, prefix: str) -> str | None:
    """The (sanitised) server user id an AI Picks library belongs to, from its location."""
    marker = _norm(prefix) + "/ai-picks/"
    for location in library.locations:
        if location.startswith(marker):
            rest = location[len(marker) :].split("/", 1)[0]
            if rest:
                return rest
    return None


def owner_key(user_provider_id: str) -> str:
    return sanitise(user_provider_id, max_bytes=64, fallback="user")


def leak_targets(users: Sequence[User], owner_provider_id: str | None) -> list[User]:
    """Users who would see a new AI Picks library of ``owner_provider_id`` without being its owner."""
    return [u for u in users if u.enable_all_folders and u.id != owner_provider_id]


def leak_message(library_name: str, leakers: Sequence[User]) -> str:
    names = ", ".join(sorted(u.name for u in leakers))
    return (
        f'Refusing to publish {library_name!r}: {names} can see all libraries ("Enable access to all '
        'libraries"), so they would see it too. Turn on "Convert all-libraries users to an explicit list" '
        "in Settings → Publishing, or untick that option for them in the media server's dashboard."
    )


def explicit_folders(user: User, libraries: Sequence[Library], prefix: str) -> list[str]:
    """What an all-folders user keeps after conversion: every library except other users' AI Picks."""
    own = owner_key(user.id)
    keep: list[str] = []
    for library in libraries:
        owner = ai_picks_owner(library, prefix)
        if owner is None or owner == own:
            keep.append(library.id)
    return keep


async def convert_all_folders_users(server: MediaServer, prefix: str) -> list[str]:
    """Give every all-folders user an explicit folder list; returns the names of users converted."""
    users = await server.list_users()
    targets = [u for u in users if u.enable_all_folders]
    if not targets:
        return []
    libraries = await server.list_libraries()
    for user in targets:
        await server.set_user_folders(
            user.id, enable_all_folders=False, enabled_folders=explicit_folders(user, libraries, prefix)
        )
    return [u.name for u in targets]


async def secure_before_publish(
    server: MediaServer, *, owner_provider_id: str, library_name: str, convert: bool, prefix: str
) -> list[str]:
    """Make sure no one but the owner could see the owner's AI Picks; returns users converted.

    Raises ``LeakRefused`` when someone else sees all libraries and conversion is off.
    """
    leakers = leak_targets(await server.list_users(), owner_provider_id)
    if not leakers:
        return []
    if not convert:
        raise LeakRefused(leak_message(library_name, leakers))
    return await convert_all_folders_users(server, prefix)


async def secure_user(server: MediaServer, user_provider_id: str, *, convert: bool, prefix: str) -> str | None:
    """After a user was created or changed on the server: one who sees all libraries, and so other users'
    AI Picks, is converted to an explicit list when the admin allowed it. Returns what was done or, when
    conversion is off, the warning to act on; None when nothing needed doing."""
    try:
        user = await server.get_user(user_provider_id)
    except ProviderNotFound:
        return None
    if not user.enable_all_folders:
        return None
    libraries = await server.list_libraries()
    own = owner_key(user.id)
    if not any(ai_picks_owner(lib, prefix) not in (None, own) for lib in libraries):
        return None
    if not convert:
        return (
            f"{user.name} can see all libraries, including other users' AI Picks, until the next publish "
            'withdraws them; turn on "Convert all-libraries users" in Settings → Publishing.'
        )
    await server.set_user_folders(
        user.id, enable_all_folders=False, enabled_folders=explicit_folders(user, libraries, prefix)
    )
    return f"converted {user.name} to an explicit library list (other users' AI Picks hidden)"


async def grant_owner(
    server: MediaServer,
    user_provider_id: str,
    library_id: str,
    prefix: str,
    libraries: Sequence[Library] | None = None,
) -> bool:
    """Add the owner's AI Picks to their explicit list and drop anyone else's AI Picks from it.

    ``libraries``: the server's list, when the caller just read it (a library created since then is
    ``library_id`` itself, which is added anyway)."""
    user = await server.get_user(user_provider_id)
    if user.enable_all_folders:
        return False
    if libraries is None:
        libraries = await server.list_libraries()
    ai_owner = {lib.id: ai_picks_owner(lib, prefix) for lib in libraries}
    own = owner_key(user_provider_id)
    folders = [f for f in user.enabled_folders if ai_owner.get(f) in (None, own)]
    if library_id not in folders:
        folders.append(library_id)
    if folders == user.enabled_folders:
        return False
    await server.set_user_folders(user.id, enable_all_folders=False, enabled_folders=folders)
    return True


async def grant_everyone(server: MediaServer, library_id: str) -> int:
    """Add a shared library (Top Picks) to every explicit folder list; returns users changed."""
    changed = 0
    for user in await server.list_users():
        if user.enable_all_folders or library_id in user.enabled_folders:
            continue
        await server.set_user_folders(
            user.id, enable_all_folders=False, enabled_folders=[*user.enabled_folders, library_id]
        )
        changed += 1
    return changed
