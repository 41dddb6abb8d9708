"""Authentication settings are checked at start-up: with a vendor configured the choice
must be said; a method without its keys, or keys that cannot be read, stop start-up
naming the variable (exit code 2)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.auth.setup import authenticator_for
from app.config import ConfigurationError, Settings

GENESYS = {
    "SWITCHBOARD_GENESYS_URL": "https://gws.example",
    "SWITCHBOARD_GENESYS_USERNAME": "agent",
    "SWITCHBOARD_GENESYS_PASSWORD": "secret",
}


def test_a_vendor_without_an_auth_choice_refuses_to_start() -> None:
    with pytest.raises(ConfigurationError, match="SWITCHBOARD_AUTH is not set"):
        Settings.from_env(GENESYS)
    assert Settings.from_env({**GENESYS, "SWITCHBOARD_AUTH": "none"}).auth.methods == "none"
    assert Settings.from_env({}).auth.methods == "none"  # demo mode: the emulators


def test_python_m_app_exits_2_naming_switchboard_auth() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SWITCHBOARD_")}
    done = subprocess.run(
        [sys.executable, "-m", "app"],
        env={**env, **GENESYS},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "SWITCHBOARD_AUTH" in done.stderr
    assert "secret" not in done.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SWITCHBOARD_AUTH": "basic"}, "SWITCHBOARD_AUTH='basic': expected none, jwt"),
        ({"SWITCHBOARD_AUTH": "none,jwt"}, "SWITCHBOARD_AUTH='none,jwt'"),
        ({"SWITCHBOARD_AUTH": "jwt"}, "needs exactly one of SWITCHBOARD_JWT_JWKS_URL"),
        (
            {
                "SWITCHBOARD_AUTH": "jwt",
                "SWITCHBOARD_JWT_SECRET": "s" * 32,
                "SWITCHBOARD_JWT_JWKS_URL": "https://idp.example/jwks",
            },
            "are all set",
        ),
        (
            {"SWITCHBOARD_AUTH": "jwt", "SWITCHBOARD_JWT_JWKS_URL": "idp.example/jwks"},
            "SWITCHBOARD_JWT_JWKS_URL='idp.example/jwks'",
        ),
        ({"SWITCHBOARD_AUTH": "api-key"}, "needs SWITCHBOARD_API_KEYS_FILE"),
        (
            {"SWITCHBOARD_AUTH": "api-key", "SWITCHBOARD_API_KEYS_FILE": "/nonexistent/keys.json"},
            "SWITCHBOARD_API_KEYS_FILE='/nonexistent/keys.json'",
        ),
    ],
)
def test_auth_settings_that_cannot_work_name_the_variable(
    env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message.replace("(", r"\(")):
        authenticator_for(Settings.from_env(env))


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ("{}", "expected a JSON list"),
        ('[{"key_sha256": "abc", "sub": "x"}]', "entry 0: key_sha256 must be 64"),
        ('[{"key_sha256": "' + "a" * 64 + '"}]', "entry 0: sub must be"),
    ],
)
def test_a_keys_file_is_checked_entry_by_entry(tmp_path: Path, keys: str, message: str) -> None:
    path = tmp_path / "keys.json"
    path.write_text(keys)
    env = {"SWITCHBOARD_AUTH": "api-key", "SWITCHBOARD_API_KEYS_FILE": str(path)}
    with pytest.raises(ConfigurationError, match=message):
        authenticator_for(Settings.from_env(env))


def test_a_jwks_file_without_usable_keys_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "jwks.json"
    path.write_text('{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}')
    env = {"SWITCHBOARD_AUTH": "jwt", "SWITCHBOARD_JWT_JWKS_FILE": str(path)}
    with pytest.raises(ConfigurationError, match="no RS256, ES256 or EdDSA signing key"):
        authenticator_for(Settings.from_env(env))


def test_the_jwt_secret_is_never_shown() -> None:
    settings = Settings.from_env(
        {"SWITCHBOARD_AUTH": "jwt", "SWITCHBOARD_JWT_SECRET": "top-secret-value-0123456789abcdef"}
    )
    assert "top-secret-value" not in repr(settings)
