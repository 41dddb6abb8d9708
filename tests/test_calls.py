"""Call ids: the global id format, and every malformed form refused before any request."""

from __future__ import annotations

import pytest

from app.calls import (
    MAX_CALL_ID_LENGTH,
    CallId,
    CallState,
    Capability,
    Vendor,
    capabilities_for,
)
from app.errors import BadUserInput
from tests.demo import DEMO_IDS


@pytest.mark.parametrize("text", DEMO_IDS.values())
def test_call_id_round_trips_demo_ids(text: str) -> None:
    call_id = CallId.parse(text)
    assert str(call_id) == text
    assert text.startswith(call_id.vendor.value + ":")


MALFORMED = {
    "unknown vendor": "avaya:123",
    "no separator": "genesys",
    "empty native part": "genesys:",
    "over-long": "genesys:" + "a" * MAX_CALL_ID_LENGTH,
    "huawei serial over 50": "huawei:" + "1" * 51,
    "space": "genesys:01RCC3N1 18B1",
    "newline": "oracle:abc\ndef",
    "tab": "oracle:abc\tdef",
    "nul": "oracle:abc\x00def",
    "dot-dot path": "genesys:../../admin",
    "voipnow traversal": "voipnow:12/../0003*210/abc",
    "voipnow missing part": "voipnow:12/0003*210",
    "percent-encoded": "oracle:%2e%2e",
    "query string": "oracle:abc?x=1",
    "verba not a uuid": "verba:not-a-uuid",
    "uppercase vendor": "GENESYS:01RCC3N118B1V0SL8O7GK2LAES000010",
}


@pytest.mark.parametrize("text", MALFORMED.values(), ids=MALFORMED.keys())
def test_call_id_refuses_malformed_ids(text: str) -> None:
    with pytest.raises(BadUserInput) as caught:
        CallId.parse(text)
    assert caught.value.extensions["code"] == "BAD_USER_INPUT"
    assert "expected" in caught.value.message or "longer than" in caught.value.message


def test_call_id_error_names_the_expected_form() -> None:
    with pytest.raises(BadUserInput, match=r"voipnow:<userId>/<extension>/<phoneCallId>"):
        CallId.parse("voipnow:12")


def test_call_id_error_does_not_echo_huge_input() -> None:
    with pytest.raises(BadUserInput) as caught:
        CallId.parse("genesys:" + "x" * 150)
    assert len(caught.value.message) < 200


@pytest.mark.parametrize(
    ("vendor", "state", "expected"),
    [
        (Vendor.GENESYS, CallState.CONNECTED, (Capability.HOLD, Capability.HANGUP)),
        (Vendor.GENESYS, CallState.HELD, (Capability.RETRIEVE, Capability.HANGUP)),
        (Vendor.GENESYS, CallState.ENDED, ()),
        (Vendor.VOIPNOW, CallState.RINGING, (Capability.HANGUP,)),
        (Vendor.ORACLE, CallState.CONNECTED, (Capability.HANGUP,)),
        (Vendor.HUAWEI, CallState.CONNECTED, ()),
        (Vendor.VERBA, CallState.CONNECTED, ()),
    ],
)
def test_capabilities_follow_state_and_vendor(
    vendor: Vendor, state: CallState, expected: tuple[Capability, ...]
) -> None:
    assert capabilities_for(vendor, state) == expected
