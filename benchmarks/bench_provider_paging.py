"""Page through a 50,000-item simulated library with the provider and print items/s.

Run: ``.venv/bin/python -m benchmarks.bench_provider_paging [--items 50000] [--flavor jellyfin]``
"""

from __future__ import annotations

import argparse
import asyncio
import time

from providers.mediabrowser import make_client
from providers.simulator import Simulator, serve_simulator, synthetic_catalog


async def run(items: int, flavor: str, page_sizes: list[int]) -> None:
    started = time.perf_counter()
    sim = Simulator(flavor, catalog=synthetic_catalog(items, 0), users=1)  # type: ignore[arg-type]
    print(f"simulator with {items:,} movies built in {time.perf_counter() - started:.1f} s")
    async with serve_simulator(sim) as url:
        provider = make_client(flavor, url, sim.admin_api_key)  # type: ignore[arg-type]
        user = sim.user("alice").id
        try:
            for page_size in page_sizes:
                for with_user in (False, True):
                    started, cpu = time.perf_counter(), time.process_time()
                    count = 0
                    async for _item in provider.iter_items(
                        ["Movie"], user_id=user if with_user else None, page_size=page_size
                    ):
                        count += 1
                    seconds = time.perf_counter() - started
                    cpu_seconds = time.process_time() - cpu
                    assert count == items, count
                    label = "with user data" if with_user else "no user      "
                    print(
                        f"{flavor} page_size={page_size:<5} {label}: {count:,} items in {seconds:.2f} s "
                        f"= {count / seconds:,.0f} items/s (CPU {cpu_seconds:.1f} s, server and client share it)"
                    )
        finally:
            await provider.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--flavor", choices=["jellyfin", "emby"], default="jellyfin")
    parser.add_argument("--page-size", type=int, action="append", dest="page_sizes")
    args = parser.parse_args()
    asyncio.run(run(args.items, args.flavor, args.page_sizes or [500, 1000]))


if __name__ == "__main__":
    main()
