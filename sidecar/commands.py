"""The subcommands of ``marquee`` built on the rest of Marquee: simulator, evaluate, run-job and demo (wired
in ``sidecar.cli.build_parser``)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from sqlmodel import col, select

from sidecar.cli import _load_settings, _prepare
from sidecar.db.models import JobRun
from sidecar.errors import ConfigError, JobError
from sidecar.media_types import MEDIA_TYPES
from sidecar.services import Services

# The demo pipeline, in order: what a new installation runs once.
PIPELINE = (
    "initial-sync",
    "generate-embeddings",
    "generate-series-embeddings",
    "generate-recommendations",
    "generate-series-recommendations",
    "sync-movie-libraries",
    "sync-series-libraries",
    "refresh-top-picks",
)


# --- simulator --------------------------------------------------------------------------------------


def simulator_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("args", nargs=argparse.REMAINDER, help="see `marquee simulator -- --help`")


def cmd_simulator(args: argparse.Namespace) -> int:
    from providers.simulator.serve import run_simulator_cli

    rest = [a for a in args.args if a != "--"]
    return run_simulator_cli(rest)


# --- evaluate ---------------------------------------------------------------------------------------


def evaluate_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dataset",
        type=Path,
        default=Path("."),
        help="folder with movies.jsonl and ratings.csv (default: the current directory), e.g. ../shared/data",
    )
    parser.add_argument("--movies", type=Path, default=None, help="movies.jsonl (default: DATASET/movies.jsonl)")
    parser.add_argument("--ratings", type=Path, default=None, help="ratings.csv (default: DATASET/ratings.csv)")
    parser.add_argument("--cache-dir", type=Path, default=None, help="embedding cache (default DATA_DIR/eval-cache)")
    parser.add_argument("--limit-users", type=int, default=None, help="evaluate only the first N users")


def cmd_evaluate(args: argparse.Namespace) -> int:
    from sidecar.evaluate import run_evaluation

    movies = args.movies or args.dataset / "movies.jsonl"
    ratings = args.ratings or args.dataset / "ratings.csv"
    missing = [str(path.resolve()) for path in (movies, ratings) if not path.is_file()]
    if missing:
        raise ConfigError(
            f"evaluate needs {' and '.join(missing)}: pass --dataset (the folder with movies.jsonl and "
            "ratings.csv, e.g. --dataset ../shared/data) or --movies and --ratings"
        )
    cache = args.cache_dir or _load_settings().resolved_data_dir / "eval-cache"
    run_evaluation(movies, ratings, cache_dir=cache, limit_users=args.limit_users)
    return 0


# --- run-job ----------------------------------------------------------------------------------------


async def run_and_wait(
    services: Services, name: str, *, timeout_s: float = 3600, out: Any = print, **kwargs: Any
) -> JobRun:
    """Enqueue job ``name`` (or join the one already queued under its name) and follow it to the end."""
    from sidecar.jobs.queue import enqueue

    since = datetime.now(UTC) - timedelta(seconds=1)
    # A whole job is queued under its own name everywhere, so this joins a run already queued or running.
    if await enqueue(services.redis, name, job_id=name, **kwargs) is None:
        async with services.sessions() as session:
            running = (
                await session.exec(select(JobRun.started_at).where(JobRun.job_name == name, JobRun.status == "running"))
            ).all()
        since = min([since, *running])
    deadline = time.monotonic() + timeout_s
    shown = ""
    while time.monotonic() < deadline:
        async with services.sessions() as session:
            run = (
                await session.exec(
                    select(JobRun)
                    .where(JobRun.job_name == name, col(JobRun.started_at) >= since)
                    .order_by(col(JobRun.started_at).desc())
                )
            ).first()
        if run is not None:
            total = f"/{run.progress_total}" if run.progress_total else ""
            line = f"  {name}: {run.progress_current}{total} {run.message}".rstrip()
            if line != shown and (run.progress_current or run.message):
                out(line)
                shown = line
            if run.status == "done":
                return run
            if run.status == "failed":
                raise JobError(f"{name} failed: {run.error}")
        await asyncio.sleep(0.25)
    raise JobError(f"{name} did not finish within {timeout_s:.0f}s")


def run_job_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="job name (see the admin Jobs page), e.g. initial-sync")


def cmd_run_job(args: argparse.Namespace) -> int:
    from sidecar.jobs.registry import load_jobs
    from sidecar.services import open_services

    jobs = load_jobs()
    if args.name not in jobs:
        raise ConfigError(f"unknown job '{args.name}'; known jobs: {', '.join(sorted(jobs))}")
    settings = _load_settings().with_persisted_secrets()
    resolved, infra = _prepare(settings)

    async def main() -> None:
        services = await open_services(resolved, infra.database_url, infra.redis_url)
        try:
            run = await run_and_wait(services, args.name)
            print(f"{args.name}: done {run.result}")
        finally:
            await services.aclose()

    try:
        asyncio.run(main())
    finally:
        infra.close()
    return 0


# --- demo -------------------------------------------------------------------------------------------


def demo_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--flavor", choices=["jellyfin", "emby"], default="jellyfin")
    parser.add_argument("--movies", type=int, default=300, help="movies in the demo catalogue")
    parser.add_argument("--series", type=int, default=30, help="series in the demo catalogue")
    parser.add_argument("--users", type=int, default=4, help="demo users (each with a watch history)")
    parser.add_argument("--simulator-port", type=int, default=0, help="default: a free port")
    parser.add_argument("--exit-after-setup", action="store_true", help="stop once the pipeline has run")


def cmd_demo(args: argparse.Namespace) -> int:
    from sidecar.runtime import exit_cleanly_on_sigterm

    exit_cleanly_on_sigterm()
    settings = _load_settings()
    demo_dir = settings.resolved_data_dir / "demo"
    settings = settings.model_copy(
        update={
            "data_dir": demo_dir,
            "strm_root": settings.strm_root or demo_dir / "libraries",
            "strm_path_prefix": None,
        }
    ).with_persisted_secrets()
    resolved, infra = _prepare(settings)
    try:
        asyncio.run(_demo(resolved, args))
    except KeyboardInterrupt:
        print("\nstopped")
    finally:
        infra.close()
    return 0


async def _demo(settings: Any, args: argparse.Namespace) -> None:
    import uvicorn

    from providers.simulator.catalog import synthetic_catalog
    from providers.simulator.serve import serve_simulator
    from providers.simulator.state import Simulator
    from sidecar.app import create_app
    from sidecar.runtime import tune_gc

    demo_dir = settings.resolved_data_dir
    print(f"Starting a simulated {args.flavor} with {args.movies} movies, {args.series} series, {args.users} users…")
    sim = Simulator(
        args.flavor,
        catalog=synthetic_catalog(args.movies, args.series),
        users=args.users,
        seed_history=True,
        media_root=demo_dir / "media",
        api_key=_demo_api_key(demo_dir),
    )
    async with serve_simulator(sim, port=args.simulator_port or None) as sim_url:
        marquee_url = f"http://{settings.host}:{settings.port}"
        settings = settings.model_copy(
            update={
                "media_server_type": args.flavor,
                "media_server_url": sim_url,
                "media_server_api_key": SecretStr(sim.admin_api_key),
                "base_url": marquee_url,
            }
        )
        token = settings.secret_value("webhook_secret")
        sim.webhooks.add_target(f"{marquee_url}/webhooks/{args.flavor}?token={token}")
        app = create_app(settings, run_worker=True)
        tune_gc()
        server = uvicorn.Server(
            uvicorn.Config(
                app,
                host=settings.host,
                port=settings.port,
                log_level="warning",
                lifespan="on",
                proxy_headers=False,  # X-Forwarded-For is Marquee's business (MARQUEE_TRUSTED_PROXIES)
            )
        )
        server_task = asyncio.create_task(server.serve())
        while not server.started:
            if server_task.done():
                server_task.result()
                raise ConfigError(f"Marquee could not start on {marquee_url} (is the port in use? MARQUEE_PORT)")
            await asyncio.sleep(0.05)
        try:
            services: Services = app.state.services
            await _opt_in_to_private_libraries(services)
            await _demo_top_picks(services)
            print(f"Marquee is up on {marquee_url}; running the first pipeline:")
            started = time.monotonic()
            for name in PIPELINE:
                await run_and_wait(services, name)
                print(f"✓ {name}")
            print(f"Pipeline done in {time.monotonic() - started:.1f}s.\n")
            await _print_where_to_look(services, sim, sim_url, marquee_url)
            if args.exit_after_setup:
                return
            print("\nServing until Ctrl+C. Play something in the simulator and watch that user's AI Picks change.")
            await server_task
        finally:
            server.should_exit = True
            with contextlib.suppress(Exception):
                await server_task


async def _opt_in_to_private_libraries(services: Services) -> None:
    """Demo users see all libraries (the servers' default); the demo takes the admin option that gives them
    explicit folder lists, so each AI Picks library stays private (a real admin chooses it in Settings)."""
    from sidecar import runtime_settings

    async with services.sessions() as session:
        publish = await runtime_settings.load(session, runtime_settings.PUBLISH)
        if not publish.convert_all_folders_users:
            await runtime_settings.save(
                session, runtime_settings.PUBLISH, publish.model_copy(update={"convert_all_folders_users": True})
            )


async def _demo_top_picks(services: Services) -> None:
    """The simulated histories span ~4 months and a few users: look back that far, count every viewer, and
    show all three outputs (library, collection, playlist)."""
    from sidecar import runtime_settings

    async with services.sessions() as session:
        for media_type in MEDIA_TYPES:
            key = runtime_settings.top_picks_key(media_type)
            current = await runtime_settings.load(session, key)
            outputs = current.outputs.model_copy(update={"collection": True, "playlist": True})
            await runtime_settings.save(
                session,
                key,
                current.model_copy(update={"window_days": 150, "min_viewers": 1, "outputs": outputs}),
            )


def _demo_api_key(demo_dir: Path) -> str:
    """The simulator's admin key, kept in the demo dir so restarts reuse it (like a real server's key)."""
    import secrets

    path = demo_dir / "simulator-api-key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(16)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(key)
    path.chmod(0o600)
    return key


async def _print_where_to_look(services: Services, sim: Any, sim_url: str, marquee_url: str) -> None:
    server = services.media_server
    assert server is not None
    libraries = await server.list_libraries()
    by_id = {lib.id: lib for lib in libraries}
    print("Libraries on the simulated server:")
    for lib in libraries:
        print(f"  {lib.name}  ({lib.collection_type or 'mixed'})")
    for user in await server.list_users():
        visible = [by_id[f] for f in user.enabled_folders if f in by_id] if not user.enable_all_folders else libraries
        picks = [lib for lib in visible if lib.name.startswith(services.settings.library_name_prefix)]
        for lib in picks:
            titles = [item.name async for item in _first_items(server, lib.id, user.id, 5)]
            print(f"\n{user.name} sees '{lib.name}': {', '.join(titles)}{' …' if len(titles) == 5 else ''}")
    tops = [lib for lib in libraries if lib.name.startswith("Top Picks")]
    for lib in tops:
        titles = [item.name async for item in _first_items(server, lib.id, None, 5)]
        print(f"\n'{lib.name}': {', '.join(titles) or '(no plays in the window yet)'}")
    users = ", ".join(f"{u.name} / {u.password}" for u in sim.user_list())
    print(f"\nWeb UI: {marquee_url}  (log in as one of: {users})")
    print(f"Simulated server: {sim_url}  (API key in {services.settings.resolved_data_dir / 'simulator-api-key'})")


async def _first_items(server: Any, library_id: str, user_id: str | None, limit: int) -> Any:
    count = 0
    async for item in server.iter_items(None, parent_id=library_id, user_id=user_id):
        yield item
        count += 1
        if count >= limit:
            return
