"""The ASGI application: `/graphql` (HTTP and websockets, GraphiQL) and `/healthz`."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
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
from app.config import Settings
from app.graphql.context import Context
from app.graphql.schema import build_schema
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


class GraphQLApp(GraphQL[Context, None]):
    """Strawberry's ASGI view with our context and our GraphiQL start page."""

    def __init__(self, settings: Settings, adapters: Adapters) -> None:
        super().__init__(
            build_schema(settings),
            graphql_ide="graphiql" if settings.graphiql else None,
            keep_alive=True,
            keep_alive_interval=15,
        )
        self.settings = settings
        self.adapters = adapters
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
        # A new context (so new loaders, new caches) for every operation.
        return Context(adapters=self.adapters, settings=self.settings)

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
    graphql = GraphQLApp(settings, adapters)
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
        ready = True
        try:
            yield
        finally:
            ready = False
            await adapters.close()

    return Starlette(
        middleware=[Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)],
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
        ],
        lifespan=lifespan,
    )
