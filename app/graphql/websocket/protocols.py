"""What each protocol does with a client's messages: `graphql-transport-ws` and the
legacy `graphql-ws`, one handler each. Handlers hold no state (one instance per protocol
serves every connection); the connection's state is the connection's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Final

from app.errors import Unauthenticated
from app.graphql.websocket.identity import FORBIDDEN_CLOSE
from app.graphql.websocket.messages import (
    CONNECTION_ACK,
    KEEP_ALIVE,
    LEGACY_WS,
    PING,
    PONG,
    TRANSPORT_WS,
    Frame,
    ProtocolViolation,
    connection_error_frame,
    connection_init,
    operation_id,
    pong_frame,
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

    async def initialise(self, connection: Connection, frame: Frame) -> bool:
        """Acknowledge `connection_init` once its credential is verified; False (and the
        connection closed with 4403) when it is refused."""
        if connection.acknowledged:
            raise ProtocolViolation(4429, "Too many initialisation requests")
        init = connection_init(frame)
        try:
            principal = await connection.identity.establish(
                connection.server.authenticator, init.payload
            )
        except Unauthenticated as refused:
            await self.refuse(connection, refused)
            return False
        connection.acknowledge(init, principal)
        connection.send_control(CONNECTION_ACK)
        return True

    async def refuse(self, connection: Connection, refused: Unauthenticated) -> None:
        await connection.close(FORBIDDEN_CLOSE, "Forbidden")

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
                await self.initialise(connection, frame)
            case "ping":
                renewal = await connection.identity.renew(
                    connection.server.authenticator, frame.get("payload")
                )
                if renewal is None:
                    connection.send_control(PONG)
                else:
                    if renewal["renewed"]:
                        connection.renewed()
                    connection.send_control(pong_frame(renewal))
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
                if await self.initialise(connection, frame):
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

    async def refuse(self, connection: Connection, refused: Unauthenticated) -> None:
        # graphql-ws has no close codes of its own: it says why in connection_error.
        error = {"message": refused.message, "extensions": refused.extensions}
        connection.send_control(connection_error_frame(error))
        await connection.outbox.flush()
        await connection.close(FORBIDDEN_CLOSE, "Forbidden")

    async def resubscribe(self, connection: Connection, op_id: str) -> None:
        await connection.leave(op_id)  # legacy clients may restart an id


HANDLERS: Final[dict[str, ProtocolHandler]] = {
    TRANSPORT_WS: TransportWsHandler(),
    LEGACY_WS: LegacyWsHandler(),
}
