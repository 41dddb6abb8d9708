"""GraphQL over websockets: `graphql-transport-ws` and the legacy `graphql-ws`, with shared
subscription executions.

Subscribers that send the same operation with the same variables share ONE execution
and ONE encoded payload; only the websocket sends are per subscriber. A subscriber that
joins a running `callUpdated` gets the latest payload at once (the call's current
state). Each connection has a bounded send queue: when a client reads too slowly its
oldest undelivered data messages are dropped (a call's latest state is what matters)
and the drop is counted; control messages (acks, pongs, keep-alives, errors,
completions) cannot be dropped, so a client that lets them pile up is closed (4429).
A client has `init_timeout` seconds from the upgrade to send `connection_init`, whatever
else it sends meanwhile. Malformed messages close that connection with the protocol's
code; everyone else is unaffected.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from graphql import DocumentNode, FieldNode, get_operation_ast
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.types.graphql import OperationType

from app.errors import BAD_USER_INPUT, extensions_for
from app.graphql.context import Context
from app.graphql.errors import coded
from app.graphql.json_input import nested_deeper_than, too_deep
from app.graphql.observe import OperationLog, header, operation_name_of
from app.graphql.schema import SwitchboardSchema
from app.metrics import WEBSOCKET_DROPPED, Sample

logger = logging.getLogger("switchboard.websocket")

TRANSPORT_WS: Final = "graphql-transport-ws"
LEGACY_WS: Final = "graphql-ws"
PROTOCOLS: Final = (TRANSPORT_WS, LEGACY_WS)

ContextFactory = Callable[[dict[str, Any]], Awaitable[Context]]


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


# How long a close frame may wait for a client that does not read before we give up on
# the closing handshake (uvicorn waits as long for the client's answer to it).
CLOSE_TIMEOUT: Final = 10.0


class ProtocolViolation(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class SubscriptionServer:
    """The ASGI websocket endpoint; one per gateway."""

    def __init__(
        self,
        schema: SwitchboardSchema,
        context: ContextFactory,
        limits: WebSocketLimits,
        *,
        access_log: bool = True,
        metrics: bool = True,
    ) -> None:
        self.schema = schema
        self.context = context
        self.limits = limits
        self.access_log = access_log
        self.metrics = metrics
        self.connections: set[Connection] = set()
        self.shared: dict[tuple[str, str, str | None], SharedExecution] = {}
        self._keep_alive: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        upgraded = asyncio.get_running_loop().time()  # the init timeout counts from here
        websocket = WebSocket(scope, receive, send)
        offered = [p.strip() for p in scope.get("subprotocols", [])]
        protocol = next((p for p in PROTOCOLS if p in offered), None)
        if protocol is None:
            await websocket.close(code=4406, reason="Subprotocol not acceptable")
            return
        await websocket.accept(subprotocol=protocol)
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
        await asyncio.gather(
            *(c._close(1001, "Server draining: reconnect") for c in list(self.connections)),
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
        # Legacy graphql-ws clients expect "ka" messages. graphql-transport-ws needs no
        # application pings (each would cost a pong from every client): the websocket's
        # own pings, sent by uvicorn, keep those connections alive.
        while self.connections:
            await asyncio.sleep(self.limits.keep_alive)
            for index, connection in enumerate(list(self.connections)):
                if connection.protocol == LEGACY_WS:
                    connection.keep_alive()
                if index % 500 == 499:
                    await asyncio.sleep(0)  # let deliveries through during a long round

    async def join(self, connection: Connection, op_id: str, payload: dict[str, Any]) -> None:
        query, variables, name = _operation(payload)
        # Shared by everyone sending the same operation: nothing in the answer depends on
        # who asks. Once answers depend on the subscriber (auth), the key must say who.
        key = (query, json.dumps(variables, sort_keys=True), name)
        shared = self.shared.get(key)
        if shared is None:
            context = await self.context(connection.params)
            shared = SharedExecution(self, key, query, variables, name, context)
            self.shared[key] = shared
            shared.start()
        connection.operations[op_id] = shared
        shared.add(connection, op_id)

    async def run_once(self, connection: Connection, op_id: str, payload: dict[str, Any]) -> None:
        """A query or mutation over the websocket: executed for this subscriber alone."""
        query, variables, name = _operation(payload)
        context = await self.context(connection.params)
        result = await self.schema.execute(
            query, variable_values=variables, context_value=context, operation_name=name
        )
        if isinstance(result, PreExecutionError) or (result.data is None and result.errors):
            connection.send_error(op_id, _errors(result))
        else:
            connection.send_data(op_id, _encode(result))
        connection.send_complete(op_id)


class SharedExecution:
    """One subscription execution, its latest payload, and everyone receiving it."""

    def __init__(
        self,
        server: SubscriptionServer,
        key: tuple[str, str, str | None],
        query: str,
        variables: dict[str, Any],
        name: str | None,
        context: Context,
    ) -> None:
        self.server = server
        self.key = key
        self.query = query
        self.variables = variables
        self.name = name
        self.context = context
        self.members: dict[tuple[Connection, str], None] = {}
        self.latest: str | None = None
        self.replays = _replays_latest(server.schema.operations.get(query, name).document, name)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="subscription")

    def add(self, connection: Connection, op_id: str) -> None:
        self.members[(connection, op_id)] = None
        if self.replays and self.latest is not None:
            connection.send_data(op_id, self.latest)

    async def remove(self, connection: Connection, op_id: str) -> None:
        self.members.pop((connection, op_id), None)
        if not self.members:
            await self.stop()

    async def stop(self) -> None:
        if self.server.shared.get(self.key) is self:
            del self.server.shared[self.key]
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        try:
            stream = await self.server.schema.subscribe(
                self.query,
                variable_values=self.variables,
                context_value=self.context,
                operation_name=self.name,
            )
            async for result in stream:
                if isinstance(result, PreExecutionError) or (result.data is None and result.errors):
                    errors = _errors(result)
                    for connection, op_id in self._members():
                        connection.send_error(op_id, errors)
                    return
                payload = _encode(result)  # once, whoever receives it
                self.latest = payload
                for connection, op_id in self._members():
                    connection.send_data(op_id, payload)
            for connection, op_id in self._members():
                connection.send_complete(op_id)
        except Exception:
            logger.exception("subscription execution failed")
            failure = [{"message": "Internal server error.", "extensions": extensions_for(None)}]
            for connection, op_id in self._members():
                connection.send_error(op_id, failure)
        finally:
            if self.server.shared.get(self.key) is self:
                del self.server.shared[self.key]
            for connection, op_id in list(self.members):
                connection.operations.pop(op_id, None)
            self.members.clear()

    def _members(self) -> list[tuple[Connection, str]]:
        return list(self.members)


class Connection:
    """One websocket client: its protocol state, operations and bounded send queue."""

    def __init__(
        self, server: SubscriptionServer, websocket: WebSocket, protocol: str, send: Send
    ) -> None:
        self.server = server
        self.websocket = websocket
        self.protocol = protocol
        # The upgrade request's X-Request-Id (a router's), or one made up: one per connection.
        upgrade = websocket.scope if websocket is not None else {"headers": []}
        self.log = OperationLog(
            header(upgrade, b"x-request-id"), log=server.access_log, metrics=server.metrics
        )
        self._send = send  # the raw ASGI send: frames skip Starlette's per-send checks
        self.params: dict[str, Any] = {}
        self.acknowledged = False
        self.operations: dict[str, SharedExecution | None] = {}
        self.dropped = 0
        # Frames waiting to be sent: (is data, text). A sender task runs only while there
        # are some, so an idle connection costs no task.
        self._outbox: collections.deque[tuple[bool, str]] = collections.deque()
        self._data_queued = 0
        self.max_control = server.limits.control_queue
        self._overflowed = False
        self._sender: asyncio.Task[None] | None = None
        self._prefixes: dict[str, str] = {}  # op id -> the start of its data frames
        self._closed = False

    # -- receiving ------------------------------------------------------------------------

    @property
    def queued(self) -> int:
        """Frames waiting to be sent."""
        return len(self._outbox)

    @property
    def closed(self) -> bool:
        return self._closed

    async def serve(self, init_deadline: float) -> None:
        """Handle messages until the client leaves or breaks the protocol; `connection_init`
        must have come by `init_deadline` (loop time), pings or not."""
        try:
            try:
                async with asyncio.timeout_at(init_deadline):
                    while not self.acknowledged and not self._closed:
                        await self._handle_next()
            except TimeoutError:
                raise ProtocolViolation(4408, "Connection initialisation timeout") from None
            while not self._closed:
                await self._handle_next()
            if self._overflowed:
                raise ProtocolViolation(4429, "Too many unread messages")
        except ProtocolViolation as violation:
            await self._close(violation.code, violation.reason)
        except _Disconnected:
            pass
        finally:
            self._closed = True
            for op_id in list(self.operations):
                await self._leave(op_id, outcome="closed")
            self.log.close_all()
            if self._sender is not None:
                self._sender.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._sender

    async def _handle_next(self) -> None:
        await self._handle(await self._receive())
        if self._outbox:
            # Messages that arrived together are received without a pause: the sender gets
            # its turn before the next one, so that only a client that does not read sees
            # its queue fill.
            await asyncio.sleep(0)

    async def _receive(self) -> dict[str, Any]:
        message = await self.websocket.receive()
        if message["type"] == "websocket.disconnect":
            raise _Disconnected
        text = message.get("text")
        if text is None:
            raise ProtocolViolation(4400, "Messages must be text")
        if len(text) > self.server.limits.max_message_bytes:
            raise ProtocolViolation(4400, "Message too large")
        try:
            decoded = json.loads(text)
        except ValueError:
            raise ProtocolViolation(4400, "Message is not JSON") from None
        except RecursionError:  # nested past the decoder (see app/graphql/json_input.py)
            raise ProtocolViolation(4400, "Message nested too deeply") from None
        if not isinstance(decoded, dict) or not isinstance(decoded.get("type"), str):
            raise ProtocolViolation(4400, "Message needs a type")
        return decoded

    async def _handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "connection_init":
            if self.acknowledged:
                raise ProtocolViolation(4429, "Too many initialisation requests")
            payload = message.get("payload")
            if payload is not None and not isinstance(payload, dict):
                raise ProtocolViolation(4400, "connection_init payload must be an object")
            self.params = payload or {}
            self.acknowledged = True
            self._queue(False, '{"type":"connection_ack"}')
            if self.protocol == LEGACY_WS:
                self.keep_alive()
        elif kind == "ping" and self.protocol == TRANSPORT_WS:
            self._queue(False, '{"type":"pong"}')
        elif kind == "pong" and self.protocol == TRANSPORT_WS:
            pass
        elif kind in ("subscribe", "start"):
            if (kind == "subscribe") != (self.protocol == TRANSPORT_WS):
                raise ProtocolViolation(4400, f"Unknown message type {kind!r}")
            await self._subscribe(message)
        elif kind in ("complete", "stop"):
            if (kind == "complete") != (self.protocol == TRANSPORT_WS):
                raise ProtocolViolation(4400, f"Unknown message type {kind!r}")
            await self._leave(_operation_id(message), outcome="stopped")
        elif kind == "connection_terminate" and self.protocol == LEGACY_WS:
            await self._close(1000, "")
        else:
            raise ProtocolViolation(4400, f"Unknown message type {kind!r}")

    async def _subscribe(self, message: dict[str, Any]) -> None:
        if not self.acknowledged:
            raise ProtocolViolation(4401, "Unauthorized")
        op_id = _operation_id(message)
        payload = message.get("payload")
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            raise ProtocolViolation(4400, "subscribe payload needs a query")
        if op_id in self.operations:
            if self.protocol == TRANSPORT_WS:
                raise ProtocolViolation(4409, f"Subscriber for {op_id} already exists")
            await self._leave(op_id)  # legacy clients may restart an id
        if len(self.operations) >= self.server.limits.max_subscriptions:
            limit = self.server.limits.max_subscriptions
            self.send_error(op_id, [_user_error(f"At most {limit} subscriptions per connection.")])
            return
        query, variables, name = _operation(payload)
        if nested_deeper_than(variables, self.server.schema.max_json_depth - 1):
            # Counted from the variables object, as in an HTTP body's `variables`.
            refusal = too_deep(self.server.schema.max_json_depth)
            self.send_error(op_id, [{"message": refusal.message, "extensions": refusal.extensions}])
            return
        prepared = self.server.schema.operations.get(query, name)
        if prepared.operation_type is None:  # it does not parse or validate
            self.send_error(op_id, [dict(coded(error).formatted) for error in prepared.errors])
            return
        self.log.started(
            op_id, prepared.operation_type.value, name or operation_name_of(prepared.document)
        )
        if prepared.operation_type is OperationType.SUBSCRIPTION:
            await self.server.join(self, op_id, payload)
        else:
            self.operations[op_id] = None
            task = asyncio.create_task(self.server.run_once(self, op_id, payload))
            task.add_done_callback(lambda t: t.cancelled() or t.exception())

    async def _leave(self, op_id: str, *, outcome: str | None = None) -> None:
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
            kind = "next" if self.protocol == TRANSPORT_WS else "data"
            prefix = f'{{"id":{json.dumps(op_id)},"type":"{kind}","payload":'
            self._prefixes[op_id] = prefix
        self._queue(True, prefix + payload + "}")

    def send_error(self, op_id: str, errors: list[dict[str, Any]]) -> None:
        codes = [str((e.get("extensions") or {}).get("code", "")) for e in errors]
        self.log.ended(op_id, "error", [c for c in codes if c])
        payload: Any = errors if self.protocol == TRANSPORT_WS else errors[0]
        self._queue(False, json.dumps({"id": op_id, "type": "error", "payload": payload}))
        self._forget(op_id)

    def send_complete(self, op_id: str) -> None:
        self.log.ended(op_id, "ok")
        self._queue(False, json.dumps({"id": op_id, "type": "complete"}))
        self._forget(op_id)

    def keep_alive(self) -> None:
        if self.acknowledged:
            self._queue(
                False, '{"type":"ping"}' if self.protocol == TRANSPORT_WS else '{"type":"ka"}'
            )

    def _forget(self, op_id: str) -> None:
        self.operations.pop(op_id, None)
        self._prefixes.pop(op_id, None)

    def _queue(self, is_data: bool, text: str) -> None:
        if self._closed:
            return
        if not is_data and len(self._outbox) - self._data_queued >= self.max_control:
            # A client that does not read its pongs (or anything else): closed, not queued
            # for without end. serve() sends the close frame at its next message.
            self._overflow()
            return
        if is_data:
            if self._data_queued >= self.server.limits.send_queue:
                # Slow reader: drop its oldest undelivered data message (latest state wins).
                for index, (queued, _) in enumerate(self._outbox):
                    if queued:
                        del self._outbox[index]
                        self._data_queued -= 1
                        self.dropped += 1
                        WEBSOCKET_DROPPED.inc()
                        break
            self._data_queued += 1
        self._outbox.append((is_data, text))
        if self._sender is None:
            self._sender = asyncio.create_task(self._drain())

    def _overflow(self) -> None:
        logger.info("closing a websocket client that does not read (%d queued)", self.queued)
        self._closed = True
        self._overflowed = True
        self._outbox.clear()
        self._data_queued = 0
        if self._sender is not None:
            self._sender.cancel()  # blocked on the client: its frame is lost with it

    async def _drain(self) -> None:
        send = self._send
        try:
            while self._outbox:
                is_data, text = self._outbox.popleft()
                if is_data:
                    self._data_queued -= 1
                await send({"type": "websocket.send", "text": text})
        except (OSError, RuntimeError):
            self._closed = True  # the client went away; serve() notices on receive
        finally:
            self._sender = None

    async def _close(self, code: int, reason: str) -> None:
        self._closed = True
        if self.websocket.application_state == WebSocketState.CONNECTED:
            # Bounded: the close frame waits behind whatever a client that does not read
            # has left unread.
            with contextlib.suppress(OSError, RuntimeError, TimeoutError, WebSocketDisconnect):
                async with asyncio.timeout(CLOSE_TIMEOUT):
                    await self.websocket.close(code=code, reason=reason)


class _Disconnected(Exception):
    pass


def _operation_id(message: dict[str, Any]) -> str:
    op_id = message.get("id")
    if not isinstance(op_id, str) or not op_id or len(op_id) > 128:
        raise ProtocolViolation(4400, "Operation id must be a non-empty string")
    return op_id


def _operation(payload: dict[str, Any]) -> tuple[str, dict[str, Any], str | None]:
    variables = payload.get("variables") or {}
    name = payload.get("operationName")
    if not isinstance(variables, dict) or not (name is None or isinstance(name, str)):
        raise ProtocolViolation(4400, "variables must be an object, operationName a string")
    return payload["query"], variables, name


def _replays_latest(document: DocumentNode | None, name: str | None) -> bool:
    """Late joiners get the latest payload when it is a state (callUpdated), not an
    event stream (callEvents, whose past events are not news)."""
    operation = get_operation_ast(document, name) if document else None
    fields = operation.selection_set.selections if operation else ()
    return all(isinstance(f, FieldNode) and f.name.value == "callUpdated" for f in fields)


def _encode(result: ExecutionResult) -> str:
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [dict(error.formatted) for error in result.errors]
    return json.dumps(body, separators=(",", ":"))


def _errors(result: ExecutionResult) -> list[dict[str, Any]]:
    return [dict(error.formatted) for error in result.errors or ()]


def _user_error(message: str) -> dict[str, Any]:
    return {"message": message, "extensions": {"code": BAD_USER_INPUT}}
