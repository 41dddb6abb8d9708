"""Placeholder: the Genesys emulator is being written (to be replaced)."""

import random

from aiohttp import web

from app.emulators.base import VendorEmulator


class GenesysEmulator(VendorEmulator):
    vendor = "genesys"

    def add_routes(self, app: web.Application) -> None:
        pass

    def seed_demo(self) -> None:
        pass

    async def simulate_call(self, rng: random.Random, pace: float) -> None:
        pass
