"""Settings, read once from environment variables (the README's configuration table)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

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


class Secret(str):
    """A credential: compares and is sent like a string, never shown by repr()."""

    def __repr__(self) -> str:
        return "Secret('**********')"


@dataclass(frozen=True)
class VendorSettings:
    url: str
    credentials: Mapping[str, Secret] = field(default_factory=dict)


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
    graphiql: bool = True
    access_log: bool = True
    introspection: bool = True
    simulate: bool = True

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        defaults = cls()

        def get(name: str, default: str) -> str:
            return env.get(f"SWITCHBOARD_{name}", default)

        vendors: dict[Vendor, VendorSettings] = {}
        for vendor in Vendor:
            prefix = vendor.name
            url = get(f"{prefix}_URL", "")
            if url:
                vendors[vendor] = VendorSettings(
                    url,
                    {
                        name: Secret(get(f"{prefix}_{name.upper()}", ""))
                        for name in CREDENTIAL_NAMES[vendor]
                    },
                )
        return cls(
            host=get("HOST", defaults.host),
            port=int(get("PORT", str(defaults.port))),
            vendors=vendors,
            vendor_timeout=float(get("VENDOR_TIMEOUT", str(defaults.vendor_timeout))),
            vendor_concurrency=int(get("VENDOR_CONCURRENCY", str(defaults.vendor_concurrency))),
            confirm_timeout=float(get("CONFIRM_TIMEOUT", str(defaults.confirm_timeout))),
            confirm_interval=float(get("CONFIRM_INTERVAL", str(defaults.confirm_interval))),
            max_ids=int(get("MAX_IDS", str(defaults.max_ids))),
            max_depth=int(get("MAX_DEPTH", str(defaults.max_depth))),
            max_aliases=int(get("MAX_ALIASES", str(defaults.max_aliases))),
            max_tokens=int(get("MAX_TOKENS", str(defaults.max_tokens))),
            max_body_bytes=int(get("MAX_BODY_BYTES", str(defaults.max_body_bytes))),
            broadcast_url=get("BROADCAST_URL", defaults.broadcast_url),
            poll_interval=float(get("POLL_INTERVAL", str(defaults.poll_interval))),
            watch_grace=float(get("WATCH_GRACE", str(defaults.watch_grace))),
            lease_ttl=float(get("LEASE_TTL", str(defaults.lease_ttl))),
            ws_max_subscriptions=int(
                get("WS_MAX_SUBSCRIPTIONS", str(defaults.ws_max_subscriptions))
            ),
            ws_keep_alive=float(get("WS_KEEP_ALIVE", str(defaults.ws_keep_alive))),
            ws_init_timeout=float(get("WS_INIT_TIMEOUT", str(defaults.ws_init_timeout))),
            ws_send_queue=int(get("WS_SEND_QUEUE", str(defaults.ws_send_queue))),
            graphiql=_flag(get("GRAPHIQL", "1")),
            access_log=_flag(get("ACCESS_LOG", "1")),
            introspection=_flag(get("INTROSPECTION", "1")),
            simulate=_flag(get("SIMULATE", "1")),
        )

    @property
    def uses_emulators(self) -> bool:
        """No vendor configured: `python -m app` embeds the emulators (the demo setup)."""
        return not self.vendors

    def with_vendors(self, base_url: str, credentials: Mapping[str, Mapping[str, str]]) -> Settings:
        """Every vendor at `<base_url>/<vendor>` with the given credentials (the emulators)."""
        return replace(
            self,
            vendors={
                vendor: VendorSettings(
                    f"{base_url.rstrip('/')}/{vendor.value}",
                    {k: Secret(v) for k, v in credentials.get(vendor.value, {}).items()},
                )
                for vendor in Vendor
            },
        )


def _flag(value: str) -> bool:
    return value.strip().lower() not in {"0", "false", "no", "off", ""}
