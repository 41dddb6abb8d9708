"""What an operator sees of each GraphQL operation, over HTTP, the event stream and
websockets: its request id (taken from `X-Request-Id` when sane, echoed in the response),
one log record (operation type and name, duration, status, outcome codes), the operation
metrics and, when tracing is on, a span. Per operation, never per field: a record and two
metric updates, a few microseconds against ~400 µs per query.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from graphql import DocumentNode, OperationDefinitionNode
from starlette.types import Message, Scope, Send

from app import logs, tracing
from app.metrics import GRAPHQL_OPERATIONS, GRAPHQL_SECONDS

access = logging.getLogger("switchboard.access")

_NAME_LIMIT = 64  # an operation name in a log record, at most

# Metric children by label values, looked up once (labels are bounded: types and codes).
_COUNTERS: dict[tuple[str, str], Any] = {}
_TIMERS: dict[str, Any] = {}


class RequestObservation:
    """One HTTP request: fill in `operation_type`, `operation_name`, `codes` while serving;
    `send` (the wrapped one) adds the request id header and notes the status."""

    __slots__ = (
        "_send",
        "codes",
        "operation_name",
        "operation_type",
        "request_id",
        "started",
        "status",
        "sub",
    )

    def __init__(self, scope: Scope, send: Send) -> None:
        self.request_id = logs.request_id_from(header(scope, b"x-request-id"))
        self.started = time.perf_counter()
        self.operation_type = "none"  # query, mutation; none: no operation ran
        self.operation_name: str | None = None
        self.codes: list[str] = []
        self.status = 0
        self.sub: str | None = None  # the principal's, once authenticated
        self._send = send

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            message["headers"] = [
                *message.get("headers", ()),
                (b"x-request-id", self.request_id.encode()),
            ]
        elif self.status >= 400 and not self.codes:
            # A refusal made before any operation ran (401, 413, 415, a malformed body,
            # Strawberry's own 400s): its code is in its small body, read only here, so
            # that the record and the metric say which refusal it was.
            self.codes = refusal_codes(message.get("body", b""))
        await self._send(message)

    def finish(self, scope: Scope, *, log: bool, metrics: bool = True) -> None:
        elapsed = time.perf_counter() - self.started
        kind = self.operation_type
        if metrics:
            outcome = self.codes[0] if self.codes else ("ok" if self.status < 400 else "refused")
            counter = _COUNTERS.get((kind, outcome))
            if counter is None:
                counter = _COUNTERS[(kind, outcome)] = GRAPHQL_OPERATIONS.labels(kind, outcome)
            counter.inc()
            if kind in ("query", "mutation"):
                timer = _TIMERS.get(kind)
                if timer is None:
                    timer = _TIMERS[kind] = GRAPHQL_SECONDS.labels(kind)
                timer.observe(elapsed)
        if log:
            fields: dict[str, Any] = {
                "requestId": self.request_id,
                "method": scope["method"],
                "path": scope["path"],
                "status": self.status,
                "operationType": kind,
                "durationMs": round(elapsed * 1000, 2),
            }
            if self.operation_name:
                fields["operationName"] = self.operation_name[:_NAME_LIMIT]
            if self.codes:
                fields["codes"] = sorted(set(self.codes))
            if self.sub:
                fields["sub"] = self.sub
            access.info(
                "%s %s %d %s",
                scope["method"],
                scope["path"],
                self.status,
                kind,
                extra={"fields": fields, "request_id": self.request_id},
            )


async def traced(
    scope: Scope, observed: RequestObservation, serve: Callable[[], Awaitable[None]]
) -> None:
    """`serve()` the request in a span (tracing is on) continuing the caller's (the
    router's) trace; the span names the operation and its outcome."""
    with tracing.span(
        "graphql", {"requestId": observed.request_id}, carrier=carrier(scope["headers"])
    ) as current:
        try:
            await serve()
        finally:
            attributes = operation_attributes(observed.operation_type, observed.operation_name)
            tracing.outcome(current, observed.codes, attributes)


