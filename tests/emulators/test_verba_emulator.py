"""The Verba emulator's protocol, spoken directly over HTTP, in each documented variant:
tokens, GetCallID, GetCallURL, response types. Expected texts are the pages' own (see
tests/vendors/verba_fixtures.py for the sources) or the emulator's marked guesses."""

from __future__ import annotations

import base64
import random
import re

import aiohttp
import pytest

from app.emulators.base import DEMO_CREDENTIALS
from app.emulators.verba import (
    DEMO_CALL_ID,
    GENESYS_DEMO_RECORDING_ID,
    VOIPNOW_DEMO_RECORDING_ID,
    RecordingStatus,
    VerbaEmulator,
)
from tests.clock import ManualClock
from tests.conftest import EmulatorServer
from tests.vendors import verba_fixtures as pages

CREDENTIALS = DEMO_CREDENTIALS["verba"]
LOGIN = (CREDENTIALS["username"], CREDENTIALS["password"])
API_KEY = CREDENTIALS["api_key"]

# The seed's samples as the emulator lays them out: one element per line.
SEED_SUCCESS = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<VerbaApi>\n<Response code="0" type="GetCallID"/>\n'
    f"<CallID>{DEMO_CALL_ID}</CallID>\n</VerbaApi>"
)
SEED_NOT_FOUND = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<VerbaApi>\n<Response code="2" type="GetCallID">\n'
    "<ErrorMessage>Unable to retrieve the call identifier, because the call cannot be found."
    "</ErrorMessage>\n</Response>\n</VerbaApi>"
)
TOKEN_EXPIRED = "This token is expired or never got authenticated."  # ReleaseToken (v2)
UNKNOWN_CALL_ID = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def verba(emulator_server: EmulatorServer) -> VerbaEmulator:
    return emulator_server.emulator(VerbaEmulator)


async def send(
    server: EmulatorServer,
    params: dict[str, str],
    *,
    method: str = "GET",
    login: tuple[str, str] | None = None,
    form: dict[str, str] | None = None,
    path: str = "/verba/api",
) -> tuple[int, str]:
    headers = {}
    if login is not None:
        encoded = base64.b64encode(":".join(login).encode()).decode()
        headers["Authorization"] = f"Basic {encoded}"
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            method, server.base_url("verba") + path, params=params, headers=headers, data=form
        ) as response,
    ):
        return response.status, await response.text()


def token_in(body: str) -> str:
    match = re.search(r'<Token>([0-9a-f-]{36})</Token>|token="([0-9a-f-]{36})"', body)
    assert match is not None, body
    return match.group(1) or match.group(2)


async def request_token(server: EmulatorServer) -> str:
    status, body = await send(server, {"action": "RequestToken", "apiKey": API_KEY}, login=LOGIN)
    assert status == 200
    return token_in(body)


async def call(server: EmulatorServer, action: str, **params: str) -> tuple[int, str]:
    token = await request_token(server)
    return await send(server, {"action": action, "apiKey": API_KEY, "token": token} | params)


async def get_call_id(server: EmulatorServer, **search: str) -> tuple[int, str]:
    return await call(server, "GetCallID", **search)


def error_body(action: str, message: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<VerbaApi>\n'
        f'<Response code="2" type="{action}">\n<ErrorMessage>{message}</ErrorMessage>\n'
        "</Response>\n</VerbaApi>"
    )


def call_id_body(call_id: str) -> str:
    return SEED_SUCCESS.replace(DEMO_CALL_ID, call_id)


def call_url_body(server: EmulatorServer, call_id: str) -> str:
    url = f"{server.base_url('verba')}/verba/gwtCallDetail.do?ccdrId={call_id}"
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<VerbaApi>\n<Response code="0" '
        f'type="GetCallURL"/>\n<CallURL>{url}</CallURL>\n</VerbaApi>'
    )


# -- RequestToken -----------------------------------------------------------------------


