"""The authenticator the settings describe, checked at start-up: every problem is a
ConfigurationError naming the variable (exit code 2), never a request-time surprise."""

from __future__ import annotations

import json
from pathlib import Path

from app.auth.api_keys import ApiKeyError, ApiKeys
from app.auth.authenticator import Authenticator
from app.auth.jwt import JwtRules, JwtVerifier, Keys, _keys_of
from app.config import ConfigurationError, Settings, check_url


def authenticator_for(settings: Settings) -> Authenticator:
    methods = set(settings.auth.methods.split(","))
    verifier = _jwt(settings) if "jwt" in methods else None
    keys = _api_keys(settings) if "api-key" in methods else None
    return Authenticator(jwt=verifier, api_keys=keys)


def _jwt(settings: Settings) -> JwtVerifier:
    sources = [
        name
        for name, value in (
            ("SWITCHBOARD_JWT_JWKS_URL", settings.auth.jwt_jwks_url),
            ("SWITCHBOARD_JWT_JWKS_FILE", settings.auth.jwt_jwks_file),
            ("SWITCHBOARD_JWT_SECRET", settings.auth.jwt_secret),
        )
        if value
    ]
    if len(sources) != 1:
        said = f" ({', '.join(sources)} are all set)" if sources else ""
        raise ConfigurationError(
            "SWITCHBOARD_AUTH=jwt needs exactly one of SWITCHBOARD_JWT_JWKS_URL, "
            f"SWITCHBOARD_JWT_JWKS_FILE or SWITCHBOARD_JWT_SECRET{said}"
        )
    if settings.auth.jwt_jwks_url:
        check_url("SWITCHBOARD_JWT_JWKS_URL", settings.auth.jwt_jwks_url, base=False)
        keys = Keys(
            jwks_url=settings.auth.jwt_jwks_url, refresh_interval=settings.auth.jwt_jwks_refresh
        )
    elif settings.auth.jwt_jwks_file:
        keys = Keys(jwks=_jwks_file(settings.auth.jwt_jwks_file))
    else:
        keys = Keys(secret=str(settings.auth.jwt_secret))
    rules = JwtRules(
        issuer=settings.auth.jwt_issuer,
        audience=settings.auth.jwt_audience,
        lines_claim=settings.auth.jwt_lines_claim or "lines",
    )
    return JwtVerifier(keys, rules)


def _jwks_file(path: str) -> dict[str, object]:
    variable = "SWITCHBOARD_JWT_JWKS_FILE"
    try:
        document = json.loads(Path(path).read_text())
        keys = _keys_of(document)
    except OSError as unreadable:
        raise ConfigurationError(f"{variable}={path!r}: {unreadable.strerror}") from None
    except ValueError as bad:
        raise ConfigurationError(f"{variable}={path!r}: not a JWKS ({bad})") from None
    if not keys:
        raise ConfigurationError(f"{variable}={path!r}: no RS256, ES256 or EdDSA signing key in it")
    assert isinstance(document, dict)
    return document


def _api_keys(settings: Settings) -> ApiKeys:
    variable = "SWITCHBOARD_API_KEYS_FILE"
    if not settings.auth.api_keys_file:
        raise ConfigurationError(f"SWITCHBOARD_AUTH=api-key needs {variable}")
    try:
        return ApiKeys.parse(Path(settings.auth.api_keys_file).read_text())
    except OSError as unreadable:
        raise ConfigurationError(
            f"{variable}={settings.auth.api_keys_file!r}: {unreadable.strerror}"
        ) from None
    except ApiKeyError as bad:
        raise ConfigurationError(f"{variable}={settings.auth.api_keys_file!r}: {bad}") from None
