"""Settings from the environment: every field typed like its default, vendors by URL."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from app.calls import Vendor
from app.config import ConfigurationError, Settings


def test_settings_read_each_field_typed_like_its_default() -> None:
    settings = Settings.from_env(
        {
            "SWITCHBOARD_PORT": "9000",
            "SWITCHBOARD_POLL_INTERVAL": "0.5",
            "SWITCHBOARD_BROADCAST_URL": "redis://127.0.0.1:6379/1",
            "SWITCHBOARD_ACCESS_LOG": "off",
            "SWITCHBOARD_SIMULATE": "1",
        }
    )
    assert settings.server.port == 9000
    assert settings.live.poll_interval == 0.5
    assert settings.live.broadcast_url == "redis://127.0.0.1:6379/1"
    assert settings.observability.access_log is False
    assert settings.server.simulate is True
    assert settings.uses_emulators


def test_settings_name_the_variable_of_a_bad_value() -> None:
    with pytest.raises(ValueError, match="SWITCHBOARD_MAX_IDS='many'"):
        Settings.from_env({"SWITCHBOARD_MAX_IDS": "many"})


@pytest.mark.parametrize(
    ("variable", "raw", "problem"),
    [
        # A poll every -1 s (or 0 s, or nan s) would spin against the vendor.
        ("SWITCHBOARD_POLL_INTERVAL", "-1", "expected a number above 0"),
        ("SWITCHBOARD_POLL_INTERVAL", "0", "expected a number above 0"),
        ("SWITCHBOARD_POLL_INTERVAL", "nan", "expected a finite number"),
        ("SWITCHBOARD_WS_KEEP_ALIVE", "0", "expected a number above 0"),
        ("SWITCHBOARD_VENDOR_TIMEOUT", "inf", "expected a finite number"),
        ("SWITCHBOARD_DRAIN_DELAY", "-5", "expected a number of 0 or more"),
        ("SWITCHBOARD_MAX_IDS", "-1", "expected a number of 0 or more"),
        ("SWITCHBOARD_PORT", "99999", "expected a port from 0 to 65535"),
    ],
)
def test_a_number_out_of_its_range_is_named_with_the_range(
    variable: str, raw: str, problem: str
) -> None:
    with pytest.raises(ConfigurationError) as refused:
        Settings.from_env({variable: raw})
    assert str(refused.value) == f"{variable}={raw!r}: {problem}"


def test_every_setting_that_must_be_above_0_is_a_setting_refusing_0() -> None:
    from app.config import _POSITIVE

    assert len(_POSITIVE) == 12
    for name in sorted(_POSITIVE):
        variable = f"SWITCHBOARD_{name.upper()}"
        with pytest.raises(
            ConfigurationError, match=f"^{variable}='0': expected a number above 0$"
        ):
            Settings.from_env({variable: "0"})


def test_zero_stays_a_value_where_it_means_off() -> None:
    settings = Settings.from_env(
        {"SWITCHBOARD_LONG_POLL": "0", "SWITCHBOARD_DRAIN_DELAY": "0", "SWITCHBOARD_PORT": "0"}
    )
    assert settings.live.long_poll == 0
    assert settings.server.drain_delay == 0
    assert settings.server.port == 0


def test_vendors_are_configured_by_url_with_hidden_credentials() -> None:
    settings = Settings.from_env(
        {
            "SWITCHBOARD_HUAWEI_URL": "https://cec.example",
            "SWITCHBOARD_HUAWEI_APP_KEY": "ak",
            "SWITCHBOARD_HUAWEI_APP_SECRET": "very-secret",
            "SWITCHBOARD_AUTH": "none",
        }
    )
    assert list(settings.vendors.configured) == [Vendor.HUAWEI]
    huawei = settings.vendors.configured[Vendor.HUAWEI]
    assert huawei.credentials == {"app_key": "ak", "app_secret": "very-secret"}
    assert "very-secret" not in repr(settings)
    assert not settings.uses_emulators


def test_an_unknown_variable_stops_start_up_naming_the_closest_known_one() -> None:
    with pytest.raises(
        ConfigurationError,
        match="unknown variable SWITCHBOARD_GENESYS_ULR; did you mean SWITCHBOARD_GENESYS_URL",
    ):
        Settings.from_env({"SWITCHBOARD_GENESYS_ULR": "https://gws.example"})


def test_a_vendor_url_without_its_credentials_names_the_missing_variables() -> None:
    with pytest.raises(
        ConfigurationError,
        match="SWITCHBOARD_HUAWEI_URL is set but SWITCHBOARD_HUAWEI_APP_SECRET is not",
    ):
        Settings.from_env(
            {"SWITCHBOARD_HUAWEI_URL": "https://cec.example", "SWITCHBOARD_HUAWEI_APP_KEY": "ak"}
        )


@pytest.mark.parametrize(
    "url",
    ["cec.example", "ftp://cec.example", "https://", "https://cec.example:port", "https://x/?a=1"],
)
def test_a_malformed_vendor_url_is_named(url: str) -> None:
    env = {"SWITCHBOARD_ORACLE_URL": url}
    with pytest.raises(ConfigurationError, match="SWITCHBOARD_ORACLE_URL="):
        Settings.from_env(env)


def test_a_boolean_must_be_a_boolean() -> None:
    with pytest.raises(ConfigurationError, match="SWITCHBOARD_SIMULATE='maybe'"):
        Settings.from_env({"SWITCHBOARD_SIMULATE": "maybe"})


def test_configuration_errors_exit_2_with_the_message() -> None:
    env = {**os.environ, "SWITCHBOARD_GENESYS_ULR": "https://gws.example"}
    done = subprocess.run(
        [sys.executable, "-m", "app"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "did you mean SWITCHBOARD_GENESYS_URL" in done.stderr
    assert "Traceback" not in done.stderr


def test_help_lists_every_variable() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "app", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0
    for name in Settings.variable_names():
        assert name in done.stdout or name.endswith("_URL"), name
    assert "export-schema` prints the SDL." in done.stdout  # the whole description