async def test_request_token_answers_token_element(emulator_server: EmulatorServer) -> None:
    status, body = await send(
        emulator_server, {"action": "RequestToken", "apiKey": API_KEY}, login=LOGIN
    )

    assert status == 200
    assert re.fullmatch(
        r'<\?xml version="1.0" encoding="UTF-8"\?>\n<VerbaApi>\n'
        r'<Response code="0" type="RequestToken"/>\n<Token>[0-9a-f-]{36}</Token>\n</VerbaApi>',
        body,
    )


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_request_token_takes_user_name_and_password_parameters(
    emulator_server: EmulatorServer, method: str
) -> None:
    # [doc] API authentication page: `userName=myapiuser` (and `password`) instead of the
    # Basic Authorization header.
    login = {"userName": LOGIN[0], "password": LOGIN[1]}
    query = {"action": "RequestToken", "apiKey": API_KEY}
    if method == "GET":
        status, body = await send(emulator_server, query | login)
    else:
        status, body = await send(emulator_server, query, method="POST", form=login)

    assert status == 200
    token = token_in(body)
    assert await send(
        emulator_server,
        {"action": "GetCallID", "apiKey": API_KEY, "token": token, "extension": "8856"},
    ) == (200, SEED_SUCCESS)


@pytest.mark.parametrize(
    ("api_key", "login", "message"),
    [
        (API_KEY, (CREDENTIALS["username"], "wrong"), "Authentication failed."),
        (API_KEY, ("someone", CREDENTIALS["password"]), "Authentication failed."),
        (API_KEY, None, "Authentication failed."),
        ("00000000-0000-0000-0000-000000000000", LOGIN, "Invalid API key."),
    ],
    ids=["bad-password", "bad-user", "no-login", "bad-api-key"],
)
@pytest.mark.parametrize(("variant", "http_status"), [("in-band", 200), ("http-401", 401)])
async def test_request_token_refusal_per_variant(
    emulator_server: EmulatorServer,
    verba: VerbaEmulator,
    api_key: str,
    login: tuple[str, str] | None,
    message: str,
    variant: str,
    http_status: int,
) -> None:
    verba.select_variant(variant)

    status, body = await send(
        emulator_server, {"action": "RequestToken", "apiKey": api_key}, login=login
    )

    assert (status, body) == (http_status, error_body("RequestToken", message))


@pytest.mark.parametrize(("variant", "http_status"), [("in-band", 200), ("http-401", 403)])
async def test_request_token_refuses_a_user_without_both_roles(
    emulator_server: EmulatorServer, verba: VerbaEmulator, variant: str, http_status: int
) -> None:
    # [doc] "The provided user has to have System Administrator and System Supervisor roles."
    verba.select_variant(variant)
    verba.add_user("auditor", "auditor-pw", frozenset({"System Supervisor"}))

    status, body = await send(
        emulator_server,
        {"action": "RequestToken", "apiKey": API_KEY},
        login=("auditor", "auditor-pw"),
    )

    assert status == http_status
    assert body == error_body(
        "RequestToken", "The user needs the System Administrator and System Supervisor roles."
    )


async def test_vfc_variant_answers_the_token_as_an_attribute_with_a_session(
    emulator_server: EmulatorServer, verba: VerbaEmulator
) -> None:
    verba.select_variant("vfc")
    async with (
        aiohttp.ClientSession() as session,
        session.get(
            emulator_server.base_url("verba") + "/verba/api",
            params={"action": "RequestToken", "apiKey": API_KEY},
            headers={
                "Authorization": "Basic " + base64.b64encode(":".join(LOGIN).encode()).decode()
            },
        ) as response,
    ):
        body = await response.text()
        cookie = response.cookies["JSESSIONID"].value

    match = re.fullmatch(
        r'<\?xml version="1.0" encoding="UTF-8"\?>\n<VerbaApi>\n'
        r'<Response code="0" type="RequestToken" token="([0-9a-f-]{36})"/>\n'
        r"<SessionId>([0-9A-F]{32})</SessionId>\n"
        r"<SessionParameterName>jsessionid</SessionParameterName>\n"
        r"<SessionCookieName>JSESSIONID</SessionCookieName>\n<Remote>false</Remote>\n</VerbaApi>",
        body,
    )
    assert match is not None, body
    assert match.group(2) == cookie
    params = {
        "action": "GetCallID",
        "apiKey": API_KEY,
        "token": match.group(1),
        "extension": "8856",
    }
    assert await send(emulator_server, params) == (200, SEED_SUCCESS)


