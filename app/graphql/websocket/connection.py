"""One websocket client, from the upgrade to the close. A client has `init_timeout`
seconds from the upgrade to send `connection_init`, whatever else it sends meanwhile.
Malformed messages close that connection with the protocol's code; everyone else is
unaffected."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any, Final

from starlette.types import Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.types.graphql import OperationType

from app import tracing
from app.auth.principal import Principal
from app.errors import UNAUTHENTICATED, error_entry
from app.graphql.errors import coded
from app.graphql.json_input import nested_deeper_than, too_deep
from app.graphql.observe import OperationLog, operation_name_of
from app.graphql.websocket.identity import FORBIDDEN_CLOSE, Identity
from app.graphql.websocket.messages import (
    ConnectionInit,
    ProtocolViolation,
    complete_frame,
    data_prefix,
    decode,
    error_frame,
    subscribe,
    user_error,
)
from app.graphql.websocket.protocols import HANDLERS
from app.graphql.websocket.send_queue import SendQueue
from app.graphql.websocket.sharing import SharedExecution

if TYPE_CHECKING:
    from app.graphql.websocket.server import SubscriptionServer

# How long a close frame may wait for a client that does not read before we give up on
# the closing handshake (uvicorn waits as long for the client's answer to it).
CLOSE_TIMEOUT: Final = 10.0


class Connection:
    """One websocket client: its protocol state, operations and bounded send queue."""

    def __init__(
        self, server: SubscriptionServer, websocket: WebSocket, protocol: str, send: Send
    ) -> None:
        self.server = server
        self.websocket = websocket
        self.protocol = protocol
        self.handler = HANDLERS[protocol]
        # The upgrade request's X-Request-Id (a router's), or one made up: one per connection.
        upgrade = websocket.scope if websocket is not None else {"headers": []}
        self.log = OperationLog(upgrade, log=server.access_log, metrics=server.metrics)
        self.params: dict[str, Any] = {}
        self.identity = Identity(upgrade["headers"])
        self.acknowledged = False
        self.operations: dict[str, SharedExecution | None] = {}
        self.outbox = SendQueue(send, server.limits.send_queue, server.limits.control_queue)
        self._prefixes: dict[str, str] = {}  # op id -> the start of its data frames

    @property
    def queued(self) -> int:
        """Frames waiting to be sent."""
        return self.outbox.queued

    @property
    def max_control(self) -> int:
        return self.outbox.max_control

    @property
    def dropped(self) -> int:
        return self.outbox.dropped

    @property
    def closed(self) -> bool:
        return self.outbox.closed

    # -- receiving ------------------------------------------------------------------------

    async def serve(self, init_deadline: float) -> None:
        """Handle messages until the client leaves or breaks the protocol; `connection_init`
        must have come by `init_deadline` (loop time), pings or not."""
        outbox = self.outbox
        try:
            try:
                async with asyncio.timeout_at(init_deadline):
                    while not self.acknowledged and not outbox.closed:
                        await self._handle_next()
            except TimeoutError:
                raise ProtocolViolation(4408, "Connection initialisation timeout") from None
            while not outbox.closed:
                await self._handle_next()
            if outbox.overflowed:
                raise ProtocolViolation(4429, "Too many unread messages")
        except ProtocolViolation as violation:
            await self.close(violation.code, violation.reason)
        except _Disconnected:
            pass
        finally:
            outbox.close()
            self.identity.stop()
            for op_id in list(self.operations):
                await self.leave(op_id, outcome="closed")
            self.log.close_all()
            await outbox.stop()

    async def _handle_next(self) -> None:
        message = await self.websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise _Disconnected
        frame = decode(message.get("text"), self.server.limits.max_message_bytes)
        await self.handler.handle(self, frame)
        if self.outbox.queued:
            # Messages that arrived together are received without a pause: the sender gets
            # its turn before the next one, so that only a client that does not read sees
            # its queue fill.
            await asyncio.sleep(0)

    @property
    def principal(self) -> Principal:
        return self.identity.principal

    def acknowledge(self, init: ConnectionInit, principal: Principal) -> None:
        self.params = init.payload
        self.identity.principal = principal
        self.log.sub = principal.sub if principal.method != "none" else None
        self.acknowledged = True
        self.identity.watch_expiry(self)

    def renewed(self) -> None:
        """The credential was replaced in-band (a ping): its expiry is the new one's."""
        self.identity.watch_expiry(self)

    async def expire(self, message: str) -> None:
        """The credential expired unrenewed: every open operation ends UNAUTHENTICATED,
        then the connection closes with 4403."""
        error = error_entry(message, UNAUTHENTICATED)
        for op_id in list(self.operations):
            self.send_error(op_id, [error])
            shared = self.operations.pop(op_id, None)
            if shared is not None:
                await shared.remove(self, op_id)
        await self.outbox.flush()
        await self.close(FORBIDDEN_CLOSE, "Forbidden")

    async def subscribe(self, op_id: str, payload: dict[str, Any]) -> None:
        """Start an operation the protocol handler has accepted (acknowledged connection,
        valid id and query, no clash with a running one)."""
        if len(self.operations) >= self.server.limits.max_subscriptions:
            limit = self.server.limits.max_subscriptions
            self.send_error(op_id, [user_error(f"At most {limit} subscriptions per connection.")])
            return
        message = subscribe(op_id, payload)
        if nested_deeper_than(message.variables, self.server.schema.max_json_depth - 1):
            # Counted from the variables object, as in an HTTP body's `variables`.
            refusal = too_deep(self.server.schema.max_json_depth)
            self.send_error(op_id, [{"message": refusal.message, "extensions": refusal.extensions}])
            return
        prepared = self.server.schema.operations.get(message.query, message.operation_name)
        if prepared.operation_type is None:  # it does not parse or validate
            self.send_error(op_id, [dict(coded(error).formatted) for error in prepared.errors])
            return
        span = self.log.started(
            op_id,
            prepared.operation_type.value,
            message.operation_name or operation_name_of(prepared.document),
        )
        if prepared.operation_type is OperationType.SUBSCRIPTION:
            # Not the parent of the shared execution's vendor requests: they serve every
            # subscriber of it, and outlive this one.
            await self.server.join(self, message)
        else:
            self.operations[op_id] = None
            with tracing.within(span):  # the task's vendor requests are in this trace
                task = asyncio.create_task(self.server.run_once(self, message))
            task.add_done_callback(lambda t: t.cancelled() or t.exception())

    async def leave(self, op_id: str, *, outcome: str | None = None) -> None:
        self._prefixes.pop(op_id, None)
        if outcome is not None:
            self.log.ended(op_id, outcome)
        shared = self.operations.pop(op_id, None)
        if shared is not None:
            await shared.remove(self, op_id)

    # -- sending --------------------------------------------------------------------------

    def send_data(self, op_id: str, payload: str) -> None:
        prefix = self._prefixes.get(op_id)
        if prefix is None:
            prefix = data_prefix(op_id, self.handler.data_type)
            self._prefixes[op_id] = prefix
        self.outbox.put_data(prefix + payload + "}")

    def send_error(self, op_id: str, errors: list[dict[str, Any]]) -> None:
        codes = [str((e.get("extensions") or {}).get("code", "")) for e in errors]
        self.log.ended(op_id, "error", [c for c in codes if c])
        self.outbox.put_control(error_frame(op_id, self.handler.error_payload(errors)))
        self._forget(op_id)

    def send_complete(self, op_id: str) -> None:
        self.log.ended(op_id, "ok")
        self.outbox.put_control(complete_frame(op_id))
        self._forget(op_id)

    def send_control(self, text: str) -> None:
        self.outbox.put_control(text)

    def keep_alive(self) -> None:
        if self.acknowledged:
            self.outbox.put_control(self.handler.keep_alive_frame)

    def _forget(self, op_id: str) -> None:
        self.operations.pop(op_id, None)
        self._prefixes.pop(op_id, None)

    async def close(self, code: int, reason: str) -> None:
        self.outbox.close()
        if self.websocket.application_state == WebSocketState.CONNECTED:
            # Bounded: the close frame waits behind whatever a client that does not read
            # has left unread.
            with contextlib.suppress(OSError, RuntimeError, TimeoutError, WebSocketDisconnect):
                async with asyncio.timeout(CLOSE_TIMEOUT):
                    await self.websocket.close(code=code, reason=reason)


class _Disconnected(Exception):
    pass
