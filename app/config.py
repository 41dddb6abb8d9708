"""Settings, read once from environment variables (the README's configuration table)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from app.calls import Vendor

# Credentials and options per vendor: SWITCHBOARD_<VENDOR>_<NAME>, e.g.
# SWITCHBOARD_HUAWEI_APP_KEY; each becomes a keyword argument of the vendor's adapter.
CREDENTIAL_NAMES: Mapping[Vendor, tuple[str, ...]] = {
    Vendor.ORACLE: ("contact_id",),
    Vendor.HUAWEI: ("app_key", "app_secret"),
    Vendor.VERBA: ("api_key", "username", "password"),
    Vendor.VOIPNOW: ("client_id", "client_secret"),
    Vendor.GENESYS: ("username", "password"),
}


# Options per vendor that are not secrets, same naming: SWITCHBOARD_<VENDOR>_<NAME>. Each
# becomes a keyword argument of the vendor's adapter when set.
OPTION_NAMES: Mapping[Vendor, tuple[str, ...]] = {
    Vendor.ORACLE: (),
    Vendor.HUAWEI: ("token_url",),
    Vendor.VERBA: (),
    Vendor.VOIPNOW: (),
    Vendor.GENESYS: (),
}


class Secret(str):
    """A credential: compares and is sent like a string, never shown by repr()."""

    def __repr__(self) -> str:
        return "Secret('**********')"


@dataclass(frozen=True)
class VendorSettings:
    url: str
    credentials: Mapping[str, Secret] = field(default_factory=dict)
    options: Mapping[str, str] = field(default_factory=dict)  # OPTION_NAMES that are set


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    # Only the vendors with a URL are served; ids of the others answer NOT_SUPPORTED.
    vendors: Mapping[Vendor, VendorSettings] = field(default_factory=dict)
    vendor_timeout: float = 5.0
    vendor_concurrency: int = 16
    confirm_timeout: float = 5.0
    confirm_interval: float = 0.2
    max_ids: int = 100
    max_depth: int = 10
    max_aliases: int = 30
    max_tokens: int = 2000
    max_body_bytes: int = 1_000_000
    broadcast_url: str = "memory://"
    poll_interval: float = 1.0
    watch_grace: float = 5.0
    lease_ttl: float = 5.0
    ws_max_subscriptions: int = 100
    ws_keep_alive: float = 15.0
    ws_init_timeout: float = 10.0
    ws_send_queue: int = 64
    ws_deflate: bool = False
    # GraphiQL and introspection: unset (None) means on in demo mode (no vendor configured)
    # and off with real vendors; resolved once, when the settings are made.
    graphiql: bool | None = None
    access_log: bool = True
    introspection: bool | None = None
    simulate: bool = True
    # Exposure to clients (README, "Deployment: exposure"). Seconds a client has to send a
    # whole request, headers and body (and to take what it is sent); connections served at
    # once; Host names accepted when not bound to loopback ("" = any), comma-separated.
    http_read_timeout: float = 10.0
    max_connections: int = 20_000
    allowed_hosts: str = ""
    # Demo mode only: documented vendor variants the embedded emulators show,
    # "vendor=variant,…" (README, "Vendors").
    emulator_variants: str = ""

    def __post_init__(self) -> None:
        # Resolved here, before the demo setup points the settings at the emulators: a
        # copy (dataclasses.replace) keeps what was resolved.
        for name in _ON_IN_DEMO_MODE:
            if getattr(self, name) is None:
                object.__setattr__(self, name, self.uses_emulators)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Every field from `SWITCHBOARD_<FIELD>` (e.g. SWITCHBOARD_POLL_INTERVAL), typed
        like its default; vendors from `SWITCHBOARD_<VENDOR>_URL` and credentials."""
        env = os.environ if env is None else env
        defaults = cls()
        values: dict[str, Any] = {}
        for setting in fields(cls):
            raw = env.get(f"SWITCHBOARD_{setting.name.upper()}")
            if raw is None or setting.name == "vendors":
                continue
            default = getattr(defaults, setting.name)
            kind = bool if setting.name in _ON_IN_DEMO_MODE else type(default)
            try:
                values[setting.name] = _parse(raw, kind)
            except ValueError:
                raise ValueError(
                    f"SWITCHBOARD_{setting.name.upper()}={raw!r}: expected a "
                    f"{type(default).__name__} like {default!r}"
                ) from None
        values["vendors"] = {
            vendor: VendorSettings(
                url,
                {
                    name: Secret(env.get(f"SWITCHBOARD_{vendor.name}_{name.upper()}", ""))
                    for name in CREDENTIAL_NAMES[vendor]
                },
                {
                    name: value
                    for name in OPTION_NAMES[vendor]
                    if (value := env.get(f"SWITCHBOARD_{vendor.name}_{name.upper()}", ""))
                },
            )
            for vendor in Vendor
            if (url := env.get(f"SWITCHBOARD_{vendor.name}_URL", ""))
        }
        return cls(**values)

    @property
    def uses_emulators(self) -> bool:
        """No vendor configured: `python -m app` embeds the emulators (the demo setup)."""
        return not self.vendors

    def with_vendors(
        self,
        base_url: str,
        credentials: Mapping[str, Mapping[str, str]],
        *,
        options: Mapping[str, Mapping[str, str]] | None = None,
    ) -> Settings:
        """Every vendor at `<base_url>/<vendor>` with the given credentials (the emulators);
        `options` per vendor name may replace the `url` and set vendor options."""
        vendors = {}
        for vendor in Vendor:
            own = dict((options or {}).get(vendor.value, {}))
            url = own.pop("url", f"{base_url.rstrip('/')}/{vendor.value}")
            vendors[vendor] = VendorSettings(
                url,
                {k: Secret(v) for k, v in credentials.get(vendor.value, {}).items()},
                own,
            )
        return replace(self, vendors=vendors)


# Switches whose default depends on the mode (see Settings.graphiql).
_ON_IN_DEMO_MODE = ("graphiql", "introspection")


def _parse(raw: str, kind: type) -> Any:
    if kind is bool:
        return raw.strip().lower() not in {"0", "false", "no", "off", ""}
    return kind(raw)