# -- tokens -----------------------------------------------------------------------------


@pytest.mark.parametrize("token", [None, "09835e02-6c10-11e0-bb22-ba324924019b"])
@pytest.mark.parametrize(("variant", "http_status"), [("in-band", 200), ("http-401", 401)])
async def test_missing_or_unknown_token_is_refused_in_the_documented_wording(
    emulator_server: EmulatorServer,
    verba: VerbaEmulator,
    token: str | None,
    variant: str,
    http_status: int,
) -> None:
    verba.select_variant(variant)
    params = {"action": "GetCallID", "apiKey": API_KEY, "extension": "8856"}
    if token is not None:
        params["token"] = token

    assert await send(emulator_server, params) == (
        http_status,
        error_body("GetCallID", TOKEN_EXPIRED),
    )


async def test_wrong_api_key_with_a_token_is_refused(emulator_server: EmulatorServer) -> None:
    token = await request_token(emulator_server)
    params = {"action": "GetCallID", "apiKey": "nope", "token": token, "extension": "8856"}

    assert await send(emulator_server, params) == (200, error_body("GetCallID", "Invalid API key."))


@pytest.mark.parametrize(("variant", "http_status"), [("in-band", 200), ("http-401", 401)])
async def test_token_expires_after_an_hour(
    emulator_server: EmulatorServer, verba: VerbaEmulator, variant: str, http_status: int
) -> None:
    verba.select_variant(variant)
    clock = ManualClock()
    verba.clock = clock
    token = await request_token(emulator_server)
    params = {"action": "GetCallID", "apiKey": API_KEY, "token": token, "extension": "8856"}

    clock.advance(3599)
    still_valid = await send(emulator_server, params)
    clock.advance(1)
    expired = await send(emulator_server, params)

    assert still_valid == (200, SEED_SUCCESS)
    assert expired == (http_status, error_body("GetCallID", TOKEN_EXPIRED))


async def test_expire_tokens_invalidates_every_issued_token(
    emulator_server: EmulatorServer,
) -> None:
    tokens = [await request_token(emulator_server) for _ in range(2)]

    emulator_server.control.expire_tokens("verba")

    for token in tokens:
        params = {"action": "GetCallID", "apiKey": API_KEY, "token": token, "extension": "8856"}
        assert await send(emulator_server, params) == (200, error_body("GetCallID", TOKEN_EXPIRED))
    assert await request_token(emulator_server)


async def test_api_key_only_variant_needs_no_token(
    emulator_server: EmulatorServer, verba: VerbaEmulator
) -> None:
    verba.select_variant("api-key-only")

    plain = await send(
        emulator_server, {"action": "GetCallID", "apiKey": API_KEY, "extension": "8856"}
    )
    bad_key = await send(
        emulator_server, {"action": "GetCallID", "apiKey": "x", "extension": "8856"}
    )

    assert plain == (200, SEED_SUCCESS)
    assert bad_key == (200, error_body("GetCallID", "Invalid API key."))


# -- GetCallID --------------------------------------------------------------------------


async def test_get_call_id_demo_call_matches_seed_bytes(emulator_server: EmulatorServer) -> None:
    assert await get_call_id(emulator_server, extension="8856", status="ongoing") == (
        200,
        SEED_SUCCESS,
    )


async def test_get_call_id_unknown_call_matches_seed_error(
    emulator_server: EmulatorServer,
) -> None:
    assert await get_call_id(emulator_server, extension="4711", status="ongoing") == (
        200,
        SEED_NOT_FOUND,
    )


