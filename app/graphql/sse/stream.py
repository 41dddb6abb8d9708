"""One open event stream: the operation's results as `next` events, keep-alive comments
while nothing happens, and `complete` once the operation is done.

The stream ends without `complete` when the client goes away (its operation is
cancelled: the watcher stops following calls nobody follows), when the server drains,
and when the credential it was opened with expires: a client that sees the stream end
without `complete` reconnects (EventSource by itself, with `Last-Event-ID`; the
graphql-sse client as a retry), to another instance or with a fresh credential.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.types import Receive
from strawberry.types.execution import ExecutionResult
from strawberry.types.graphql import OperationType

from app.errors import INTERNAL_SERVER_ERROR, error_entry
from app.graphql.context import Context
from app.graphql.errors import coded
from app.graphql.execution import Prepared
from app.graphql.observe import RequestObservation
from app.graphql.schema import QUERIES_AND_MUTATIONS
from app.graphql.sse.events import COMPLETE, HEADERS, KEEP_ALIVE, next_event
from app.graphql.websocket.messages import result_payload

if TYPE_CHECKING:
    from app.graphql.sse.server import EventStreamServer

logger = logging.getLogger("switchboard.sse")


@dataclass(frozen=True, slots=True)
class Operation:
    query: str
    variables: dict[str, Any] | None
    name: str | None
    prepared: Prepared
    # GET runs queries only (as on /graphql); subscriptions run through `subscribe`.
    allowed: frozenset[OperationType] = QUERIES_AND_MUTATIONS


class EventStream:
    """One client's stream: a task runs the operation and writes its events; the request's
    own task writes keep-alives and notices the client leaving."""

    def __init__(
        self,
        server: EventStreamServer,
        operation: Operation,
        context: Context,
        receive: Receive,
        observed: RequestObservation,
    ) -> None:
        self.server = server
        self.operation = operation
        self.context = context
        self.observed = observed
        self._receive = receive
        self._send = observed.send
        self._producer: asyncio.Task[None] | None = None

    async def serve(self) -> None:
        await self._send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        producer = self._producer = asyncio.create_task(self._produce(), name="sse-stream")
        gone = asyncio.create_task(self._client_gone(), name="sse-disconnect")
        try:
            while not (producer.done() or gone.done()):
                await asyncio.wait(
                    (producer, gone),
                    timeout=self.server.limits.keep_alive,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if not (producer.done() or gone.done()):
                    await self._write(KEEP_ALIVE)
            left = gone.done()
        finally:
            # The operation is cancelled with the stream: its resolvers leave the watcher.
            for task in (producer, gone):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if not left:
            await self._send({"type": "http.response.body", "body": b"", "more_body": False})

    def stop(self) -> None:
        """End the stream without `complete` (a drain): the client reconnects elsewhere."""
        if self._producer is not None:
            self._producer.cancel()

    async def _client_gone(self) -> None:
        while (await self._receive())["type"] != "http.disconnect":
            pass  # the rest of a GET's (empty) body

    async def _write(self, chunk: bytes) -> None:
        await self._send({"type": "http.response.body", "body": chunk, "more_body": True})

    async def _produce(self) -> None:
        operation, context = self.operation, self.context
        prepared = operation.prepared
        if prepared.operation_type is None:
            # Refused before execution (syntax, limits, validation): the protocol has the
            # errors sent through the accepted stream, where EventSource can read them.
            await self._deliver_errors([dict(coded(error).formatted) for error in prepared.errors])
            await self._write(COMPLETE)
            return
        try:
            async with asyncio.timeout_at(self._expiry()) as deadline:
                if prepared.operation_type is OperationType.SUBSCRIPTION:
                    results = await self.server.schema.subscribe(
                        operation.query,
                        variable_values=operation.variables,
                        context_value=context,
                        operation_name=operation.name,
                    )
                    async for result in results:
                        await self._deliver(result)
                else:
                    result = await self.server.schema.execute(
                        operation.query,
                        variable_values=operation.variables,
                        context_value=context,
                        operation_name=operation.name,
                        allowed_operation_types=operation.allowed,
                    )
                    await self._deliver(result)
        except TimeoutError:
            if not deadline.expired():
                raise
            return  # the credential expired: no `complete`, so the client reconnects
        except Exception:
            # A bug of ours (errors of operations are results): logged with its stack
            # trace, answered without it.
            logger.exception("event stream execution failed")
            await self._deliver_errors(
                [error_entry("Internal server error.", INTERNAL_SERVER_ERROR)]
            )
        await self._write(COMPLETE)

    async def _deliver(self, result: ExecutionResult) -> None:
        codes = [
            str((error.extensions or {}).get("code", INTERNAL_SERVER_ERROR))
            for error in result.errors or ()
        ]
        await self._send_next(result_payload(result), codes)

    async def _deliver_errors(self, errors: list[dict[str, Any]]) -> None:
        codes = [str(error["extensions"]["code"]) for error in errors]
        await self._send_next(json.dumps({"errors": errors}, separators=(",", ":")), codes)

    async def _send_next(self, payload: str, codes: list[str]) -> None:
        if codes and not self.observed.codes:
            self.observed.codes = codes  # the access log's outcome: the first error's code
        # The cursor the result's resolver delivered (callEvents): the event's id.
        cursor, self.context.delivered_cursor = self.context.delivered_cursor, None
        await self._write(next_event(payload, cursor))

    def _expiry(self) -> float | None:
        """Loop time at which the stream's credential expires; None: it does not."""
        expires_at = self.context.principal.expires_at
        if expires_at is None:
            return None
        loop = asyncio.get_running_loop()
        return loop.time() + max(0.0, expires_at - time.time())
