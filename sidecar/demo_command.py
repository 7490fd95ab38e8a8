"""``marquee demo``: a simulated media server with real titles, Marquee on embedded defaults, the first pipeline
run to the end, then where to look (wired in ``sidecar.cli.build_parser``)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from sidecar.cli import _load_settings, _prepare
from sidecar.commands import run_and_wait
from sidecar.errors import ConfigError
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


def demo_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--flavor", choices=["jellyfin", "emby"], default="jellyfin")
    parser.add_argument(
        "--movies", type=int, default=None, help="movies in the catalogue (default: 300 real titles; synthetic: 300)"
    )
    parser.add_argument(
        "--series", type=int, default=None, help="series in the catalogue (default: the 40 real shows; synthetic: 30)"
    )
    parser.add_argument(
        "--synthetic", action="store_true", help="made-up titles and histories (scale tests) instead of real ones"
    )
    parser.add_argument("--users", type=int, default=4, help="demo users (each with a watch history in their taste)")
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


class _Every:
    """Prints a progress line at most every ``seconds`` (the first pipeline's progress, not every tick)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.last = 0.0

    def __call__(self, line: str) -> None:
        if time.monotonic() - self.last >= self.seconds:
            self.last = time.monotonic()
            print(line, flush=True)


async def _demo(settings: Any, args: argparse.Namespace) -> None:
    import uvicorn

    from providers.simulator.catalog import synthetic_catalog
    from providers.simulator.control_page import CONTROL, open_on_localhost
    from providers.simulator.demo_catalogue import demo_catalogue, seed_taste_histories
    from providers.simulator.serve import serve_simulator
    from providers.simulator.state import Simulator
    from sidecar.app import create_app
    from sidecar.runtime import tune_gc

    demo_dir = settings.resolved_data_dir
    if args.synthetic:
        catalogue = synthetic_catalog(args.movies or 300, args.series or 30)
    else:
        catalogue = demo_catalogue(args.movies, args.series)
    print(
        f"Starting a simulated {args.flavor} with {len(catalogue.movies)} {'made-up' if args.synthetic else 'real'} "
        f"movies, {len(catalogue.series)} series and {args.users} users…",
        flush=True,
    )
    sim = Simulator(
        args.flavor,
        catalog=catalogue,
        users=args.users,
        seed_history=args.synthetic,
        media_root=demo_dir / "media",
        api_key=_demo_api_key(demo_dir),
    )
    tastes = {} if args.synthetic else seed_taste_histories(sim)
    open_on_localhost(sim)  # the control page answers browsers on this machine without the API key
    async with serve_simulator(sim, port=args.simulator_port or None) as sim_url:
        marquee_url = f"http://{settings.host}:{settings.port}"
        control_url = f"{sim_url}{CONTROL}"
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
        app.state.demo_control_url = control_url  # templates/_partials/demo_links.html links it from home
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
            print(f"Marquee is up on {marquee_url}; running the first pipeline:", flush=True)
            started = time.monotonic()
            for name in PIPELINE:
                step = time.monotonic()
                await run_and_wait(services, name, out=_Every(10.0))
                print(f"✓ {name} ({time.monotonic() - step:.1f}s)", flush=True)
            print(f"Pipeline done in {time.monotonic() - started:.1f}s.\n")
            await _print_where_to_look(services, tastes)
            users = [u for u in sim.user_list() if not u.is_admin]
            admin = next((u for u in sim.user_list() if u.is_admin), None)
            logins = ", ".join(f"{u.name} / {u.password}" for u in users)
            print(f"\nMarquee:       {marquee_url}  log in as {logins}")
            if admin is not None:
                print(f"               (the admin pages: {admin.name} / {admin.password})")
            print(f"Control page:  {control_url}  play something as a user and watch their AI Picks change")
            key_file = demo_dir / "simulator-api-key"
            print(f"Simulated {args.flavor}: {sim_url}  (admin API key in {key_file})", flush=True)
            if args.exit_after_setup:
                return
            print(
                "\nServing until Ctrl+C. Below: one line per playback applied, library republished or error "
                "(MARQUEE_LOG_LEVEL=DEBUG shows every job).",
                flush=True,
            )
            await server_task
        finally:
            # Marquee is going: the simulator stops sending (else it would try each queued announcement and log
            # a failure per item while it shuts down).
            sim.webhooks.clear_targets()
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


async def _print_where_to_look(services: Services, tastes: dict[str, str]) -> None:
    from sidecar.publish.listing import listed_titles

    server = services.media_server
    assert server is not None
    libraries = await server.list_libraries()
    by_id = {lib.id: lib for lib in libraries}
    for user in await server.list_users():
        visible = [by_id[f] for f in user.enabled_folders if f in by_id] if not user.enable_all_folders else libraries
        picks = [lib for lib in visible if lib.name.startswith(services.settings.library_name_prefix)]
        for n, lib in enumerate(picks):
            titles = await listed_titles(server, lib, user.id, 4)
            taste = f"   ({user.name} likes {tastes[user.name]})" if n == 0 and user.name in tastes else ""
            print(f"{user.name} sees '{lib.name}': {', '.join(titles)}{' …' if len(titles) == 4 else ''}{taste}")
    for lib in libraries:
        if lib.name.startswith("Top Picks"):
            titles = await listed_titles(server, lib, None, 5)
            print(f"'{lib.name}': {', '.join(titles) or '(no plays in the window yet)'}")
