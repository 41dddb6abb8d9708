"""Settings from the environment: every field typed like its default, vendors by URL."""

from __future__ import annotations

import pytest

from app.calls import Vendor
from app.config import Settings


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
    assert settings.port == 9000
    assert settings.poll_interval == 0.5
    assert settings.broadcast_url == "redis://127.0.0.1:6379/1"
    assert settings.access_log is False
    assert settings.simulate is True
    assert settings.uses_emulators


def test_settings_name_the_variable_of_a_bad_value() -> None:
    with pytest.raises(ValueError, match="SWITCHBOARD_MAX_IDS='many'"):
        Settings.from_env({"SWITCHBOARD_MAX_IDS": "many"})


def test_vendors_are_configured_by_url_with_hidden_credentials() -> None:
    settings = Settings.from_env(
        {
            "SWITCHBOARD_HUAWEI_URL": "https://cec.example",
            "SWITCHBOARD_HUAWEI_APP_KEY": "ak",
            "SWITCHBOARD_HUAWEI_APP_SECRET": "very-secret",
        }
    )
    assert list(settings.vendors) == [Vendor.HUAWEI]
    huawei = settings.vendors[Vendor.HUAWEI]
    assert huawei.credentials == {"app_key": "ak", "app_secret": "very-secret"}
    assert "very-secret" not in repr(settings)
    assert not settings.uses_emulators
