"""The VoipNow emulator's documented variants (VENDORS.md §6, app/emulators/voipnow_variants),
spoken directly over loopback HTTP; and the pages' example requests, sent verbatim."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from app.emulators.voipnow import VoipNowEmulator
from app.emulators.voipnow_store import DEMO_CALL_ID, PhoneCall, PhoneCallStore, PhoneCallView
from tests.conftest import EmulatorServer
from tests.emulators.test_voipnow_emulator import access_token, token_form

DEMO_CALL = f"/phoneCalls/12/0003*210/{DEMO_CALL_ID}"


@pytest.fixture
def store(emulator_server: EmulatorServer) -> PhoneCallStore:
    return emulator_server.emulator(VoipNowEmulator).store


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def call_api(
    session: aiohttp.ClientSession,
    base: str,
    method: str,
    path: str,
    *,
    token: str,
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> tuple[int, Any]:
    """(status, JSON body or None); a body that is not JSON (a 404 page) reads as None."""
    sent = {"Authorization": f"Bearer {token}", **(headers or {})}
    async with session.request(method, base + path, headers=sent, **kwargs) as response:
        body = await response.read()
        if response.content_type != "application/json":
            return response.status, None
        return response.status, json.loads(body)


def select(server: EmulatorServer, variant: str) -> str:
    """Select `variant`; the emulator's base URL."""
    server.control.select_variant("voipnow", variant)
    return server.base_url("voipnow")


def add_calls(store: PhoneCallStore, extension: str, count: int) -> list[str]:
    ids = [f"{extension[-3:]}call{n}" for n in range(count)]
    for phone_call_id in ids:
        store.add_call(
            PhoneCall(phone_call_id, "12", extension, [PhoneCallView("00", extension, status="5")])
        )
    return ids


def test_variants_are_the_documented_deployments() -> None:
    assert list(VoipNowEmulator.VARIANTS) == [
        "seed",
        "resource",
        "expired-403",
        "paged",
        "action-204",
        "unifiedapi-prefix",
        "unifiedapi-path",
        "token-2h",
    ]


@pytest.mark.parametrize(
    ("variant", "options"),
    [
        ("seed", {"url": "http://h/voipnow"}),
        ("unifiedapi-prefix", {"url": "http://h/voipnow/unifiedapi"}),
        ("unifiedapi-path", {"url": "http://h/voipnow", "api_path": "/unifiedapi"}),
    ],
)
def test_tenant_options_say_where_the_variant_serves(
    emulator_server: EmulatorServer, variant: str, options: dict[str, str]
) -> None:
    emulator = emulator_server.emulator(VoipNowEmulator)
    emulator.select_variant(variant)
    assert emulator.tenant_options("http://h/voipnow") == options


async def test_resource_variant_spells_links_caller_id_and_numbers(
    emulator_server: EmulatorServer, session: aiohttp.ClientSession
) -> None:
    base = select(emulator_server, "resource")
    token = await access_token(session, base)
    status, body = await call_api(session, base, "GET", "/uapi" + DEMO_CALL, token=token)
    assert status == 200
    # A single call read is a collection too (app-facebookcallme js/lib.js: json.entry[0]).
    assert (body["startIndex"], body["itemsPerPage"], body["totalResults"]) == (0, 1, 1)
    (call,) = body["entry"]
    assert call["links"] == {"self": f"{base}/uapi{DEMO_CALL}"}
    assert "link" not in call
    own, other = call["phoneCallView"]
    assert (own["flow"], own["status"]) == (2, 5)
    assert other["callerID"] == "John Doe <3334444>"
    assert "callerId" not in other


