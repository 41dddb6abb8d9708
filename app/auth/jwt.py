"""JWT bearer tokens (RFC 7519), verified with PyJWT: a shared secret (HS256, for
development), or the public keys of a JWKS file or URL (RS256, ES256, EdDSA).

`alg` comes from the key, never from the token alone: a secret verifies HS256 only, an
RSA key RS256 only, and `none` nothing (the algorithm-confusion and `alg: none` attacks).
A JWKS URL is fetched on first use and cached; a token signed by a `kid` the cache does
not hold refetches it once, at most every `refresh_interval` seconds (a flood of made-up
`kid`s costs the identity provider one request per interval, not one per token).

Verified tokens are cached (bounded, until they expire): a websocket client or an agent
desktop sends the same token with every request, and verifying an RS256 signature costs
more than serving a small query.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import aiohttp
import jwt
from jwt import PyJWK

from app.auth.principal import Principal, lines_from, scopes_from
from app.errors import Unauthenticated

logger = logging.getLogger("switchboard.auth")

# The algorithm each kind of public key verifies (RFC 7518, RFC 8037).
_ALGORITHMS_BY_KEY_TYPE: Final = {"RSA": "RS256", "EC": "ES256", "OKP": "EdDSA"}
ASYMMETRIC: Final = ("RS256", "ES256", "EdDSA")
LEEWAY: Final = 30.0  # seconds of clock skew between the identity provider and us


class JwksUnavailable(Exception):
    pass


@dataclass(frozen=True)
class JwtRules:
    issuer: str = ""
    audience: str = ""
    lines_claim: str = "lines"
    leeway: float = LEEWAY


class Keys:
    """The verification keys: a secret, a JWKS document, or a JWKS URL."""

    def __init__(
        self,
        *,
        secret: str = "",
        jwks: Mapping[str, Any] | None = None,
        jwks_url: str = "",
        refresh_interval: float = 30.0,
        timeout: float = 5.0,
    ) -> None:
        self.secret = secret
        self.jwks_url = jwks_url
        self.refresh_interval = refresh_interval
        self.timeout = timeout
        self._by_kid: dict[str | None, PyJWK] = {}
        self._fetched_at = float("-inf")
        self._fetching: asyncio.Task[None] | None = None
        if jwks is not None:
            self._by_kid = _keys_of(jwks)

    async def key_for(self, kid: str | None) -> PyJWK | str:
        if self.secret:
            return self.secret
        key = self._find(kid)
        if key is None and self.jwks_url and self._may_refresh():
            await self._refresh()
            key = self._find(kid)
        if key is None:
            raise Unauthenticated("The token is signed by a key this server does not know.")
        return key

    def _find(self, kid: str | None) -> PyJWK | None:
        if kid is None and len(self._by_kid) == 1:
            return next(iter(self._by_kid.values()))  # a single key needs no kid
        return self._by_kid.get(kid)

    def _may_refresh(self) -> bool:
        return time.monotonic() - self._fetched_at >= self.refresh_interval

    async def _refresh(self) -> None:
        # One fetch at a time: every token waiting for a kid waits for the same one.
        if self._fetching is None or self._fetching.done():
            self._fetching = asyncio.create_task(self._fetch(), name="jwks-fetch")
        await asyncio.shield(self._fetching)

    async def _fetch(self) -> None:
        self._fetched_at = time.monotonic()
        try:
            timeout = aiohttp.ClientTimeout(total=self.timeout)
            async with (
                aiohttp.ClientSession(timeout=timeout) as session,
                session.get(self.jwks_url) as response,
            ):
                if response.status != 200:
                    raise JwksUnavailable(f"HTTP {response.status}")
                body = await response.content.read(1_000_001)
            if len(body) > 1_000_000:
                raise JwksUnavailable("larger than 1 MB")
            self._by_kid = _keys_of(json.loads(body))
            logger.info("JWKS fetched: %d keys", len(self._by_kid))
        except (aiohttp.ClientError, TimeoutError, ValueError, JwksUnavailable) as failed:
            # The keys we had stay in use; the URL itself is configuration, not a secret.
            logger.warning("could not fetch the JWKS from %s: %s", self.jwks_url, failed)


def _keys_of(jwks: Mapping[str, Any]) -> dict[str | None, PyJWK]:
    """The usable signing keys of a JWKS, by kid; keys of other kinds or uses skipped."""
    entries = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(entries, list):
        raise ValueError("a JWKS is an object with a `keys` list")
    keys: dict[str | None, PyJWK] = {}
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        algorithm = entry.get("alg") or _ALGORITHMS_BY_KEY_TYPE.get(str(entry.get("kty")))
        if algorithm not in ASYMMETRIC:
            continue  # symmetric keys in a JWKS, or algorithms we do not accept
        try:
            keys[entry.get("kid")] = PyJWK.from_dict(entry, algorithm=algorithm)
        except jwt.PyJWTError as bad:
            logger.warning("JWKS key %r skipped: %s", entry.get("kid"), bad)
    return keys


class JwtVerifier:
    def __init__(self, keys: Keys, rules: JwtRules, *, cache_size: int = 10_000) -> None:
        self.keys = keys
        self.rules = rules
        self._cache: OrderedDict[str, Principal] = OrderedDict()
        self._cache_size = cache_size

    async def principal(self, token: str) -> Principal:
        cached = self._cache.get(token)
        if cached is not None:
            if cached.expires_at is None or cached.expires_at + self.rules.leeway > time.time():
                return cached
            del self._cache[token]
            raise Unauthenticated("The token has expired.")
        principal = await self._verify(token)
        self._cache[token] = principal
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return principal

    async def _verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthenticated("The token is not a JWT.") from None
        kid = header.get("kid")
        key = await self.keys.key_for(kid if isinstance(kid, str) else None)
        if isinstance(key, str):
            algorithms = ["HS256"]
            verifying: Any = key
        else:
            algorithms = [key.algorithm_name]
            verifying = key
        try:
            claims = jwt.decode(
                token,
                verifying,
                algorithms=algorithms,
                issuer=self.rules.issuer or None,
                audience=self.rules.audience or None,
                leeway=self.rules.leeway,
                options={"require": ["exp", "sub"], "verify_aud": bool(self.rules.audience)},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("The token has expired.") from None
        except jwt.InvalidAudienceError:
            raise Unauthenticated("The token is not meant for this audience.") from None
        except jwt.InvalidIssuerError:
            raise Unauthenticated("The token is not from the expected issuer.") from None
        except jwt.InvalidSignatureError:
            raise Unauthenticated("The token's signature does not verify.") from None
        except jwt.InvalidAlgorithmError:
            raise Unauthenticated("The token's algorithm is not accepted.") from None
        except jwt.MissingRequiredClaimError as missing:
            raise Unauthenticated(f"The token has no {missing.claim} claim.") from None
        except jwt.PyJWTError:
            raise Unauthenticated("The token is not valid.") from None
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise Unauthenticated("The token's sub claim must be a string.")
        scopes = scopes_from(claims.get("scope"))
        if not scopes and "scp" in claims:
            scopes = scopes_from(claims.get("scp"))
        exp = claims.get("exp")
        return Principal(
            sub,
            scopes,
            lines_from(claims.get(self.rules.lines_claim)),
            expires_at=float(exp) if isinstance(exp, int | float) else None,
            method="jwt",
        )
