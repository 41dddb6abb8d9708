"""The Verba emulator's protocol, spoken directly over HTTP: tokens, GetCallID, quirks."""

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

CREDENTIALS = DEMO_CREDENTIALS["verba"]
LOGIN = (CREDENTIALS["username"], CREDENTIALS["password"])

SEED_SUCCESS = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<VerbaApi>\n<Response code="0" type="GetCallID"/>\n'
    f"<CallID>{DEMO_CALL_ID}</CallID>\n</VerbaApi>"
)
SEED_NOT_FOUND = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<VerbaApi>\n<Response code="2" type="GetCallID">\n'
    "<ErrorMessage>Unable to retrieve the call identifier, because the call cannot be found."
    "</ErrorMessage>\n</Response>\n</VerbaApi>"
)


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
) -> tuple[int, str]:
    headers = {}
    if login is not None:
        encoded = base64.b64encode(":".join(login).encode()).decode()
        headers["Authorization"] = f"Basic {encoded}"
    async with (
        aiohttp.ClientSession() as session,
        session.request(
            method,
            server.base_url("verba") + "/verba/api",
            params=params,
            headers=headers,
            data=form,
        ) as response,
    ):
        return response.status, await response.text()


async def request_token(server: EmulatorServer) -> str:
    status, body = await send(
        server, {"action": "RequestToken", "apiKey": CREDENTIALS["api_key"]}, login=LOGIN
    )
    assert status == 200
    match = re.search(r"<Token>([0-9a-f-]{36})</Token>", body)
    assert match is not None
    return match.group(1)


async def get_call_id(server: EmulatorServer, **search: str) -> tuple[int, str]:
    token = await request_token(server)
    params = {"action": "GetCallID", "apiKey": CREDENTIALS["api_key"], "token": token}
    return await send(server, params | search)


def error_body(action: str, message: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<VerbaApi>\n'
        f'<Response code="2" type="{action}">\n<ErrorMessage>{message}</ErrorMessage>\n'
        "</Response>\n</VerbaApi>"
    )


def call_id_body(call_id: str) -> str:
    return SEED_SUCCESS.replace(DEMO_CALL_ID, call_id)


async def test_request_token_answers_token_element(emulator_server: EmulatorServer) -> None:
    status, body = await send(
        emulator_server, {"action": "RequestToken", "apiKey": CREDENTIALS["api_key"]}, login=LOGIN
    )

    assert status == 200
    assert re.fullmatch(
        r'<\?xml version="1.0" encoding="UTF-8"\?>\n<VerbaApi>\n'
        r'<Response code="0" type="RequestToken"/>\n<Token>[0-9a-f-]{36}</Token>\n</VerbaApi>',
        body,
    )


@pytest.mark.parametrize(
    ("api_key", "login"),
    [
        (CREDENTIALS["api_key"], (CREDENTIALS["username"], "wrong")),
        (CREDENTIALS["api_key"], ("someone", CREDENTIALS["password"])),
        ("00000000-0000-0000-0000-000000000000", LOGIN),
        (CREDENTIALS["api_key"], None),
    ],
    ids=["bad-password", "bad-user", "bad-api-key", "no-login"],
)
async def test_request_token_bad_login_is_401_error_body(
    emulator_server: EmulatorServer, api_key: str, login: tuple[str, str] | None
) -> None:
    status, body = await send(
        emulator_server, {"action": "RequestToken", "apiKey": api_key}, login=login
    )

    assert status == 401
    assert body == error_body("RequestToken", "Authentication failed.")


async def test_get_call_id_without_token_is_401_typed_with_action(
    emulator_server: EmulatorServer,
) -> None:
    params = {"action": "GetCallID", "apiKey": CREDENTIALS["api_key"], "extension": "8856"}

    status, body = await send(emulator_server, params)

    assert status == 401
    assert body == error_body("GetCallID", "Invalid or expired token.")


async def test_get_call_id_unknown_token_is_401(emulator_server: EmulatorServer) -> None:
    params = {
        "action": "GetCallID",
        "apiKey": CREDENTIALS["api_key"],
        "token": "09835e02-6c10-11e0-bb22-ba324924019b",
        "extension": "8856",
    }

    status, body = await send(emulator_server, params)

    assert status == 401
    assert "Invalid or expired token." in body


async def test_get_call_id_wrong_api_key_is_401(emulator_server: EmulatorServer) -> None:
    token = await request_token(emulator_server)
    params = {"action": "GetCallID", "apiKey": "nope", "token": token, "extension": "8856"}

    status, body = await send(emulator_server, params)

    assert status == 401
    assert body == error_body("GetCallID", "Invalid API key.")


async def test_token_expires_after_an_hour(
    emulator_server: EmulatorServer, verba: VerbaEmulator
) -> None:
    clock = ManualClock()
    verba.clock = clock
    token = await request_token(emulator_server)
    params = {
        "action": "GetCallID",
        "apiKey": CREDENTIALS["api_key"],
        "token": token,
        "extension": "8856",
    }

    clock.advance(3599)
    still_valid, _ = await send(emulator_server, params)
    clock.advance(1)
    expired, body = await send(emulator_server, params)

    assert (still_valid, expired) == (200, 401)
    assert "Invalid or expired token." in body


async def test_expire_tokens_invalidates_every_issued_token(
    emulator_server: EmulatorServer,
) -> None:
    tokens = [await request_token(emulator_server) for _ in range(2)]

    emulator_server.control.expire_tokens("verba")

    for token in tokens:
        params = {"action": "GetCallID", "apiKey": CREDENTIALS["api_key"], "token": token}
        status, _ = await send(emulator_server, params | {"extension": "8856"})
        assert status == 401
    assert await request_token(emulator_server)


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
        ("ongoing,next", "ongoing"),
        ("next,ongoing", "next"),
        ("last,ongoing", "last"),
        ("ongoing, last", "ongoing"),  # [doc] blanks after the comma
    ],
)
async def test_get_call_id_tries_statuses_in_order(
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


async def test_get_call_id_falls_back_to_later_status(
    emulator_server: EmulatorServer, verba: VerbaEmulator
) -> None:
    finished = verba.add_recording(caller="3300", called="3400", status=RecordingStatus.LAST)

    assert await get_call_id(emulator_server, extension="3300", status="ongoing,last") == (
        200,
        call_id_body(finished.call_id),
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
        ({"extension": "8856", "status": "soon"}, "Invalid value for parameter status."),
        ({"extension": "8856", "type": "auto"}, "Invalid value for parameter type."),
        ({"status": "ongoing"}, "Missing parameter: extension, platformCallID or nativeID."),
        ({"extension": "88 56"}, "Invalid value for parameter extension."),
    ],
    ids=["bad-status", "bad-type", "no-search", "bad-extension"],
)
async def test_get_call_id_bad_parameters_are_code_2(
    emulator_server: EmulatorServer, search: dict[str, str], message: str
) -> None:
    assert await get_call_id(emulator_server, **search) == (200, error_body("GetCallID", message))


async def test_unknown_action_is_code_2(emulator_server: EmulatorServer) -> None:
    token = await request_token(emulator_server)
    params = {"action": "DeleteCall", "apiKey": CREDENTIALS["api_key"], "token": token}

    assert await send(emulator_server, params) == (
        200,
        error_body("DeleteCall", "Unknown action."),
    )


async def test_post_takes_parameters_from_the_form(emulator_server: EmulatorServer) -> None:
    token = await request_token(emulator_server)
    form = {"apiKey": CREDENTIALS["api_key"], "token": token, "extension": "8856"}

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
