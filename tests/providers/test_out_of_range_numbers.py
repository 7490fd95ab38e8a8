"""Numbers from the media server that no column can hold (INTEGER years and episode numbers, BIGINT ticks)
or that are not finite are read as "unknown", so one odd field cannot fail a whole sync."""

from __future__ import annotations

from providers.simulator.state import SimUserData
from tests.providers.conftest import Served


async def test_numbers_beyond_their_columns_are_read_as_unknown(served: Served) -> None:
    provider, sim = served.provider, served.sim
    alice = served.user_id("alice")
    movie, other = [i for i in sim.items.values() if i.type == "Movie"][:2]
    movie.runtime_ticks = 2**63  # one beyond BIGINT
    movie.year = 2**31  # one beyond INTEGER
    movie.community_rating = 10**400  # an int no float can hold
    movie.index_number = -(2**31) - 1
    sim.user_data[(alice, sim.data_key(movie))] = SimUserData(
        last_saved=sim.epoch, play_count=2**40, position_ticks=2**64
    )
    other.runtime_ticks = 2**63 - 1  # the largest BIGINT is kept
    other.year = 2**31 - 1
    item = await provider.get_item(movie.id, user_id=alice)
    assert (item.runtime_ticks, item.year, item.community_rating, item.index_number) == (None, None, None, None)
    assert item.user_data is not None
    assert (item.user_data.position_ticks, item.user_data.play_count) == (0, 0)
    kept = await provider.get_item(other.id, user_id=alice)
    assert (kept.runtime_ticks, kept.year) == (2**63 - 1, 2**31 - 1)
