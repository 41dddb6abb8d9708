"""Settings, read once from environment variables (the README's configuration table)."""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any
from urllib.parse import urlsplit

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


# Without these a configured vendor cannot work: start-up names the missing variable.
# (Oracle's contact_id is only the default call template for startCall.)
REQUIRED_CREDENTIALS: Mapping[Vendor, tuple[str, ...]] = {
    Vendor.ORACLE: (),
    Vendor.HUAWEI: ("app_key", "app_secret"),
    Vendor.VERBA: ("api_key", "username", "password"),
    Vendor.VOIPNOW: ("client_id", "client_secret"),
    Vendor.GENESYS: ("username", "password"),
}

# Options per vendor that are not secrets, same naming: SWITCHBOARD_<VENDOR>_<NAME>. Each
# becomes a keyword argument of the vendor's adapter when set.
OPTION_NAMES: Mapping[Vendor, tuple[str, ...]] = {
    Vendor.ORACLE: (),
    Vendor.HUAWEI: ("token_url", "api_version", "soft_phone", "token_lifetime"),
    Vendor.VERBA: (),
    Vendor.VOIPNOW: ("api_path",),
    Vendor.GENESYS: (),
}


class ConfigurationError(ValueError):
    """A setting that cannot be used. Start-up stops (exit code 2) with this message,
    which names the variable and what is wrong with its value — never the value of a
    credential."""


class Secret(str):
    """A credential: compares and is sent like a string, never shown by repr()."""

    def __repr__(self) -> str:
        return "Secret('**********')"


_NO_SECRET = Secret("")


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
    # Circuit breaker per vendor (app/vendors/breaker.py): opens after this many
    # consecutive failures, for this many seconds.
    breaker_failures: int = 5
    breaker_cooldown: float = 10.0
    confirm_timeout: float = 5.0
    confirm_interval: float = 0.2
    idempotency_ttl: float = 86_400.0  # startCall idempotency keys are kept this long (s)
    max_ids: int = 100
    max_depth: int = 10
    max_aliases: int = 30
    max_tokens: int = 2000
    max_body_bytes: int = 1_000_000
    broadcast_url: str = "memory://"
    poll_interval: float = 1.0
    # Vendors whose status read is a long poll (Oracle, `waitperiod`): a watcher's read
    # may be held this long, answered at once on a change; 0 polls every poll_interval.
    long_poll: float = 20.0
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
    log_format: str = ""  # json | text; unset: json unless stderr is a terminal
    metrics: bool = True  # Prometheus counters on the hot paths (bench B1 compares off)
    introspection: bool | None = None
    simulate: bool = True
    # Hostile input (README, "Limits and error codes"). Fields of a document once its
    # fragments are expanded: as many as the token limit lets a document spell out
    # without fragments (each field is at least one token), so fragments add no work.
    max_selections: int = 2000
    # Vendor requests one operation may make (app/graphql/cost.py): a full `calls(ids)`
    # of 100 one-request-per-call vendors (Oracle, Huawei), each call's Verba recording
    # (another 100), and room for a few lists and lookups.
    max_vendor_requests: int = 250
    # Nesting of JSON from clients (bodies, GET parameters, websocket messages).
    max_json_depth: int = 64
    # A GraphQL document's size: the lexer reads ~10 MB/s, so 100 kB is ~10 ms.
    max_document_bytes: int = 100_000
    # Prepared operations kept (app/graphql/execution.py), by count and by query bytes.
    operation_cache_size: int = 256
    operation_cache_bytes: int = 16 * 1024 * 1024
    # Exposure to clients (README, "Deployment: exposure"). Seconds a client has to send a
    # whole request, headers and body (and to take what it is sent); connections served at
    # once; Host names accepted when not bound to loopback ("" = any), comma-separated.
    http_read_timeout: float = 10.0
    # Seconds in-flight requests may take to finish once a stop began (after the drain).
    drain_timeout: float = 10.0
    max_connections: int = 20_000
    allowed_hosts: str = ""
    # Demo mode only: documented vendor variants the embedded emulators show,
    # "vendor=variant,…" (README, "Vendors").
    emulator_variants: str = ""
    # Who is asking (README, "Authentication"; app/auth): none | jwt | api-key |
    # jwt,api-key. Unset with a vendor URL configured, start-up stops (from_env).
    auth: str = "none"
    jwt_jwks_url: str = ""
    jwt_jwks_file: str = ""
    # Seconds between two fetches of the JWKS URL (a token with an unknown kid refetches).
    jwt_jwks_refresh: float = 30.0
    jwt_secret: Secret = _NO_SECRET  # HS256, for development
    jwt_issuer: str = ""
    jwt_audience: str = ""
    jwt_lines_claim: str = "lines"
    api_keys_file: str = ""
    # Browser origins allowed besides the page's own (CORS, websocket handshakes).
    allowed_origins: str = ""
    # Commands (hold, retrieve, hang up, start) per principal per minute; 0: no limit.
    command_rate: int = 0
    # --- Client conventions (README, "Pointing a client at switchboard") ---------------
    # Safelist mode: the path of an Apollo persisted query manifest; only its operations
    # run (app/graphql/persisted.py). "": any document runs.
    persisted_only: str = ""
    # Automatic persisted queries: hashes known in process (LRU), or in Redis (key prefix
    # switchboard:apq:) for this many seconds when the bus is Redis.
    apq_cache_size: int = 1000
    apq_ttl: float = 86_400.0
    # Operations in one batched POST (a JSON array); more: HTTP 400, nothing runs.
    max_batch: int = 10
    # --- end of client conventions ------------------------------------------------------

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
        known = cls.variable_names()
        for name in sorted(env):
            if name.startswith("SWITCHBOARD_") and name not in known:
                closest = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
                hint = f"; did you mean {closest[0]}?" if closest else ""
                raise ConfigurationError(f"unknown variable {name}{hint}")
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
                raise ConfigurationError(
                    f"SWITCHBOARD_{setting.name.upper()}={raw!r}: expected a "
                    f"{type(default).__name__} like {default!r}"
                ) from None
        if "auth" in values:
            values["auth"] = _auth_methods(values["auth"])
        if values.get("log_format", "") not in ("", "json", "text"):
            raise ConfigurationError(
                f"SWITCHBOARD_LOG_FORMAT={values['log_format']!r}: expected json or text"
            )
        values["vendors"] = {
            vendor: _vendor_settings(vendor, url, env)
            for vendor in Vendor
            if (url := env.get(f"SWITCHBOARD_{vendor.name}_URL", ""))
        }
        if "SWITCHBOARD_AUTH" not in env and values["vendors"]:
            raise ConfigurationError(
                "SWITCHBOARD_AUTH is not set: with a vendor configured, say who may call "
                "switchboard: SWITCHBOARD_AUTH=jwt, api-key or jwt,api-key (or none, "
                "explicitly, behind something that authenticates)"
            )
        return cls(**values)

    @classmethod
    def variable_names(cls) -> set[str]:
        """Every SWITCHBOARD_* variable switchboard reads."""
        names = {f"SWITCHBOARD_{f.name.upper()}" for f in fields(cls) if f.name != "vendors"}
        for vendor in Vendor:
            for name in ("url", *CREDENTIAL_NAMES[vendor], *OPTION_NAMES[vendor]):
                names.add(f"SWITCHBOARD_{vendor.name}_{name.upper()}")
        return names

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


