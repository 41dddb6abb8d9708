"""VoipNow wire → domain: every example body on the VoipNow pages parsed verbatim, and the
state mapping with its expected values written out from VENDORS.md §4."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from app.calls import CallId, CallState, Vendor, VoipNowCall, VoipNowCallView
from app.vendors.voipnow import created_native_id, view_state
from app.vendors.voipnow.mapping import ids_from_link, page_from_body, phone_call_from_wire
from app.vendors.voipnow.wire import PhoneCallWire

# Seed 003 (OffHold PhoneCalls), the 202 answer to the PUT, verbatim.
SEED_ACTION_ANSWER = """{
"id":"b817d2618fe6f1804333",
"extension":"0003*210",
"link":{"self":"https://x.x.x.x//uapi/phoneCalls/12/0003*210/b817d2618fe6f1804333"}
}"""

# Seed 003 (OffHold PhoneCalls), the List PhoneCalls answer, verbatim — with the page's
# typo: no comma between `]` and `"link"`.
SEED_LIST_ANSWER = """{"id":"b817d2618fe6f1804333",
"extension":"0003*210",
"ownerId":"3",
"ownerName":"Default Organization",
"answered":"2012-06-27T16:08:55+03:00",
"published":"2012-06-27T16:08:50+02:00",
"phoneCallView":[
 {
 "id":"01",
 "extension":"0003*210",
 "answered":"2012-06-27T16:08:55+03:00",
 "status":"5",
 "callerId":"John Doe <3334444>",
 "source":["0003*024"],
 "destination":["0003*210"]
 }
]
"link":{"self":"https://x.x.x.x//uapi/phoneCalls/12/0003*210/b817d2618fe6f1804333"}
}"""

# wiki.4psa.com/display/VNUAPI30/PhoneCalls+Resource, "JSON representation", verbatim —
# with the page's typos: a comma after each view's last field.
RESOURCE_EXAMPLE = """{
"id": "b817d2618fe6f1804333",
"nonce": "130c5a97768be67df6543b5f5fa3cc51",
"extension": "0003*210",
"ownerId": "53tete535",
"ownerName": "53tete535",
"published": "2011-02-10T15:04:55Z",
"answered": "2011-02-10T15:10:55Z",
"phoneCallView": [
{
"id":"00",
"extension":"0003*210",
"source":["0003*211","0003*210"],
"destination":["3334444"],
"flow":4,
"status":3,
"ringing":"2011-02-10T15:04:55Z",
"callerID":"John Doe <3332222>",
},
{
"id":"01",
"extension":"0003*211",
"source":["0003*211","0003*210"],
"destination":["3334444"],
"flow":4,
"status":3,
"ringing":"2011-02-10T15:04:55Z",
"callerID":"John Doe <3332222>",
}
],
"links": {
"self": "..."
}
}"""


def repaired(page_text: str) -> Any:
    """A page example with its punctuation typos mended — a missing comma before a key,
    a comma before a closing brace — and nothing else; the vendor's servers send JSON."""
    with pytest.raises(json.JSONDecodeError):
        json.loads(page_text)  # the example as printed is not JSON: keep the repair honest
    text = re.sub(r"\]\s*\n\"", '],\n"', page_text)
    text = re.sub(r",\s*\n\}", "\n}", text)
    return json.loads(text)


def test_seed_action_answer_names_the_call_by_its_link() -> None:
    body = json.loads(SEED_ACTION_ANSWER)
    assert ids_from_link(body) == ("12", "0003*210", "b817d2618fe6f1804333")
    assert created_native_id(body) == "12/0003*210/b817d2618fe6f1804333"


def test_seed_list_answer_maps_to_a_connected_call() -> None:
    page = page_from_body(repaired(SEED_LIST_ANSWER))
    assert page is not None
    (wire,) = page.calls
    answered = datetime(2012, 6, 27, 13, 8, 55, tzinfo=UTC)
    native = "12/0003*210/b817d2618fe6f1804333"
    assert phone_call_from_wire(wire, user_id="12", extension="0003*210") == VoipNowCall(
        call_id=CallId(Vendor.VOIPNOW, native),
        state=CallState.CONNECTED,
        vendor_state="5",
        started_at=answered,
        user_id="12",
        extension="0003*210",
        phone_call_id="b817d2618fe6f1804333",
        owner_id="3",
        owner_name="Default Organization",
        published=datetime(2012, 6, 27, 14, 8, 50, tzinfo=UTC),
        answered=answered,
        views=(
            VoipNowCallView(
                id="01",
                extension="0003*210",
                source=("0003*024",),
                destination=("0003*210",),
                caller_id="John Doe <3334444>",
                status=5,
                answered=answered,
            ),
        ),
        link="https://x.x.x.x//uapi/phoneCalls/12/0003*210/b817d2618fe6f1804333",
    )


