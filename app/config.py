"""Settings, read once from environment variables (the README's configuration table)."""

from __future__ import annotations

import difflib
import functools
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, ClassVar
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


def _env(name: str) -> dict[str, str]:
    """Field metadata: the field's variable is SWITCHBOARD_<name>, not its section's prefix
    and its own name."""
    return {"env": name}


@dataclass(frozen=True)
class ServerSection:
    """Where and how switchboard serves: address, exposure to clients, demo switches."""

    host: str = "127.0.0.1"
    port: int = 8000
    # Exposure to clients (README, "Deployment: exposure"). Seconds a client has to send a
    # whole request, headers and body (and to take what it is sent); connections served at
    # once; Host names accepted when not bound to loopback ("" = any), comma-separated.
    http_read_timeout: float = 10.0
    # A stop (SIGTERM): seconds the instance goes on accepting requests once it answers
    # not ready (a load balancer's probe interval, so that it stops sending here first),
    # then seconds in-flight requests may take to finish.
    drain_delay: float = 0.0
    drain_timeout: float = 10.0
    max_connections: int = 20_000
    allowed_hosts: str = ""
    # GraphiQL and introspection: unset (None) means on in demo mode (no vendor configured)
    # and off with real vendors; resolved once, when the settings are made.
    graphiql: bool | None = None
    introspection: bool | None = None
    simulate: bool = True
    # Demo mode only: documented vendor variants the embedded emulators show,
    # "vendor=variant,…" (README, "Vendors").
    emulator_variants: str = ""


@dataclass(frozen=True)
class VendorsSection:
    """The vendors served and how switchboard talks to them."""

    # Only the vendors with a URL are served; ids of the others answer NOT_SUPPORTED.
    # (SWITCHBOARD_<VENDOR>_URL and credentials, read apart: see Settings.from_env.)
    configured: Mapping[Vendor, VendorSettings] = field(default_factory=dict)
    vendor_timeout: float = 5.0
    vendor_concurrency: int = 16
    # Circuit breaker per vendor (app/vendors/breaker.py): opens after this many
    # consecutive failures, for this many seconds.
    breaker_failures: int = 5
    breaker_cooldown: float = 10.0
    confirm_timeout: float = 5.0
    confirm_interval: float = 0.2
    idempotency_ttl: float = 86_400.0  # startCall idempotency keys are kept this long (s)


@dataclass(frozen=True)
class Limits:
    """Hostile input (README, "Limits and error codes")."""

    max_ids: int = 100
    max_depth: int = 10
    max_aliases: int = 30
    max_tokens: int = 2000
    max_body_bytes: int = 1_000_000
    # Fields of a document once its fragments are expanded: as many as the token limit
    # lets a document spell out without fragments (each field is at least one token), so
    # fragments add no work.
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
    # Operations in one batched POST (a JSON array); more: HTTP 400, nothing runs.
    max_batch: int = 10


@dataclass(frozen=True)
class ClientsSection:
    """Client conventions (README, "Pointing a client at switchboard")."""

    # Safelist mode: the path of an Apollo persisted query manifest; only its operations
    # run (app/graphql/persisted.py). "": any document runs.
    persisted_only: str = ""
    # Automatic persisted queries: hashes known in process (LRU), or in Redis (key prefix
    # switchboard:apq:) for this many seconds when the bus is Redis.
    apq_cache_size: int = 1000
    apq_ttl: float = 86_400.0


@dataclass(frozen=True)
class WebSocketSection:
    """GraphQL over websockets (SWITCHBOARD_WS_*)."""

    env_prefix: ClassVar[str] = "WS_"

    max_subscriptions: int = 100
    keep_alive: float = 15.0
    init_timeout: float = 10.0
    send_queue: int = 64
    deflate: bool = False


@dataclass(frozen=True)
class EventStreamSection:
    """GraphQL over server-sent events on /graphql/stream (SWITCHBOARD_SSE_*)."""

    env_prefix: ClassVar[str] = "SSE_"

    # Seconds between keep-alive comments: proxies and load balancers close idle streams.
    keep_alive: float = 15.0
    # Streams open at once; more are answered 503 TOO_MANY_STREAMS.
    max_streams: int = 10_000


@dataclass(frozen=True)
class LiveSection:
    """Following calls: the event bus, polling, leases between instances."""

    broadcast_url: str = "memory://"
    poll_interval: float = 1.0
    # Vendors whose status read is a long poll (Oracle, `waitperiod`): a watcher's read
    # may be held this long, answered at once on a change; 0 polls every poll_interval.
    long_poll: float = 20.0
    watch_grace: float = 5.0
    lease_ttl: float = 5.0
    # callStats: seconds between two values pushed for one filter, at most one per interval.
    stats_interval: float = 1.0
    # How long, and how many, call events are kept for callEvents(after:) to replay
    # (app/live/event_log.py); an older cursor gets a RESYNC event.
    event_retention: float = 300.0
    event_retention_count: int = 10000


