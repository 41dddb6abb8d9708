"""Oracle's own example bodies, parsed verbatim by the adapter's mapping (VENDORS.md §1, §6).

Pages are under docs.oracle.com `cd/E71009_01/Click2Call.2016-01/C2CCallSetupAPI/html/`.
The pages typeset most bodies with curly quotes (“ ” ”), which no server sends: `as_sent`
puts the straight ones back and changes nothing else.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from app.calls import CallId, CallState, OracleCall, Vendor
from app.vendors.oracle import call_from_wire, session_id_from_wire


def as_sent(page_text: str) -> Any:
    return json.loads(page_text.replace("“", '"').replace("”", '"'))


# s0204getcallstatusexamples01.html, example 1 (a call scheduled to start in the future).
EXAMPLE_1 = (
    "{“sessionid”:”NND4QvEgFlltU0ObJtGbgGRfO4X”,”callState”:”scheduled”, "
    '"time":"2013-07-25 4:35:50","scheduledTime":"2013-07-29 16:30:00",“more”:”no”,'
    "”hasChanged”:”yes”}"
)
# Example 2 (a call in the process of starting), asked for 1TfU02Xfme2GMuzfUh0rkdgvz4.
EXAMPLE_2 = (
    '{"sessionid":"NND4QvEgFlltU0ObJtGbgGRfO4X","callState":"unknown", '
    '"more":"maybe","hasChanged":"yes"}'
)
# Example 3 (a call that has now started).
EXAMPLE_3 = (
    "{“sessionid”:”1TfU02Xfme2GMuzfUh0rkdgvz4”,”callState”:”initiated”,”time”:” 1343129570”,"
    "”more”:”yes”, “hasChanged”:”yes”}"
)
# Example 4 (a call that has now connected).
EXAMPLE_4 = (
    "{“sessionid”:”1TfU02Xfme2GMuzfUh0rkdgvz4”,”callState”:”connected”,”time”:” 1343129590”,"
    "”more”:”yes”, “hasChanged”:”yes”}"
)
# s0304getcurrentstatusrequestusingjson01.html: the JSON inside the JSONP callback, with the
# page's placeholders left in.
JSONP_EXAMPLE = (
    '{"sessionid":"<sessionId>","callState":"connected","time":"<connectedTime>","more":"yes",'
    ' "hasChanged":"yes"}'
)
STARTED = datetime(2012, 7, 24, 11, 32, 50, tzinfo=UTC)  # 1343129570
CONNECTED = datetime(2012, 7, 24, 11, 33, 10, tzinfo=UTC)  # 1343129590
# s0203startcallexamples01.html, example 1 (and VENDORS.md §1).
START_EXAMPLE = "{ “sessionId”:”1TfU02Xfme2GMuzfUh0rkdgvz4” }"


def test_example_1_scheduled_call_with_date_times() -> None:
    call = call_from_wire("NND4QvEgFlltU0ObJtGbgGRfO4X", as_sent(EXAMPLE_1))

    assert call == OracleCall(
        call_id=CallId(Vendor.ORACLE, "NND4QvEgFlltU0ObJtGbgGRfO4X"),
        state=CallState.SCHEDULED,
        vendor_state="scheduled",
        started_at=None,
        ended_at=None,
        session_id="NND4QvEgFlltU0ObJtGbgGRfO4X",
        time=datetime(2013, 7, 25, 4, 35, 50, tzinfo=UTC),
        scheduled_time=datetime(2013, 7, 29, 16, 30, tzinfo=UTC),
        more="no",
        has_changed=True,
    )


def test_example_2_unknown_state_keeps_the_id_asked_for() -> None:
    call = call_from_wire("1TfU02Xfme2GMuzfUh0rkdgvz4", as_sent(EXAMPLE_2))

    assert call == OracleCall(
        call_id=CallId(Vendor.ORACLE, "1TfU02Xfme2GMuzfUh0rkdgvz4"),
        state=CallState.UNKNOWN,
        vendor_state="unknown",
        session_id="1TfU02Xfme2GMuzfUh0rkdgvz4",
        time=None,
        scheduled_time=None,
        more="maybe",
        has_changed=True,
    )


@pytest.mark.parametrize(
    ("page_text", "state", "vendor_state", "at"),
    [
        (EXAMPLE_3, CallState.DIALING, "initiated", STARTED),
        (EXAMPLE_4, CallState.CONNECTED, "connected", CONNECTED),
    ],
)
def test_examples_3_and_4_string_times_with_a_leading_space(
    page_text: str, state: CallState, vendor_state: str, at: datetime
) -> None:
    call = call_from_wire("1TfU02Xfme2GMuzfUh0rkdgvz4", as_sent(page_text))

    assert call is not None
    assert (call.state, call.vendor_state, call.time, call.started_at) == (
        state,
        vendor_state,
        at,
        at,
    )
    assert (call.more, call.has_changed, call.ended_at) == ("yes", True, None)


def test_jsonp_example_with_an_unreadable_time_is_a_call_with_no_time(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="switchboard.vendors"):
        call = call_from_wire("1TfU02Xfme2GMuzfUh0rkdgvz4", as_sent(JSONP_EXAMPLE))
        again = call_from_wire("1TfU02Xfme2GMuzfUh0rkdgvz4", as_sent(JSONP_EXAMPLE))

    assert call is not None
    assert (call.state, call.time, call.started_at, call.more) == (
        CallState.CONNECTED,
        None,
        None,
        "yes",
    )
    assert again == call
    # Logged once, naming the field and its JSON type, never the value.
    reports = [r.getMessage() for r in caplog.records if "'time'" in r.getMessage()]
    assert len(reports) <= 1
    assert all("<connectedTime>" not in message for message in reports)


def test_start_example_carries_the_session_id() -> None:
    assert session_id_from_wire(as_sent(START_EXAMPLE)) == "1TfU02Xfme2GMuzfUh0rkdgvz4"


@pytest.mark.parametrize("wire", [{}, {"sessionId": ""}, {"sessionId": ["x"]}, [], "x"])
def test_start_answer_without_a_session_id_is_none(wire: object) -> None:
    assert session_id_from_wire(wire) is None


def test_status_without_a_call_state_is_unreadable() -> None:
    assert call_from_wire("s1", {"sessionId": "s1", "more": "yes"}) is None
    assert call_from_wire("s1", {"sessionId": "s1", "callState": ["connected"]}) is None


def test_unrecognised_raw_state_is_unknown() -> None:
    call = call_from_wire("s1", {"sessionId": "s1", "callState": "transferring", "more": "yes"})

    assert call is not None
    assert (call.state, call.vendor_state) == (CallState.UNKNOWN, "transferring")


@pytest.mark.parametrize(
    ("raw_state", "state"),
    [
        ("unknown", CallState.UNKNOWN),
        ("scheduled", CallState.SCHEDULED),
        ("initiated", CallState.DIALING),
        ("connected", CallState.CONNECTED),
        ("disconnected", CallState.ENDED),
    ],
)
def test_every_documented_call_state_maps(raw_state: str, state: CallState) -> None:
    # The values of callState (seed 000; s0204callstates01.html).
    call = call_from_wire("s1", {"sessionId": "s1", "callState": raw_state})

    assert call is not None
    assert call.state is state


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (1343129570, datetime(2012, 7, 24, 11, 32, 50, tzinfo=UTC)),
        (" 1343129570", datetime(2012, 7, 24, 11, 32, 50, tzinfo=UTC)),
        ("2013-07-25 4:35:50", datetime(2013, 7, 25, 4, 35, 50, tzinfo=UTC)),
        ("soon", None),
        ([1343129570], None),
        (True, None),
    ],
)
def test_every_time_shape_reads_or_is_null(value: object, expected: datetime | None) -> None:
    wire = {"sessionId": "s1", "callState": "disconnected", "time": value}

    call = call_from_wire("s1", wire)

    assert call is not None
    assert (call.state, call.time, call.ended_at) == (CallState.ENDED, expected, expected)


@pytest.mark.parametrize(("has_changed", "expected"), [("yes", True), ("no", False), (7, None)])
def test_has_changed_reads_yes_and_no(has_changed: object, expected: bool | None) -> None:
    call = call_from_wire("s1", {"callState": "connected", "hasChanged": has_changed})

    assert call is not None
    assert call.has_changed is expected
