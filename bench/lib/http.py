"""Small blocking HTTP/JSON client for driving servers between load runs (setup,
correctness checks, emulator request log) and for B2's one-client latency: one keep-alive
connection, like a real client would hold, so that timings exclude TCP connects."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit


class HttpError(RuntimeError):
    pass


class JsonClient:
    def __init__(
        self, base_url: str, *, timeout: float = 30, headers: dict[str, str] | None = None
    ) -> None:
        parts = urlsplit(base_url)
        if parts.hostname is None or parts.port is None:
            raise ValueError(f"expected http://host:port[/prefix], got {base_url!r}")
        self.host, self.port = parts.hostname, parts.port
        self.prefix = parts.path.rstrip("/")
        self.timeout = timeout
        self.headers = dict(headers or {})  # sent with every request (e.g. Authorization)
        self._conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """(status, decoded JSON body or None). Reconnects once if the server closed the
        kept-alive connection."""
        payload = None if body is None else json.dumps(body).encode()
        headers = dict(self.headers)
        if payload is not None:
            headers["content-type"] = "application/json"
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request(method, self.prefix + path, payload, headers)
                response = conn.getresponse()
                raw = response.read()
            except (ConnectionError, http.client.HTTPException):
                self.close()
                if attempt == 2:
                    raise
                continue
            return response.status, (json.loads(raw) if raw else None)
        raise AssertionError("unreachable")

    def json(self, method: str, path: str, body: Any = None) -> Any:
        status, decoded = self.request(method, path, body)
        if status >= 300:
            raise HttpError(f"{method} {path}: HTTP {status}: {decoded!r:.300}")
        return decoded

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """The `data` of a GraphQL answer; any error in the answer raises."""
        answer = self.json("POST", "/graphql", {"query": query, "variables": variables or {}})
        if answer.get("errors"):
            raise HttpError(f"GraphQL errors: {json.dumps(answer['errors'])[:500]}")
        return dict(answer["data"])

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
