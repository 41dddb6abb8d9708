"""The circuit breaker per vendor (app/vendors/breaker.py): after N consecutive failures a
vendor's requests fail at once with VENDOR_UNAVAILABLE and retryAfter, other vendors are
untouched, watchers wait it out; after the cooldown one read probes; commands never probe."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from app.calls import Vendor
from app.emulators.control import Fault
from app.errors import VendorUnavailable
from app.vendors.breaker import BreakerState, CircuitBreaker
from tests.conftest import EmulatorServer
from tests.demo import DEMO_IDS
from tests.graphql.conftest import Gateway, serve_gateway
from tests.metrics import scrape, value
from tests.ws import graphql_ws


def state(breaker: CircuitBreaker) -> BreakerState:
    return breaker.state  # read afresh (mypy would keep the first comparison's narrowing)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_consecutive_failures_only() -> None:
    clock = Clock()
    breaker = CircuitBreaker(Vendor.ORACLE, failures=3, cooldown=10, clock=clock)
    for _ in range(2):
        breaker.admit(probe=True)
        breaker.failed("VENDOR_TIMEOUT", probe=False)
    breaker.succeeded(probe=False)  # a success in between: the count starts again
    for _ in range(2):
        breaker.failed("VENDOR_TIMEOUT", probe=False)
    assert state(breaker) is BreakerState.CLOSED
    breaker.failed("VENDOR_UNAVAILABLE", probe=False)
    assert state(breaker) is BreakerState.OPEN
    with pytest.raises(VendorUnavailable) as refused:
        breaker.admit(probe=True)
    assert refused.value.extensions == {
        "code": "VENDOR_UNAVAILABLE",
        "vendor": "oracle",
        "retryAfter": 10,
    }


def test_half_open_lets_one_read_probe_and_never_a_command() -> None:
    clock = Clock()
    breaker = CircuitBreaker(Vendor.GENESYS, failures=1, cooldown=10, clock=clock)
    breaker.failed("VENDOR_TIMEOUT", probe=False)
    clock.now += 10
    assert state(breaker) is BreakerState.HALF_OPEN
    with pytest.raises(VendorUnavailable):
        breaker.admit(probe=False)  # a command
    assert breaker.admit(probe=True) is True  # the probe
    with pytest.raises(VendorUnavailable):
        breaker.admit(probe=True)  # a second read while the probe runs
    breaker.failed("VENDOR_TIMEOUT", probe=True)
    assert state(breaker) is BreakerState.OPEN  # the probe failed: open for another cooldown
    clock.now += 10
    assert breaker.admit(probe=True) is True
    breaker.succeeded(probe=True)
    assert state(breaker) is BreakerState.CLOSED
    assert breaker.admit(probe=False) is False


@pytest.fixture
async def gateway(emulator_server: EmulatorServer) -> AsyncIterator[Gateway]:
    async with serve_gateway(
        emulator_server, vendor_timeout=0.2, breaker_failures=3, breaker_cooldown=3600
    ) as gateway:
        yield gateway


CALL = "query($id: ID!) { call(id: $id) { id state } }"
SUBSCRIPTION = "subscription($id: ID!) { callUpdated(id: $id) { id state } }"


async def test_an_open_breaker_fails_at_once_and_spares_other_vendors(gateway: Gateway) -> None:
    # Oracle answers only after 3 s: each read times out (0.2 s) until the breaker opens.
    gateway.control.set_fault("oracle", Fault(latency=3.0))
    oracle = DEMO_IDS[Vendor.ORACLE]
    for _ in range(3):
        body = await gateway.client.execute(CALL, {"id": oracle})
        assert body["errors"][0]["extensions"]["code"] == "VENDOR_TIMEOUT"
    sent = gateway.control.count("oracle")
    body = await gateway.client.execute(CALL, {"id": oracle})
    extensions = body["errors"][0]["extensions"]
    assert extensions["code"] == "VENDOR_UNAVAILABLE"
    assert extensions["retryAfter"] == 3600
    assert gateway.control.count("oracle") == sent  # refused without a request
    huawei = await gateway.client.execute(CALL, {"id": DEMO_IDS[Vendor.HUAWEI]})
    assert "errors" not in huawei
    assert huawei["data"]["call"]["id"] == DEMO_IDS[Vendor.HUAWEI]
    # Commands are refused too, without a request.
    hangup = await gateway.client.execute(
        "mutation($id: ID!) { hangupCall(id: $id) { id } }", {"id": oracle}
    )
    assert hangup["errors"][0]["extensions"]["code"] == "VENDOR_UNAVAILABLE"
    assert gateway.control.count("oracle") == sent


async def test_4xx_answers_do_not_open_the_breaker(gateway: Gateway) -> None:
    unknown = "oracle:NoSuchSession000000000000"
    for _ in range(5):
        body = await gateway.client.execute(CALL, {"id": unknown})
        assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    body = await gateway.client.execute(CALL, {"id": DEMO_IDS[Vendor.ORACLE]})
    assert body["data"]["call"]["id"] == DEMO_IDS[Vendor.ORACLE]


async def test_after_the_cooldown_a_read_probes_and_closes_the_breaker(
    emulator_server: EmulatorServer,
) -> None:
    async with serve_gateway(
        emulator_server, vendor_timeout=0.2, breaker_failures=1, breaker_cooldown=0.3
    ) as gateway:
        oracle = DEMO_IDS[Vendor.ORACLE]
        gateway.control.set_fault("oracle", Fault(status=503))
        body = await gateway.client.execute(CALL, {"id": oracle})
        assert body["errors"][0]["extensions"]["code"] == "VENDOR_UNAVAILABLE"
        gateway.control.clear_faults()
        await asyncio.sleep(0.4)  # the cooldown passes
        body = await gateway.client.execute(CALL, {"id": oracle})
        assert body["data"]["call"]["id"] == oracle
        breaker = gateway.app_state.services.adapters[Vendor.ORACLE]._http.breaker
        assert state(breaker) is BreakerState.CLOSED
        assert breaker.openings == 1


async def test_a_watcher_waits_out_an_open_breaker_instead_of_polling_it(
    emulator_server: EmulatorServer,
) -> None:
    async with serve_gateway(
        emulator_server,
        vendor_timeout=0.2,
        breaker_failures=1,
        breaker_cooldown=3600,
        poll_interval=0.02,
        long_poll=0,
    ) as gateway:
        session, url = gateway.client.session, gateway.url
        refused = "switchboard_vendor_requests_total"
        labels = {"vendor": "oracle", "method": "GET", "status": "breaker_open"}
        async with graphql_ws(url) as ws:
            await ws.subscribe("1", SUBSCRIPTION, {"id": DEMO_IDS[Vendor.ORACLE]})
            await ws.data("1")
            gateway.control.set_fault("oracle", Fault(status=503))
            breaker = gateway.app_state.services.adapters[Vendor.ORACLE]._http.breaker
            async with asyncio.timeout(5):
                while state(breaker) is not BreakerState.OPEN:  # noqa: ASYNC110 (its poll opens it)
                    await asyncio.sleep(0.01)
            before = value(await scrape(session, url), refused, **labels)
            await asyncio.sleep(0.5)  # 25 poll intervals
            after = value(await scrape(session, url), refused, **labels)
        # Waiting out retryAfter: at most the one poll already under way is refused.
        # Polling on regardless: one refusal every interval, about 25.
        assert after - before <= 1
