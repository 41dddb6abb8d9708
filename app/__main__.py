"""Command line: `python -m app` serves the gateway; `python -m app emulate` serves only the
vendor emulators; `python -m app export-schema` prints the SDL.

With no vendor URL configured, `python -m app` starts the built-in emulators (with the
demo calls and a call simulator) on a free port and points the adapters at them.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from types import FrameType
from typing import TYPE_CHECKING, Any, Final

import uvicorn
from aiohttp import web

from app import logs
from app.calls import Vendor
from app.config import CREDENTIAL_NAMES, OPTION_NAMES, ConfigurationError, Settings
from app.transport import guarded_protocols

if TYPE_CHECKING:
    from app.emulators import Emulators

logger = logging.getLogger("switchboard")


@asynccontextmanager
async def running_emulators(
    host: str, port: int, *, simulate: bool, variants: str = ""
) -> AsyncIterator[tuple[str, Emulators]]:
    """Serve all five emulators; yields their base URL (vendors live under /<vendor>) and
    the emulators. `variants`: documented variants to show, "vendor=variant,…"."""
    from app.emulators import build_emulators
    from app.emulators.simulator import CallSimulator

    emulators = build_emulators(demo=True, variants=parse_variants(variants))
    # No access log: Verba requests carry their token in the query string.
    runner = web.AppRunner(emulators.app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1]
    simulator = CallSimulator(list(emulators.vendors.values())) if simulate else None
    if simulator:
        simulator.start()
    try:
        yield f"http://{host}:{bound}", emulators
    finally:
        if simulator:
            await simulator.stop()
        emulators.control.release_all()
        await runner.cleanup()


def parse_variants(text: str) -> dict[str, str]:
    """`SWITCHBOARD_EMULATOR_VARIANTS`, e.g. "genesys=8.5.2,voipnow=resource"."""
    variants: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        vendor, sep, variant = item.partition("=")
        if not sep or not vendor.strip() or not variant.strip():
            raise ConfigurationError(
                f"SWITCHBOARD_EMULATOR_VARIANTS: expected vendor=variant, got {item!r}"
            )
        variants[vendor.strip()] = variant.strip()
    return variants


async def serve(settings: Settings) -> None:
    from app.server import create_app

    async with AsyncExitStack() as stack:
        demo = settings.uses_emulators
        if demo:
            logger.info(
                "DEMO MODE: no vendor configured (SWITCHBOARD_<VENDOR>_URL), serving the "
                "built-in vendor emulators and their demo calls"
            )
            base_url, emulators = await stack.enter_async_context(
                running_emulators(
                    "127.0.0.1",
                    0,
                    simulate=settings.server.simulate,
                    variants=settings.server.emulator_variants,
                )
            )
            settings = emulators.settings_for(settings, base_url)
            logger.info("built-in emulators at %s", base_url)
        app = create_app(settings, demo=demo)
        config = server_config(app, settings)
        settle_memory()
        logger.info(
            "wallboard at http://%s:%d/, GraphiQL at /graphql",
            settings.server.host,
            settings.server.port,
        )
        await DrainingServer(config, app.state.drain, settings.server.drain_delay).serve()


# The drain's own step (readiness off, websockets closed, leases released) takes at most
# this long; a stop takes at most this + SWITCHBOARD_DRAIN_DELAY + SWITCHBOARD_DRAIN_TIMEOUT
# (a platform's kill deadline must be longer: deploy/kubernetes.yaml, docker-compose.yml).
DRAIN_STEP_TIMEOUT: Final = 5.0


class DrainingServer(uvicorn.Server):
    """uvicorn, stopping gracefully: on the first SIGTERM/SIGINT the app drains first
    (readiness off, websockets closed 1001, leases released) and goes on serving requests
    for SWITCHBOARD_DRAIN_DELAY seconds, until a load balancer polling /readyz has
    stopped sending here; then uvicorn stops accepting and lets in-flight requests
    finish within SWITCHBOARD_DRAIN_TIMEOUT. A second signal stops at once."""

    def __init__(
        self, config: uvicorn.Config, drain: Callable[[], Awaitable[None]], delay: float = 0.0
    ) -> None:
        super().__init__(config)
        self._drain = drain
        self._delay = delay
        self._draining: asyncio.Task[None] | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._draining is not None or self.should_exit:
            super().handle_exit(sig, frame)  # a second signal: stop now
            return
        logger.info("draining: not ready, closing websockets, releasing leases")
        self._draining = asyncio.get_running_loop().create_task(self._then_exit(sig, frame))

    async def _then_exit(self, sig: int, frame: FrameType | None) -> None:
        try:
            async with asyncio.timeout(DRAIN_STEP_TIMEOUT):
                await self._drain()
        except Exception as failed:  # the stop goes on whatever the drain met
            logger.warning("drain: %s", type(failed).__name__)
        if self._delay > 0:
            logger.info("draining: serving %g s more before refusing connections", self._delay)
            await asyncio.sleep(self._delay)
        super().handle_exit(sig, frame)


def server_config(app: Any, settings: Settings, **overrides: Any) -> uvicorn.Config:
    """How switchboard is served (benchmarks serve it the same way)."""
    options: dict[str, Any] = {
        "host": settings.server.host,
        "port": settings.server.port,
        "lifespan": "on",
        # Our own access record replaces uvicorn's (app/graphql/observe.py: one per
        # /graphql request, with its request id); uvicorn's loggers go through ours
        # (app/logs.py) instead of its own configuration.
        "access_log": False,
        "log_config": None,
        # Call updates are small JSON: compression saves little and its zlib state
        # costs ~40 KiB per connection (bench B3: 69 -> 28 KiB per subscriber).
        "ws_per_message_deflate": settings.websocket.deflate,
        # In-flight requests may finish this long once a stop began (after the drain).
        "timeout_graceful_shutdown": settings.server.drain_timeout,
        # No `server: uvicorn`: an answer does not name the stack it runs on.
        "server_header": False,
        # Deadlines for slow clients and the connection cap (app/transport.py).
        **guarded_protocols(
            read_timeout=settings.server.http_read_timeout,
            max_connections=settings.server.max_connections,
        ),
    }
    return uvicorn.Config(app, **(options | overrides))


def settle_memory() -> None:
    """Freeze what exists once the app is built (modules, the schema, demo data): it lives
    as long as the process, and full garbage collections, which stop the event loop, then
    no longer walk it (bench B3: GC pauses with 10,000 subscribers)."""
    gc.collect()
    gc.freeze()
    # Operations leave no reference cycles (app/graphql/execution.py): what young
    # collections walk is mostly work still in flight, so the first generation is
    # collected less often than by default. The second is collected at every other one,
    # so that it never piles up: with 20 (as before), ~200,000 objects of newly joined
    # subscribers sat in it and its collection stopped a 10,000-subscriber delivery for
    # ~110 ms (bench B3, p99 526 -> ~310 ms at 100 calls; B1 unchanged).
    gc.set_threshold(10_000, 2, 20)


async def emulate(host: str, port: int, simulate: bool, variants: str) -> None:
    async with running_emulators(host, port, simulate=simulate, variants=variants) as (
        base_url,
        _,
    ):
        logger.info("emulators at %s/<vendor> (oracle huawei verba voipnow genesys)", base_url)
        await asyncio.Event().wait()


def variables_help() -> str:
    """Every SWITCHBOARD_* variable with its default, for --help (README: Configuration)."""
    lines = ["environment variables (README, Configuration):"]
    for variable, default in Settings.defaults():
        lines.append(f"  {variable:<36} default {default!r}")
    lines.append(
        "  SWITCHBOARD_<VENDOR>_URL, and per vendor (ORACLE HUAWEI VERBA VOIPNOW GENESYS):"
    )
    for vendor in Vendor:
        names = (*CREDENTIAL_NAMES[vendor], *OPTION_NAMES[vendor])
        lines.append(
            f"    {vendor.name:<8} "
            + " ".join(f"SWITCHBOARD_{vendor.name}_{n.upper()}" for n in names)
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m app",
        description=__doc__,
        epilog=variables_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "command", nargs="?", default="serve", choices=["serve", "emulate", "export-schema"]
    )
    parser.add_argument("--host", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to bind (default 8000; emulate: 8001)")
    parser.add_argument("--no-simulate", action="store_true", help="no simulated call traffic")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigurationError as bad:
        # Exit code 2, as for a bad command line: the configuration is the input.
        sys.stderr.write(f"switchboard: configuration error: {bad}\n")
        raise SystemExit(2) from None
    logs.configure(settings.observability.log_format)
    if args.command == "export-schema":
        from app.graphql.schema import build_schema

        sys.stdout.write(build_schema(settings).as_str() + "\n")
        return
    simulate = settings.server.simulate and not args.no_simulate
    host = args.host or settings.server.host
    try:
        if args.command == "emulate":
            port = 8001 if args.port is None else args.port
            run(emulate(host, port, simulate, settings.server.emulator_variants))
        else:
            port = settings.server.port if args.port is None else args.port
            run(serve(settings.with_values(host=host, port=port, simulate=simulate)))
    except KeyboardInterrupt:
        pass
    except ConfigurationError as bad:  # found while building the app (adapter options)
        sys.stderr.write(f"switchboard: configuration error: {bad}\n")
        raise SystemExit(2) from None


def run(main: Coroutine[Any, Any, None]) -> None:
    """Run on uvloop when it is installed (uvicorn[standard] brings it): a faster loop."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


if __name__ == "__main__":
    main()
