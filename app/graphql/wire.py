"""What GraphQL over HTTP puts on the wire besides results: coded refusals, the body
size cap, the request's media types.

Responses are `application/json` unless the request's `Accept` prefers
`application/graphql-response+json` (the GraphQL over HTTP spec's media type, which
Apollo Client 3.8+ lists first): then that is the Content-Type, and a request that fails
before it executes (parse or validation errors) is 400 rather than 200 (app/graphql/http.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from app.errors import BAD_USER_INPUT, UNAUTHENTICATED, Unauthenticated, error_document

JSON: Final = b"application/json"
GRAPHQL_RESPONSE_JSON: Final = b"application/graphql-response+json"


def graphql_error_response(
    message: str,
    status_code: int,
    code: str = BAD_USER_INPUT,
    headers: Mapping[str, str] | None = None,
    media_type: bytes = JSON,
    extensions: Mapping[str, Any] | None = None,
) -> JSONResponse:
    details = dict(extensions or {})
    code = str(details.pop("code", code))
    return JSONResponse(
        error_document(message, code, **details),
        status_code=status_code,
        headers=dict(headers) if headers else None,
        media_type=media_type.decode(),
    )


NO_CREDENTIAL: Final = "This needs a credential: Authorization: Bearer <token>, or X-API-Key."


def unauthenticated_response(refused: Unauthenticated, media_type: bytes = JSON) -> JSONResponse:
    """401 as RFC 6750 says: the scheme in WWW-Authenticate, the reason in the body."""
    challenge = 'Bearer realm="switchboard"'
    if refused.message != NO_CREDENTIAL:
        challenge += ', error="invalid_token"'
    return graphql_error_response(
        refused.message, 401, UNAUTHENTICATED, {"www-authenticate": challenge}, media_type
    )


def response_media_type(scope: Scope) -> bytes:
    """GRAPHQL_RESPONSE_JSON when `Accept` prefers it to application/json (a higher
    q-value, or the same and listed first), else JSON. Only an Accept naming it is
    parsed at all."""
    accept = b""
    for name, value in scope["headers"]:
        if name == b"accept":
            accept = value
            break
    if b"graphql-response+json" not in accept:
        return JSON
    best: tuple[float, bytes] = (0.0, JSON)
    for entry in accept.split(b","):
        media_type, *parameters = (part.strip() for part in entry.split(b";"))
        media_type = media_type.lower()
        if media_type not in (JSON, GRAPHQL_RESPONSE_JSON, b"*/*", b"application/*"):
            continue
        quality = 1.0
        for parameter in parameters:
            if parameter[:2].lower() == b"q=":
                try:
                    quality = float(parameter[2:])
                except ValueError:
                    quality = 0.0
        offered = GRAPHQL_RESPONSE_JSON if media_type == GRAPHQL_RESPONSE_JSON else JSON
        if quality > best[0]:
            best = (quality, offered)
    return best[1]


class BodySizeLimit:
    """Refuses request bodies over `max_bytes` with 413, before anything parses them."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0

        async def counted_receive() -> Any:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise _BodyTooLarge
            return message

        try:
            await self.app(scope, counted_receive, send)
        except _BodyTooLarge:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"Request body larger than {self.max_bytes} bytes."
        await graphql_error_response(message, 413)(scope, receive, send)


class _BodyTooLarge(Exception):
    pass


_JSON_MEDIA_TYPES = frozenset({JSON, GRAPHQL_RESPONSE_JSON})


def json_content(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            media_type: bytes = value.split(b";", 1)[0].strip().lower()
            return media_type in _JSON_MEDIA_TYPES
    return False


async def read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None once it exceeds `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
