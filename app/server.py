"""The ASGI application: `/graphql` (HTTP, GraphiQL, websockets) and `/healthz`, and the
services behind them, opened and closed with the lifespan."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from cross_web import HTTPException
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from app.adapters import Adapters
from app.call_control import CallControl
from app.config import Settings
from app.graphql.context import Context
from app.graphql.schema import SwitchboardSchema, build_schema
from app.graphql.websocket import SubscriptionServer, WebSocketLimits
from app.live.bus import Bus
from app.live.confirmations import NotifiedOrPolledWaiter
from app.live.leases import leases_for
from app.live.watcher import Watcher
from app.vendors.registry import build_adapters

# What GraphiQL opens with: the demo calls of all five vendors in one request.
EXAMPLE_QUERY = """\
# switchboard: one GraphQL API over five telephony vendors.
# Press the play button (Ctrl-Enter) to fetch the demo calls.
query DemoCalls {
  calls(ids: [
    "genesys:01RCC3N118B1V0SL8O7GK2LAES000010"
    "huawei:645735364434067472"
    "oracle:1TfU02Xfme2GMuzfUh0rkdgvz4"
    "voipnow:12/0003*210/b817d2618fe6f1804333"
    "verba:a8343631-9f35-4a3a-83f0-9e81592339fb"
  ]) {
    __typename
    id
    vendor
    state
    vendorState
    capabilities
    startedAt
    ... on GenesysCall { connId dnis callType userData recording { id } }
    ... on HuaweiCall { caller called reasonCode reason }
    ... on OracleCall { more hasChanged }
    ... on VoipNowCall { extension views { id extension status onHold } }
  }
  activeCalls(vendor: GENESYS) { id state }
}
"""

_EXAMPLE_QUERY_JS = re.compile(r"const EXAMPLE_QUERY = `.*?`;", re.DOTALL)


@dataclass
class Services:
    """What every operation works with, one set per gateway process."""

    settings: Settings
    adapters: Adapters
    bus: Bus
    watcher: Watcher
    control: CallControl

    def context(self, connection_params: dict[str, Any] | None = None) -> Context:
        # A new context (so new loaders, new caches) for every operation.
        return Context(
            adapters=self.adapters,
            settings=self.settings,
            control=self.control,
            live=self.watcher,
            connection_params=connection_params or {},
        )


class GraphQLApp(GraphQL[Context, None]):
    """Strawberry's HTTP view with our context and our GraphiQL start page."""

    def __init__(self, schema: SwitchboardSchema, services: Services) -> None:
        super().__init__(schema, graphql_ide="graphiql" if services.settings.graphiql else None)
        self.services = services
        self._ide_html = _EXAMPLE_QUERY_JS.sub(
            lambda _: f"const EXAMPLE_QUERY = {json.dumps(EXAMPLE_QUERY)};",
            self.graphql_ide_html,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            response = await self.run(Request(scope, receive))
        except HTTPException as refused:
            # Strawberry answers these in plain text; clients expect a coded GraphQL error.
            response = graphql_error_response(refused.reason, refused.status_code)
        await response(scope, receive, send)

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        return self.services.context()

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(self._ide_html)


def graphql_error_response(message: str, status_code: int) -> JSONResponse:
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": "BAD_USER_INPUT"}}]},
        status_code=status_code,
    )


class BodySizeLimit:
    """Refuses request bodies over `max_bytes` with 413, before anything parses them."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0

        async def counted_receive() -> Any:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise _BodyTooLarge
            return message

        try:
            await self.app(scope, counted_receive, send)
        except _BodyTooLarge:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"Request body larger than {self.max_bytes} bytes."
        await graphql_error_response(message, 413)(scope, receive, send)


class _BodyTooLarge(Exception):
    pass


def create_app(settings: Settings) -> Starlette:
    """The gateway for `settings`. Vendor sessions open and close with the lifespan."""
    adapters = build_adapters(settings)
    bus = Bus(settings.broadcast_url)
    leases = leases_for(settings.broadcast_url)
    watcher = Watcher(
        adapters,
        bus,
        leases,
        poll_interval=settings.poll_interval,
        grace=settings.watch_grace,
        lease_ttl=settings.lease_ttl,
    )
    control = CallControl(
        adapters,
        confirm_timeout=settings.confirm_timeout,
        waiter=NotifiedOrPolledWaiter(adapters, bus, settings.confirm_interval),
        on_confirmed=watcher.publish,
    )
    services = Services(settings, adapters, bus, watcher, control)
    schema = build_schema(settings)
    graphql = GraphQLApp(schema, services)

    async def subscription_context(params: dict[str, Any]) -> Context:
        return services.context(params)

    subscriptions = SubscriptionServer(
        schema,
        subscription_context,
        WebSocketLimits(
            init_timeout=settings.ws_init_timeout,
            keep_alive=settings.ws_keep_alive,
            max_subscriptions=settings.ws_max_subscriptions,
            send_queue=settings.ws_send_queue,
        ),
    )
    ready = False

    async def healthz(request: Request) -> Response:
        status = 200 if ready else 503
        return JSONResponse(
            {
                "status": "ok" if ready else "starting",
                "vendors": sorted(v.value for v in adapters.by_vendor),
            },
            status_code=status,
        )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        nonlocal ready
        await bus.connect()
        ready = True
        try:
            yield
        finally:
            ready = False
            await subscriptions.close()
            await watcher.close()
            await leases.aclose()
            await bus.disconnect()
            await adapters.close()

    app = Starlette(
        middleware=[Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)],
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", subscriptions),
            Route("/healthz", healthz),
        ],
        lifespan=lifespan,
    )
    app.state.services = services
    app.state.subscriptions = subscriptions
    return app
