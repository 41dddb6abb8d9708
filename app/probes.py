"""What operators and orchestrators ask an instance: `/healthz` (liveness), `/readyz`
(readiness, with reasons), `/metrics` (Prometheus), and the drain that starts a graceful
stop. Read from the services that hold the state; nothing kept twice."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.adapters import Adapters
from app.graphql.sse import EventStreamServer
from app.graphql.websocket import SubscriptionServer
from app.live.bus import Bus
from app.live.stats import CallStatsHub
from app.live.watcher import Watcher
from app.metrics import Sample, StateCollector, exposition

_BREAKER_VALUES = {"closed": 0.0, "half_open": 1.0, "open": 2.0}


class Probes:
    def __init__(
        self,
        adapters: Adapters,
        bus: Bus,
        watcher: Watcher,
        subscriptions: SubscriptionServer,
        streams: EventStreamServer | None = None,
        *,
        demo: bool,
        stats: CallStatsHub,
    ) -> None:
        self.streams = streams
        self.adapters = adapters
        self.bus = bus
        self.watcher = watcher
        self.subscriptions = subscriptions
        self.demo = demo
        self.stats = stats
        self.ready = False  # set by the lifespan; unset again by a drain
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(StateCollector(self.samples))

    def routes(self) -> list[Route]:
        return [
            Route("/healthz", self.healthz),
            Route("/readyz", self.readyz),
            Route("/metrics", self.metrics),
        ]

    async def healthz(self, request: Request) -> Response:
        return JSONResponse(
            {
                "status": "ok" if self.ready else "starting",
                "mode": "demo" if self.demo else "vendors",
                "vendors": sorted(v.value for v in self.adapters.by_vendor),
            },
            status_code=200 if self.ready else 503,
        )

    async def readyz(self, request: Request) -> Response:
        """Readiness, apart from liveness: 503 with the reason while this instance cannot
        serve (starting or draining, no configured vendor usable, the Redis bus down)."""
        health = self.adapters.health
        reasons = []
        if not self.ready:
            reasons.append("starting or draining")
        if health and not any(h.usable for h in health.values()):
            reasons.append("no configured vendor is usable")
        if self.bus.shared and not self.bus.connected:
            reasons.append("the Redis bus is disconnected")
        return JSONResponse(
            {
                "status": "not ready" if reasons else "ready",
                "reasons": reasons,
                "bus": {
                    "url": "redis" if self.bus.shared else "memory",
                    "connected": self.bus.connected,
                },
                "vendors": {vendor.value: h.describe() for vendor, h in health.items()},
            },
            status_code=503 if reasons else 200,
        )

    async def metrics(self, request: Request) -> Response:
        return Response(exposition(self.registry), media_type=CONTENT_TYPE_LATEST)

    async def drain(self) -> None:
        """The first step of a graceful stop (SIGTERM): not ready any more (load balancers
        stop sending), websockets closed with 1001 and event streams ended so clients
        reconnect elsewhere, and the
        leases of watched calls released at once, so another instance takes them over
        without waiting out their TTL. In-flight HTTP requests finish afterwards."""
        self.ready = False
        await self.subscriptions.going_away()
        if self.streams is not None:
            await self.streams.going_away()
        await self.watcher.close()

    def samples(self) -> list[Sample]:
        """What /metrics reads at scrape time from the services that hold it."""
        samples: list[Sample] = [
            (
                "switchboard_vendor_breaker_state",
                "Circuit breaker per vendor: 0 closed, 1 half-open, 2 open.",
                {"vendor": vendor.value},
                _BREAKER_VALUES[str(health.describe()["breaker"])],
            )
            for vendor, health in self.adapters.health.items()
        ]
        samples.append(
            (
                "switchboard_bus_connected",
                "1 while the event bus reaches the other instances (Redis up); "
                "memory: 1 when open.",
                {"bus": "redis" if self.bus.shared else "memory"},
                1.0 if self.bus.connected else 0.0,
            )
        )
        samples.extend(self.watcher.samples())
        samples.extend(self.subscriptions.samples())
        samples.extend(self.stats.samples())
        if self.streams is not None:
            samples.extend(self.streams.samples())
        return samples
