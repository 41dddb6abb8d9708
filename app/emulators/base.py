"""What every vendor emulator provides, and the demo credentials the emulators accept."""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import ClassVar

from aiohttp import web

from app.emulators.control import EmulatorControl

# Accepted by the emulators and used by `python -m app` when it embeds them. Not secrets.
DEMO_CREDENTIALS: Mapping[str, Mapping[str, str]] = {
    "oracle": {"contact_id": "switchboard-demo"},  # a call template, not a secret
    "huawei": {"app_key": "switchboard-demo-ak", "app_secret": "switchboard-demo-sk"},
    "verba": {
        "api_key": "74c8eea0-50c6-40b2-9f3e-252ed501c3c8",
        "username": "verba-demo",
        "password": "verba-demo-password",
    },
    "voipnow": {"client_id": "switchboard-demo", "client_secret": "voipnow-demo-secret"},
    "genesys": {"username": "agent15000", "password": "genesys-demo-password"},
}


class VendorEmulator:
    """One vendor's API as an aiohttp sub-app, mounted at `/<vendor>` on the emulator server.

    Subclasses set `vendor`, add their routes in `add_routes`, hold their calls in memory,
    seed the vendor page's example calls in `seed_demo`, and walk one simulated call
    through a realistic lifecycle in `simulate_call`.
    """

    vendor: str
    # The documented variants this emulator can show (VENDORS.md §6), name -> what it is,
    # the first one the default. A real deployment shows one of them; the contract suite
    # runs the adapters against each. Selected with `select_variant` or over the control
    # surface (`PUT /_emulator/variants/{vendor}`).
    VARIANTS: ClassVar[Mapping[str, str]] = {"default": "as the seed page describes it"}

    def __init__(self, control: EmulatorControl) -> None:
        self.control = control
        self.variant = next(iter(self.VARIANTS))
        control.register_emulator(self.vendor, self)

    def select_variant(self, name: str) -> None:
        """Behave as variant `name` from now on (a ValueError names the known ones)."""
        if name not in self.VARIANTS:
            known = ", ".join(self.VARIANTS)
            raise ValueError(f"{self.vendor} has no variant {name!r}; known: {known}")
        self.variant = name

    def tenant_options(self, base_url: str) -> dict[str, str]:
        """How a tenant showing the selected variant is configured, beyond the demo
        credentials: `url` (the API's base URL, e.g. with a path prefix) and any vendor
        option (`SWITCHBOARD_<VENDOR>_<NAME>`, e.g. `token_url`). `base_url` is where
        this emulator is mounted."""
        return {"url": base_url}

    def build_app(self) -> web.Application:
        app = web.Application(middlewares=[self.control.middleware(self.vendor)])
        self.add_routes(app)
        return app

    def add_routes(self, app: web.Application) -> None:
        raise NotImplementedError

    def seed_demo(self) -> None:
        raise NotImplementedError

    async def simulate_call(self, rng: random.Random, pace: float) -> None:
        """Create one call and move it to its end. `pace` scales every wait (1.0 = real time
        of a short call, a few seconds per step)."""
        raise NotImplementedError
