"""A watched Oracle call is long-polled (Get Call Status with `waitperiod`, VENDORS.md §6:
s0204longpollingmechanism01.html): one held status request while nothing changes, the
change delivered as soon as Oracle answers, instead of a read every poll interval."""

from __future__ import annotations

import asyncio

from app.calls import Vendor
from app.emulators.oracle import OracleEmulator
from tests.conftest import EmulatorServer
from tests.demo import DEMO_IDS
from tests.graphql.conftest import serve_gateway
from tests.ws import graphql_ws

CALL_UPDATED = "subscription($id: ID!) { callUpdated(id: $id) { id state } }"


def status_reads(server: EmulatorServer) -> int:
    return server.control.count("oracle", path_contains="/status")


async def test_a_watched_oracle_call_is_long_polled(emulator_server: EmulatorServer) -> None:
    oracle = DEMO_IDS[Vendor.ORACLE]
    store = emulator_server.emulator(OracleEmulator).calls
    async with (
        serve_gateway(emulator_server, poll_interval=0.02, watch_grace=0, long_poll=20) as gw,
        graphql_ws(gw.url) as ws,
    ):
        await ws.subscribe("1", CALL_UPDATED, {"id": oracle})
        assert (await ws.data("1"))["data"]["callUpdated"]["state"] == "CONNECTED"
        await asyncio.sleep(0.3)  # the watcher's first reads settle into one held poll
        before = status_reads(emulator_server)
        await asyncio.sleep(0.5)  # unchanged: polling every 0.02 s would read ~25 times
        assert status_reads(emulator_server) - before <= 1
        store.end(oracle.split(":", 1)[1])
        ended = await ws.data("1")
        assert ended["data"]["callUpdated"]["state"] == "ENDED"
