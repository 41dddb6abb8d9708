"""The `Host` check: which names a request may address switchboard by.

A page on any site can make a browser send requests to a name it controls and then
re-point that name at 127.0.0.1 (DNS rebinding); to the browser that is same-origin,
so the page can read the answers. Bound to loopback, switchboard therefore accepts only
loopback names (plus SWITCHBOARD_ALLOWED_HOSTS, e.g. the name a local reverse proxy
passes on); bound elsewhere, only SWITCHBOARD_ALLOWED_HOSTS, when set. Refusals are a
coded 403, for websocket handshakes too. `/healthz`, `/readyz` and `/metrics` are not
checked: probes and Prometheus address pods by IP, and they hold no call data.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Final

from starlette.types import Receive, Scope, Send

from app.config import Settings
from app.errors import HOST_NOT_ALLOWED, error_document

LOOPBACK_NAMES: Final = frozenset({"localhost", "127.0.0.1", "[::1]"})
ANY: Final = "*"

_REFUSAL: Final = json.dumps(
    error_document("This server is not reachable by that Host name.", HOST_NOT_ALLOWED)
).encode()
_REFUSAL_HEADERS: Final = [
    (b"content-type", b"application/json"),
    (b"content-length", str(len(_REFUSAL)).encode()),
]


def bound_to_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a name: whatever it resolves to, not only loopback


def allowed_host_names(settings: Settings) -> tuple[str, ...]:
    """SWITCHBOARD_ALLOWED_HOSTS as lower-case names, e.g. ("api.example.com", "*")."""
    names = (name.strip().lower().rstrip(".") for name in settings.server.allowed_hosts.split(","))
    return tuple(name for name in names if name)


class HostCheck:
    """Accepts the names in `names` (any port), "*.example.com" for its subdomains."""

    def __init__(self, names: frozenset[str]) -> None:
        self.names = frozenset(name for name in names if not name.startswith("*."))
        self.suffixes = tuple(name[1:] for name in names if name.startswith("*."))
        # Decisions by raw header value: the hot path is one dict lookup. Bounded, since
        # clients choose the values.
        self._decided: dict[bytes, bool] = {}

    @classmethod
    def for_settings(cls, settings: Settings) -> HostCheck | None:
        """The check `settings` ask for; None when any name is accepted."""
        names = set(allowed_host_names(settings))
        if ANY in names:
            return None
        if bound_to_loopback(settings.server.host):
            names |= LOOPBACK_NAMES | {settings.server.host.lower()}
        return cls(frozenset(names)) if names else None

    def allows(self, scope: Scope) -> bool:
        for name, value in scope["headers"]:
            if name == b"host":
                decided = self._decided.get(value)
                if decided is None:
                    decided = self._allows(value)
                    if len(self._decided) < 1024:
                        self._decided[value] = decided
                return decided
        return False  # HTTP/1.0 without a Host: no browser sends that, nor do we accept it

    def _allows(self, value: bytes) -> bool:
        host = value.decode("latin-1").strip().lower()
        if host.startswith("["):  # [IPv6]:port
            host = host[: host.find("]") + 1]
        else:
            host = host.rpartition(":")[0] if ":" in host else host
        host = host.rstrip(".")
        return host in self.names or (bool(host) and host.endswith(self.suffixes))

    async def refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            if "websocket.http.response" not in scope.get("extensions", {}):
                await send({"type": "websocket.close", "code": 1008})  # a bare 403
                return
            kind = "websocket.http.response"
        else:
            kind = "http.response"
        await send({"type": f"{kind}.start", "status": 403, "headers": _REFUSAL_HEADERS})
        await send({"type": f"{kind}.body", "body": _REFUSAL})
