"""The ASGI websocket endpoint: picks the protocol, keeps the connections and the shared
executions, and runs what connections subscribe to."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.types.execution import PreExecutionError

from app.auth.authenticator import Authenticator
from app.auth.principal import Principal
from app.graphql.context import Context
from app.graphql.schema import SwitchboardSchema
from app.graphql.websocket.connection import Connection
from app.graphql.websocket.messages import (
    PROTOCOLS,
    Subscribe,
    result_errors,
    result_payload,
)
from app.graphql.websocket.sharing import SharedExecution, SharingKey, sharing_key
from app.metrics import Sample

# The context of one operation: who asks (the connection's principal) and connection_init.
ContextFactory = Callable[[Principal, dict[str, Any]], Awaitable[Context]]


# The close reason of a stop's 1001 (going away): reconnect to another instance.
_GOING_AWAY: Final = "Server draining: reconnect"


@dataclass(frozen=True)
class WebSocketLimits:
    init_timeout: float = 10.0
    keep_alive: float = 15.0
    max_subscriptions: int = 100
    send_queue: int = 64
    max_message_bytes: int = 64_000

    @property
    def control_queue(self) -> int:
        """Control messages a connection may have waiting: a queue's worth, plus an error
        or completion for each of its subscriptions ending at once (a legitimate burst)."""
        return self.send_queue + 2 * self.max_subscriptions


class SubscriptionServer:
    """The ASGI websocket endpoint; one per gateway."""

    def __init__(
        self,
        schema: SwitchboardSchema,
        context: ContextFactory,
        limits: WebSocketLimits,
        *,
        authenticator: Authenticator | None = None,
        access_log: bool = True,
        metrics: bool = True,
    ) -> None:
        self.schema = schema
        self.context = context
        self.authenticator = authenticator or Authenticator()
        self.limits = limits
        self.access_log = access_log
        self.metrics = metrics
        self.connections: set[Connection] = set()
        self.shared: dict[SharingKey, SharedExecution] = {}
        self._keep_alive: asyncio.Task[None] | None = None
        self.draining = False  # a stop began: connections are told to go elsewhere

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        upgraded = asyncio.get_running_loop().time()  # the init timeout counts from here
        websocket = WebSocket(scope, receive, send)
        offered = [p.strip() for p in scope.get("subprotocols", [])]
        protocol = next((p for p in PROTOCOLS if p in offered), None)
        if protocol is None:
            await websocket.close(code=4406, reason="Subprotocol not acceptable")
            return
        await websocket.accept(subprotocol=protocol)
        if self.draining:
            # Accepted, then closed as the open ones were: the client reconnects elsewhere
            # at once (a refused handshake looks like an error to most clients).
            await websocket.close(code=1001, reason=_GOING_AWAY)
            return
        connection = Connection(self, websocket, protocol, send)
        self.connections.add(connection)
        self._start_keep_alive()
        try:
            await connection.serve(upgraded + self.limits.init_timeout)
        finally:
            self.connections.discard(connection)
            if not self.connections and self._keep_alive is not None:
                self._keep_alive.cancel()  # restarted by the next connection

    async def close(self) -> None:
        if self._keep_alive is not None:
            self._keep_alive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keep_alive
        for shared in list(self.shared.values()):
            await shared.stop()

    @property
    def subscriptions(self) -> int:
        return sum(len(c.operations) for c in self.connections)

    async def going_away(self) -> None:
        """Draining: close every connection with 1001 (going away), so that clients
        reconnect to another instance at once rather than at a timeout."""
        self.draining = True
        await asyncio.gather(
            *(c.close(1001, _GOING_AWAY) for c in list(self.connections)),
            return_exceptions=True,
        )

    def samples(self) -> list[Sample]:
        """For /metrics, read at scrape time."""
        return [
            (
                "switchboard_websocket_connections",
                "Open websocket connections.",
                {},
                float(len(self.connections)),
            ),
            (
                "switchboard_subscriptions",
                "Subscriptions running over websockets.",
                {},
                float(self.subscriptions),
            ),
            (
                "switchboard_shared_executions",
                "Subscription executions shared by identical subscriptions.",
                {},
                float(len(self.shared)),
            ),
        ]

    def _start_keep_alive(self) -> None:
        # One task for all connections: a task per connection costs memory at 10k clients.
        if self._keep_alive is None or self._keep_alive.done():
            self._keep_alive = asyncio.create_task(self._keep_alive_loop(), name="ws-keepalive")

    async def _keep_alive_loop(self) -> None:
        # Only for protocols whose clients expect application keep-alives (legacy
        # graphql-ws's "ka"); see protocols.py.
        while self.connections:
            await asyncio.sleep(self.limits.keep_alive)
            for index, connection in enumerate(list(self.connections)):
                if connection.handler.sends_keep_alives:
                    connection.keep_alive()
                if index % 500 == 499:
                    await asyncio.sleep(0)  # let deliveries through during a long round

    async def join(self, connection: Connection, message: Subscribe) -> None:
        query, variables, name = message.query, message.variables, message.operation_name
        key = sharing_key(query, variables, name, connection.principal)
        shared = self.shared.get(key)
        if shared is None or not shared.joinable:
            context = await self.context(connection.principal, connection.params)
            shared = SharedExecution(self, key, query, variables, name, context)
            self.shared[key] = shared
            shared.start()
        connection.operations[message.id] = shared
        shared.add(connection, message.id)

    async def run_once(self, connection: Connection, message: Subscribe) -> None:
        """A query or mutation over the websocket: executed for this subscriber alone."""
        context = await self.context(connection.principal, connection.params)
        result = await self.schema.execute(
            message.query,
            variable_values=message.variables,
            context_value=context,
            operation_name=message.operation_name,
        )
        op_id = message.id
        if isinstance(result, PreExecutionError) or (result.data is None and result.errors):
            connection.send_error(op_id, result_errors(result))
        else:
            connection.send_data(op_id, result_payload(result))
        connection.send_complete(op_id)
