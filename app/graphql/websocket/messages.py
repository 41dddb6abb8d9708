"""The messages of GraphQL over websockets, as `graphql-transport-ws` and the legacy
`graphql-ws` spell them: reading a client's frames, and the frames we send."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from strawberry.types.execution import ExecutionResult

from app.errors import BAD_USER_INPUT, error_entry

TRANSPORT_WS: Final = "graphql-transport-ws"
LEGACY_WS: Final = "graphql-ws"
PROTOCOLS: Final = (TRANSPORT_WS, LEGACY_WS)

# A received frame: a JSON object with a string `type`, not yet read any further (what
# else it must hold depends on the protocol and on the connection's state).
Frame = dict[str, Any]


class ProtocolViolation(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


# -- received -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConnectionInit:
    payload: dict[str, Any]  # the connection's parameters; {} when the client sent none


@dataclass(frozen=True, slots=True)
class Subscribe:
    """`subscribe` (graphql-transport-ws) or `start` (graphql-ws)."""

    id: str
    query: str
    variables: dict[str, Any]
    operation_name: str | None
    payload: dict[str, Any]  # as received


def decode(text: str | None, max_bytes: int) -> Frame:
    if text is None:
        raise ProtocolViolation(4400, "Messages must be text")
    if len(text) > max_bytes:
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


def unknown(kind: str) -> ProtocolViolation:
    return ProtocolViolation(4400, f"Unknown message type {kind!r}")


def connection_init(frame: Frame) -> ConnectionInit:
    payload = frame.get("payload")
    if payload is not None and not isinstance(payload, dict):
        raise ProtocolViolation(4400, "connection_init payload must be an object")
    return ConnectionInit(payload or {})


def operation_id(frame: Frame) -> str:
    op_id = frame.get("id")
    if not isinstance(op_id, str) or not op_id or len(op_id) > 128:
        raise ProtocolViolation(4400, "Operation id must be a non-empty string")
    return op_id


def subscribe_payload(frame: Frame) -> dict[str, Any]:
    payload = frame.get("payload")
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        raise ProtocolViolation(4400, "subscribe payload needs a query")
    return payload


def subscribe(op_id: str, payload: dict[str, Any]) -> Subscribe:
    """The operation of a subscribe payload that has a query (`subscribe_payload`); read
    apart from it because a connection checks its subscription limit in between."""
    variables = payload.get("variables") or {}
    name = payload.get("operationName")
    if not isinstance(variables, dict) or not (name is None or isinstance(name, str)):
        raise ProtocolViolation(4400, "variables must be an object, operationName a string")
    return Subscribe(op_id, payload["query"], variables, name, payload)


# -- sent ---------------------------------------------------------------------------------

CONNECTION_ACK: Final = '{"type":"connection_ack"}'
PING: Final = '{"type":"ping"}'
PONG: Final = '{"type":"pong"}'
KEEP_ALIVE: Final = '{"type":"ka"}'  # graphql-ws only


def pong_frame(payload: dict[str, Any]) -> str:
    return json.dumps({"type": "pong", "payload": payload})


def connection_error_frame(payload: dict[str, Any]) -> str:
    return json.dumps({"type": "connection_error", "payload": payload})


def data_prefix(op_id: str, kind: str) -> str:
    """The start of an operation's data frames (`next` or `data`): the payload, encoded
    once for all its subscribers, and "}" complete them."""
    return f'{{"id":{json.dumps(op_id)},"type":"{kind}","payload":'


def error_frame(op_id: str, payload: Any) -> str:
    return json.dumps({"id": op_id, "type": "error", "payload": payload})


def complete_frame(op_id: str) -> str:
    return json.dumps({"id": op_id, "type": "complete"})


def result_payload(result: ExecutionResult) -> str:
    body: dict[str, Any] = {"data": result.data}
    if result.errors:
        body["errors"] = [dict(error.formatted) for error in result.errors]
    return json.dumps(body, separators=(",", ":"))


def result_errors(result: ExecutionResult) -> list[dict[str, Any]]:
    return [dict(error.formatted) for error in result.errors or ()]


def user_error(message: str) -> dict[str, Any]:
    return error_entry(message, BAD_USER_INPUT)
