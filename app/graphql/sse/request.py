"""What a stream request asks: the operation (GET parameters `query`, `variables`,
`operationName`, `extensions`, or a JSON POST body of the same), and where a resumed
stream picks up (`Last-Event-ID`). Anything else is refused with a coded error and its
HTTP status before anything runs, as on /graphql: the CSRF rule (a POST must be JSON),
the body size cap, JSON nested too deeply."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from starlette.types import Receive, Scope

from app.errors import BAD_USER_INPUT, BadUserInput
from app.graphql.json_input import decode
from app.graphql.observe import header
from app.graphql.sse.events import MAX_EVENT_ID, is_event_id
from app.graphql.wire import json_content, read_body

_SHAPE = "Expected a string `query`, object `variables` and `extensions`, string `operationName`."


class Refusal(Exception):
    """A request answered with a JSON error before any stream opens."""

    def __init__(
        self,
        message: str,
        status: int,
        code: str = BAD_USER_INPUT,
        headers: Mapping[str, str] | None = None,
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.headers = dict(headers or {})
        self.extensions = dict(extensions or {})


@dataclass(frozen=True, slots=True)
class StreamRequest:
    query: object  # a string once persisted queries have had their say
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None
    last_event_id: str | None = None


def accepts_event_stream(scope: Scope) -> bool:
    accept = header(scope, b"accept") or b""
    return b"text/event-stream" in accept.lower()


def last_event_id(scope: Scope) -> str | None:
    """The `Last-Event-ID` an EventSource sends when it reconnects; None without one."""
    value = header(scope, b"last-event-id")
    if value is None or not value.strip():
        return None
    text = value.decode("latin-1").strip()
    if not is_event_id(text):
        raise Refusal(
            f"Last-Event-ID must be printable ASCII of at most {MAX_EVENT_ID} characters.", 400
        )
    return text


async def read_request(
    scope: Scope, receive: Receive, *, max_body_bytes: int, max_json_depth: int
) -> StreamRequest:
    """The request's operation; Refusal when it is not a GraphQL request we take."""
    resumed = last_event_id(scope)
    if scope["method"] == "GET":
        parameters = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        raw: dict[str, Any] = {}
        for name in ("query", "operationName"):
            values = parameters.get(name)
            if values:
                raw[name] = values[0]
        for name in ("variables", "extensions"):
            values = parameters.get(name)
            if values:
                raw[name] = _json(values[0], max_json_depth, name)
        return _request(raw, resumed)
    if not json_content(scope):
        # Not executed: a foreign page may post text/plain or a form without CORS' consent.
        raise Refusal("POST bodies must be application/json (a GraphQL request).", 415)
    body = await read_body(receive, max_body_bytes)
    if body is None:
        raise Refusal(f"Request body larger than {max_body_bytes} bytes.", 413)
    decoded = _json(body, max_json_depth, "the body")
    if not isinstance(decoded, dict):
        raise Refusal("Expected a JSON object (one operation: no batches over a stream).", 400)
    return _request(decoded, resumed)


def _json(text: str | bytes, max_depth: int, what: str) -> Any:
    try:
        return decode(text, max_depth)
    except ValueError:
        raise Refusal(f"Unable to parse {what} as JSON.", 400) from None
    except BadUserInput as too_deep:
        raise Refusal(too_deep.message, 400, extensions=too_deep.extensions) from None


def _request(raw: dict[str, Any], resumed: str | None) -> StreamRequest:
    query, variables = raw.get("query"), raw.get("variables")
    name, extensions = raw.get("operationName"), raw.get("extensions")
    if (
        not (variables is None or isinstance(variables, dict))
        or not (extensions is None or isinstance(extensions, dict))
        or not (name is None or isinstance(name, str))
    ):
        raise Refusal(_SHAPE, 400)
    return StreamRequest(query, variables, name, extensions, resumed)


def require_query(query: object) -> str:
    if not isinstance(query, str) or not query:
        raise Refusal("No query: " + _SHAPE, 400)
    return query
