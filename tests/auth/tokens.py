"""Credentials made in the tests: JWTs signed with a shared secret or with freshly made
RSA, EC and Ed25519 keys (served as JWKS), and API keys with their file."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

SECRET = "switchboard-tests-hs256-secret-0123456789abcdef"  # 32+ bytes, as RFC 7518 asks

SUPERVISOR = "calls:read calls:control calls:start calls:all"
# Alice's phones: the second view of the seed VoipNow call (seed 003, "0003*024") and the
# seed Huawei call's caller (seed 001, "88889050").
ALICE_LINES = ["voipnow:0003*024", "huawei:88889050"]
AGENT = "calls:read calls:control calls:start"


def claims(
    sub: str = "alice",
    *,
    scope: str = AGENT,
    lines: list[str] | None = None,
    ttl: float = 600,
    **more: Any,
) -> dict[str, Any]:
    now = int(time.time())
    body: dict[str, Any] = {"sub": sub, "scope": scope, "iat": now, "exp": now + int(ttl)}
    if lines is not None:
        body["lines"] = lines
    body.update(more)
    return body


def hs256(sub: str = "alice", **kwargs: Any) -> str:
    return jwt.encode(claims(sub, **kwargs), SECRET, algorithm="HS256")


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class KeyPair:
    kid: str
    algorithm: str
    private: Any
    public_jwk: dict[str, Any] = field(default_factory=dict)

    def sign(self, body: dict[str, Any], *, kid: str | None = None) -> str:
        return jwt.encode(
            body, self.private, algorithm=self.algorithm, headers={"kid": kid or self.kid}
        )


def rsa_pair(kid: str = "rsa-1") -> KeyPair:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
    return KeyPair(kid, "RS256", private, {**public, "kid": kid, "use": "sig", "alg": "RS256"})


def ec_pair(kid: str = "ec-1") -> KeyPair:
    private = ec.generate_private_key(ec.SECP256R1())
    public = json.loads(ECAlgorithm.to_jwk(private.public_key()))
    return KeyPair(kid, "ES256", private, {**public, "kid": kid, "use": "sig"})


def ed25519_pair(kid: str = "ed-1") -> KeyPair:
    private = ed25519.Ed25519PrivateKey.generate()
    public = json.loads(OKPAlgorithm.to_jwk(private.public_key()))
    return KeyPair(kid, "EdDSA", private, {**public, "kid": kid, "use": "sig"})


def jwks(*pairs: KeyPair) -> dict[str, Any]:
    return {"keys": [pair.public_jwk for pair in pairs]}


def api_keys_file(directory: Path, entries: list[dict[str, Any]]) -> Path:
    """A keys file of `entries`, each with its `key` replaced by the key's SHA-256."""
    stored = []
    for entry in entries:
        entry = dict(entry)
        key = entry.pop("key")
        stored.append({"key_sha256": hashlib.sha256(key.encode()).hexdigest(), **entry})
    path = directory / "api-keys.json"
    path.write_text(json.dumps(stored))
    return path