def operation_attributes(operation_type: str, name: str | None) -> dict[str, str]:
    """A `graphql` span's attributes for the operation."""
    attributes = {"graphql.operation.type": operation_type}
    if name:
        attributes["graphql.operation.name"] = name[:_NAME_LIMIT]
    return attributes


def carrier(headers: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """A request's headers as the tracing propagator reads them (for `traceparent`)."""
    return {key.decode("latin-1"): value.decode("latin-1") for key, value in headers}


_REFUSAL_BYTES = 16_384  # refusal bodies are one short error; anything longer is not read


def refusal_codes(body: bytes) -> list[str]:
    """The `extensions.code` of each error of a refusal's JSON body (none if not one)."""
    if not body or len(body) > _REFUSAL_BYTES:
        return []
    try:
        errors = json.loads(body).get("errors")
    except (ValueError, AttributeError):
        return []  # not JSON, or not an object (uvicorn's and Starlette's plain texts)
    if not isinstance(errors, list):
        return []
    codes = []
    for error in errors[:10]:
        extensions = error.get("extensions") if isinstance(error, dict) else None
        code = extensions.get("code") if isinstance(extensions, dict) else None
        if isinstance(code, str) and code:
            codes.append(code[:_NAME_LIMIT])
    return codes


def header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value  # type: ignore[no-any-return]
    return None


class OperationLog:
    """The operations of one websocket connection, each logged (and counted) once when
    it ends: completed, refused with an error, stopped by the client, or cut by the
    connection's end. `connection_id` plays the request id's part."""

    __slots__ = ("_log", "_metrics", "_running", "_upgrade", "connection_id", "sub")

    def __init__(self, upgrade: Scope, *, log: bool, metrics: bool) -> None:
        self.connection_id = logs.request_id_from(header(upgrade, b"x-request-id"))
        self.sub: str | None = None  # the connection's principal, once authenticated
        self._log = log
        self._metrics = metrics
        self._upgrade = upgrade  # its headers hold the caller's traceparent
        self._running: dict[str, tuple[float, str, str | None, Any]] = {}

    def started(self, op_id: str, operation_type: str, name: str | None) -> Any | None:
        """Note an operation begun; its span when tracing is on (it continues the trace
        of the upgrade request), else None."""
        span = None
        if tracing.enabled():
            attributes = {
                "requestId": self.connection_id,
                **operation_attributes(operation_type, name),
            }
            span = tracing.start("graphql", attributes, carrier=carrier(self._upgrade["headers"]))
        self._running[op_id] = (time.perf_counter(), operation_type, name, span)
        return span

    def ended(self, op_id: str, outcome: str, codes: list[str] | None = None) -> None:
        begun = self._running.pop(op_id, None)
        at, kind, name, span = begun or (time.perf_counter(), "none", None, None)
        if span is not None:
            tracing.outcome(span, codes or (), {"switchboard.outcome": outcome})
            span.end()
        if self._metrics:
            GRAPHQL_OPERATIONS.labels(kind, codes[0] if codes else outcome).inc()
        if not self._log:
            return
        fields: dict[str, Any] = {
            "requestId": self.connection_id,
            "transport": "websocket",
            "operationType": kind,
            "outcome": outcome,
            "durationMs": round((time.perf_counter() - at) * 1000, 2),
        }
        if name:
            fields["operationName"] = name[:_NAME_LIMIT]
        if codes:
            fields["codes"] = sorted(set(codes))
        if self.sub:
            fields["sub"] = self.sub
        access.info(
            "websocket %s %s",
            kind,
            outcome,
            extra={"fields": fields, "request_id": self.connection_id},
        )

    def close_all(self) -> None:
        for op_id in list(self._running):
            self.ended(op_id, "closed")


def operation_name_of(document: DocumentNode | None) -> str | None:
    """The name of a document's only operation (the log names the operation run)."""
    if document is None:
        return None
    names = [
        d.name.value
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode) and d.name is not None
    ]
    return names[0] if len(names) == 1 else None