@pytest.mark.parametrize("response_type", [None, "XML", "xml"])
async def test_xml_is_the_default_response_type(
    emulator_server: EmulatorServer, response_type: str | None
) -> None:
    search = {"extension": "8856"} | ({"responseType": response_type} if response_type else {})

    assert await get_call_id(emulator_server, **search) == (200, SEED_SUCCESS)


async def test_get_call_id_more_than_one_record_is_error(
    emulator_server: EmulatorServer, verba: VerbaEmulator
) -> None:
    verba.add_recording(caller="8856", called="4000")

    status, body = await get_call_id(emulator_server, extension="8856", status="ongoing")

    assert status == 200
    assert body == error_body(
        "GetCallID",
        "Unable to retrieve the call identifier, because more than one record was found.",
    )


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ({"extension": "8857"}, DEMO_CALL_ID),  # the called party
        ({"platformCallID": "71627389"}, DEMO_CALL_ID),
        ({"nativeID": "TRS26140192", "status": "ongoing"}, DEMO_CALL_ID),
        ({"extension": "15001"}, GENESYS_DEMO_RECORDING_ID),
        ({"extension": "0003*210", "status": "ongoing"}, VOIPNOW_DEMO_RECORDING_ID),
    ],
    ids=["called-party", "platform-call-id", "native-id", "genesys-demo", "voipnow-demo"],
)
async def test_get_call_id_finds_demo_recordings(
    emulator_server: EmulatorServer, search: dict[str, str], expected: str
) -> None:
    assert await get_call_id(emulator_server, **search) == (200, call_id_body(expected))


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("ongoing", "ongoing"),
        ("next", "next"),
        ("last", "last"),
        ("ongoing,next", "ongoing"),
        ("ongoing, next", "ongoing"),  # [doc] the page writes it with a blank
        ("last,ongoing", "last"),
        ("last, ongoing", "last"),
    ],
)
async def test_get_call_id_takes_documented_statuses_in_order(
    emulator_server: EmulatorServer, verba: VerbaEmulator, status: str, expected: str
) -> None:
    ids = {
        s.value: verba.add_recording(caller="3100", called="3200", status=s).call_id
        for s in RecordingStatus
    }

    assert await get_call_id(emulator_server, extension="3100", status=status) == (
        200,
        call_id_body(ids[expected]),
    )


@pytest.mark.parametrize(
    ("status", "present"),
    [("ongoing,next", RecordingStatus.NEXT), ("last,ongoing", RecordingStatus.ONGOING)],
)
async def test_get_call_id_falls_back_to_the_second_status(
    emulator_server: EmulatorServer, verba: VerbaEmulator, status: str, present: RecordingStatus
) -> None:
    only = verba.add_recording(caller="3300", called="3400", status=present)

    assert await get_call_id(emulator_server, extension="3300", status=status) == (
        200,
        call_id_body(only.call_id),
    )


async def test_get_call_id_several_ongoing_is_an_error_not_a_fallback(
    emulator_server: EmulatorServer, verba: VerbaEmulator
) -> None:
    verba.add_recording(caller="3300", called="3401")
    verba.add_recording(caller="3300", called="3402")
    verba.add_recording(caller="3300", called="3403", status=RecordingStatus.NEXT)

    _, body = await get_call_id(emulator_server, extension="3300", status="ongoing,next")

    assert "more than one record" in body


@pytest.mark.parametrize(
    "status", ["next,ongoing", "ongoing,last", "last,next", "ongoing,ongoing", "soon"]
)
async def test_get_call_id_refuses_undocumented_statuses(
    emulator_server: EmulatorServer, status: str
) -> None:
    assert await get_call_id(emulator_server, extension="8856", status=status) == (
        200,
        error_body("GetCallID", "Invalid value for parameter status."),
    )


async def test_get_call_id_next_only_within_one_minute(
    emulator_server: EmulatorServer, verba: VerbaEmulator
) -> None:
    verba.add_recording(caller="3500", called="3600", status=RecordingStatus.NEXT, starts_in=90)
    too_late = await get_call_id(emulator_server, extension="3500", status="next")
    soon = verba.add_recording(
        caller="3500", called="3700", status=RecordingStatus.NEXT, starts_in=20
    )

    assert too_late == (200, SEED_NOT_FOUND)
    assert await get_call_id(emulator_server, extension="3500", status="next") == (
        200,
        call_id_body(soon.call_id),
    )


