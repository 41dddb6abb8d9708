"""startCall never places a call twice: idempotency keys, lost answers (OUTCOME_UNKNOWN,
retrySafe false) and a placed call that always names itself (issue 10 item 4, issue 11
item 8)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from app.emulators.control import Fault
from app.emulators.oracle import OracleEmulator
from tests.conftest import EmulatorServer
from tests.graphql.conftest import Gateway, serve_gateway
from tests.graphql.test_mutations import START, error_of

ORACLE_START = {"vendor": "ORACLE", "to": "+15551230000"}


@pytest.fixture
async def quick_gateway(emulator_server: EmulatorServer) -> AsyncIterator[Gateway]:
    async with serve_gateway(emulator_server, confirm_timeout=0.3, confirm_interval=0.05) as gw:
        yield gw


def start_posts(gateway: Gateway) -> int:
    """Start requests Oracle received: POST /oracle/call/2.0/{contactId}/{userPhone}."""
    return sum(1 for r in gateway.control.requests if r.vendor == "oracle" and r.method == "POST")


async def start(gateway: Gateway, **given: Any) -> dict[str, Any]:
    return await gateway.client.execute(START, {"input": {**ORACLE_START, **given}})


async def test_repeat_with_the_same_key_answers_the_first_call_without_a_request(
    gateway: Gateway,
) -> None:
    first = await start(gateway, idempotencyKey="c0ffee-1")
    again = await start(gateway, idempotencyKey="c0ffee-1")
    assert first["data"]["startCall"]["id"].startswith("oracle:")
    assert again["data"]["startCall"] == first["data"]["startCall"]
    assert start_posts(gateway) == 1
    assert len(gateway.emulator.emulator(OracleEmulator).calls.sessions()) == 2  # demo + 1


async def test_without_a_key_each_request_places_a_call(gateway: Gateway) -> None:
    await start(gateway)
    await start(gateway)
    assert start_posts(gateway) == 2


async def test_concurrent_repeats_place_one_call(gateway: Gateway) -> None:
    bodies = await asyncio.gather(*(start(gateway, idempotencyKey="same") for _ in range(5)))
    assert len({b["data"]["startCall"]["id"] for b in bodies}) == 1
    assert start_posts(gateway) == 1


async def test_a_key_reused_for_another_request_is_refused(gateway: Gateway) -> None:
    await start(gateway, idempotencyKey="k-2")
    other = await start(gateway, idempotencyKey="k-2", to="+15559990000")
    assert error_of(other)["code"] == "BAD_USER_INPUT"
    assert start_posts(gateway) == 1


async def test_a_malformed_key_is_refused_before_any_request(gateway: Gateway) -> None:
    body = await start(gateway, idempotencyKey="")
    assert error_of(body)["code"] == "BAD_USER_INPUT"
    body = await start(gateway, idempotencyKey="x" * 256)
    assert error_of(body)["code"] == "BAD_USER_INPUT"
    assert start_posts(gateway) == 0


async def test_a_lost_answer_is_outcome_unknown_and_never_dialled_again(
    gateway: Gateway,
) -> None:
    # The vendor places the call, then the connection drops before its answer arrives.
    gateway.control.set_fault("oracle", Fault(drop_after=True, methods=("POST",)))
    lost = await start(gateway, idempotencyKey="lost-1")
    extensions = error_of(lost)
    assert extensions["code"] == "OUTCOME_UNKNOWN"
    assert extensions["retrySafe"] is False
    assert extensions["vendor"] == "oracle"
    gateway.control.clear_faults()
    # Oracle cannot list calls: the repeat cannot find the call, and must not place another.
    again = await start(gateway, idempotencyKey="lost-1")
    assert error_of(again)["code"] == "OUTCOME_UNKNOWN"
    assert start_posts(gateway) == 1
    assert len(gateway.emulator.emulator(OracleEmulator).calls.sessions()) == 2


async def test_a_refused_start_frees_its_key(gateway: Gateway) -> None:
    # A 403 (pre-call authorisation failed) is a refusal before acting: a retry may try.
    gateway.control.set_fault("oracle", Fault(status=403, methods=("POST",)))
    refused = await start(gateway, idempotencyKey="retry-me")
    assert error_of(refused)["code"] == "FORBIDDEN"
    gateway.control.clear_faults()
    retried = await start(gateway, idempotencyKey="retry-me")
    assert retried["data"]["startCall"]["state"] == "DIALING"
    assert start_posts(gateway) == 2


async def test_a_placed_call_that_cannot_be_confirmed_names_itself(
    quick_gateway: Gateway,
) -> None:
    # The start is accepted, but every status read fails: the error still says which call
    # was placed, so that no client places it again to find out.
    quick_gateway.control.set_fault("oracle", Fault(status=503, methods=("GET",)))
    body = await start(quick_gateway)
    extensions = error_of(body)
    assert extensions["code"] == "VENDOR_TIMEOUT"
    [session] = quick_gateway.emulator.emulator(OracleEmulator).calls.sessions()[1:]
    assert extensions["callId"] == f"oracle:{session.session_id}"


async def test_hanging_up_a_call_the_far_end_just_ended_succeeds(gateway: Gateway) -> None:
    # Read CONNECTED, then the far end hangs up while our DELETE is on its way: Oracle
    # answers 403 "The call has already ended." (s0205…, VENDORS.md §6). The effect the
    # client asked for is there: success, with one DELETE sent.
    store = gateway.emulator.emulator(OracleEmulator).calls
    started = await start(gateway)
    call_id = started["data"]["startCall"]["id"]
    session_id = call_id.split(":", 1)[1]
    store.set_state(session_id, "connected")
    gateway.control.set_fault("oracle", Fault(latency=0.3, methods=("DELETE",)))
    hangup = asyncio.ensure_future(
        gateway.client.execute(
            "mutation($id: ID!) { hangupCall(id: $id) { id state } }", {"id": call_id}
        )
    )
    async with asyncio.timeout(5):  # the DELETE arrived and is held by the fault's latency
        while not any(r.method == "DELETE" for r in gateway.control.requests):  # noqa: ASYNC110 (server side)
            await asyncio.sleep(0.01)
    store.end(session_id)
    body = await hangup
    assert body["data"]["hangupCall"] == {"id": call_id, "state": "ENDED"}
    deletes = [r for r in gateway.control.requests if r.method == "DELETE"]
    assert len(deletes) == 1


async def test_a_lost_answer_at_a_vendor_that_lists_calls_finds_the_placed_call(
    gateway: Gateway,
) -> None:
    # VoipNow places the call, the answer is lost; switchboard finds the call it placed
    # (by its nonce, or by destination and time) instead of answering an error.
    await gateway.client.execute("{ activeCalls(vendor: VOIPNOW) { id } }")  # a token first
    gateway.control.set_fault("voipnow", Fault(drop_after=True, methods=("POST",)))
    body = await gateway.client.execute(
        START, {"input": {"vendor": "VOIPNOW", "from": "0003*210", "to": "0040213158200"}}
    )
    assert "errors" not in body, body
    started = body["data"]["startCall"]
    assert started["id"].startswith("voipnow:12/0003*210/")
    posts = [
        r
        for r in gateway.control.requests
        if r.vendor == "voipnow" and r.method == "POST" and "simple" in r.path
    ]
    assert len(posts) == 1


async def test_a_start_whose_token_request_is_lost_was_never_sent(gateway: Gateway) -> None:
    # The token request (a POST too) loses its answer: the start itself was not sent, so
    # this is the token's own failure, not OUTCOME_UNKNOWN.
    gateway.control.set_fault("voipnow", Fault(drop_after=True, methods=("POST",)))
    body = await gateway.client.execute(
        START, {"input": {"vendor": "VOIPNOW", "from": "0003*210", "to": "0040213158200"}}
    )
    assert error_of(body)["code"] == "VENDOR_UNAVAILABLE"
    assert not [r for r in gateway.control.requests if "simple" in r.path]


async def test_hanging_up_a_call_that_is_already_ending_waits_for_its_end(
    gateway: Gateway,
) -> None:
    # Another hang-up is under way: Oracle still shows the call connected, and refuses our
    # DELETE with 403 "The call has already ended." (s0205endcallexamples01.html: also
    # while it is ending). The end comes: the answer is the ENDED call, not INVALID_STATE.
    store = gateway.emulator.emulator(OracleEmulator).calls
    started = await start(gateway)
    call_id = started["data"]["startCall"]["id"]
    session_id = call_id.split(":", 1)[1]
    store.set_state(session_id, "connected")
    store.hangup_seconds = 0.5
    store.hang_up(session_id)  # someone else's hang-up, under way for 0.5 s
    body = await gateway.client.execute(
        "mutation($id: ID!) { hangupCall(id: $id) { id state } }", {"id": call_id}
    )
    assert body["data"]["hangupCall"] == {"id": call_id, "state": "ENDED"}
