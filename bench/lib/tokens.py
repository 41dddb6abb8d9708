"""JWTs for the authenticated benchmarks (issue 12): keys made fresh for each run, the
tokens signed with them (PyJWT), and how each server is told to verify them.

Both gateways verify the same tokens with the same rules: the algorithm fixed by the
key, `iss` and `aud` checked, `exp` in a day. HS256 is a shared secret; RS256 a 2048-bit
RSA key pair whose public half switchboard reads as a JWKS file
(SWITCHBOARD_JWT_JWKS_FILE) and Hive Gateway as a PEM (bench/openapi/gateway-jwt.mjs).
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ALGORITHMS: Final = ("HS256", "RS256")
ISSUER: Final = "https://idp.bench.invalid/"
AUDIENCE: Final = "switchboard"
# A wallboard: reads every call. B3's mutations also need calls:control.
WALLBOARD: Final = "calls:read calls:all"
SUPERVISOR: Final = "calls:read calls:control calls:all"
KID: Final = "bench-1"
LIFETIME: Final = 86_400.0  # seconds: longer than any run, so no token expires mid-run


@dataclass(frozen=True)
class Keys:
    """One run's signing key and the files that describe its verifying half."""

    algorithm: str
    signing: str | rsa.RSAPrivateKey  # the HS256 secret, or the RSA private key
    switchboard_env: dict[str, str]  # SWITCHBOARD_AUTH=jwt and the key
    hive_env: dict[str, str]  # for bench/openapi/gateway-jwt.mjs

    def token(self, sub: str, scope: str = WALLBOARD) -> str:
        issued = int(time.time())
        claims = {
            "sub": sub,
            "scope": scope,
            "iss": ISSUER,
            "aud": AUDIENCE,
            "iat": issued,
            "exp": issued + int(LIFETIME),
        }
        return jwt.encode(claims, self.signing, algorithm=self.algorithm, headers={"kid": KID})


def make_keys(algorithm: str, directory: Path) -> Keys:
    """Fresh keys for `algorithm` (HS256 or RS256); key files go to `directory`."""
    rules = {"SWITCHBOARD_JWT_ISSUER": ISSUER, "SWITCHBOARD_JWT_AUDIENCE": AUDIENCE}
    hive = {"BENCH_JWT_ALGORITHM": algorithm, "BENCH_JWT_ISSUER": ISSUER}
    hive["BENCH_JWT_AUDIENCE"] = AUDIENCE
    if algorithm == "HS256":
        secret = secrets.token_urlsafe(32)
        key_file = directory / "hs256.secret"
        key_file.write_text(secret)
        switchboard = {"SWITCHBOARD_AUTH": "jwt", "SWITCHBOARD_JWT_SECRET": secret, **rules}
        return Keys(algorithm, secret, switchboard, {**hive, "BENCH_JWT_KEY_FILE": str(key_file)})
    if algorithm != "RS256":
        raise ValueError(f"expected one of {ALGORITHMS}, got {algorithm!r}")
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = private.public_key()
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(public))
    jwks_file = directory / "rs256.jwks.json"
    jwks_file.write_text(json.dumps({"keys": [{**jwk, "kid": KID, "alg": "RS256", "use": "sig"}]}))
    pem_file = directory / "rs256.pub.pem"
    pem_file.write_bytes(
        public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    switchboard = {"SWITCHBOARD_AUTH": "jwt", "SWITCHBOARD_JWT_JWKS_FILE": str(jwks_file), **rules}
    return Keys(algorithm, private, switchboard, {**hive, "BENCH_JWT_KEY_FILE": str(pem_file)})