async def test_get_call_id_last_is_most_recently_finished(
    emulator_server: EmulatorServer, verba: VerbaEmulator
) -> None:
    clock = ManualClock()
    verba.clock = clock
    verba.add_recording(caller="3800", called="3900", status=RecordingStatus.LAST)
    clock.advance(10)
    second = verba.add_recording(caller="3800", called="3901")
    verba.end_recording(second.call_id)

    assert await get_call_id(emulator_server, extension="3800", status="last") == (
        200,
        call_id_body(second.call_id),
    )


async def test_get_call_id_manual_record_searches_ongoing_calls(
    emulator_server: EmulatorServer, verba: VerbaEmulator
) -> None:
    verba.add_recording(caller="8856", called="4100", status=RecordingStatus.LAST)

    assert await get_call_id(emulator_server, extension="8856", type="manualRecord") == (
        200,
        SEED_SUCCESS,
    )


@pytest.mark.parametrize(
    ("search", "message"),
    [
        ({"extension": "8856", "type": "auto"}, "Invalid value for parameter type."),
        ({"status": "ongoing"}, "Missing parameter: extension, platformCallID or nativeID."),
        ({"extension": "88 56"}, "Invalid value for parameter extension."),
    ],
    ids=["bad-type", "no-search", "bad-extension"],
)
async def test_get_call_id_bad_parameters_are_code_2(
    emulator_server: EmulatorServer, search: dict[str, str], message: str
) -> None:
    assert await get_call_id(emulator_server, **search) == (200, error_body("GetCallID", message))


# -- GetCallURL -------------------------------------------------------------------------


async def test_get_call_url_by_call_id_points_at_the_call_detail_page(
    emulator_server: EmulatorServer,
) -> None:
    status, body = await call(emulator_server, "GetCallURL", callID=DEMO_CALL_ID)

    assert (status, body) == (200, call_url_body(emulator_server, DEMO_CALL_ID))
    # The Call detail URL page's form, and it opens.
    assert f"{pages.CALL_DETAIL_PATH}?ccdrId={DEMO_CALL_ID}" in body
    page_status, page = await send(
        emulator_server, {"ccdrId": DEMO_CALL_ID}, path=pages.CALL_DETAIL_PATH
    )
    assert page_status == 200
    assert DEMO_CALL_ID in page


async def test_get_call_url_by_extension_and_status(emulator_server: EmulatorServer) -> None:
    assert await call(emulator_server, "GetCallURL", extension="15001", status="ongoing") == (
        200,
        call_url_body(emulator_server, GENESYS_DEMO_RECORDING_ID),
    )


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"callID": UNKNOWN_CALL_ID},
            "Unable to retrieve the call URL, because the call cannot be found.",
        ),
        ({"callID": "not-a-call-id"}, "Invalid value for parameter callID."),
        ({"extension": "8856"}, "Invalid value for parameter status."),  # status mandatory
        ({}, "Missing parameter: callID or extension."),
    ],
    ids=["unknown", "malformed", "extension-without-status", "nothing"],
)
async def test_get_call_url_errors_are_code_2(
    emulator_server: EmulatorServer, params: dict[str, str], message: str
) -> None:
    assert await call(emulator_server, "GetCallURL", **params) == (
        200,
        error_body("GetCallURL", message),
    )


async def test_get_call_url_by_extension_more_than_one_record_is_error(
    emulator_server: EmulatorServer, verba: VerbaEmulator
) -> None:
    verba.add_recording(caller="15001", called="4000")

    assert await call(emulator_server, "GetCallURL", extension="15001", status="ongoing") == (
        200,
        error_body(
            "GetCallURL", "Unable to retrieve the call URL, because more than one record was found."
        ),
    )


# -- layouts, methods, response types --------------------------------------------------