def _vendor_settings(vendor: Vendor, url: str, env: Mapping[str, str]) -> VendorSettings:
    prefix = f"SWITCHBOARD_{vendor.name}_"
    check_url(f"{prefix}URL", url)
    credentials = {
        name: Secret(env.get(f"{prefix}{name.upper()}", "")) for name in CREDENTIAL_NAMES[vendor]
    }
    missing = [f"{prefix}{n.upper()}" for n in REQUIRED_CREDENTIALS[vendor] if not credentials[n]]
    if missing:
        raise ConfigurationError(f"{prefix}URL is set but {', '.join(missing)} is not")
    options = {
        name: value
        for name in OPTION_NAMES[vendor]
        if (value := env.get(f"{prefix}{name.upper()}", ""))
    }
    for name, value in options.items():
        if name.endswith("_url"):
            check_url(f"{prefix}{name.upper()}", value)
    return VendorSettings(url, credentials, options)


def check_url(variable: str, url: str, *, base: bool = True) -> None:
    """A ConfigurationError naming `variable` unless `url` is an http(s) URL (a `base`
    URL, one paths are added to, without query or fragment)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port that is not a number)
    except ValueError as bad:
        raise ConfigurationError(f"{variable}={url!r}: {bad}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"{variable}={url!r}: expected an http(s) URL such as https://vendor.example.com"
        )
    if base and (parts.query or parts.fragment):
        raise ConfigurationError(f"{variable}={url!r}: a base URL has no query or fragment")


_AUTH_METHODS = ("none", "jwt", "api-key")


def _auth_methods(raw: str) -> str:
    """SWITCHBOARD_AUTH normalised ("api-key, jwt" -> "jwt,api-key"), or a clear refusal."""
    methods = {word.strip().lower() for word in raw.split(",") if word.strip()}
    unknown = methods - set(_AUTH_METHODS)
    if not methods or unknown or ("none" in methods and len(methods) > 1):
        raise ConfigurationError(
            f"SWITCHBOARD_AUTH={raw!r}: expected none, jwt, api-key or jwt,api-key"
        )
    return ",".join(m for m in _AUTH_METHODS if m in methods)


# Switches whose default depends on the mode (see Settings.graphiql).
_ON_IN_DEMO_MODE = ("graphiql", "introspection")


def _parse(raw: str, kind: type) -> Any:
    if kind is bool:
        word = raw.strip().lower()
        if word in {"1", "true", "yes", "on"}:
            return True
        if word in {"0", "false", "no", "off"}:
            return False
        raise ValueError(raw)
    return kind(raw)
