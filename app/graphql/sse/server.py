"""The ASGI endpoint of `/graphql/stream`: who asks (Authorization or X-API-Key, as on
/graphql), what they ask (app/graphql/sse/request.py, persisted queries included), and
the open streams — at most `max_streams` at once, ended by a drain, counted for /metrics.

Refusals before a stream opens are JSON coded errors with their HTTP status, as on
/graphql: 401 without a usable credential, 405 for a mutation over GET (and methods
other than GET and POST), 406 without `Accept: text/event-stream`, 415 for a POST that
is not JSON, 400 for a malformed request or `Last-Event-ID`, 413, and 503 when full or
draining. A document that does not parse or validate is answered inside the stream, as
the protocol asks (a `next` with the coded errors, then `complete`).
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Final

from starlette.types import Receive, Scope, Send
from strawberry.types.graphql import OperationType

from app import tracing
from app.auth.authenticator import Authenticator, credential_of_headers
from app.auth.principal import EVERYONE, NOBODY
from app.errors import INTERNAL_SERVER_ERROR, TOO_MANY_STREAMS, Unauthenticated
from app.graphql.context import Context
from app.graphql.http import ContextFactory
from app.graphql.observe import RequestObservation, operation_name_of, traced
from app.graphql.persisted import PersistedQueries, Refused
from app.graphql.schema import QUERIES_AND_MUTATIONS, SwitchboardSchema
from app.graphql.sse.request import (
    Refusal,
    accepts_event_stream,
    read_request,
    require_query,
)
from app.graphql.sse.stream import EventStream, Operation
from app.graphql.wire import NO_CREDENTIAL, graphql_error_response, unauthenticated_response
from app.logs import REQUEST_ID
from app.metrics import Sample

logger = logging.getLogger("switchboard.sse")

SERVICE_UNAVAILABLE: Final = "SERVICE_UNAVAILABLE"
_QUERIES: Final = frozenset({OperationType.QUERY})


@dataclass(frozen=True)
class StreamLimits:
    keep_alive: float = 15.0  # seconds between keep-alive comments
    max_streams: int = 10_000  # open at once
    max_body_bytes: int = 1_000_000


class EventStreamServer:
    """`/graphql/stream`; one per gateway."""

    def __init__(
        self,
        schema: SwitchboardSchema,
        context: ContextFactory,
        authenticator: Authenticator,
        persisted: PersistedQueries,
        limits: StreamLimits,
        *,
        access_log: bool = True,
        metrics: bool = True,
    ) -> None:
        self.schema = schema
        self.context = context
        self.authenticator = authenticator
        self.persisted = persisted
        self.limits = limits
        self.access_log = access_log
        self.metrics = metrics
        self.streams: set[EventStream] = set()
        self.draining = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        observed = RequestObservation(scope, send)
        token = REQUEST_ID.set(observed.request_id)
        try:
            if tracing.enabled():
                await traced(scope, observed, lambda: self._serve(scope, receive, observed))
            else:
                await self._serve(scope, receive, observed)
        except Exception:
            # A bug of ours: logged with its stack trace, answered without it.
            logger.exception("unexpected error serving %s %s", scope["method"], scope["path"])
            with contextlib.suppress(Exception):  # unless the stream had begun already
                failure = graphql_error_response(
                    "Internal server error.", 500, INTERNAL_SERVER_ERROR
                )
                await failure(scope, receive, observed.send)
        finally:
            observed.finish(scope, log=self.access_log, metrics=self.metrics)
            REQUEST_ID.reset(token)

    async def _serve(self, scope: Scope, receive: Receive, observed: RequestObservation) -> None:
        send = observed.send
        try:
            operation, context = await self._operation(scope, receive, observed)
            if self.draining:
                raise Refusal("This instance is draining: reconnect.", 503, SERVICE_UNAVAILABLE)
            if len(self.streams) >= self.limits.max_streams:
                refusal = f"At most {self.limits.max_streams} event streams at once; try again."
                raise Refusal(refusal, 503, TOO_MANY_STREAMS)
        except Refusal as refused:
            response = graphql_error_response(
                refused.message,
                refused.status,
                refused.code,
                refused.headers,
                extensions=refused.extensions,
            )
            await response(scope, receive, send)
            return
        except Unauthenticated as refused:
            await unauthenticated_response(refused)(scope, receive, send)
            return
        stream = EventStream(self, operation, context, receive, observed)
        self.streams.add(stream)
        try:
            await stream.serve()
        finally:
            self.streams.discard(stream)

    async def _operation(
        self, scope: Scope, receive: Receive, observed: RequestObservation
    ) -> tuple[Operation, Context]:
        """The operation to stream and its context; Refusal or Unauthenticated."""
        method = scope["method"]
        if method not in ("GET", "POST"):
            raise Refusal("Event streams are opened with GET or POST.", 405, headers=_ALLOW)
        if not accepts_event_stream(scope):
            raise Refusal("This endpoint answers Accept: text/event-stream only.", 406)
        principal = EVERYONE  # authentication off: nothing to read
        if self.authenticator.enabled:
            principal = await self.authenticator.principal(credential_of_headers(scope["headers"]))
            observed.sub = principal.sub if principal is not NOBODY else None
        request = await read_request(
            scope,
            receive,
            max_body_bytes=self.limits.max_body_bytes,
            max_json_depth=self.schema.max_json_depth,
        )
        query = request.query
        if request.extensions is not None or self.persisted.safelist is not None:
            try:
                query = await self.persisted.document(
                    query, request.extensions, request.operation_name
                )
            except Refused as refused:
                error = refused.error
                raise Refusal(
                    error.message,
                    refused.status,
                    headers=refused.headers,
                    extensions=error.extensions,
                ) from None
        query = require_query(query)
        name = request.operation_name
        prepared = self.schema.operations.get(query, name)
        if principal is NOBODY and not prepared.anonymous:
            raise Unauthenticated(NO_CREDENTIAL)
        kind = prepared.operation_type
        observed.operation_type = kind.value if kind is not None else "none"
        observed.operation_name = name or operation_name_of(prepared.document)
        if kind is OperationType.MUTATION and method == "GET":
            # GET is safe: a link or an EventSource on a foreign page must not act.
            raise Refusal("Mutations need POST.", 405, headers={"allow": "POST"})
        context = self.context(principal)
        context.last_event_id = request.last_event_id
        allowed = _QUERIES if method == "GET" else QUERIES_AND_MUTATIONS
        return Operation(query, request.variables, name, prepared, allowed), context

    async def going_away(self) -> None:
        """Draining: every stream ends (without `complete`), so that clients reconnect to
        another instance at once; new ones are refused with 503."""
        self.draining = True
        for stream in list(self.streams):
            stream.stop()

    async def close(self) -> None:
        await self.going_away()

    def samples(self) -> list[Sample]:
        """For /metrics, read at scrape time."""
        return [
            (
                "switchboard_event_streams",
                "Open server-sent event streams (/graphql/stream).",
                {},
                float(len(self.streams)),
            )
        ]


_ALLOW: Final = {"allow": "GET, POST"}