async def test_seed_variant_spells_link_caller_id_and_strings(
    emulator_server: EmulatorServer, session: aiohttp.ClientSession
) -> None:
    base = select(emulator_server, "seed")
    token = await access_token(session, base)
    status, call = await call_api(session, base, "GET", "/uapi" + DEMO_CALL, token=token)
    assert status == 200
    assert call["link"] == {"self": f"{base}/uapi{DEMO_CALL}"}
    own, other = call["phoneCallView"]
    assert (own["flow"], own["status"], other["callerId"]) == ("2", "5", "John Doe <3334444>")


@pytest.mark.parametrize(("variant", "status"), [("seed", 401), ("expired-403", 403)])
async def test_an_expired_token_is_refused_with_the_variants_status(
    emulator_server: EmulatorServer, session: aiohttp.ClientSession, variant: str, status: int
) -> None:
    base = select(emulator_server, variant)
    token = await access_token(session, base)
    emulator_server.control.expire_tokens("voipnow")
    answer, body = await call_api(session, base, "GET", "/uapi" + DEMO_CALL, token=token)
    assert (answer, body["error"]["code"]) == (status, "access_denied")


async def test_a_forbidden_user_is_403_even_with_a_good_token(
    emulator_server: EmulatorServer, session: aiohttp.ClientSession, store: PhoneCallStore
) -> None:
    base = select(emulator_server, "seed")
    store.forbidden_users.add("12")
    token = await access_token(session, base)
    status, body = await call_api(session, base, "GET", "/uapi" + DEMO_CALL, token=token)
    assert (status, body["error"]["code"]) == (403, "access_denied")


async def test_paged_variant_answers_pages_of_two_with_the_total(
    emulator_server: EmulatorServer, session: aiohttp.ClientSession, store: PhoneCallStore
) -> None:
    base = select(emulator_server, "paged")
    ids = add_calls(store, "0003*211", 5)
    token = await access_token(session, base)
    seen = []
    for start in (0, 2, 4):
        params = {"count": "5000", "startIndex": str(start)}
        status, body = await call_api(
            session, base, "GET", "/uapi/phoneCalls/12/0003*211", token=token, params=params
        )
        assert status == 200
        assert (body["startIndex"], body["totalResults"]) == (start, 5)
        assert body["itemsPerPage"] == len(body["entry"]) == (2 if start < 4 else 1)
        seen += [c["id"] for c in body["entry"]]
    assert seen == ids
    # Past the end: no phone calls to return, 204 without a body.
    status, body = await call_api(
        session,
        base,
        "GET",
        "/uapi/phoneCalls/12/0003*211",
        token=token,
        params={"startIndex": "6"},
    )
    assert (status, body) == (204, None)


async def test_seed_variant_honours_count_and_start_index(
    emulator_server: EmulatorServer, session: aiohttp.ClientSession, store: PhoneCallStore
) -> None:
    base = select(emulator_server, "seed")
    ids = add_calls(store, "0003*211", 5)
    token = await access_token(session, base)
    params = {"count": "3", "startIndex": "1"}
    status, body = await call_api(
        session, base, "GET", "/uapi/phoneCalls/12/0003*211", token=token, params=params
    )
    assert status == 200
    assert [c["id"] for c in body] == ids[1:4]


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"count": "5001"}, "count_invalid"),  # [doc] "Maximum value 5000"
        ({"startIndex": "5001"}, "startindex_invalid"),
    ],
)
async def test_count_and_start_index_past_5000_are_refused(
    emulator_server: EmulatorServer,
    session: aiohttp.ClientSession,
    params: dict[str, str],
    code: str,
) -> None:
    base = emulator_server.base_url("voipnow")
    token = await access_token(session, base)
    status, body = await call_api(
        session, base, "GET", "/uapi/phoneCalls/12/0003*210", token=token, params=params
    )
    assert (status, body["error"]["code"]) == (400, code)


