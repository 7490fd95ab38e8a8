"""``jellyfin-api-client``: a client generated from Jellyfin's OpenAPI whose attrs models refuse a value of the
wrong type or an enum member they do not know, so every answer below parsed as a real server's would."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from tests.outside_clients.conftest import Served

jac = pytest.importorskip("jellyfin_api_client")

from jellyfin_api_client import AuthenticatedClient  # noqa: E402
from jellyfin_api_client.api.collection import add_to_collection, create_collection  # noqa: E402
from jellyfin_api_client.api.configuration import get_configuration  # noqa: E402
from jellyfin_api_client.api.display_preferences import (  # noqa: E402
    get_display_preferences,
    update_display_preferences,
)
from jellyfin_api_client.api.genres import get_genres  # noqa: E402
from jellyfin_api_client.api.image import get_item_image_infos  # noqa: E402
from jellyfin_api_client.api.items import get_item_user_data, get_items  # noqa: E402
from jellyfin_api_client.api.library import get_item_counts, get_media_folders  # noqa: E402
from jellyfin_api_client.api.library_structure import get_virtual_folders  # noqa: E402
from jellyfin_api_client.api.playlists import add_item_to_playlist, create_playlist, get_playlist_items  # noqa: E402
from jellyfin_api_client.api.playstate import mark_played_item, mark_unplayed_item  # noqa: E402
from jellyfin_api_client.api.scheduled_tasks import get_tasks, start_task  # noqa: E402
from jellyfin_api_client.api.session import get_sessions  # noqa: E402
from jellyfin_api_client.api.studios import get_studios  # noqa: E402
from jellyfin_api_client.api.system import get_system_info  # noqa: E402
from jellyfin_api_client.api.tv_shows import get_episodes, get_seasons  # noqa: E402
from jellyfin_api_client.api.user import delete_user, get_user_by_id, get_users  # noqa: E402
from jellyfin_api_client.api.user_library import get_item, get_latest_media, mark_favorite_item  # noqa: E402
from jellyfin_api_client.api.user_views import get_user_views  # noqa: E402
from jellyfin_api_client.models import (  # noqa: E402
    BaseItemKind,
    CreatePlaylistDto,
    DisplayPreferencesDto,
    DisplayPreferencesDtoCustomPrefs,
    ItemFields,
    ItemSortBy,
    MediaType,
)


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, (response.status_code, response.content[:300])
    if status == 200:
        assert response.parsed is not None
    return response.parsed


async def test_jellyfin_api_client_parses_every_answer(jellyfin: Served) -> None:
    sim = jellyfin.sim
    sim.play_start("bob", jellyfin.ids("Movie")[1])
    async with AuthenticatedClient(
        base_url=jellyfin.url, token=f'Token="{jellyfin.key}"', prefix="MediaBrowser", raise_on_unexpected_status=True
    ) as client:
        alice = UUID(jellyfin.user_id("alice"))
        info = ok(await get_system_info.asyncio_detailed(client=client))
        assert info.version == sim.version and info.product_name == "Jellyfin Server"
        users = ok(await get_users.asyncio_detailed(client=client))
        assert {u.name for u in users} == {"admin", "alice", "bob"}
        assert ok(await get_user_by_id.asyncio_detailed(alice, client=client)).policy.is_administrator is False
        folders = ok(await get_virtual_folders.asyncio_detailed(client=client))
        assert [f.name for f in folders] == ["Movies", "Shows"]
        views = ok(await get_user_views.asyncio_detailed(client=client, user_id=alice))
        assert len(views.items) == 2
        assert ok(await get_media_folders.asyncio_detailed(client=client)).total_record_count == 2

        fields = [
            ItemFields.GENRES,
            ItemFields.OVERVIEW,
            ItemFields.PROVIDERIDS,
            ItemFields.MEDIASOURCES,
            ItemFields.PEOPLE,
            ItemFields.STUDIOS,
            ItemFields.SORTNAME,
            ItemFields.DATECREATED,
        ]
        movies = ok(
            await get_items.asyncio_detailed(
                client=client,
                user_id=alice,
                recursive=True,
                include_item_types=[BaseItemKind.MOVIE],
                fields=fields,
                sort_by=[ItemSortBy.SERIESSORTNAME, ItemSortBy.SORTNAME],
                enable_user_data=True,
                limit=10,
            )
        )
        assert movies.total_record_count == 24 and len(movies.items) == 10
        first = movies.items[0]
        assert first.media_sources[0].media_streams and first.provider_ids["Imdb"].startswith("tt")
        assert first.user_data is not None
        item = ok(await get_item.asyncio_detailed(first.id, client=client, user_id=alice))
        assert item.name == first.name
        series_list = ok(
            await get_items.asyncio_detailed(
                client=client, recursive=True, include_item_types=[BaseItemKind.SERIES], user_id=alice
            )
        )
        series = series_list.items[0]
        assert series.status is not None and series.air_days
        seasons = ok(await get_seasons.asyncio_detailed(series.id, client=client, user_id=alice))
        episodes = ok(
            await get_episodes.asyncio_detailed(series.id, client=client, user_id=alice, season_id=seasons.items[0].id)
        )
        assert episodes.items and all(e.season_id == seasons.items[0].id for e in episodes.items)
        latest = ok(await get_latest_media.asyncio_detailed(client=client, user_id=alice, limit=5))
        assert 0 < len(latest) <= 5
        assert ok(await get_item_counts.asyncio_detailed(client=client, user_id=alice)).movie_count == 24
        assert ok(await get_genres.asyncio_detailed(client=client, user_id=alice)).total_record_count > 0
        assert ok(await get_studios.asyncio_detailed(client=client, user_id=alice)).total_record_count > 0

        played = ok(await mark_played_item.asyncio_detailed(first.id, client=client, user_id=alice))
        assert played.played is True
        assert ok(await mark_unplayed_item.asyncio_detailed(first.id, client=client, user_id=alice)).played is False
        favourite = ok(await mark_favorite_item.asyncio_detailed(first.id, client=client, user_id=alice))
        assert favourite.is_favorite is True
        data = ok(await get_item_user_data.asyncio_detailed(first.id, client=client, user_id=alice))
        assert data.is_favorite is True and data.played is False

        ids = [UUID(i) for i in jellyfin.ids("Movie")[:4]]
        created = ok(
            await create_playlist.asyncio_detailed(
                client=client,
                body=CreatePlaylistDto(
                    name="Client picks", ids=[str(i) for i in ids[:2]], user_id=str(alice), media_type=MediaType.VIDEO
                ),
            )
        )
        ok(await add_item_to_playlist.asyncio_detailed(created.id, client=client, ids=ids[2:], user_id=alice), 204)
        entries = ok(await get_playlist_items.asyncio_detailed(UUID(created.id), client=client, user_id=alice))
        assert [UUID(e.id) for e in entries.items] == ids
        collection = ok(await create_collection.asyncio_detailed(client=client, name="Client set", ids=[str(ids[0])]))
        ok(await add_to_collection.asyncio_detailed(UUID(collection.id), client=client, ids=ids[1:2]), 204)
        assert len(sim.item(collection.id).children) == 2

        images = ok(await get_item_image_infos.asyncio_detailed(first.id, client=client))
        assert {i.image_type.value for i in images} == {"Primary", "Backdrop"}
        tasks = ok(await get_tasks.asyncio_detailed(client=client, is_hidden=False))
        scan = next(t for t in tasks if t.key == "RefreshLibrary")
        ok(await start_task.asyncio_detailed(scan.id, client=client), 204)
        await sim.wait_scans()
        assert ok(await get_configuration.asyncio_detailed(client=client)).server_name == sim.server_name
        sessions = ok(await get_sessions.asyncio_detailed(client=client))
        assert [s.user_name for s in sessions] == ["bob"] and sessions[0].now_playing_item is not None
        prefs = DisplayPreferencesDto(
            sort_by="DateCreated", custom_prefs=DisplayPreferencesDtoCustomPrefs.from_dict({"x": "y"})
        )
        ok(
            await update_display_preferences.asyncio_detailed(
                "usersettings", client=client, body=prefs, user_id=alice, client_query="web"
            ),
            204,
        )
        read = ok(
            await get_display_preferences.asyncio_detailed(
                "usersettings", client=client, user_id=alice, client_query="web"
            )
        )
        assert read.sort_by == "DateCreated" and read.custom_prefs.to_dict() == {"x": "y"}
        ok(await delete_user.asyncio_detailed(UUID(jellyfin.user_id("bob")), client=client), 204)
        assert {u.name for u in ok(await get_users.asyncio_detailed(client=client))} == {"admin", "alice"}
