"""What each protocol does with a client's messages: `graphql-transport-ws` and the
legacy `graphql-ws`, one handler each. Handlers hold no state (one instance per protocol
serves every connection); the connection's state is the connection's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Final

from app.graphql.websocket.messages import (
    CONNECTION_ACK,
    KEEP_ALIVE,
    LEGACY_WS,
    PING,
    PONG,
    TRANSPORT_WS,
    Frame,
    ProtocolViolation,
    connection_init,
    operation_id,
    subscribe_payload,
    unknown,
)

if TYPE_CHECKING:
    from app.graphql.websocket.connection import Connection


class ProtocolHandler:
    name: ClassVar[str]
    data_type: ClassVar[str]  # the type of the frames that carry results
    keep_alive_frame: ClassVar[str]
    # Whether the server's keep-alive round sends this protocol's clients keep_alive_frame.
    sends_keep_alives: ClassVar[bool]

    async def handle(self, connection: Connection, frame: Frame) -> None:
        raise NotImplementedError

    def error_payload(self, errors: list[dict[str, Any]]) -> Any:
        raise NotImplementedError

    def initialise(self, connection: Connection, frame: Frame) -> None:
        if connection.acknowledged:
            raise ProtocolViolation(4429, "Too many initialisation requests")
        connection.acknowledge(connection_init(frame))
        connection.send_control(CONNECTION_ACK)

    async def subscribe(self, connection: Connection, frame: Frame) -> None:
        if not connection.acknowledged:
            raise ProtocolViolation(4401, "Unauthorized")
        op_id = operation_id(frame)
        payload = subscribe_payload(frame)
        if op_id in connection.operations:
            await self.resubscribe(connection, op_id)
        await connection.subscribe(op_id, payload)

    async def resubscribe(self, connection: Connection, op_id: str) -> None:
        """A subscribe for an id already running."""
        raise NotImplementedError


class TransportWsHandler(ProtocolHandler):
    name = TRANSPORT_WS
    data_type = "next"
    keep_alive_frame = PING
    # No application pings (each would cost a pong from every client): the websocket's
    # own pings, sent by uvicorn, keep these connections alive.
    sends_keep_alives = False

    async def handle(self, connection: Connection, frame: Frame) -> None:
        match frame["type"]:
            case "connection_init":
                self.initialise(connection, frame)
            case "ping":
                connection.send_control(PONG)
            case "pong":
                pass
            case "subscribe":
                await self.subscribe(connection, frame)
            case "complete":
                await connection.leave(operation_id(frame), outcome="stopped")
            case kind:
                raise unknown(kind)

    def error_payload(self, errors: list[dict[str, Any]]) -> Any:
        return errors

    async def resubscribe(self, connection: Connection, op_id: str) -> None:
        raise ProtocolViolation(4409, f"Subscriber for {op_id} already exists")


class LegacyWsHandler(ProtocolHandler):
    name = LEGACY_WS
    data_type = "data"
    keep_alive_frame = KEEP_ALIVE
    sends_keep_alives = True  # legacy graphql-ws clients expect "ka" messages

    async def handle(self, connection: Connection, frame: Frame) -> None:
        match frame["type"]:
            case "connection_init":
                self.initialise(connection, frame)
                connection.keep_alive()
            case "start":
                await self.subscribe(connection, frame)
            case "stop":
                await connection.leave(operation_id(frame), outcome="stopped")
            case "connection_terminate":
                await connection.close(1000, "")
            case kind:
                raise unknown(kind)

    def error_payload(self, errors: list[dict[str, Any]]) -> Any:
        return errors[0]

    async def resubscribe(self, connection: Connection, op_id: str) -> None:
        await connection.leave(op_id)  # legacy clients may restart an id


HANDLERS: Final[dict[str, ProtocolHandler]] = {
    TRANSPORT_WS: TransportWsHandler(),
    LEGACY_WS: LegacyWsHandler(),
}
