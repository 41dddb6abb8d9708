"""Who a websocket connection acts for, from `connection_init` to the close.

The credential comes in `connection_init`'s payload (`Authorization`/`authorization` as
"Bearer …", or `headers.Authorization`), else in the upgrade request's `Authorization`
(or `X-API-Key`) header. Refused: close 4403 (graphql-ws: `connection_error`, then close).

In-band renewal (graphql-transport-ws): a `ping` whose payload carries
`authorization: "Bearer <new token>"` for the same `sub` replaces the credential; the
pong says whether it was taken. Without one, when the credential expires every open
operation ends with UNAUTHENTICATED and the connection is closed with 4403 — one timer
handle per connection with an expiring credential, no task.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any, Final

from app.auth.authenticator import (
    Authenticator,
    credential_of_headers,
    credential_of_payload,
)
from app.auth.principal import EVERYONE, NOBODY, Principal
from app.errors import Unauthenticated

if TYPE_CHECKING:
    from app.graphql.websocket.connection import Connection

FORBIDDEN_CLOSE: Final = 4403
NO_CREDENTIAL: Final = "This needs a credential: connection_init's Authorization: Bearer <token>."
EXPIRED: Final = "The credential has expired: renew it with a ping before it does."


class Identity:
    """The connection's principal and the timer of its credential's expiry."""

    __slots__ = ("_expiry", "_upgrade_headers", "principal")

    def __init__(self, upgrade_headers: list[tuple[bytes, bytes]]) -> None:
        self.principal: Principal = EVERYONE
        self._upgrade_headers = upgrade_headers
        self._expiry: asyncio.TimerHandle | None = None

    async def establish(self, authenticator: Authenticator, payload: dict[str, Any]) -> Principal:
        """The principal of connection_init; Unauthenticated when refused."""
        if not authenticator.enabled:
            return EVERYONE
        credential = credential_of_payload(payload) or credential_of_headers(self._upgrade_headers)
        principal = await authenticator.principal(credential)
        if principal is NOBODY:
            raise Unauthenticated(NO_CREDENTIAL)
        return principal

    async def renew(self, authenticator: Authenticator, payload: Any) -> dict[str, Any] | None:
        """A ping's renewal, if it carries one: the pong's payload saying the outcome."""
        if not authenticator.enabled or not isinstance(payload, dict):
            return None
        try:
            credential = credential_of_payload(payload)
            if credential is None:
                return None
            self.principal = await authenticator.renewed(self.principal, credential)
        except Unauthenticated as refused:
            # The credential in use stays until it expires: a client may try again.
            return {"renewed": False, "error": {"message": refused.message, **_code(refused)}}
        return {"renewed": True}

    def watch_expiry(self, connection: Connection) -> None:
        """(Re)start the timer that ends the connection when its credential expires."""
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        expires_at = self.principal.expires_at
        if expires_at is None:
            return
        loop = asyncio.get_running_loop()
        delay = max(0.0, expires_at - time.time())
        self._expiry = loop.call_later(delay, _expire, connection)

    def stop(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None


def _code(refused: Unauthenticated) -> dict[str, Any]:
    return {"extensions": refused.extensions}


def _expire(connection: Connection) -> None:
    task = asyncio.get_running_loop().create_task(connection.expire(EXPIRED))
    # Kept by the loop until done; a failure is the connection's closing, already logged.
    task.add_done_callback(lambda t: t.cancelled() or t.exception())