def test_resource_page_example_maps_numbers_caller_id_and_links() -> None:
    page = page_from_body(repaired(RESOURCE_EXAMPLE))
    assert page is not None
    (wire,) = page.calls
    call = phone_call_from_wire(wire, user_id="12", extension="0003*210")
    ringing_view = VoipNowCallView(
        id="00",
        extension="0003*210",
        source=("0003*211", "0003*210"),
        destination=("3334444",),
        caller_id="John Doe <3332222>",
        flow=4,
        status=3,
    )
    assert call.views[0] == ringing_view
    assert call.views[1].extension == "0003*211"
    assert (call.state, call.vendor_state) == (CallState.RINGING, "3")
    assert call.owner_id == "53tete535"
    assert call.published == datetime(2011, 2, 10, 15, 4, 55, tzinfo=UTC)
    assert call.link == "..."
    # "..." names no call: an answer like this cannot tell which call was created.
    assert ids_from_link(cast(dict[str, Any], wire)) is None
    assert created_native_id([wire]) is None


# VENDORS.md §4: status 0 unknown, 1 off hook, 2 trying, 3 ringing, 4 other side ringing,
# 5 on call; written out, not read from the table under test.
@pytest.mark.parametrize(
    ("status", "state"),
    [
        (0, CallState.UNKNOWN),
        (1, CallState.DIALING),
        (2, CallState.DIALING),
        (3, CallState.RINGING),
        (4, CallState.RINGING),
        (5, CallState.CONNECTED),
        (9, CallState.UNKNOWN),  # undocumented: unknown, never an error
    ],
)
@pytest.mark.parametrize("spelling", ["string", "number"])
def test_view_status_maps_to_call_state_in_both_spellings(
    status: int, state: CallState, spelling: str
) -> None:
    value: str | int = str(status) if spelling == "string" else status
    wire = cast(PhoneCallWire, {"id": "c1", "phoneCallView": [{"id": "00", "status": value}]})
    call = phone_call_from_wire(wire, user_id="12", extension="0003*210")
    assert (call.state, call.vendor_state) == (state, str(status))


@pytest.mark.parametrize("holder", ["1", 1, "0", 0])
def test_a_view_with_on_hold_is_held_whatever_its_status(holder: str | int) -> None:
    # VENDORS.md §4: "Hold is not a status": `onHold` (a date) and `holder`.
    view = {"id": "00", "status": "5", "onHold": "2012-06-27T16:09:30+03:00", "holder": holder}
    call = phone_call_from_wire(
        cast(PhoneCallWire, {"id": "c1", "phoneCallView": [view]}),
        user_id="12",
        extension="0003*210",
    )
    assert (call.state, call.vendor_state) == (CallState.HELD, "5")
    own = call.own_view
    assert own is not None
    assert own.on_hold == datetime(2012, 6, 27, 13, 9, 30, tzinfo=UTC)
    assert own.holder == int(holder)


def test_view_state_without_a_view_or_status_is_unknown() -> None:
    assert view_state(None) is CallState.UNKNOWN
    assert view_state(VoipNowCallView(id="00")) is CallState.UNKNOWN


def test_odd_fields_read_as_null_and_the_call_survives() -> None:
    wire = cast(
        PhoneCallWire,
        {
            "id": "c1",
            "published": 1343129570,  # not a date string
            "ownerId": {"id": 3},
            "link": "https://h/uapi/phoneCalls/12/0003*210/c1",  # a string, not an object
            "phoneCallView": [
                {"id": "00", "status": "on call", "flow": [2], "source": "0003*024"},
                {"status": "5"},  # no id: cannot be acted on, left out
                "not a view",
            ],
        },
    )
    call = phone_call_from_wire(wire, user_id="12", extension="0003*210")
    assert (call.published, call.owner_id, call.link) == (None, None, None)
    (view,) = call.views
    assert (view.status, view.flow, view.source) == (None, None, ("0003*024",))
    assert call.state is CallState.UNKNOWN


@pytest.mark.parametrize(
    ("body", "ids", "total"),
    [
        ([{"id": "a"}, {"id": "b"}], ["a", "b"], None),  # seed: a bare array
        (
            # OpenSocial collection (app-facebookcallme js/lib.js reads json.entry[0])
            {"startIndex": 0, "itemsPerPage": 1, "totalResults": 3, "entry": [{"id": "a"}]},
            ["a"],
            3,
        ),
        ({"id": "a"}, ["a"], None),  # one PhoneCall
        ({"entry": [{"id": "a"}, {"nope": 1}]}, ["a"], None),  # an item without id skipped
        ([], [], None),
    ],
)
def test_page_from_body_reads_every_list_form(body: Any, ids: list[str], total: int | None) -> None:
    page = page_from_body(body)
    assert page is not None
    assert ([str(c["id"]) for c in page.calls], page.total) == (ids, total)


@pytest.mark.parametrize("body", ["calls", 42, None, {"error": "x"}, [{"nope": 1}], [1, 2]])
def test_page_from_body_without_any_phone_call_is_none(body: Any) -> None:
    assert page_from_body(body) is None


@pytest.mark.parametrize(
    "link",
    [
        "https://h/uapi/phoneCalls/12/0003*210/c1",
        "https://h//uapi/phoneCalls/12/0003*210/c1",  # the seed's double slash
        "https://h/unifiedapi/phoneCalls/12/0003*210/c1",  # 4PSA's apps' API root
        "https://h/unifiedapi/uapi/phoneCalls/12/0003%2A210/c1/",  # behind a prefix
    ],
)
def test_ids_from_link_finds_the_call_under_any_api_root(link: str) -> None:
    assert ids_from_link({"links": {"self": link}}) == ("12", "0003*210", "c1")
