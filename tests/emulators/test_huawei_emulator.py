"""The Huawei CEC emulator's wire protocol, spoken to directly over loopback HTTP."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from app.emulators import DEMO_CREDENTIALS
from app.emulators.huawei import (
    CALLING,
    CREATE_CALL_PATH,
    DEMO_CALL_SERIAL_NO,
    ENDED,
    QUERY_CALL_STATE_PATH,
    TALKING,
    TO_BE_CALLED,
    TOKEN_PATH,
    HuaweiEmulator,
)
from tests.clock import ManualClock
from tests.conftest import EmulatorServer

CREDENTIALS = DEMO_CREDENTIALS["huawei"]
JSON_TYPE = "application/json;charset=UTF-8"
UNAUTHORIZED_TEXT = (
    "Unauthorized operation. 1. Check whether you have purchased related services. "
    "2. Contact customer service to check the status of your account."
)
BAD_REQUEST_TEXT = "Incorrect request. Check the request path and parameters."


@pytest.fixture
def huawei(emulator_server: EmulatorServer) -> HuaweiEmulator:
    return emulator_server.emulator(HuaweiEmulator)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def base(emulator_server: EmulatorServer) -> str:
    return emulator_server.base_url("huawei")


async def fetch_token(
    session: aiohttp.ClientSession, base: str, *, lifetime: str | None = None
) -> str:
    headers = {} if lifetime is None else {"X-Token-Expire": lifetime}
    async with session.post(base + TOKEN_PATH, json=dict(CREDENTIALS), headers=headers) as resp:
        assert resp.status == 200
        answer = await resp.json(content_type=None)
    token = answer["AccessToken"]
    assert isinstance(token, str)
    return token


async def query(
    session: aiohttp.ClientSession, base: str, token: str, body: Any
) -> tuple[int, str, bytes]:
    async with session.post(
        base + QUERY_CALL_STATE_PATH,
        json=body,
        headers={"Authorization": f"Bearer {token}", "X-APP-Key": CREDENTIALS["app_key"]},
    ) as resp:
        return resp.status, resp.headers["Content-Type"], await resp.read()


async def create(
    session: aiohttp.ClientSession, base: str, token: str, body: dict[str, Any]
) -> tuple[int, Any]:
    async with session.post(
        base + CREATE_CALL_PATH, json=body, headers={"Authorization": f"Bearer {token}"}
    ) as resp:
        if resp.status != 200:
            return resp.status, await resp.text()
        return resp.status, await resp.json(content_type=None)


# -- tokenByAkSk ---------------------------------------------------------------------------


async def test_token_by_ak_sk_answers_documented_shape(
    session: aiohttp.ClientSession, base: str, huawei: HuaweiEmulator
) -> None:
    huawei.clock = ManualClock(1_545_650_171.5)
    async with session.post(base + TOKEN_PATH, json=dict(CREDENTIALS)) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == JSON_TYPE
        answer = await resp.json(content_type=None)
    assert list(answer) == [
        "AccessToken",
        "ApplyType",
        "CreateTime",
        "Expires",
        "Scope",
        "AppKey",
        "UserID",
    ]
    assert answer["ApplyType"] == "Bearer"
    assert answer["CreateTime"] == "1545650171"
    assert answer["Expires"] == "600"
    assert answer["AppKey"] == CREDENTIALS["app_key"]
    assert answer["UserID"] == "Anonymous"
    assert huawei.tokens[answer["AccessToken"]].expires_at == 1_545_650_171.5 + 600


async def test_token_by_ak_sk_honours_token_expire_header(
    session: aiohttp.ClientSession, base: str, huawei: HuaweiEmulator
) -> None:
    huawei.clock = ManualClock(1000.0)
    async with session.post(
        base + TOKEN_PATH, json=dict(CREDENTIALS), headers={"X-Token-Expire": "3600"}
    ) as resp:
        answer = await resp.json(content_type=None)
    assert answer["Expires"] == "3600"
    assert huawei.tokens[answer["AccessToken"]].expires_at == 4600.0


@pytest.mark.parametrize("lifetime", ["0", "3601", "-5", "ten"])
async def test_token_by_ak_sk_rejects_lifetime_out_of_range(
    session: aiohttp.ClientSession, base: str, lifetime: str
) -> None:
    async with session.post(
        base + TOKEN_PATH, json=dict(CREDENTIALS), headers={"X-Token-Expire": lifetime}
    ) as resp:
        assert resp.status == 400
        assert await resp.text() == BAD_REQUEST_TEXT


@pytest.mark.parametrize(
    "body",
    [
        {"app_key": CREDENTIALS["app_key"], "app_secret": "wrong"},
        {"app_key": "someone-else", "app_secret": CREDENTIALS["app_secret"]},
        {"app_key": CREDENTIALS["app_key"]},
        {},
    ],
)
async def test_token_by_ak_sk_rejects_wrong_credentials(
    session: aiohttp.ClientSession, base: str, huawei: HuaweiEmulator, body: dict[str, str]
) -> None:
    async with session.post(base + TOKEN_PATH, json=body) as resp:
        assert resp.status == 401
        assert await resp.text() == UNAUTHORIZED_TEXT
    assert huawei.tokens == {}


async def test_token_by_ak_sk_rejects_malformed_json(
    session: aiohttp.ClientSession, base: str
) -> None:
    async with session.post(base + TOKEN_PATH, data=b'{"app_key": ') as resp:
        assert resp.status == 400


# -- authorization -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer{token}", "bearer {token}", "Bearer  {token}", "Bearer nope", "{token}"],
)
async def test_query_call_state_rejects_bad_authorization(
    session: aiohttp.ClientSession, base: str, authorization: str | None
) -> None:
    token = await fetch_token(session, base)
    headers = {} if authorization is None else {"Authorization": authorization.format(token=token)}
    async with session.post(
        base + QUERY_CALL_STATE_PATH, json={"callSerialNo": DEMO_CALL_SERIAL_NO}, headers=headers
    ) as resp:
        assert resp.status == 401
        assert await resp.text() == UNAUTHORIZED_TEXT


async def test_query_call_state_rejects_token_past_its_lifetime(
    session: aiohttp.ClientSession, base: str, huawei: HuaweiEmulator
) -> None:
    clock = ManualClock()
    huawei.clock = clock
    token = await fetch_token(session, base, lifetime="60")
    clock.advance(59)
    status, _, _ = await query(session, base, token, {"callSerialNo": DEMO_CALL_SERIAL_NO})
    assert status == 200
    clock.advance(1)
    status, _, _ = await query(session, base, token, {"callSerialNo": DEMO_CALL_SERIAL_NO})
    assert status == 401


async def test_query_call_state_rejects_tokens_expired_by_control(
    session: aiohttp.ClientSession, base: str, emulator_server: EmulatorServer
) -> None:
    first = await fetch_token(session, base)
    emulator_server.control.expire_tokens("huawei")
    status, _, _ = await query(session, base, first, {"callSerialNo": DEMO_CALL_SERIAL_NO})
    assert status == 401
    second = await fetch_token(session, base)
    async with session.post(f"{emulator_server.url}/_emulator/expire-tokens/huawei") as resp:
        assert resp.status == 204
    status, _, _ = await query(session, base, second, {"callSerialNo": DEMO_CALL_SERIAL_NO})
    assert status == 401


async def test_query_call_state_rejects_another_apps_key(
    session: aiohttp.ClientSession, base: str
) -> None:
    token = await fetch_token(session, base)
    async with session.post(
        base + QUERY_CALL_STATE_PATH,
        json={"callSerialNo": DEMO_CALL_SERIAL_NO},
        headers={"Authorization": f"Bearer {token}", "X-APP-Key": "another-app"},
    ) as resp:
        assert resp.status == 401


async def test_create_call_requires_token(session: aiohttp.ClientSession, base: str) -> None:
    status, text = await create(session, base, "nope", {"caller": "1", "called": "2"})
    assert (status, text) == (401, UNAUTHORIZED_TEXT)


# -- queryCallState ------------------------------------------------------------------------


async def test_query_call_state_answers_seed_example(
    session: aiohttp.ClientSession, base: str
) -> None:
    token = await fetch_token(session, base)
    status, content_type, body = await query(
        session, base, token, {"callSerialNo": DEMO_CALL_SERIAL_NO}
    )
    assert status == 200
    assert content_type == JSON_TYPE
    assert body == (
        b'{"retMsg":"Query call state successfully","retCode":"0","result":{'
        b'"caller":"88889050","called":"88889060","callerPresent":"640003",'
        b'"startTime":1621823865000,"state":3,"reasonCode":0,"agentPresent":"640060",'
        b'"endTime":1621823872000}}'
    )


async def test_query_call_state_unknown_call_is_ret_code_1(
    session: aiohttp.ClientSession, base: str
) -> None:
    token = await fetch_token(session, base)
    status, content_type, body = await query(session, base, token, {"callSerialNo": "12345"})
    assert (status, content_type) == (200, JSON_TYPE)
    assert json.loads(body) == {"retMsg": "Failed to query the status.", "retCode": "1"}


@pytest.mark.parametrize(
    "body",
    [
        {"callSerialNo": "abc"},
        {"callSerialNo": "1" * 51},
        {"callSerialNo": int(DEMO_CALL_SERIAL_NO)},
        {"callSerialNo": ""},
        {},
    ],
)
async def test_query_call_state_bad_serial_is_ret_code_3(
    session: aiohttp.ClientSession, base: str, body: dict[str, Any]
) -> None:
    token = await fetch_token(session, base)
    status, _, raw = await query(session, base, token, body)
    assert status == 200
    assert json.loads(raw) == {"retMsg": "The format of the call SN is incorrect.", "retCode": "3"}


async def test_query_call_state_accepts_fifty_digit_serial(
    session: aiohttp.ClientSession, base: str
) -> None:
    token = await fetch_token(session, base)
    _, _, raw = await query(session, base, token, {"callSerialNo": "1" * 50})
    assert json.loads(raw)["retCode"] == "1"


@pytest.mark.parametrize("raw_body", [b"{", b"[]", b""])
async def test_query_call_state_malformed_body_is_400(
    session: aiohttp.ClientSession, base: str, raw_body: bytes
) -> None:
    token = await fetch_token(session, base)
    async with session.post(
        base + QUERY_CALL_STATE_PATH,
        data=raw_body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    ) as resp:
        assert resp.status == 400
        assert await resp.text() == BAD_REQUEST_TEXT


async def test_unknown_path_and_wrong_method_are_refused(
    session: aiohttp.ClientSession, base: str
) -> None:
    async with session.post(base + "/apiaccess/CC-Management/v1/mobileAgent/nope") as resp:
        assert resp.status == 404
    async with session.get(base + QUERY_CALL_STATE_PATH) as resp:
        assert resp.status == 405


# -- createCall ----------------------------------------------------------------------------


async def test_create_call_adds_a_call_to_be_called(
    session: aiohttp.ClientSession, base: str, huawei: HuaweiEmulator
) -> None:
    token = await fetch_token(session, base)
    status, answer = await create(
        session,
        base,
        token,
        {
            "caller": "88881234",
            "called": "60001234",
            "agentWorkNo": 101,
            "callData": "order-7",
            "callerPresent": "640003",
            "agentPresent": "640060",
            "callBackUrl": "https://crm.example/huawei",
        },
    )
    assert status == 200
    assert answer["retCode"] == "0"
    # Quirk: V1 types callSerialNo as a number (zh cec_07_1303 Table 3), all digits kept.
    number = answer["result"]["callSerialNo"]
    assert isinstance(number, int)
    serial = str(number)
    call = huawei.calls.get(serial)
    assert call is not None
    assert (call.state, call.agent_work_no, call.call_back_url) == (
        TO_BE_CALLED,
        "101",
        "https://crm.example/huawei",
    )
    _, _, raw = await query(session, base, token, {"callSerialNo": serial})
    assert json.loads(raw)["result"] == {
        "caller": "88881234",
        "called": "60001234",
        "callerPresent": "640003",
        "state": 0,
        "agentPresent": "640060",
        "callData": "order-7",
    }


@pytest.mark.parametrize(
    "body",
    [
        {"caller": "8888-1234", "called": "60001234"},
        {"caller": "88881234"},
        {"caller": 88881234, "called": "60001234"},
        {"caller": "88881234", "called": "6" * 33},
        {"caller": "88881234", "called": "60001234", "callerPresent": "+640003"},
    ],
)
async def test_create_call_refuses_bad_numbers_with_ret_code_5(
    session: aiohttp.ClientSession, base: str, huawei: HuaweiEmulator, body: dict[str, Any]
) -> None:
    calls_before = len(huawei.calls)
    token = await fetch_token(session, base)
    status, answer = await create(session, base, token, body)
    assert status == 200
    assert answer["retCode"] == "5"
    assert len(huawei.calls) == calls_before


async def test_create_call_refuses_long_call_data_with_ret_code_2(
    session: aiohttp.ClientSession, base: str
) -> None:
    token = await fetch_token(session, base)
    body = {"caller": "88881234", "called": "60001234", "callData": "x" * 1025}
    status, answer = await create(session, base, token, body)
    assert (status, answer["retCode"]) == (200, "2")


@pytest.mark.parametrize("agent_work_no", [123456, "12a", True, 1.5])
async def test_create_call_malformed_agent_work_no_is_400(
    session: aiohttp.ClientSession, base: str, agent_work_no: object
) -> None:
    token = await fetch_token(session, base)
    body = {"caller": "88881234", "called": "60001234", "agentWorkNo": agent_work_no}
    status, text = await create(session, base, token, body)
    assert (status, text) == (400, BAD_REQUEST_TEXT)


# -- call store and simulator --------------------------------------------------------------


def test_call_store_set_state_stamps_times_once(huawei: HuaweiEmulator) -> None:
    clock = ManualClock(1000.0)
    huawei.clock = clock
    call = huawei.calls.add_call("88881234", "60001234")
    assert (call.start_time, call.end_time, call.reason_code) == (None, None, None)
    huawei.calls.set_state(call.call_serial_no, CALLING)
    clock.now = 1001.5
    huawei.calls.set_state(call.call_serial_no, TALKING)
    clock.now = 1010.0
    huawei.calls.end_call(call.call_serial_no, 1)
    clock.now = 1020.0
    huawei.calls.end_call(call.call_serial_no, 5)
    assert (call.state, call.reason_code) == (ENDED, 1)
    assert (call.start_time, call.end_time) == (1_000_000, 1_010_000)


def test_call_store_sets_raw_state_and_reason_code(huawei: HuaweiEmulator) -> None:
    call = huawei.calls.add_call("88881234", "60001234")
    huawei.calls.set_state(call.call_serial_no, 9, reason_code=17)
    huawei.calls.set_reason_code(call.call_serial_no, 42)
    assert (call.state, call.reason_code) == (9, 42)


def test_call_store_unknown_call_raises_key_error(huawei: HuaweiEmulator) -> None:
    with pytest.raises(KeyError):
        huawei.calls.set_state("404", ENDED)


def test_call_store_refuses_duplicate_serial(huawei: HuaweiEmulator) -> None:
    with pytest.raises(ValueError, match="already exists"):
        huawei.calls.add_call("1", "2", call_serial_no=DEMO_CALL_SERIAL_NO)


async def test_simulate_call_reaches_ended(huawei: HuaweiEmulator) -> None:
    before = {call.call_serial_no for call in huawei.calls}
    await asyncio.gather(*(huawei.simulate_call(random.Random(seed), 0.001) for seed in range(40)))
    simulated = [call for call in huawei.calls if call.call_serial_no not in before]
    assert len(simulated) == 40
    for call in simulated:
        assert call.state == ENDED
        assert call.reason_code is not None
        assert call.start_time is not None
        assert call.end_time is not None
        assert call.start_time <= call.end_time


async def test_run_lifecycle_keeps_an_end_made_elsewhere(huawei: HuaweiEmulator) -> None:
    call = huawei.calls.add_call("88881234", "60001234")
    lifecycle = asyncio.create_task(
        huawei.run_lifecycle(call.call_serial_no, random.Random(1), 0.001)
    )
    huawei.calls.end_call(call.call_serial_no, 6)
    await lifecycle
    assert (call.state, call.reason_code) == (ENDED, 6)