async def test_nested_results_variant_puts_results_inside_response(
    emulator_server: EmulatorServer, verba: VerbaEmulator
) -> None:
    verba.select_variant("nested-results")

    found = await get_call_id(emulator_server, extension="8856")
    missing = await get_call_id(emulator_server, extension="4711")

    assert found == (
        200,
        '<?xml version="1.0" encoding="UTF-8"?>\n<VerbaApi>\n'
        f'<Response code="0" type="GetCallID">\n<CallID>{DEMO_CALL_ID}</CallID>\n'
        "</Response>\n</VerbaApi>",
    )
    assert missing == (
        200,
        SEED_NOT_FOUND.replace("<ErrorMessage>", '<ErrorMessage description="Error">'),
    )


async def test_numbered_codes_variant_answers_verba_data_with_negative_codes(
    emulator_server: EmulatorServer, verba: VerbaEmulator
) -> None:
    verba.select_variant("numbered-codes")

    found = await get_call_id(emulator_server, extension="8856")
    missing = await get_call_id(emulator_server, extension="4711")
    refused = await send(
        emulator_server, {"action": "GetCallID", "apiKey": API_KEY, "extension": "8856"}
    )

    header = '<?xml version="1.0" encoding="utf-8"?>\n<VerbaData>\n'
    assert found == (200, header + f'  <Response code="0" callID="{DEMO_CALL_ID}" />\n</VerbaData>')
    assert missing == (
        200,
        header
        + '  <Response code="-50"/>\n  <ErrorMessage>CALL_NOT_FOUND</ErrorMessage>\n</VerbaData>',
    )
    assert refused == (
        200,
        header
        + '  <Response code="-43"/>\n  <ErrorMessage>TOKEN_EXPIRED</ErrorMessage>\n</VerbaData>',
    )


async def test_unknown_action_is_code_2(emulator_server: EmulatorServer) -> None:
    assert await call(emulator_server, "DeleteCall") == (
        200,
        error_body("DeleteCall", "Unknown action."),
    )


async def test_post_takes_parameters_from_the_form(emulator_server: EmulatorServer) -> None:
    token = await request_token(emulator_server)
    form = {"apiKey": API_KEY, "token": token, "extension": "8856"}

    status, body = await send(emulator_server, {"action": "GetCallID"}, method="POST", form=form)

    assert (status, body) == (200, SEED_SUCCESS)


@pytest.mark.parametrize(
    ("response_type", "found", "not_found"),
    [
        ("TEXT", f"CallID: {DEMO_CALL_ID}\n", "Error (code 2): Unable to retrieve"),
        ("HTML", f"<p>CallID: {DEMO_CALL_ID}</p>", '<p class="error">Error (code 2): Unable'),
    ],
)
async def test_response_type_renders_text_and_html(
    emulator_server: EmulatorServer, response_type: str, found: str, not_found: str
) -> None:
    _, found_body = await get_call_id(emulator_server, extension="8856", responseType=response_type)
    _, missing_body = await get_call_id(
        emulator_server, extension="4711", responseType=response_type
    )

    assert found in found_body
    assert not_found in missing_body
    assert "<VerbaApi>" not in found_body + missing_body


async def test_variants_are_listed_with_in_band_first(emulator_server: EmulatorServer) -> None:
    variants = emulator_server.control.variants()["verba"]

    assert variants["selected"] == "in-band"
    assert list(variants["variants"]) == [
        "in-band",
        "http-401",
        "nested-results",
        "api-key-only",
        "numbered-codes",
        "vfc",
    ]


async def test_simulate_call_ends_as_last_finished_call(
    emulator_server: EmulatorServer, verba: VerbaEmulator
) -> None:
    before = set(verba.recordings)

    await verba.simulate_call(random.Random(7), pace=0.001)

    (new_id,) = set(verba.recordings) - before
    recording = verba.recordings[new_id]
    assert recording.status is RecordingStatus.LAST
    assert recording.started_at is not None
    assert recording.ended_at is not None
    assert await get_call_id(emulator_server, extension=recording.caller, status="last") == (
        200,
        call_id_body(new_id),
    )
