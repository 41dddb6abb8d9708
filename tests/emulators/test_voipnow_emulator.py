"""The VoipNow emulator's protocol, spoken directly over loopback HTTP."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from app.emulators.base import DEMO_CREDENTIALS
from app.emulators.voipnow import TOKEN_LIFETIME, VoipNowEmulator
from app.emulators.voipnow_store import (
    DEMO_CALL_ID,
    PhoneCall,
    PhoneCallStore,
    PhoneCallView,
)
from tests.clock import ManualClock
from tests.conftest import EmulatorServer

DEMO_PATH = f"/uapi/phoneCalls/12/0003*210/{DEMO_CALL_ID}"


@pytest.fixture
def store(emulator_server: EmulatorServer) -> PhoneCallStore:
    return emulator_server.emulator(VoipNowEmulator).store


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


def token_form(**overrides: str) -> dict[str, str]:
    form = {
        **DEMO_CREDENTIALS["voipnow"],
        "grant_type": "client_credentials",
        "type": "unifiedapi",
        "redirect_uri": "https://app.example/redirect",
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v}


async def access_token(session: aiohttp.ClientSession, base: str) -> str:
    async with session.post(f"{base}/oauth/token.php", data=token_form()) as response:
        assert response.status == 200
        token: str = (await response.json())["access_token"]
        return token


async def call_api(
    session: aiohttp.ClientSession,
    base: str,
    method: str,
    path: str,
    *,
    token: str | None,
    **kwargs: Any,
) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with session.request(method, base + path, headers=headers, **kwargs) as response:
        body = await response.read()
        return response.status, (await response.json() if body else None)


async def test_token_endpoint_issues_token_for_demo_client(
    emulator_server: EmulatorServer, session: aiohttp.ClientSession
) -> None:
    base = emulator_server.base_url("voipnow")
    async with session.post(f"{base}/oauth/token.php", data=token_form()) as response:
        assert response.status == 200
        body = await response.json()
    assert set(body) == {"access_token", "expires_in"}
    assert body["expires_in"] == TOKEN_LIFETIME == 3600
    assert body["access_token"] in emulator_server.emulator(VoipNowEmulator).tokens


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        (token_form(client_secret="wrong"), 401, "invalid_client"),
        (token_form(client_id="someone-else"), 401, "invalid_client"),
        (token_form(grant_type=""), 400, "unsupported_grant_type"),
        (token_form(grant_type="authorization_code"), 400, "unsupported_grant_type"),
    ],
)
async def test_token_endpoint_rejects_bad_requests_with_oauth_errors(
    emulator_server: EmulatorServer,
    session: aiohttp.ClientSession,
    form: dict[str, str],
    status: int,
    error: str,
) -> None:
    base = emulator_server.base_url("voipnow")
    async with session.post(f"{base}/oauth/token.php", data=form) as response:
        assert response.status == status
        assert await response.json() == {"error": error}


@pytest.mark.parametrize("header", [None, "Bearer not-a-token", "Basic abc"])
async def test_api_without_valid_bearer_token_is_401_access_denied(
    emulator_server: EmulatorServer, session: aiohttp.ClientSession, header: str | None
) -> None:
    headers = {"Authorization": header} if header is not None else {}
    url = emulator_server.base_url("voipnow") + DEMO_PATH
    async with session.get(url, headers=headers) as response:
        assert response.status == 401
        body = await response.json()
    assert body["error"]["code"] == "access_denied"
    assert set(body["error"]) == {"code", "message"}


async def test_token_expires_after_its_lifetime(
    emulator_server: EmulatorServer, session: aiohttp.ClientSession
) -> None:
    emulator = emulator_server.emulator(VoipNowEmulator)
    clock = ManualClock()
    emulator.clock = clock
    base = emulator_server.base_url("voipnow")
    token = await access_token(session, base)
    clock.advance(TOKEN_LIFETIME - 1)
    assert (await call_api(session, base, "GET", DEMO_PATH, token=token))[0] == 200
    clock.advance(1)
    status, body = await call_api(session, base, "GET", DEMO_PATH, token=token)
    assert (status, body["error"]["code"]) == (401, "access_denied")


async def test_expire_tokens_invalidates_every_issued_token(
    emulator_server: EmulatorServer, session: aiohttp.ClientSession
) -> None:
    base = emulator_server.base_url("voipnow")
    first, second = await access_token(session, base), await access_token(session, base)
    emulator_server.control.expire_tokens("voipnow")
    for token in (first, second):
        assert (await call_api(session, base, "GET", DEMO_PATH, token=token))[0] == 401
    fresh = await access_token(session, base)
    assert (await call_api(session, base, "GET", DEMO_PATH, token=fresh))[0] == 200


async def test_get_phone_call_answers_demo_call_as_in_seed(
    emulator_server: EmulatorServer, session: aiohttp.ClientSession
) -> None:
    base = emulator_server.base_url("voipnow")
    token = await access_token(session, base)
    status, body = await call_api(session, base, "GET", DEMO_PATH, token=token)
    assert status == 200
    assert body == {
        "id": DEMO_CALL_ID,
        "extension": "0003*210",
        "ownerId": "3",
        "ownerName": "Default Organization",
        "answered": "2012-06-27T16:08:55+03:00",
        "published": "2012-06-27T16:08:50+02:00",
        "phoneCallView": [
            {
                "id": "00",
                "extension": "0003*210",
                "source": ["0003*024"],
                "destination": ["0003*210"],
                "flow": "2",
                "status": "5",
                "answered": "2012-06-27T16:08:55+03:00",
            },
            {
                "id": "01",
                "extension": "0003*024",
                "source": ["0003*024"],
                "destination": ["0003*210"],
                "callerId": "John Doe <3334444>",
                "status": "5",
                "answered": "2012-06-27T16:08:55+03:00",
            },
        ],
        "link": {"self": base + DEMO_PATH},
    }


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/uapi/phoneCalls/12/0003*210/nosuchcall", "pc_phonecall_invalid"),
        (f"/uapi/phoneCalls/12/0003*211/{DEMO_CALL_ID}", "pc_phonecall_invalid"),
        (f"/uapi/phoneCalls/99/0003*210/{DEMO_CALL_ID}", "user_invalid"),
        (f"/uapi/phoneCalls/12/0003*999/{DEMO_CALL_ID}", "extension_invalid"),
        ("/uapi/phoneCalls/99/@self", "user_invalid"),
        ("/uapi/phoneCalls/@me/0003*024", "extension_invalid"),
    ],
)
async def test_unknown_call_user_or_extension_is_400_with_error_code(
    emulator_server: EmulatorServer, session: aiohttp.ClientSession, path: str, code: str
) -> None:
    base = emulator_server.base_url("voipnow")
    token = await access_token(session, base)
    status, body = await call_api(session, base, "GET", path, token=token)
    assert status == 400
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str)


@pytest.mark.parametrize(
    "path",
    ["/uapi/phoneCalls/@me/@self", "/uapi/phoneCalls/12/0003*210", "/uapi/phoneCalls/12/0003*210/"],
)
async def test_list_is_json_array_of_phone_calls(
    emulator_server: EmulatorServer, session: aiohttp.ClientSession, path: str
) -> None:
    base = emulator_server.base_url("voipnow")
    token = await access_token(session, base)
    _, single = await call_api(session, base, "GET", DEMO_PATH, token=token)
    status, listed = await call_api(session, base, "GET", path, token=token)
    assert status == 200
    assert listed == [single]


async def test_list_without_calls_is_204_without_body(
    emulator_server: EmulatorServer, session: aiohttp.ClientSession
) -> None:
    base = emulator_server.base_url("voipnow")
    token = await access_token(session, base)
    assert await call_api(session, base, "GET", "/uapi/phoneCalls/12/0003*212", token=token) == (
        204,
        None,
    )


def add_calls(store: PhoneCallStore, published: list[str]) -> list[str]:
    ids = []
    for number, when in enumerate(published):
        call = PhoneCall(
            f"call{number}", "12", "0003*211", [PhoneCallView("00", "0003*211")], published=when
        )
        ids.append(store.add_call(call).id)
    return ids


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"sortOrder": "asc"}, ["call1", "call2", "call0"]),
        ({"sortOrder": "desc"}, ["call0", "call2", "call1"]),
        ({"sortOrder": "asc", "startIndex": "1", "count": "1"}, ["call2"]),
        ({"count": "2"}, ["call0", "call1"]),
        ({"filterBy": "id", "filterOp": "eq", "filterValue": "call2"}, ["call2"]),
        ({"filterBy": "id", "filterValue": "call1"}, ["call1"]),
        ({"filterBy": "published", "filterOp": "contains", "filterValue": "T09"}, ["call1"]),
        # The spellings 4PSA's MCP server sends (4psa/mcp-voipnow phone-calls-list.ts).
        ({"sortOrder": "ascending"}, ["call1", "call2", "call0"]),
        ({"sortOrder": "descending"}, ["call0", "call2", "call1"]),
        ({"filterBy": "id", "filterOp": "equals", "filterValue": "call2"}, ["call2"]),
        (
            {"filterBy": "published", "filterOp": "startsWith", "filterValue": "2024-05-01T10"},
            ["call2"],
        ),
    ],
)
async def test_list_applies_filter_sort_and_paging(
    emulator_server: EmulatorServer,
    session: aiohttp.ClientSession,
    store: PhoneCallStore,
    query: dict[str, str],
    expected: list[str],
) -> None:
    # call1 is the earliest (its offset puts it before call2), call0 the latest.
    add_calls(
        store,
        ["2024-05-01T12:00:00+00:00", "2024-05-01T09:00:00+00:00", "2024-05-01T10:30:00+01:00"],
    )
    base = emulator_server.base_url("voipnow")
    token = await access_token(session, base)
    status, body = await call_api(
        session, base, "GET", "/uapi/phoneCalls/12/0003*211", token=token, params=query
    )
    assert status == 200
    assert [resource["id"] for resource in body] == expected


async def test_list_fields_keeps_id_and_named_fields(
    emulator_server: EmulatorServer, session: aiohttp.ClientSession
) -> None:
    base = emulator_server.base_url("voipnow")
    token = await access_token(session, base)
    params = {"fields": "extension,published"}
    status, body = await call_api(
        session, base, "GET", "/uapi/phoneCalls/@me/@self", token=token, params=params
    )
    assert status == 200
    assert body == [
        {"id": DEMO_CALL_ID, "extension": "0003*210", "published": "2012-06-27T16:08:50+02:00"}
    ]


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"count": "many"}, "count_invalid"),
        ({"startIndex": "-1"}, "startindex_invalid"),
        ({"sortOrder": "sideways"}, "sortorder_invalid"),
        ({"fields": "id,colour"}, "fields_invalid"),
        ({"filterBy": "phoneCallView", "filterValue": "x"}, "filterby_invalid"),
        ({"filterBy": "id", "filterOp": "gt", "filterValue": "x"}, "filterop_invalid"),
        ({"filterBy": "id"}, "filtervalue_invalid"),
    ],
)
async def test_list_rejects_bad_parameters_with_error_code(
    emulator_server: EmulatorServer,
    session: aiohttp.ClientSession,
    query: dict[str, str],
    code: str,
) -> None:
    base = emulator_server.base_url("voipnow")
    token = await access_token(session, base)
    status, body = await call_api(
        session, base, "GET", "/uapi/phoneCalls/@me/@self", token=token, params=query
    )
    assert (status, body["error"]["code"]) == (400, code)


async def test_on_hold_marks_views_and_keeps_status(
    emulator_server: EmulatorServer, session: aiohttp.ClientSession
) -> None:
    base = emulator_server.base_url("voipnow")
    token = await access_token(session, base)
    action = {"action": "OnHold", "phoneCallViewId": "01"}
    status, body = await call_api(session, base, "PUT", DEMO_PATH, token=token, json=action)
    assert status == 202
    assert body == {
        "id": DEMO_CALL_ID,
        "extension": "0003*210",
        "link": {"self": base + DEMO_PATH},
    }
    _, call = await call_api(session, base, "GET", DEMO_PATH, token=token)
    own, other = call["phoneCallView"]
    assert (own["status"], own["holder"], other["status"], other["holder"]) == ("5", "0", "5", "1")
    assert own["onHold"] == other["onHold"]
    assert own["onHold"].endswith("+00:00")


async def test_off_hold_clears_hold_fields(
    emulator_server: EmulatorServer, session: aiohttp.ClientSession
) -> None:
    base = emulator_server.base_url("voipnow")
    token = await access_token(session, base)
    for action in ("OnHold", "OffHold"):
        payload = {"action": action, "phoneCallViewId": "01"}
        assert (await call_api(session, base, "PUT", DEMO_PATH, token=token, json=payload))[
            0
        ] == 202
    _, call = await call_api(session, base, "GET", DEMO_PATH, token=token)
    for view in call["phoneCallView"]:
        assert "onHold" not in view
        assert "holder" not in view


async def test_hangup_removes_the_call(
    emulator_server: EmulatorServer, session: aiohttp.ClientSession, store: PhoneCallStore
) -> None:
    base = emulator_server.base_url("voipnow")
    token = await access_token(session, base)
    payload = {"action": "Hangup", "phoneCallViewId": "00"}
    assert (await call_api(session, base, "PUT", DEMO_PATH, token=token, json=payload))[0] == 202
    assert store.get(DEMO_CALL_ID) is None
    status, body = await call_api(session, base, "GET", DEMO_PATH, token=token)
    assert (status, body["error"]["code"]) == (400, "pc_phonecall_invalid")
    assert (await call_api(session, base, "GET", "/uapi/phoneCalls/@me/@self", token=token))[
        0
    ] == 204


@pytest.mark.parametrize(
    ("path", "payload", "code"),
    [
        (DEMO_PATH, {"action": "OnHold"}, "pc_phonecallview_invalid"),
        (DEMO_PATH, {"action": "OnHold", "phoneCallViewId": "07"}, "pc_phonecallview_invalid"),
        (DEMO_PATH, "not an object", "pc_phonecallview_invalid"),
        (
            "/uapi/phoneCalls/12/0003*210/nosuchcall",
            {"action": "OnHold", "phoneCallViewId": "01"},
            "pc_phonecall_invalid",
        ),
        (DEMO_PATH, {"action": "OffHold", "phoneCallViewId": "01"}, "pc_phonecall_action_invalid"),
        (DEMO_PATH, {"action": "Transfer", "phoneCallViewId": "01"}, "pc_phonecall_action_invalid"),
    ],
)
async def test_bad_action_is_400_with_error_code(
    emulator_server: EmulatorServer,
    session: aiohttp.ClientSession,
    path: str,
    payload: Any,
    code: str,
) -> None:
    base = emulator_server.base_url("voipnow")
    token = await access_token(session, base)
    status, body = await call_api(session, base, "PUT", path, token=token, json=payload)
    assert (status, body["error"]["code"]) == (400, code)


async def test_on_hold_of_call_not_on_call_is_action_invalid(
    emulator_server: EmulatorServer, session: aiohttp.ClientSession, store: PhoneCallStore
) -> None:
    store.set_status(DEMO_CALL_ID, "3", view_id="01")
    base = emulator_server.base_url("voipnow")
    token = await access_token(session, base)
    payload = {"action": "OnHold", "phoneCallViewId": "01"}
    status, body = await call_api(session, base, "PUT", DEMO_PATH, token=token, json=payload)
    assert (status, body["error"]["code"]) == (400, "pc_phonecall_action_invalid")


async def test_action_answer_code_is_configurable(
    emulator_server: EmulatorServer, session: aiohttp.ClientSession, store: PhoneCallStore
) -> None:
    base = emulator_server.base_url("voipnow")
    token = await access_token(session, base)
    store.action_status = 200
    payload = {"action": "OnHold", "phoneCallViewId": "01"}
    status, body = await call_api(session, base, "PUT", DEMO_PATH, token=token, json=payload)
    assert status == 200
    assert body["id"] == DEMO_CALL_ID
    assert body["phoneCallView"][1]["holder"] == "1"
    store.action_status = 204
    payload = {"action": "OffHold", "phoneCallViewId": "01"}
    assert await call_api(session, base, "PUT", DEMO_PATH, token=token, json=payload) == (204, None)


async def test_store_reports_changes_to_listeners(store: PhoneCallStore) -> None:
    events: list[tuple[str, str]] = []
    store.on_change(lambda event, call: events.append((event, call.id)))
    store.hold(DEMO_CALL_ID, "00")
    store.retrieve(DEMO_CALL_ID, "00")
    store.hang_up(DEMO_CALL_ID)
    assert events == [(e, DEMO_CALL_ID) for e in ("updated", "updated", "ended")]


async def test_simulate_call_walks_each_call_to_its_end(emulator_server: EmulatorServer) -> None:
    emulator = emulator_server.emulator(VoipNowEmulator)
    history: dict[str, list[tuple[str, str | None, bool]]] = {}

    def record(event: str, call: PhoneCall) -> None:
        own = call.own_view
        assert own is not None
        history.setdefault(call.id, []).append((event, own.status, own.on_hold is not None))

    emulator.store.on_change(record)
    await asyncio.gather(
        *(emulator.simulate_call(random.Random(seed), 0.001) for seed in range(12))
    )
    assert len(history) == 12
    for steps in history.values():
        events = [event for event, _, _ in steps]
        statuses = [status for _, status, _ in steps]
        assert (events[0], events[-1], events.count("ended")) == ("added", "ended", 1)
        assert statuses[0] == "2"
        assert statuses[1] in {"3", "4"}
        assert set(statuses) <= {"2", "3", "4", "5"}
    assert any("5" in {status for _, status, _ in steps} for steps in history.values())
    assert any(held for steps in history.values() for _, _, held in steps)
    assert list(emulator.store.calls) == [DEMO_CALL_ID]


# -- Create Simple PhoneCalls, Delete PhoneCalls, apply_actions ----------------------------

SIMPLE_PATH = "/uapi/phoneCalls/@me/simple"


def simple(
    extension: str = "0003*210", destination: str = "0003*024", **view: Any
) -> dict[str, Any]:
    return {
        "extension": extension,
        "phoneCallView": [{"source": [extension], "destination": [destination], **view}],
    }


async def create(
    emulator_server: EmulatorServer,
    session: aiohttp.ClientSession,
    payload: Any,
    *,
    path: str = SIMPLE_PATH,
    params: dict[str, str] | None = None,
) -> tuple[str, str, int, Any]:
    """POST .../simple; returns (base URL, token, status, body)."""
    base = emulator_server.base_url("voipnow")
    token = await access_token(session, base)
    status, body = await call_api(
        session, base, "POST", path, token=token, json=payload, params=params or {}
    )
    return base, token, status, body


def statuses(call: dict[str, Any]) -> list[str]:
    return [view["status"] for view in call["phoneCallView"]]


async def test_simple_phone_call_answers_array_with_the_new_call(
    emulator_server: EmulatorServer, session: aiohttp.ClientSession, store: PhoneCallStore
) -> None:
    payload = simple(callerId="John Doe <4242425>")
    base, token, status, body = await create(emulator_server, session, payload)
    assert status == 200
    (created,) = body
    phone_call_id = created["id"]
    assert phone_call_id in store.calls
    path = f"/uapi/phoneCalls/12/0003*210/{phone_call_id}"
    assert created["link"] == {"self": base + path}
    assert created["extension"] == "0003*210"
    assert created["phoneCallView"] == [
        {
            "id": "00",
            "extension": "0003*210",
            "source": ["0003*210"],
            "destination": ["0003*024"],
            "flow": "2",
            "status": "2",
        },
        {
            "id": "01",
            "extension": "0003*024",
            "source": ["0003*210"],
            "destination": ["0003*024"],
            "callerId": "John Doe <4242425>",
            "flow": "2",
            "status": "2",
        },
    ]
    assert await call_api(session, base, "GET", path, token=token) == (200, created)


async def test_simple_phone_call_to_a_public_number_is_outgoing_public(
    emulator_server: EmulatorServer, session: aiohttp.ClientSession
) -> None:
    _, _, status, body = await create(emulator_server, session, simple(destination="4242425"))
    assert status == 200
    own, peer = body[0]["phoneCallView"]
    assert (own["flow"], peer["flow"], "extension" in peer) == ("4", "4", False)


async def test_simple_phone_call_rings_then_is_on_call_after_answer_delay(
    emulator_server: EmulatorServer, session: aiohttp.ClientSession, store: PhoneCallStore
) -> None:
    clock = ManualClock()
    emulator_server.emulator(VoipNowEmulator).clock = clock
    base, token, _, body = await create(emulator_server, session, simple())
    path = body[0]["link"]["self"].removeprefix(base)
    seen = []
    for step in (store.ring_delay, store.answer_delay - store.ring_delay, 0):
        _, call = await call_api(session, base, "GET", path, token=token)
        seen.append(statuses(call))
        clock.advance(step)
    assert seen == [["2", "2"], ["3", "4"], ["5", "5"]]
    assert "answered" in call
    assert all("answered" in view for view in call["phoneCallView"])


async def test_simple_phone_call_not_picked_up_ends_after_wait_for_pickup(
    emulator_server: EmulatorServer, session: aiohttp.ClientSession, store: PhoneCallStore
) -> None:
    clock = ManualClock()
    emulator_server.emulator(VoipNowEmulator).clock = clock
    store.answer_delay = 60
    params = {"waitForPickup": "5"}
    base, token, _, body = await create(emulator_server, session, simple(), params=params)
    path = body[0]["link"]["self"].removeprefix(base)
    clock.advance(4.9)
    _, call = await call_api(session, base, "GET", path, token=token)
    assert statuses(call) == ["3", "4"]
    clock.advance(0.1)
    status, error = await call_api(session, base, "GET", path, token=token)
    assert (status, error["error"]["code"]) == (400, "pc_phonecall_invalid")


async def test_simple_phone_call_ends_call_duration_after_it_is_answered(
    emulator_server: EmulatorServer, session: aiohttp.ClientSession, store: PhoneCallStore
) -> None:
    clock = ManualClock()
    emulator_server.emulator(VoipNowEmulator).clock = clock
    params = {"callDuration": "10"}
    _, _, _, body = await create(emulator_server, session, simple(), params=params)
    phone_call_id = body[0]["id"]
    clock.advance(store.answer_delay + 9.9)
    call = store.get(phone_call_id)
    assert call is not None
    assert call.own_view is not None
    assert call.own_view.status == "5"
    clock.advance(0.1)
    assert store.get(phone_call_id) is None


@pytest.mark.parametrize("user", ["@me", "@viewer", "@owner", "12"])
async def test_simple_phone_call_takes_every_name_of_the_user(
    emulator_server: EmulatorServer, session: aiohttp.ClientSession, user: str
) -> None:
    path = f"/uapi/phoneCalls/{user}/simple"
    _, _, status, body = await create(emulator_server, session, simple(), path=path)
    assert (status, body[0]["extension"]) == (200, "0003*210")


@pytest.mark.parametrize(
    ("path", "payload", "params", "code"),
    [
        ("/uapi/phoneCalls/99/simple", simple(), {}, "user_invalid"),
        (SIMPLE_PATH, simple(extension="0003*024"), {}, "extension_invalid"),
        (SIMPLE_PATH, {"phoneCallView": simple()["phoneCallView"]}, {}, "extension_invalid"),
        (SIMPLE_PATH, "not an object", {}, "extension_invalid"),
        (SIMPLE_PATH, {"extension": "0003*210"}, {}, "pc_phonecallview_invalid"),
        (
            SIMPLE_PATH,
            {"extension": "0003*210", "phoneCallView": []},
            {},
            "pc_phonecallview_invalid",
        ),
        (
            SIMPLE_PATH,
            {"extension": "0003*210", "phoneCallView": [{"destination": ["0003*024"]}]},
            {},
            "pc_source_invalid",
        ),
        (
            SIMPLE_PATH,
            {"extension": "0003*210", "phoneCallView": [{"source": [], "destination": ["1"]}]},
            {},
            "pc_source_invalid",
        ),
        (
            SIMPLE_PATH,
            {"extension": "0003*210", "phoneCallView": [{"source": ["0003*210"]}]},
            {},
            "pc_destination_invalid",
        ),
        (
            SIMPLE_PATH,
            {
                "extension": "0003*210",
                "phoneCallView": [{"source": ["0003*210"], "destination": 1}],
            },
            {},
            "pc_destination_invalid",
        ),
        (SIMPLE_PATH, simple(callerId=42), {}, "pc_callerid_invalid"),
        (SIMPLE_PATH, simple(), {"waitForPickup": "soon"}, "waitforpickup_invalid"),
        (SIMPLE_PATH, simple(), {"waitForPickup": "0"}, "waitforpickup_invalid"),
        (SIMPLE_PATH, simple(), {"callDuration": "-5"}, "callduration_invalid"),
    ],
)
async def test_simple_phone_call_rejects_bad_requests_with_error_code(
    emulator_server: EmulatorServer,
    session: aiohttp.ClientSession,
    store: PhoneCallStore,
    path: str,
    payload: Any,
    params: dict[str, str],
    code: str,
) -> None:
    _, _, status, body = await create(emulator_server, session, payload, path=path, params=params)
    assert (status, body["error"]["code"]) == (400, code)
    assert list(store.calls) == [DEMO_CALL_ID]


async def test_simple_phone_call_without_token_is_401(
    emulator_server: EmulatorServer, session: aiohttp.ClientSession, store: PhoneCallStore
) -> None:
    base = emulator_server.base_url("voipnow")
    status, body = await call_api(session, base, "POST", SIMPLE_PATH, token=None, json=simple())
    assert (status, body["error"]["code"]) == (401, "access_denied")
    assert list(store.calls) == [DEMO_CALL_ID]


async def test_started_call_reports_each_step_to_listeners(
    emulator_server: EmulatorServer, store: PhoneCallStore
) -> None:
    clock = ManualClock()
    emulator_server.emulator(VoipNowEmulator).clock = clock
    events: list[tuple[str, str]] = []

    def record(event: str, call: PhoneCall) -> None:
        assert call.own_view is not None
        events.append((event, call.own_view.status))

    store.on_change(record)
    call = store.start_call("12", "0003*211", ["0003*211"], ["4242425"], call_duration=1)
    clock.advance(store.answer_delay + 1)
    assert store.get(call.id) is None
    assert events == [
        ("added", "2"),
        ("updated", "3"),
        ("updated", "3"),
        ("updated", "5"),
        ("updated", "5"),
        ("ended", "5"),
    ]


async def test_delete_phone_call_hangs_up_with_204(
    emulator_server: EmulatorServer, session: aiohttp.ClientSession, store: PhoneCallStore
) -> None:
    base = emulator_server.base_url("voipnow")
    token = await access_token(session, base)
    assert await call_api(session, base, "DELETE", DEMO_PATH, token=token) == (204, None)
    assert store.get(DEMO_CALL_ID) is None
    status, body = await call_api(session, base, "DELETE", DEMO_PATH, token=token)
    assert (status, body["error"]["code"]) == (400, "pc_phonecall_invalid")


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/uapi/phoneCalls/12/0003*210/nosuchcall", "pc_phonecall_invalid"),
        (f"/uapi/phoneCalls/12/0003*211/{DEMO_CALL_ID}", "pc_phonecall_invalid"),
        (f"/uapi/phoneCalls/99/0003*210/{DEMO_CALL_ID}", "user_invalid"),
    ],
)
async def test_delete_unknown_phone_call_is_400_and_changes_nothing(
    emulator_server: EmulatorServer,
    session: aiohttp.ClientSession,
    store: PhoneCallStore,
    path: str,
    code: str,
) -> None:
    base = emulator_server.base_url("voipnow")
    token = await access_token(session, base)
    status, body = await call_api(session, base, "DELETE", path, token=token)
    assert (status, body["error"]["code"]) == (400, code)
    assert list(store.calls) == [DEMO_CALL_ID]


async def test_delete_phone_call_without_token_is_401(
    emulator_server: EmulatorServer, session: aiohttp.ClientSession, store: PhoneCallStore
) -> None:
    base = emulator_server.base_url("voipnow")
    assert (await call_api(session, base, "DELETE", DEMO_PATH, token=None))[0] == 401
    assert store.get(DEMO_CALL_ID) is not None


async def test_actions_are_acknowledged_but_not_applied_when_apply_actions_is_off(
    emulator_server: EmulatorServer, session: aiohttp.ClientSession, store: PhoneCallStore
) -> None:
    store.apply_actions = False
    base = emulator_server.base_url("voipnow")
    token = await access_token(session, base)
    _, before = await call_api(session, base, "GET", DEMO_PATH, token=token)
    hold = {"action": "OnHold", "phoneCallViewId": "00"}
    assert (await call_api(session, base, "PUT", DEMO_PATH, token=token, json=hold))[0] == 202
    hangup = {"action": "Hangup", "phoneCallViewId": "00"}
    assert (await call_api(session, base, "PUT", DEMO_PATH, token=token, json=hangup))[0] == 202
    assert await call_api(session, base, "DELETE", DEMO_PATH, token=token) == (204, None)
    assert await call_api(session, base, "GET", DEMO_PATH, token=token) == (200, before)
    # Still checked as usual: the call is not on hold, so OffHold is refused.
    off_hold = {"action": "OffHold", "phoneCallViewId": "00"}
    status, body = await call_api(session, base, "PUT", DEMO_PATH, token=token, json=off_hold)
    assert (status, body["error"]["code"]) == (400, "pc_phonecall_action_invalid")
