"""`build_adapters`: an adapter for every configured vendor, wired to the settings."""

from __future__ import annotations

from app.adapters import Adapters, VendorAdapter, VendorHealth
from app.calls import Vendor
from app.config import ConfigurationError, Settings
from app.vendors.breaker import CircuitBreaker
from app.vendors.genesys import GenesysAdapter
from app.vendors.http import VendorHttp
from app.vendors.huawei import HuaweiAdapter
from app.vendors.oracle import OracleAdapter
from app.vendors.verba import VerbaAdapter
from app.vendors.voipnow import VoipNowAdapter

ADAPTER_CLASSES: dict[Vendor, type[VendorAdapter]] = {
    Vendor.ORACLE: OracleAdapter,
    Vendor.HUAWEI: HuaweiAdapter,
    Vendor.VERBA: VerbaAdapter,
    Vendor.VOIPNOW: VoipNowAdapter,
    Vendor.GENESYS: GenesysAdapter,
}


def build_adapters(settings: Settings) -> Adapters:
    """An adapter for every configured vendor, each with its own HTTP session."""
    by_vendor: dict[Vendor, VendorAdapter] = {}
    health: dict[Vendor, VendorHealth] = {}
    for vendor, vendor_settings in settings.vendors.configured.items():
        http = VendorHttp(
            vendor,
            vendor_settings.url,
            timeout=settings.vendors.vendor_timeout,
            concurrency=settings.vendors.vendor_concurrency,
            metrics=settings.observability.metrics,
            breaker=CircuitBreaker(
                vendor,
                failures=settings.vendors.breaker_failures,
                cooldown=settings.vendors.breaker_cooldown,
            ),
        )
        try:
            by_vendor[vendor] = ADAPTER_CLASSES[vendor](  # type: ignore[call-arg]
                http, **vendor_settings.credentials, **vendor_settings.options
            )
        except ValueError as bad:
            # An option the adapter could not use (e.g. a token lifetime out of range):
            # a configuration error, named, like those Settings finds itself.
            raise ConfigurationError(f"SWITCHBOARD_{vendor.name}_*: {bad}") from None
        health[vendor] = http.breaker
    verba = by_vendor.get(Vendor.VERBA)
    return Adapters(by_vendor, verba if isinstance(verba, VerbaAdapter) else None, health)
