"""The ASGI application: `/graphql` (HTTP, GraphiQL, websockets), `/graphql/stream`
(server-sent events) and `/healthz`, and the services behind them, opened and closed
with the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Final

from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send

from app.adapters import Adapters
from app.auth.origins import OriginCheck
from app.auth.placed import PlacedCalls
from app.auth.principal import EVERYONE, Principal
from app.auth.rate import CommandRate
from app.auth.setup import authenticator_for
from app.call_control import CallControl
from app.config import Settings
from app.graphql.context import Context
from app.graphql.http import GraphQLEndpoint
from app.graphql.persisted import PersistedQueries, load_manifest
from app.graphql.schema import build_schema
from app.graphql.sse import EventStreamServer, StreamLimits
from app.graphql.websocket import SubscriptionServer, WebSocketLimits
from app.hosts import HostCheck
from app.live.api import Live
from app.live.bus import Bus
from app.live.event_log import event_log_for
from app.live.idempotency import idempotency_for
from app.live.leases import leases_for
from app.live.persisted import persisted_queries_for
from app.live.placed import placed_calls_for
from app.live.rate import command_rate_for
from app.live.stats import CallStatsHub
from app.live.versions import versions_for
from app.live.watcher import Watcher
from app.probes import Probes
from app.vendors.registry import build_adapters
from app.web import web_routes


@dataclass
class Services:
    """What every operation works with, one set per gateway process."""

    settings: Settings
    adapters: Adapters
    bus: Bus
    watcher: Watcher
    live: Live
    stats: CallStatsHub
    control: CallControl
    placed: PlacedCalls
    rate: CommandRate

    def context(
        self, principal: Principal = EVERYONE, connection_params: dict[str, Any] | None = None
    ) -> Context:
        # A new context (so new loaders, new caches) for every operation.
        return Context(
            adapters=self.adapters,
            settings=self.settings,
            control=self.control,
            live=self.live,
            stats=self.stats,
            principal=principal,
            placed=self.placed,
            rate=self.rate,
            connection_params=connection_params or {},
        )


def create_app(settings: Settings, *, demo: bool = False) -> SwitchboardApp:
    """The gateway for `settings`. Vendor sessions open and close with the lifespan.
    `demo`: the vendors are the built-in emulators (said in /healthz)."""
    adapters = build_adapters(settings)
    bus = Bus(settings.live.broadcast_url)
    leases = leases_for(settings.live.broadcast_url)
    idempotency = idempotency_for(settings.live.broadcast_url)
    versions = versions_for(settings.live.broadcast_url)
    event_log = event_log_for(
        settings.live.broadcast_url,
        settings.live.event_retention,
        settings.live.event_retention_count,
    )
    watcher = Watcher(
        adapters,
        bus,
        leases,
        poll_interval=settings.live.poll_interval,
        grace=settings.live.watch_grace,
        lease_ttl=settings.live.lease_ttl,
        long_poll=settings.live.long_poll,
        versions=versions,
        log=event_log,
    )
    live = Live(adapters, watcher, confirm_interval=settings.vendors.confirm_interval)
    control = CallControl(
        adapters,
        confirm_timeout=settings.vendors.confirm_timeout,
        waiter=live,
        on_confirmed=live.publish,
        idempotency=idempotency,
        idempotency_ttl=settings.vendors.idempotency_ttl,
    )
    authenticator = authenticator_for(settings)
    placed = placed_calls_for(settings.live.broadcast_url)
    rate = command_rate_for(settings.live.broadcast_url, settings.auth.command_rate)
    stats = CallStatsHub.for_watcher(watcher, interval=settings.live.stats_interval)
    services = Services(settings, adapters, bus, watcher, live, stats, control, placed, rate)
    schema = build_schema(settings)
    apq = persisted_queries_for(
        settings.live.broadcast_url,
        size=settings.clients.apq_cache_size,
        ttl=settings.clients.apq_ttl,
    )
    # Read at start-up: a manifest that cannot be used stops it (ConfigurationError).
    safelist = (
        load_manifest(settings.clients.persisted_only) if settings.clients.persisted_only else None
    )
    persisted = PersistedQueries(apq, schema.operations, safelist)
    graphql = GraphQLEndpoint(
        schema,
        services.context,
        authenticator,
        graphiql=bool(settings.server.graphiql),  # resolved by Settings: never None
        max_body_bytes=settings.limits.max_body_bytes,
        access_log=settings.observability.access_log,
        metrics=settings.observability.metrics,
        persisted=persisted,
        max_batch=settings.limits.max_batch,
    )
    streams = EventStreamServer(
        schema,
        services.context,
        authenticator,
        persisted,
        StreamLimits(
            keep_alive=settings.sse.keep_alive,
            max_streams=settings.sse.max_streams,
            max_body_bytes=settings.limits.max_body_bytes,
        ),
        access_log=settings.observability.access_log,
        metrics=settings.observability.metrics,
    )

    async def subscription_context(principal: Principal, params: dict[str, Any]) -> Context:
        return services.context(principal, params)

    subscriptions = SubscriptionServer(
        schema,
        subscription_context,
        WebSocketLimits(
            init_timeout=settings.websocket.init_timeout,
            keep_alive=settings.websocket.keep_alive,
            max_subscriptions=settings.websocket.max_subscriptions,
            send_queue=settings.websocket.send_queue,
        ),
        authenticator=authenticator,
        access_log=settings.observability.access_log,
        metrics=settings.observability.metrics,
    )
    probes = Probes(adapters, bus, watcher, subscriptions, streams, demo=demo, stats=stats)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await bus.connect()
        probes.ready = True
        try:
            yield
        finally:
            probes.ready = False
            await streams.close()
            await subscriptions.close()
            await stats.close()
            await live.close()
            await leases.aclose()
            await versions.aclose()
            await event_log.aclose()
            await idempotency.aclose()
            await placed.aclose()
            await rate.aclose()
            await apq.aclose()
            await bus.disconnect()
            await adapters.close()

    app = Starlette(
        routes=[*probes.routes(), *web_routes()],
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.subscriptions = subscriptions
    app.state.streams = streams
    app.state.drain = probes.drain
    return SwitchboardApp(
        app,
        graphql,
        subscriptions,
        HostCheck.for_settings(settings),
        OriginCheck.parse(settings.auth.allowed_origins),
        streams,
    )


# Probes (the kubelet's) and scrapes (Prometheus') address a pod by its IP, not by a name
# SWITCHBOARD_ALLOWED_HOSTS lists; these answers hold no call data (app/hosts.py).
UNCHECKED_HOST_PATHS: Final = frozenset({"/healthz", "/readyz", "/metrics"})


class SwitchboardApp:
    """The Starlette app, with `/graphql` handed straight to its endpoints: Starlette's
    router and middleware wrap every message sent, which cost ~10% of a small query's CPU
    (bench B1) and objects per connection that count at 10,000 subscribers (bench B3).
    Requests addressed by a Host name that `hosts` refuses are answered 403 first."""

    def __init__(
        self,
        app: Starlette,
        graphql: GraphQLEndpoint,
        subscriptions: SubscriptionServer,
        hosts: HostCheck | None = None,
        origins: OriginCheck | None = None,
        streams: EventStreamServer | None = None,
    ) -> None:
        self.app = app
        self.streams = streams
        self.graphql = graphql
        self.subscriptions = subscriptions
        self.hosts = hosts
        self.origins = origins or OriginCheck(frozenset())
        self.state = app.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if (
            self.hosts is not None
            and scope["path"] not in UNCHECKED_HOST_PATHS
            and not self.hosts.allows(scope)
        ):
            await self.hosts.refuse(scope, receive, send)
            return
        origin = self.origins.verdict(scope)
        if origin is False:
            await self.origins.refuse(scope, receive, send)
            return
        if isinstance(origin, bytes) and scope["type"] == "http":
            if scope["method"] == "OPTIONS":
                await self.origins.preflight(origin, send)
                return
            send = self.origins.with_cors(origin, send)
        if scope["type"] == "http" and scope["path"] == "/graphql":
            await self.graphql(scope, receive, send)
        elif scope["path"] == "/graphql/stream" and scope["type"] == "http" and self.streams:
            await self.streams(scope, receive, send)
        elif scope["type"] == "websocket" and scope["path"] == "/graphql":
            await self.subscriptions(scope, receive, send)
        else:
            await self.app(scope, receive, send)
