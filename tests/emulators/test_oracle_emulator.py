"""The Oracle Click-to-Call emulator's wire protocol, spoken to over loopback HTTP.

Pages cited are under docs.oracle.com `cd/E71009_01/Click2Call.2016-01/C2CCallSetupAPI/html/`.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import aiohttp
import pytest

from app.emulators.oracle import (
    DEMO_SESSION_ID,
    DEMO_TIME,
    OracleCallStore,
    OracleEmulator,
    OracleSession,
)
from tests.clock import ManualClock
from tests.conftest import EmulatorServer

NOW = 1_800_000_000


@pytest.fixture
async def client(emulator_server: EmulatorServer) -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(emulator_server.base_url("oracle") + "/") as session:
        yield session


@pytest.fixture
def store(emulator_server: EmulatorServer) -> OracleCallStore:
    return emulator_server.emulator(OracleEmulator).calls


@pytest.fixture
def clock(store: OracleCallStore) -> ManualClock:
    clock = ManualClock(now=float(NOW))
    store.clock = clock
    return clock


async def status_of(
    client: aiohttp.ClientSession, session_id: str, *, waitperiod: str = "0"
) -> dict[str, object]:
    async with client.get(
        f"call/2.0/{session_id}/status", params={"waitperiod": waitperiod}
    ) as response:
        assert response.status == 200
        assert response.content_type == "application/json"
        body: dict[str, object] = await response.json()
        return body


def add_session(store: OracleCallStore, call_state: str = "connected", **kwargs: object) -> str:
    session = OracleSession(
        session_id="EmulatedSession01",
        contact_id="sales-callback",
        user_phone="+15550000001",
        call_state=call_state,
        time=1343129570,
        **kwargs,  # type: ignore[arg-type]
    )
    return store.add(session).session_id


# -- status -------------------------------------------------------------------------------


async def test_status_of_demo_call_is_connected(client: aiohttp.ClientSession) -> None:
    assert await status_of(client, DEMO_SESSION_ID) == {
        "sessionId": DEMO_SESSION_ID,
        "callState": "connected",
        "time": DEMO_TIME,
        "more": "yes",
        "hasChanged": "yes",
    }


async def test_status_unchanged_since_last_poll_says_maybe(
    client: aiohttp.ClientSession, store: OracleCallStore
) -> None:
    await status_of(client, DEMO_SESSION_ID)
    second = await status_of(client, DEMO_SESSION_ID)
    store.set_state(DEMO_SESSION_ID, "disconnected")
    third = await status_of(client, DEMO_SESSION_ID)
    fourth = await status_of(client, DEMO_SESSION_ID)

    assert (second["more"], second["hasChanged"]) == ("maybe", "no")
    assert (third["callState"], third["more"], third["hasChanged"]) == ("disconnected", "no", "yes")
    assert (fourth["more"], fourth["hasChanged"]) == ("no", "no")


async def test_status_of_unknown_state_has_no_time(
    client: aiohttp.ClientSession, store: OracleCallStore
) -> None:
    store.set_state(DEMO_SESSION_ID, "unknown")

    assert await status_of(client, DEMO_SESSION_ID) == {
        "sessionId": DEMO_SESSION_ID,
        "callState": "unknown",
        "more": "maybe",
        "hasChanged": "yes",
    }


async def test_status_of_scheduled_call_says_more_no(
    client: aiohttp.ClientSession, store: OracleCallStore, clock: ManualClock
) -> None:
    # The Call States table (s0204callstates01.html) and example 1: scheduled, more "no".
    clock.now = 1343129570
    session_id = add_session(store, "scheduled", scheduled_time=1343129630)

    assert await status_of(client, session_id) == {
        "sessionId": session_id,
        "callState": "scheduled",
        "time": 1343129570,
        "scheduledTime": 1343129630,
        "more": "no",
        "hasChanged": "yes",
    }


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        (
            "integer-times",
            {"sessionId": "EmulatedSession01", "time": 1343129570, "scheduledTime": 1343129630},
        ),
        # s0204getcallstatusexamples01.html, examples 3-4: " 1343129570".
        (
            "string-times",
            {
                "sessionid": "EmulatedSession01",
                "time": " 1343129570",
                "scheduledTime": " 1343129630",
            },
        ),
        # Example 1: "2013-07-25 4:35:50" (1343129570 is 2012-07-24 11:32:50 UTC).
        (
            "date-times",
            {
                "sessionid": "EmulatedSession01",
                "time": "2012-07-24 11:32:50",
                "scheduledTime": "2012-07-24 11:33:50",
            },
        ),
    ],
)
async def test_status_variant_spells_the_key_and_times(
    client: aiohttp.ClientSession,
    emulator_server: EmulatorServer,
    store: OracleCallStore,
    clock: ManualClock,
    variant: str,
    expected: dict[str, object],
) -> None:
    emulator_server.control.select_variant("oracle", variant)
    clock.now = 1343129570
    session_id = add_session(store, "scheduled", scheduled_time=1343129630)

    body = await status_of(client, session_id)

    assert body == {
        **expected,
        "callState": "scheduled",
        "more": "no",
        "hasChanged": "yes",
    }


async def test_date_times_write_the_hour_without_a_leading_zero(
    client: aiohttp.ClientSession,
    emulator_server: EmulatorServer,
    store: OracleCallStore,
    clock: ManualClock,
) -> None:
    emulator_server.control.select_variant("oracle", "date-times")
    session_id = add_session(store)
    store.set_state(session_id, "disconnected", at=1374726950)  # 2013-07-25 04:35:50 UTC

    assert (await status_of(client, session_id))["time"] == "2013-07-25 4:35:50"


async def test_more_by_state_variant_says_yes_for_an_unchanged_live_call(
    client: aiohttp.ClientSession, emulator_server: EmulatorServer
) -> None:
    # s0204longpollingmechanism01.html: when the wait runs out, `more` is set "according to
    # the new state" (yes for initiated / connected) and hasChanged is "no".
    emulator_server.control.select_variant("oracle", "more-by-state")
    await status_of(client, DEMO_SESSION_ID)

    again = await status_of(client, DEMO_SESSION_ID)

    assert (again["more"], again["hasChanged"]) == ("yes", "no")


# -- the long poll (s0204longpollingmechanism01.html) --------------------------------------


async def test_status_without_waitperiod_is_held_until_the_state_changes(
    client: aiohttp.ClientSession, emulator_server: EmulatorServer, store: OracleCallStore
) -> None:
    await status_of(client, DEMO_SESSION_ID)  # the change so far is seen
    emulator_server.control.requests.clear()

    held = asyncio.ensure_future(client.get(f"call/2.0/{DEMO_SESSION_ID}/status"))
    async with asyncio.timeout(5):
        while emulator_server.control.count("oracle") < 1:  # noqa: ASYNC110 (server side)
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.3)
    still_held = not held.done()
    store.end(DEMO_SESSION_ID)
    async with asyncio.timeout(5):
        response = await held
    body = await response.json()
    response.release()

    assert still_held
    assert (body["callState"], body["more"], body["hasChanged"]) == ("disconnected", "no", "yes")


async def test_status_with_waitperiod_answers_unchanged_when_the_wait_runs_out(
    client: aiohttp.ClientSession,
) -> None:
    await status_of(client, DEMO_SESSION_ID)
    loop = asyncio.get_running_loop()
    started = loop.time()

    body = await status_of(client, DEMO_SESSION_ID, waitperiod="1")

    assert loop.time() - started >= 0.9
    assert (body["callState"], body["more"], body["hasChanged"]) == ("connected", "maybe", "no")


async def test_status_with_waitperiod_0_answers_at_once_when_unchanged(
    client: aiohttp.ClientSession,
) -> None:
    await status_of(client, DEMO_SESSION_ID)

    async with asyncio.timeout(0.5):
        body = await status_of(client, DEMO_SESSION_ID, waitperiod="0")

    assert body["hasChanged"] == "no"


async def test_status_changed_since_the_last_request_answers_at_once(
    client: aiohttp.ClientSession, store: OracleCallStore
) -> None:
    await status_of(client, DEMO_SESSION_ID)
    store.end(DEMO_SESSION_ID)

    async with asyncio.timeout(0.5):
        body = await status_of(client, DEMO_SESSION_ID, waitperiod="120")

    assert (body["callState"], body["hasChanged"]) == ("disconnected", "yes")


async def test_long_poll_wakes_when_a_scheduled_call_starts(
    client: aiohttp.ClientSession, store: OracleCallStore
) -> None:
    session = store.start("sales-callback", "+15551230000", delay=1)
    await status_of(client, session.session_id)  # scheduled, seen

    async with asyncio.timeout(3):
        body = await status_of(client, session.session_id, waitperiod="10")

    assert (body["callState"], body["hasChanged"], body["more"]) == ("initiated", "yes", "yes")


@pytest.mark.parametrize("waitperiod", ["121", "-1", "soon", "1.5"])
async def test_invalid_waitperiod_is_400(client: aiohttp.ClientSession, waitperiod: str) -> None:
    async with client.get(
        f"call/2.0/{DEMO_SESSION_ID}/status", params={"waitperiod": waitperiod}
    ) as response:
        assert response.status == 400
        assert await response.text() == "Invalid request parameters: waitperiod."


async def test_release_answers_held_status_requests(
    client: aiohttp.ClientSession, emulator_server: EmulatorServer, store: OracleCallStore
) -> None:
    await status_of(client, DEMO_SESSION_ID)
    emulator_server.control.requests.clear()
    held = asyncio.ensure_future(status_of(client, DEMO_SESSION_ID, waitperiod="120"))
    async with asyncio.timeout(5):
        while emulator_server.control.count("oracle") < 1:  # noqa: ASYNC110 (server side)
            await asyncio.sleep(0.01)

    store.release()

    async with asyncio.timeout(1):
        body = await held
    assert (body["callState"], body["hasChanged"]) == ("connected", "no")


async def test_server_shutdown_ends_held_status_requests() -> None:
    from aiohttp.test_utils import TestServer

    from app.emulators import build_emulators

    emulators = build_emulators(demo=True)
    server = TestServer(emulators.app, host="127.0.0.1", port=0)
    await server.start_server(access_log=None)
    url = str(server.make_url(f"/oracle/call/2.0/{DEMO_SESSION_ID}/status"))
    async with aiohttp.ClientSession() as session:
        (await session.get(url)).release()  # the news so far is taken
        held = asyncio.ensure_future(session.get(url))  # 30 s by default
        while emulators.control.count("oracle") < 2:  # noqa: ASYNC110 (server side)
            await asyncio.sleep(0.01)
        async with asyncio.timeout(5):
            await server.close()
            response = await held
        body = await response.json()
        response.release()

    assert (response.status, body["callState"], body["hasChanged"]) == (200, "connected", "no")


# -- JSONP (s0304getcurrentstatusrequestusingjson01.html) ---------------------------------


async def test_status_with_a_callback_answers_jsonp(
    client: aiohttp.ClientSession, store: OracleCallStore
) -> None:
    params = {"callback": "processCallStatusResponse", "waitperiod": "0"}
    async with client.get(f"call/2.0/{DEMO_SESSION_ID}/status", params=params) as response:
        assert (response.status, response.content_type) == (200, "application/javascript")
        text = await response.text()

    assert text == (
        'processCallStatusResponse({"sessionid":"1TfU02Xfme2GMuzfUh0rkdgvz4",'
        '"callState":"connected","time":" 1736942400","more":"yes","hasChanged":"yes"});'
    )


async def test_status_of_unknown_session_with_a_callback_answers_jsonp_error(
    client: aiohttp.ClientSession,
) -> None:
    params = {"callback": "processCallStatusResponse"}
    async with client.get("call/2.0/NoSuchSession/status", params=params) as response:
        text = await response.text()

    assert text == (
        'processCallStatusResponse({"statuscode":"404","reason":"Call session does not exist."});'
    )


async def test_status_with_a_script_for_a_callback_is_400(client: aiohttp.ClientSession) -> None:
    params = {"callback": "alert(1)//"}
    async with client.get(f"call/2.0/{DEMO_SESSION_ID}/status", params=params) as response:
        assert response.status == 400


# -- start (s0203startcallrequest01.html, s0203startcallresponse01.html) -------------------


async def test_start_returns_a_session_that_is_initiated(
    client: aiohttp.ClientSession, store: OracleCallStore, clock: ManualClock
) -> None:
    async with client.post("call/2.0/sales-callback/+15551230000") as response:
        assert response.status == 200
        session_id = (await response.json())["sessionId"]

    assert await status_of(client, session_id) == {
        "sessionId": session_id,
        "callState": "initiated",
        "time": NOW,
        "more": "yes",
        "hasChanged": "yes",
    }
    session = store.get(session_id)
    assert session is not None
    assert (session.contact_id, session.user_phone) == ("sales-callback", "+15551230000")


async def test_start_takes_the_doc_example_number_without_plus(
    client: aiohttp.ClientSession, store: OracleCallStore
) -> None:
    # s0203startcallexamples01.html, example 1: POST .../call/2.0/367901/12026345789.
    store.add_template("367901")

    async with client.post("call/2.0/367901/12026345789") as response:
        assert response.status == 200
        body = await response.json()

    assert list(body) == ["sessionId"]


async def test_start_with_delay_is_scheduled_until_its_time(
    client: aiohttp.ClientSession, store: OracleCallStore, clock: ManualClock
) -> None:
    options = {
        "delay": 30,
        "userExtension": "204,,#",
        "visitorContext": {"visitorId": "v-1", "referrerUrl": "https://example.com/pricing"},
        "authorizeUrl": "https://crm.example.com/authorize",
        "authEncrypted": False,
    }
    async with client.post("call/2.0/sales-callback/+15551230000", json=options) as response:
        session_id = (await response.json())["sessionId"]

    scheduled = await status_of(client, session_id)
    clock.advance(30)
    started = await status_of(client, session_id)

    assert scheduled == {
        "sessionId": session_id,
        "callState": "scheduled",
        "time": NOW,
        "scheduledTime": NOW + 30,
        "more": "no",
        "hasChanged": "yes",
    }
    assert (started["callState"], started["time"], started["hasChanged"]) == (
        "initiated",
        NOW + 30,
        "yes",
    )
    assert "scheduledTime" not in started
    session = store.get(session_id)
    assert session is not None
    assert (session.user_extension, session.authorize_url) == (
        "204,,#",
        "https://crm.example.com/authorize",
    )
    assert session.visitor_context == {
        "visitorId": "v-1",
        "referrerUrl": "https://example.com/pricing",
    }


@pytest.mark.parametrize(
    ("path", "reason", "text"),
    [
        # Example 4: no call template with that contactId.
        ("call/2.0/ABC123/+12026345789", "Not Found", "Call template identified by Contact ID"),
        ("call/2.0/bad$id/+12026345789", "Not Found", "Contact ID is invalid."),
        # Example 5: an invalid visitor number is "404 Bad Request".
        ("call/2.0/sales-callback/1202", "Bad Request", "Visitor phone number is invalid."),
        ("call/2.0/sales-callback/+1555abc", "Bad Request", "Visitor phone number is invalid."),
    ],
)
async def test_start_with_a_bad_path_element_is_404_plain_text(
    client: aiohttp.ClientSession, path: str, reason: str, text: str
) -> None:
    # A body that is bad as well: the path elements are checked first.
    async with client.post(path, data=b'{"delay": -5}') as response:
        assert (response.status, response.reason) == (404, reason)
        assert response.content_type == "text/plain"
        assert (await response.text()).startswith(text)


@pytest.mark.parametrize(
    ("body", "text"),
    [
        (b"{not json", "Invalid request parameters: the body is not JSON."),
        (b"[1]", "Invalid request parameters: the body must be a JSON object."),
        (b'{"delay": -5}', "Call delay parameter is invalid."),
        (b'{"delay": "5"}', "Call delay parameter is invalid."),
        (b'{"userExtension": 204}', "User extension parameter is invalid."),
        (b'{"userExtension": "20a"}', "User extension parameter is invalid."),
        (b'{"visitorContext": "x"}', "Invalid request parameters: visitorContext must be"),
        (b'{"authorizeUrl": 7}', "Invalid request parameters: authorizeUrl must be"),
        (b'{"authEncrypted": "no"}', "Invalid request parameters: authEncrypted must be"),
    ],
)
async def test_start_with_bad_options_is_400_plain_text(
    client: aiohttp.ClientSession, body: bytes, text: str
) -> None:
    async with client.post("call/2.0/sales-callback/+15551230000", data=body) as response:
        assert response.status == 400
        assert response.content_type == "text/plain"
        assert (await response.text()).startswith(text)


async def test_start_for_a_blacklisted_number_is_403(
    client: aiohttp.ClientSession, store: OracleCallStore
) -> None:
    # Example 6: "pre-call authorization checks failed ... because the visitor number was
    # blacklisted".
    store.blacklist.add("+15551230000")

    async with client.post("call/2.0/sales-callback/+15551230000") as response:
        assert response.status == 403
        assert await response.text() == "Pre-call authorization checks failed."


async def test_start_refused_by_the_authorize_url_is_403(
    client: aiohttp.ClientSession, store: OracleCallStore
) -> None:
    store.refusing_authorizers.add("https://crm.example.com/authorize")
    options = {"authorizeUrl": "https://crm.example.com/authorize"}

    async with client.post("call/2.0/sales-callback/+15551230000", json=options) as response:
        assert response.status == 403
        assert await response.text() == "Pre-call authorization checks failed."


async def test_start_with_a_closed_template_is_404_start_failed(
    client: aiohttp.ClientSession, store: OracleCallStore
) -> None:
    store.add_template("after-hours", open=False)
    before = len(store.sessions())

    async with client.post("call/2.0/after-hours/+15551230000") as response:
        assert (response.status, response.reason) == (404, "Not Found")
        assert await response.text() == "Start call attempt failed."
    assert len(store.sessions()) == before


# -- end (s0205endcallexamples01.html) -----------------------------------------------------


async def test_end_answers_ended_then_403_while_ending_and_after(
    client: aiohttp.ClientSession, store: OracleCallStore, clock: ManualClock
) -> None:
    async with client.delete(f"call/2.0/{DEMO_SESSION_ID}") as response:
        assert response.status == 200
        assert await response.read() == b'{"callState":"ended"}'  # example 1
    async with client.delete(f"call/2.0/{DEMO_SESSION_ID}") as response:
        assert response.status == 403  # example 2: "already ending"
        assert await response.text() == "The call has already ended."
    ending = await status_of(client, DEMO_SESSION_ID)
    clock.advance(1)
    ended = await status_of(client, DEMO_SESSION_ID)
    async with client.delete(f"call/2.0/{DEMO_SESSION_ID}") as response:
        assert response.status == 403  # "... or has already ended"
        assert await response.text() == "The call has already ended."

    assert ending["callState"] == "connected"
    assert (ended["callState"], ended["time"], ended["hasChanged"]) == (
        "disconnected",
        NOW + 1,
        "yes",
    )


async def test_end_of_unknown_call_is_404_attempt_failed(client: aiohttp.ClientSession) -> None:
    async with client.delete("call/2.0/NoSuchSession") as response:
        assert (response.status, response.reason) == (404, "Not Found")
        assert await response.text() == "Attempt to end the call failed."  # example 3


async def test_status_of_unknown_session_is_404_not_found(client: aiohttp.ClientSession) -> None:
    async with client.get("call/2.0/NoSuchSession/status") as response:
        assert (response.status, response.reason) == (404, "Not Found")
        assert await response.text() == "Call session does not exist."


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "call/2.0/bad$id/status"), ("DELETE", "call/2.0/bad$id")]
)
async def test_malformed_session_id_is_400(
    client: aiohttp.ClientSession, method: str, path: str
) -> None:
    async with client.request(method, path) as response:
        assert response.status == 400
        assert await response.text() == "Invalid request parameters: sessionId."


@pytest.mark.parametrize("path", ["call/1.0/x/status", "call/2.0/a/b/c/d", "status"])
async def test_invalid_path_is_404_bad_request(client: aiohttp.ClientSession, path: str) -> None:
    async with client.get(path) as response:
        assert (response.status, response.reason) == (404, "Bad Request")
        assert await response.text() == "Invalid URI path."


async def test_start_at_an_unknown_api_version_is_404_not_found(
    client: aiohttp.ClientSession,
) -> None:
    async with client.post("call/1.5/367901/12026345789") as response:
        assert (response.status, response.reason) == (404, "Not Found")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", f"call/2.0/{DEMO_SESSION_ID}/status", "GET"),  # end example 5
        ("GET", f"call/2.0/{DEMO_SESSION_ID}", "DELETE"),
        ("PUT", "call/2.0/367901/12026345789", "POST"),  # start example 3
    ],
)
async def test_wrong_method_is_405(
    client: aiohttp.ClientSession, method: str, path: str, allowed: str
) -> None:
    async with client.request(method, path) as response:
        assert response.status == 405
        assert response.headers["Allow"] == allowed
        assert await response.text() == "Use of an invalid HTTP method."


# -- the simulator -------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
async def test_simulate_call_reaches_disconnected(
    emulator_server: EmulatorServer, seed: int
) -> None:
    emulator = emulator_server.emulator(OracleEmulator)
    before = {s.session_id for s in emulator.calls.sessions()}

    await emulator.simulate_call(random.Random(seed), pace=0.001)

    (simulated,) = [s for s in emulator.calls.sessions() if s.session_id not in before]
    assert simulated.call_state == "disconnected"
    assert simulated.time is not None


async def test_simulate_call_stops_when_hung_up(emulator_server: EmulatorServer) -> None:
    emulator = emulator_server.emulator(OracleEmulator)
    emulator.calls.hangup_seconds = 0.0
    running = asyncio.create_task(emulator.simulate_call(random.Random(1), pace=0.001))
    await asyncio.sleep(0)  # the simulator has started its call and waits for the next step
    simulated = emulator.calls.sessions()[-1]
    emulator.calls.hang_up(simulated.session_id)
    changes = simulated.changes

    await running

    assert (simulated.call_state, simulated.changes) == ("disconnected", changes)
