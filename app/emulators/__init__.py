"""Vendor emulators: aiohttp apps speaking each vendor's protocol (VENDORS.md), served
together on one port, each under its own prefix. Never imported by the gateway itself."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import web

from app.config import Settings
from app.emulators.base import DEMO_CREDENTIALS, VendorEmulator
from app.emulators.control import EmulatorControl, Fault
from app.emulators.genesys import GenesysEmulator
from app.emulators.huawei import HuaweiEmulator
from app.emulators.oracle import OracleEmulator
from app.emulators.verba import VerbaEmulator
from app.emulators.voipnow import VoipNowEmulator

__all__ = ["DEMO_CREDENTIALS", "EMULATOR_CLASSES", "Emulators", "Fault", "build_emulators"]

EMULATOR_CLASSES: tuple[type[VendorEmulator], ...] = (
    OracleEmulator,
    HuaweiEmulator,
    VerbaEmulator,
    VoipNowEmulator,
    GenesysEmulator,
)


@dataclass
class Emulators:
    app: web.Application
    control: EmulatorControl
    vendors: dict[str, VendorEmulator]

    def settings_for(self, settings: Settings, base_url: str) -> Settings:
        """`settings` with every vendor pointed at its emulator under `base_url`, configured
        as a tenant of the variant each emulator shows now."""
        base_url = base_url.rstrip("/")
        return settings.with_vendors(
            base_url,
            DEMO_CREDENTIALS,
            options={
                name: emulator.tenant_options(f"{base_url}/{name}")
                for name, emulator in self.vendors.items()
            },
        )


def build_emulators(*, demo: bool = True, variants: Mapping[str, str] | None = None) -> Emulators:
    """All five emulators on one aiohttp app: `/oracle`, `/huawei`, `/verba`, `/voipnow`,
    `/genesys`, plus the `/_emulator/...` control surface. `variants` selects a documented
    variant per vendor (name -> variant), e.g. {"genesys": "8.5.2"}."""
    control = EmulatorControl()
    root = web.Application()
    root.add_routes(control.routes())
    vendors: dict[str, VendorEmulator] = {}
    for cls in EMULATOR_CLASSES:
        emulator = cls(control)
        if demo:
            emulator.seed_demo()
        root.add_subapp(f"/{emulator.vendor}", emulator.build_app())
        vendors[emulator.vendor] = emulator
    for vendor, variant in (variants or {}).items():
        control.select_variant(vendor, variant)

    async def release_held_requests(app: web.Application) -> None:
        control.release_all()

    root.on_shutdown.append(release_held_requests)
    return Emulators(root, control, vendors)
