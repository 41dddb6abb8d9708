"""Browser origins (SWITCHBOARD_ALLOWED_ORIGINS): which web pages may call switchboard.

A request a browser sends on behalf of a page carries that page's `Origin`. The page's
own origin (the same host and port as the request's `Host`) is always allowed; another
is allowed only when listed. A listed origin gets the CORS headers (and its preflight
`OPTIONS` answered); an unlisted one is refused with 403 before anything runs — for
websocket handshakes too, where browsers apply no CORS at all (the hole a page on any
site used to run `holdCall` through). Requests without `Origin` (routers, services,
curl) are not affected. The scheme is not compared: behind a TLS-terminating proxy the
page is https and the request reaching us http.
"""

from __future__ import annotations

import json
from typing import Final
from urllib.parse import urlsplit

from starlette.types import Message, Receive, Scope, Send

from app.errors import FORBIDDEN, error_document

# What a cross-origin page may send and read (graphql-ws and Apollo's headers included).
_ALLOW_HEADERS: Final = (
    b"authorization, content-type, x-api-key, x-request-id, traceparent, "
    b"apollographql-client-name, apollographql-client-version, apollo-require-preflight"
)
_EXPOSE_HEADERS: Final = b"x-request-id, www-authenticate, retry-after"
_REFUSAL: Final = json.dumps(
    error_document("Requests from this browser origin are not allowed.", FORBIDDEN)
).encode()


def _netloc(origin: str) -> str:
    try:
        return urlsplit(origin).netloc.lower()
    except ValueError:
        return ""


class OriginCheck:
    def __init__(self, allowed: frozenset[str]) -> None:
        self.allowed = allowed

    @classmethod
    def parse(cls, setting: str) -> OriginCheck:
        origins = (o.strip().rstrip("/").lower() for o in setting.split(","))
        return cls(frozenset(o for o in origins if o))

    def verdict(self, scope: Scope) -> bytes | bool | None:
        """None: no Origin or the page's own; the origin (bytes) when it is listed; False
        when it is refused."""
        origin: bytes | None = None
        host: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"origin":
                origin = value
            elif name == b"host":
                host = value
        if origin is None:
            return None
        text = origin.decode("latin-1").strip().rstrip("/").lower()
        if host is not None and _netloc(text) == host.decode("latin-1").lower():
            return None
        if text in self.allowed:
            return origin
        return False

    async def refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})  # uvicorn answers 403
            return
        await _respond(send, 403, _REFUSAL, [(b"content-type", b"application/json")])

    async def preflight(self, origin: bytes, send: Send) -> None:
        headers = [
            *_cors_headers(origin),
            (b"access-control-allow-methods", b"GET, POST, OPTIONS"),
            (b"access-control-allow-headers", _ALLOW_HEADERS),
            (b"access-control-max-age", b"600"),
        ]
        await _respond(send, 204, b"", headers)

    @staticmethod
    def with_cors(origin: bytes, send: Send) -> Send:
        async def cors_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message["headers"], *_cors_headers(origin)]}
            await send(message)

        return cors_send


def _cors_headers(origin: bytes) -> list[tuple[bytes, bytes]]:
    return [
        (b"access-control-allow-origin", origin),
        (b"vary", b"Origin"),
        (b"access-control-expose-headers", _EXPOSE_HEADERS),
    ]


async def _respond(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    headers = [*headers, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
