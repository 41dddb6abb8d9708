"""From a request's credential to a principal (SWITCHBOARD_AUTH: none, jwt, api-key, or
jwt,api-key).

Credentials come as `Authorization: Bearer <token or key>` or `X-API-Key: <key>`; over a
websocket also in `connection_init`'s payload (app/graphql/websocket). With both methods
on, a bearer credential shaped like a JWT (three dot-separated parts) is a JWT, anything
else an API key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from app.auth.api_keys import ApiKeys
from app.auth.jwt import JwtVerifier
from app.auth.principal import EVERYONE, NOBODY, Principal
from app.errors import Unauthenticated

METHODS: Final = ("none", "jwt", "api-key")


class Authenticator:
    def __init__(self, *, jwt: JwtVerifier | None = None, api_keys: ApiKeys | None = None) -> None:
        self.jwt = jwt
        self.api_keys = api_keys

    @property
    def enabled(self) -> bool:
        return self.jwt is not None or self.api_keys is not None

    async def principal(self, credential: str | None) -> Principal:
        """The principal of `credential` (a bearer token or an API key); EVERYONE when
        authentication is off, NOBODY for no credential. Unauthenticated when it does not
        verify."""
        if not self.enabled:
            return EVERYONE
        if not credential:
            return NOBODY
        if self.jwt is not None and (self.api_keys is None or credential.count(".") == 2):
            return await self.jwt.principal(credential)
        if self.api_keys is not None:
            return self.api_keys.principal(credential)
        raise Unauthenticated("Unknown credential.")  # pragma: no cover (one method is on)

    async def renewed(self, current: Principal, credential: str) -> Principal:
        """A websocket's new credential: it must verify and name the same `sub`."""
        principal = await self.principal(credential)
        if principal.sub != current.sub:
            raise Unauthenticated("A renewed credential must be for the same sub.")
        return principal


def bearer(value: str | None) -> str | None:
    """The credential of an `Authorization` value; Unauthenticated when it is not Bearer."""
    if value is None:
        return None
    scheme, _, credential = value.strip().partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise Unauthenticated("Expected an Authorization header of the form 'Bearer <token>'.")
    return credential.strip()


def credential_of_headers(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The credential of an HTTP request or websocket upgrade: Authorization, else X-API-Key."""
    authorization = api_key = None
    for name, value in headers:
        if name == b"authorization":
            authorization = value.decode("latin-1")
        elif name == b"x-api-key":
            api_key = value.decode("latin-1").strip()
    if authorization is not None:
        return bearer(authorization)
    return api_key or None


def credential_of_payload(payload: Mapping[str, Any]) -> str | None:
    """The credential in a `connection_init` (or renewing `ping`) payload, as the clients
    send it: `Authorization`/`authorization` ("Bearer …"), or `headers.Authorization`."""
    for name in ("Authorization", "authorization"):
        value = payload.get(name)
        if value is not None:
            return bearer(value) if isinstance(value, str) else _not_text()
    headers = payload.get("headers")
    if isinstance(headers, Mapping):
        for name, value in headers.items():
            if isinstance(name, str) and name.lower() == "authorization":
                return bearer(value) if isinstance(value, str) else _not_text()
            if isinstance(name, str) and name.lower() == "x-api-key" and isinstance(value, str):
                return value.strip() or None
    return None


def _not_text() -> str:
    raise Unauthenticated("The authorization value must be a string.")