async def test_self_lists_the_calls_of_every_extension_of_the_user(
    emulator_server: EmulatorServer, session: aiohttp.ClientSession, store: PhoneCallStore
) -> None:
    # [doc] List PhoneCalls: "Use @self to match all the extensions under the User."
    base = emulator_server.base_url("voipnow")
    ids = add_calls(store, "0003*211", 1) + add_calls(store, "0003*212", 1)
    token = await access_token(session, base)
    status, body = await call_api(session, base, "GET", "/uapi/phoneCalls/@me/@self", token=token)
    assert status == 200
    assert sorted(c["id"] for c in body) == sorted([DEMO_CALL_ID, *ids])
    # "If the Extension is unknown, you can use @self and phoneCallId".
    path = f"/uapi/phoneCalls/@me/@self/{ids[1]}"
    status, call = await call_api(session, base, "GET", path, token=token)
    assert (status, call["extension"]) == (200, "0003*212")


RESOURCE_KEYS = {
    "id",
    "nonce",
    "extension",
    "ownerId",
    "ownerName",
    "published",
    "answered",
    "phoneCallView",
    "links",
}

# OnHold PhoneCalls page, the request payload, verbatim.
ON_HOLD_REQUEST = """{
  "action": "OnHold",
  "phoneCallViewId": "01"
}"""


@pytest.mark.parametrize(
    ("variant", "status", "keys"),
    [
        ("seed", 202, {"id", "extension", "link"}),  # seed 003
        ("resource", 200, RESOURCE_KEYS),  # OnHold PhoneCalls: the PhoneCall
        ("action-204", 204, None),  # OffHold PhoneCalls: 204
    ],
)
async def test_on_hold_answers_as_the_variant_documents(
    emulator_server: EmulatorServer,
    session: aiohttp.ClientSession,
    store: PhoneCallStore,
    variant: str,
    status: int,
    keys: set[str] | None,
) -> None:
    base = select(emulator_server, variant)
    store.calls[DEMO_CALL_ID].nonce = "130c5a97768be67df6543b5f5fa3cc51"
    token = await access_token(session, base)
    answer, body = await call_api(
        session,
        base,
        "PUT",
        "/uapi" + DEMO_CALL,
        token=token,
        data=ON_HOLD_REQUEST,
        headers={"Content-Type": "application/json"},
    )
    assert answer == status
    assert (set(body) if body is not None else None) == keys
    held = store.calls[DEMO_CALL_ID].views[1]
    assert (held.on_hold is not None, held.holder) == (True, "1")


async def test_prefix_variant_serves_oauth_and_uapi_under_unifiedapi_only(
    emulator_server: EmulatorServer, session: aiohttp.ClientSession
) -> None:
    base = select(emulator_server, "unifiedapi-prefix")
    async with session.post(f"{base}/oauth/token.php", data=token_form()) as response:
        assert response.status == 404
    token = await access_token(session, base + "/unifiedapi")
    status, call = await call_api(session, base, "GET", "/uapi" + DEMO_CALL, token=token)
    assert status == 404
    status, call = await call_api(session, base, "GET", "/unifiedapi/uapi" + DEMO_CALL, token=token)
    assert status == 200
    assert call["link"]["self"] == f"{base}/unifiedapi/uapi{DEMO_CALL}"


async def test_unifiedapi_path_variant_serves_the_api_at_unifiedapi_as_4psa_apps_call_it(
    emulator_server: EmulatorServer, session: aiohttp.ClientSession
) -> None:
    # 4psa/app-facebookcallme plib/lib.php: https://host/oauth/token.php and
    # https://host/unifiedapi/phoneCalls/@me/simple.
    base = select(emulator_server, "unifiedapi-path")
    token = await access_token(session, base)
    status, _ = await call_api(session, base, "GET", "/uapi" + DEMO_CALL, token=token)
    assert status == 404
    status, call = await call_api(session, base, "GET", "/unifiedapi" + DEMO_CALL, token=token)
    assert status == 200
    assert call["link"]["self"] == f"{base}/unifiedapi{DEMO_CALL}"


