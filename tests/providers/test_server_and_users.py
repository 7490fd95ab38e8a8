from __future__ import annotations

import pytest

from providers.errors import ProviderAuthError, ProviderNotFound, ProviderResponseError
from providers.mediabrowser import make_client
from tests.providers.conftest import Served


async def test_server_info_names_the_server(served: Served) -> None:
    info = await served.provider.server_info()
    assert info.id == served.sim.server_id
    assert info.name == served.sim.server_name
    assert info.product == served.sim.flavor
    assert info.version == served.sim.version


async def test_wrong_flavour_is_reported_with_the_fix(served: Served) -> None:
    other = "emby" if served.sim.flavor == "jellyfin" else "jellyfin"
    client = make_client(other, served.url, served.sim.admin_api_key, retries=0)
    try:
        with pytest.raises((ProviderResponseError, ProviderNotFound)) as caught:
            await client.server_info()
        if isinstance(caught.value, ProviderResponseError):
            assert f"set the media server type to {served.sim.flavor}" in str(caught.value)
    finally:
        await client.aclose()


async def test_authenticate_user_returns_user_and_working_token(served: Served) -> None:
    alice = served.sim.user("alice")
    user, token = await served.provider.authenticate_user("alice", alice.password)
    assert user.id == alice.id and user.name == "alice" and not user.is_admin
    assert len(token) == 32
    as_alice = make_client(served.sim.flavor, served.url, token, retries=0)
    try:
        assert (await as_alice.server_info()).id == served.sim.server_id
        with pytest.raises(ProviderAuthError) as caught:
            await as_alice.list_libraries()  # admin only
        assert caught.value.status_code == 403
    finally:
        await as_alice.aclose()


async def test_wrong_password_is_an_auth_error_naming_the_user(served: Served) -> None:
    with pytest.raises(ProviderAuthError, match="wrong user name or password"):
        await served.provider.authenticate_user("alice", "nope")


async def test_list_and_get_users(served: Served) -> None:
    users = {u.name: u for u in await served.provider.list_users()}
    assert set(users) == {"admin", "alice", "bob"}
    assert users["admin"].is_admin and not users["bob"].is_admin
    assert users["alice"].enable_all_folders
    assert users["alice"].policy["IsAdministrator"] is False
    bob = await served.provider.get_user(users["bob"].id)
    assert bob == users["bob"]
    with pytest.raises(ProviderNotFound):
        await served.provider.get_user(
            "0" * 32 if served.sim.flavor == "jellyfin" else "ffffffffffffffffffffffffffffffff"
        )


async def test_set_user_folders_keeps_the_rest_of_the_policy(served: Served) -> None:
    provider = served.provider
    alice = await provider.get_user(served.user_id("alice"))
    policy = dict(alice.policy, EnableContentDownloading=False, RemoteClientBitrateLimit=4_000_000)
    await provider.update_user_policy(alice.id, policy)

    library = served.sim.movies_library.id
    updated = await provider.set_user_folders(alice.id, enable_all_folders=False, enabled_folders=[library])
    assert not updated.enable_all_folders and updated.enabled_folders == [library]
    assert updated.policy["EnableContentDownloading"] is False
    assert updated.policy["RemoteClientBitrateLimit"] == 4_000_000
    # Alice now sees movies but not shows.
    assert await provider.count_items(["Movie"], user_id=alice.id) == 40
    assert await provider.count_items(["Series"], user_id=alice.id) == 0


async def test_a_partial_policy_is_refused_or_resets_like_the_real_server(served: Served) -> None:
    alice_id = served.user_id("alice")
    if served.sim.flavor == "jellyfin":
        with pytest.raises(ProviderResponseError, match="AuthenticationProviderId"):
            await served.provider.update_user_policy(alice_id, {"EnableAllFolders": False})
    else:
        await served.provider.update_user_policy(alice_id, {"EnableAllFolders": False})
        assert (await served.provider.get_user(alice_id)).policy["EnableMediaPlayback"] is False
