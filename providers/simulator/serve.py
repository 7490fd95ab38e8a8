"""Serving a simulator: in-process on a free port (tests, demo) or from the command line."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import uvicorn

from providers.simulator.catalog import Catalog, load_catalog, synthetic_catalog
from providers.simulator.demo_catalogue import demo_catalogue, seed_taste_histories
from providers.simulator.state import EMBY_VERSIONS, Simulator


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def serve_simulator(sim: Simulator, *, host: str = "127.0.0.1", port: int | None = None) -> AsyncIterator[str]:
    """Serve ``sim`` with uvicorn inside the running event loop; yields its base URL."""
    port = port or free_port(host)
    base_url = f"http://{host}:{port}"
    sim.server_url = base_url
    config = uvicorn.Config(sim.app, host=host, port=port, log_level="warning", lifespan="on", access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
                raise RuntimeError(f"The simulator could not start on {base_url}")
            await asyncio.sleep(0.01)
        yield base_url
    finally:
        server.should_exit = True
        await task


DESCRIPTION = "Run a small simulated Jellyfin or Emby server."


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="marquee simulator", description=DESCRIPTION)
    add_arguments(parser)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The simulator's options, on its own parser and on ``marquee simulator``'s."""
    parser.add_argument("--flavor", choices=["jellyfin", "emby"], default="jellyfin")
    parser.add_argument(
        "--emby-version",
        choices=list(EMBY_VERSIONS),
        default="4.8",
        help="with --flavor emby: 4.9 refuses GET /Users (403) and serves /Users/Query and "
        "/Library/VirtualFolders/Query, as Emby 4.9 does (default: 4.8)",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8096)
    parser.add_argument("--catalog", type=Path, help="movies.jsonl (TV from netflix_titles.csv beside it)")
    parser.add_argument("--tv", type=Path, help="netflix_titles.csv for the series library")
    parser.add_argument("--max-series", type=int, default=200)
    parser.add_argument("--movies", type=int, help="movies in the catalogue (demo: at most 300; synthetic: 300)")
    parser.add_argument("--series", type=int, help="series in the catalogue (demo: at most 40; synthetic: 30)")
    parser.add_argument(
        "--synthetic", action="store_true", help="made-up titles (for scale tests) instead of the real demo titles"
    )
    parser.add_argument("--users", type=int, default=3)
    parser.add_argument("--seed-history", action="store_true", help="give users a watch history")
    parser.add_argument("--ratings", type=Path, help="ratings.csv to seed history from (with --seed-history)")
    parser.add_argument("--media-root", type=Path, help="create empty media files for every item here")
    parser.add_argument("--api-key", help="admin API key (default: random 32 hex)")
    parser.add_argument("--webhook", action="append", default=[], help="URL to POST webhooks to (repeatable)")
    parser.add_argument("--seed", type=int, default=0)


def simulator_from_args(args: argparse.Namespace) -> Simulator:
    catalog: Catalog
    if args.catalog or args.tv:
        catalog = load_catalog(args.catalog, args.tv, max_series=args.max_series)
    elif args.synthetic:
        catalog = synthetic_catalog(args.movies or 300, args.series or 30)
    else:
        catalog = demo_catalogue(args.movies, args.series)
    tastes = args.seed_history and not (args.catalog or args.tv or args.synthetic or args.ratings)
    history: bool | Path = False
    if args.seed_history:
        ratings = args.ratings
        if ratings is None and args.catalog and (args.catalog.parent / "ratings.csv").exists():
            ratings = args.catalog.parent / "ratings.csv"
        history = ratings if ratings is not None else not tastes
    sim = Simulator(
        args.flavor,
        catalog=catalog,
        users=args.users,
        seed_history=history,
        media_root=args.media_root,
        webhook_urls=args.webhook,
        api_key=args.api_key,
        seed=args.seed,
        server_url=f"http://{args.host}:{args.port}",
        emby_version=args.emby_version,
    )
    if tastes:
        seed_taste_histories(sim, seed=args.seed)
    return sim


def banner(sim: Simulator, url: str) -> str:
    movies = sum(1 for i in sim.items.values() if i.type == "Movie")
    series = sum(1 for i in sim.items.values() if i.type == "Series")
    lines = [
        f"{'Jellyfin' if sim.flavor == 'jellyfin' else 'Emby'} simulator '{sim.server_name}' ({sim.version}) on {url}"
        + ("/emby" if sim.flavor == "emby" else ""),
        f"  admin API key: {sim.admin_api_key}",
        f"  catalogue: {movies} movies, {series} series",
        "  users (name / password):",
        *(f"    {u.name} / {u.password}{'  (admin)' if u.is_admin else ''}" for u in sim.user_list()),
    ]
    if sim.webhooks.targets:
        lines.append("  webhooks: " + ", ".join(t.url for t in sim.webhooks.targets))
    return "\n".join(lines)


def run_simulator_cli(argv: Sequence[str] | None = None) -> int:
    """``python -m providers.simulator ...``: serve until interrupted."""
    return serve_from_args(build_parser().parse_args(argv))


def serve_from_args(args: argparse.Namespace) -> int:
    """Serve the simulator the parsed options describe until interrupted (``marquee simulator ...`` too)."""
    sim = simulator_from_args(args)
    print(banner(sim, f"http://{args.host}:{args.port}"), flush=True)
    config = uvicorn.Config(sim.app, host=args.host, port=args.port, log_level="warning", lifespan="on")
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.Server(config).run()
    return 0


if __name__ == "__main__":
    sys.exit(run_simulator_cli())
