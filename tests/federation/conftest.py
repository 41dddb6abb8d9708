"""Fixtures for the federation tests: Node (composition, Hive Gateway), switchboard and the
CRM subgraph behind a real router, and extra emulator calls for the batching tests.

Skipping: without a usable node/npm the tests that need Node skip with the reason, except
under CI=true, where they fail instead (nothing may skip in CI). With node present but
tests/federation/node_modules not installed they fail, naming the command that installs it.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.emulators.genesys import GenesysEmulator
from app.emulators.voipnow import VoipNowEmulator
from app.emulators.voipnow_store import PhoneCall, PhoneCallView
from tests.conftest import EmulatorServer
from tests.demo import DEMO_IDS
from tests.federation.harness import (
    Federation,
    in_ci,
    node_unavailable,
    packages_missing,
    serve_federation,
)
from tests.federation.hive_gateway import PLANNERS, NodeTools, Planner
from tests.graphql.conftest import Gateway, serve_gateway


@pytest.fixture(scope="session")
def node() -> NodeTools:
    reason = node_unavailable()
    if reason is not None:
        if in_ci():
            pytest.fail(f"{reason} (CI is set: the federation tests may not skip)")
        pytest.skip(reason)
    missing = packages_missing()
    if missing is not None:
        pytest.fail(missing)
    found = shutil.which("node")
    assert found is not None
    return NodeTools(found)


@pytest.fixture
async def switchboard(emulator_server: EmulatorServer) -> AsyncIterator[Gateway]:
    """switchboard alone, over the emulators (no Node needed)."""
    async with serve_gateway(emulator_server) as gateway:
        yield gateway


@pytest.fixture(params=PLANNERS)
def planner(request: pytest.FixtureRequest) -> Planner:
    """Each of Hive Gateway's query planners in turn: a test that takes `federation` (or
    `planner`) runs once with each. A test limits them with
    `@pytest.mark.parametrize("planner", [...])`, e.g. to mark a planner's bug xfail."""
    chosen: Planner = request.param
    return chosen


@pytest.fixture
async def federation(
    emulator_server: EmulatorServer, node: NodeTools, tmp_path: Path, planner: Planner
) -> AsyncIterator[Federation]:
    """switchboard and the demo CRM, composed by Apollo's composer, behind Hive Gateway
    planning with `planner`. For other CRM data, settings or composer, use
    `serve_federation` in the test."""
    async with serve_federation(emulator_server, node, tmp_path, planner=planner) as federation:
        yield federation


def add_genesys_calls(emulator_server: EmulatorServer, count: int) -> list[str]:
    """`count` connected Genesys calls on the agent's DN; their global ids."""
    store = emulator_server.emulator(GenesysEmulator).store
    return [
        "genesys:" + store.add_call(state="Established", dnis="15001")["id"] for _ in range(count)
    ]


def add_voipnow_calls(emulator_server: EmulatorServer, extension: str, count: int) -> list[str]:
    """`count` calls in progress on `extension` of VoipNow user 12; their global ids."""
    store = emulator_server.emulator(VoipNowEmulator).store
    ids = []
    for _ in range(count):
        phone_call_id = secrets.token_hex(10)  # 20 hex digits, like VoipNow's own
        view = PhoneCallView("00", extension, ["0003*024"], [extension], flow="2", status="5")
        call = store.add_call(PhoneCall(phone_call_id, "12", extension, [view]))
        ids.append(f"voipnow:{call.user_id}/{call.extension}/{call.id}")
    return ids


@pytest.fixture
def distinct_calls(emulator_server: EmulatorServer) -> list[str]:
    """Ten distinct calls over every vendor: the five demo calls, three more Genesys calls,
    and two more VoipNow calls, one on the demo call's extension (0003*210) and one on
    another (0003*211) of the same user. Batched by switchboard's rule, fetching them all
    takes: Genesys 1 request (the list holds all four), VoipNow 2 (one per extension),
    Oracle 1, Huawei 1, Verba 1 (GetCallURL by CallID), after its RequestToken."""
    return [
        *DEMO_IDS.values(),
        *add_genesys_calls(emulator_server, 3),
        *add_voipnow_calls(emulator_server, "0003*210", 1),
        *add_voipnow_calls(emulator_server, "0003*211", 1),
    ]


@pytest.fixture
def fifty_calls(emulator_server: EmulatorServer) -> list[str]:
    """Fifty distinct calls at the two vendors with a list API: 30 Genesys calls, and 10
    VoipNow calls on each of two extensions. Batched: Genesys 1 request, VoipNow 2."""
    return [
        *add_genesys_calls(emulator_server, 30),
        *add_voipnow_calls(emulator_server, "0003*210", 10),
        *add_voipnow_calls(emulator_server, "0003*211", 10),
    ]