@dataclass(frozen=True)
class ObservabilitySection:
    """Logs and metrics (tracing is switched by OTEL_EXPORTER_OTLP_ENDPOINT)."""

    access_log: bool = True
    log_format: str = ""  # json | text; unset: json unless stderr is a terminal
    metrics: bool = True  # Prometheus counters on the hot paths (bench B1 compares off)


@dataclass(frozen=True)
class AuthSection:
    """Who is asking (README, "Authentication"; app/auth)."""

    # none | jwt | api-key | jwt,api-key. Unset with a vendor URL configured, start-up
    # stops (Settings.from_env).
    methods: str = field(default="none", metadata=_env("AUTH"))
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


Section = (
    ServerSection
    | VendorsSection
    | Limits
    | ClientsSection
    | WebSocketSection
    | EventStreamSection
    | LiveSection
    | ObservabilitySection
    | AuthSection
)


@dataclass(frozen=True)
class Settings:
    """Every setting, in sections. Each field of a section is read from one variable,
    SWITCHBOARD_<prefix><FIELD> (README, "Configuration"); `with_values` and `from_env`
    take them by that name (`ws_send_queue=...`, `max_ids=...`)."""

    server: ServerSection = field(default_factory=ServerSection)
    vendors: VendorsSection = field(default_factory=VendorsSection)
    limits: Limits = field(default_factory=Limits)
    clients: ClientsSection = field(default_factory=ClientsSection)
    websocket: WebSocketSection = field(default_factory=WebSocketSection)
    sse: EventStreamSection = field(default_factory=EventStreamSection)
    live: LiveSection = field(default_factory=LiveSection)
    observability: ObservabilitySection = field(default_factory=ObservabilitySection)
    auth: AuthSection = field(default_factory=AuthSection)

    def __post_init__(self) -> None:
        # Resolved here, before the demo setup points the settings at the emulators: a
        # copy (with_values, with_vendors) keeps what was resolved.
        unresolved: dict[str, Any] = {
            name: self.uses_emulators
            for name in _ON_IN_DEMO_MODE
            if getattr(self.server, name) is None
        }
        if unresolved:
            object.__setattr__(self, "server", replace(self.server, **unresolved))

    def with_values(self, **values: Any) -> Settings:
        """A copy with settings given by their variable names, lower-case and without
        SWITCHBOARD_ (`poll_interval=0.05`, `ws_send_queue=4`, `auth="jwt"`)."""
        by_section: dict[str, dict[str, Any]] = {}
        names = _names()
        for name, value in values.items():
            if name not in names:
                closest = difflib.get_close_matches(name, names, n=1)
                hint = f"; did you mean {closest[0]}?" if closest else ""
                raise TypeError(f"no setting {name!r}{hint}")
            section, attribute = names[name]
            by_section.setdefault(section, {})[attribute] = value
        changed = {
            section: replace(getattr(self, section), **attributes)
            for section, attributes in by_section.items()
        }
        return replace(self, **changed)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Every setting from its variable (e.g. SWITCHBOARD_POLL_INTERVAL), typed like its
        default; vendors from `SWITCHBOARD_<VENDOR>_URL` and credentials."""
        env = os.environ if env is None else env
        known = cls.variable_names()
        for name in sorted(env):
            if name.startswith("SWITCHBOARD_") and name not in known:
                closest = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
                hint = f"; did you mean {closest[0]}?" if closest else ""
                raise ConfigurationError(f"unknown variable {name}{hint}")
        defaults = cls()
        values: dict[str, Any] = {}
        for name, (section, attribute) in _names().items():
            raw = env.get(f"SWITCHBOARD_{name.upper()}")
            if raw is None:
                continue
            default = getattr(getattr(defaults, section), attribute)
            kind = bool if attribute in _ON_IN_DEMO_MODE else type(default)
            try:
                values[name] = _parse(raw, kind)
            except ValueError:
                raise ConfigurationError(
                    f"SWITCHBOARD_{name.upper()}={raw!r}: expected a "
                    f"{type(default).__name__} like {default!r}"
                ) from None
            if kind in (int, float) and (problem := _number_problem(name, values[name])):
                raise ConfigurationError(f"SWITCHBOARD_{name.upper()}={raw!r}: {problem}")
        if "auth" in values:
            values["auth"] = _auth_methods(values["auth"])
        if values.get("log_format", "") not in ("", "json", "text"):
            raise ConfigurationError(
                f"SWITCHBOARD_LOG_FORMAT={values['log_format']!r}: expected json or text"
            )
        configured = {
            vendor: _vendor_settings(vendor, url, env)
            for vendor in Vendor
            if (url := env.get(f"SWITCHBOARD_{vendor.name}_URL", ""))
        }
        if "SWITCHBOARD_AUTH" not in env and configured:
            raise ConfigurationError(
                "SWITCHBOARD_AUTH is not set: with a vendor configured, say who may call "
                "switchboard: SWITCHBOARD_AUTH=jwt, api-key or jwt,api-key (or none, "
                "explicitly, behind something that authenticates)"
            )
        # Made with its vendors, so that what depends on the mode resolves once, right.
        return cls(vendors=VendorsSection(configured=configured)).with_values(**values)

    @classmethod
    def variable_names(cls) -> set[str]:
        """Every SWITCHBOARD_* variable switchboard reads."""
        names = {f"SWITCHBOARD_{name.upper()}" for name in _names()}
        for vendor in Vendor:
            for name in ("url", *CREDENTIAL_NAMES[vendor], *OPTION_NAMES[vendor]):
                names.add(f"SWITCHBOARD_{vendor.name}_{name.upper()}")
        return names

    @classmethod
    def defaults(cls) -> list[tuple[str, Any]]:
        """(variable, default) of every setting, in section order (for --help)."""
        defaults = cls()
        return [
            (f"SWITCHBOARD_{name.upper()}", getattr(getattr(defaults, section), attribute))
            for name, (section, attribute) in _names().items()
        ]

    @property
    def uses_emulators(self) -> bool:
        """No vendor configured: `python -m app` embeds the emulators (the demo setup)."""
        return not self.vendors.configured

    def with_vendors(
        self,
        base_url: str,
        credentials: Mapping[str, Mapping[str, str]],
        *,
        options: Mapping[str, Mapping[str, str]] | None = None,
    ) -> Settings:
        """Every vendor at `<base_url>/<vendor>` with the given credentials (the emulators);
        `options` per vendor name may replace the `url` and set vendor options."""
        configured = {}
        for vendor in Vendor:
            own = dict((options or {}).get(vendor.value, {}))
            url = own.pop("url", f"{base_url.rstrip('/')}/{vendor.value}")
            configured[vendor] = VendorSettings(
                url,
                {k: Secret(v) for k, v in credentials.get(vendor.value, {}).items()},
                own,
            )
        return replace(self, vendors=replace(self.vendors, configured=configured))


_SECTIONS: tuple[tuple[str, type[Section]], ...] = (
    ("server", ServerSection),
    ("vendors", VendorsSection),
    ("limits", Limits),
    ("clients", ClientsSection),
    ("websocket", WebSocketSection),
    ("sse", EventStreamSection),
    ("live", LiveSection),
    ("observability", ObservabilitySection),
    ("auth", AuthSection),
)


@functools.cache
def _names() -> dict[str, tuple[str, str]]:
    """Each setting's variable name (lower-case, without SWITCHBOARD_) -> (section,
    attribute), in section order. Names are unique across sections."""
    names: dict[str, tuple[str, str]] = {}
    for section, kind in _SECTIONS:
        prefix = getattr(kind, "env_prefix", "")
        for attribute in fields(kind):
            if attribute.name == "configured":
                continue  # the vendors, read from their own variables
            name = attribute.metadata.get("env", prefix + attribute.name.upper()).lower()
            assert name not in names, f"two settings named {name}"
            names[name] = (section, attribute.name)
    return names


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


# Seconds and counts where 0 would spin a loop or refuse everything (a poll, a keep-alive,
# a lease renewal every 0 s); elsewhere 0 means off or none (SWITCHBOARD_LONG_POLL=0).
_POSITIVE = frozenset(
    {
        "http_read_timeout",
        "vendor_timeout",
        "vendor_concurrency",
        "confirm_timeout",
        "confirm_interval",
        "ws_keep_alive",
        "ws_init_timeout",
        "sse_keep_alive",
        "poll_interval",
        "lease_ttl",
        "stats_interval",
        "jwt_jwks_refresh",
    }
)


def _number_problem(name: str, number: float) -> str | None:
    """What is wrong with a number a variable gave (every setting counts or measures)."""
    if not math.isfinite(number):
        return "expected a finite number"
    if name == "port" and not 0 <= number <= 65_535:
        return "expected a port from 0 to 65535"
    if name in _POSITIVE and number <= 0:
        return "expected a number above 0"
    if number < 0:
        return "expected a number of 0 or more"
    return None


def _parse(raw: str, kind: type) -> Any:
    if kind is bool:
        word = raw.strip().lower()
        if word in {"1", "true", "yes", "on"}:
            return True
        if word in {"0", "false", "no", "off"}:
            return False
        raise ValueError(raw)
    return kind(raw)