@pytest.mark.parametrize(("variant", "lifetime"), [("seed", 3600), ("token-2h", 7200)])
async def test_token_expires_in_is_a_number_of_seconds(
    emulator_server: EmulatorServer, session: aiohttp.ClientSession, variant: str, lifetime: int
) -> None:
    base = select(emulator_server, variant)
    async with session.post(f"{base}/oauth/token.php", data=token_form()) as response:
        body = await response.json()
    assert body["expires_in"] == lifetime


# Create Simple PhoneCalls page, the request payload, verbatim.
CREATE_SIMPLE_REQUEST = """{
  "extension":"210",
  "phoneCallView":[
    {
       "source":["5354353", "5302040"],
       "destination":["5353535"],
       "callerId":"John Doe <4242425>"
    }
  ]
}"""


async def test_create_simple_takes_the_pages_example_request(
    emulator_server: EmulatorServer, session: aiohttp.ClientSession, store: PhoneCallStore
) -> None:
    base = emulator_server.base_url("voipnow")
    store.directory["12"].append("210")
    token = await access_token(session, base)
    status, body = await call_api(
        session,
        base,
        "POST",
        "/uapi/phoneCalls/@me/simple",
        token=token,
        data=CREATE_SIMPLE_REQUEST,
        headers={"Content-Type": "application/json"},
    )
    assert status == 200
    (call,) = body  # [doc] Return-Object = Array<PhoneCall>
    assert call["extension"] == "210"
    assert call["phoneCallView"][0]["source"] == ["5354353", "5302040"]
    assert call["phoneCallView"][1]["callerId"] == "John Doe <4242425>"


@pytest.mark.parametrize(
    "view",
    [
        # 4psa/uapi-example-python 02_public_call.py: source and destination as strings.
        {"source": "0003*210", "destination": "5353535"},
        # 4psa/app-facebookcallme plib/lib.php: the destination as a string.
        {"source": ["0003*210"], "destination": "5353535"},
    ],
)
async def test_create_simple_takes_plain_string_numbers_as_4psa_samples_send_them(
    emulator_server: EmulatorServer, session: aiohttp.ClientSession, view: dict[str, Any]
) -> None:
    base = select(emulator_server, "resource")
    token = await access_token(session, base)
    payload = {"extension": "0003*210", "phoneCallView": [view], "nonce": "n-1"}
    status, body = await call_api(
        session, base, "POST", "/uapi/phoneCalls/@me/simple", token=token, json=payload
    )
    assert status == 200
    (call,) = body
    # app-facebookcallme js/lib.js: JSON.parse(json)[0].links.self
    assert call["links"]["self"].startswith(f"{base}/uapi/phoneCalls/12/0003*210/")
    assert call["nonce"] == "n-1"
    assert call["phoneCallView"][0]["source"] == ["0003*210"]
    assert call["phoneCallView"][0]["destination"] == ["5353535"]
    assert json.dumps(call["phoneCallView"][0]["status"]) == "2"  # a number in this spelling


# Seed 003 (OffHold PhoneCalls), the request payload, verbatim.
OFF_HOLD_REQUEST = """{ "action": "OffHold", "phoneCallViewId": "01" }"""


async def test_off_hold_takes_the_seeds_example_request(
    emulator_server: EmulatorServer, session: aiohttp.ClientSession, store: PhoneCallStore
) -> None:
    base = emulator_server.base_url("voipnow")
    store.hold(DEMO_CALL_ID, "01")
    token = await access_token(session, base)
    status, body = await call_api(
        session,
        base,
        "PUT",
        "/uapi" + DEMO_CALL,
        token=token,
        data=OFF_HOLD_REQUEST,
        headers={"Content-Type": "application/json"},
    )
    assert status == 202
    assert body == {
        "id": DEMO_CALL_ID,
        "extension": "0003*210",
        "link": {"self": f"{base}/uapi{DEMO_CALL}"},
    }
    assert all(view.on_hold is None for view in store.calls[DEMO_CALL_ID].views)
