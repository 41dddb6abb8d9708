"""The Huawei CEC emulator's documented variants and createCall refusals, spoken to directly
over loopback HTTP (VENDORS.md §6; support.huaweicloud.com api-ccfs-cec / intl api-cec)."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from app.emulators import DEMO_CREDENTIALS
from app.emulators.huawei import (
    CREATE_CALL_PATH,
    CREATE_CALL_V3_PATH,
    DEMO_CALL_SERIAL_NO,
    DEMO_SOFT_PHONE,
    QUERY_CALL_STATE_PATH,
    TOKEN_HOST_PREFIX,
    TOKEN_PATH,
    HuaweiEmulator,
)
from tests.conftest import EmulatorServer

CREDENTIALS = DEMO_CREDENTIALS["huawei"]
NOT_FOUND_TEXT = "The requested content is not found. Check the request path."


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


async def token(session: aiohttp.ClientSession, url: str) -> str:
    async with session.post(url + TOKEN_PATH, json=dict(CREDENTIALS)) as resp:
        assert resp.status == 200
        answer = await resp.json(content_type=None)
    assert isinstance(answer["AccessToken"], str)
    return answer["AccessToken"]


async def post(
    session: aiohttp.ClientSession, url: str, access_token: str, body: dict[str, Any]
) -> tuple[int, bytes]:
    async with session.post(
        url, json=body, headers={"Authorization": f"Bearer {access_token}"}
    ) as resp:
        return resp.status, await resp.read()


async def create(
    session: aiohttp.ClientSession, base: str, body: dict[str, Any], *, path: str = CREATE_CALL_PATH
) -> dict[str, Any]:
    status, raw = await post(session, base + path, await token(session, base), body)
    assert status == 200
    answer = json.loads(raw)
    assert isinstance(answer, dict)
    return answer


# -- token-port (zh cec_07_0002: tokenByAkSk at https://<domain>:28070/...) ----------------


async def test_token_port_serves_tokens_only_on_the_token_host(
    session: aiohttp.ClientSession, base: str, huawei: HuaweiEmulator
) -> None:
    huawei.select_variant("token-port")
    async with session.post(base + TOKEN_PATH, json=dict(CREDENTIALS)) as resp:
        assert resp.status == 404
        assert await resp.text() == NOT_FOUND_TEXT
    access_token = await token(session, base + TOKEN_HOST_PREFIX)
    status, raw = await post(
        session, base + QUERY_CALL_STATE_PATH, access_token, {"callSerialNo": DEMO_CALL_SERIAL_NO}
    )
    assert (status, json.loads(raw)["retCode"]) == (200, "0")


async def test_default_has_no_separate_token_host(
    session: aiohttp.ClientSession, base: str
) -> None:
    async with session.post(base + TOKEN_HOST_PREFIX + TOKEN_PATH, json=dict(CREDENTIALS)) as resp:
        assert resp.status == 404


def test_tenant_options_name_what_each_variant_needs(huawei: HuaweiEmulator) -> None:
    assert huawei.tenant_options("http://x/huawei") == {"url": "http://x/huawei"}
    huawei.select_variant("token-port")
    assert huawei.tenant_options("http://x/huawei") == {
        "url": "http://x/huawei",
        "token_url": "http://x/huawei/_token_host",
    }
    huawei.select_variant("v3")
    assert huawei.tenant_options("http://x/huawei") == {
        "url": "http://x/huawei",
        "api_version": "v3",
        "soft_phone": "88880001",
    }


async def test_unknown_path_is_the_gateways_404(session: aiohttp.ClientSession, base: str) -> None:
    async with session.post(base + "/apiaccess/CC-Management/v2/mobileAgent/createCall") as resp:
        assert resp.status == 404
        assert await resp.text() == NOT_FOUND_TEXT


# -- createCall V1 vs V3 -------------------------------------------------------------------


async def test_create_call_v1_answers_serial_as_a_json_number(
    session: aiohttp.ClientSession, base: str, huawei: HuaweiEmulator
) -> None:
    status, raw = await post(
        session,
        base + CREATE_CALL_PATH,
        await token(session, base),
        {"caller": "88881234", "called": "60001234"},
    )
    assert status == 200
    [call] = [c for c in huawei.calls if c.called == "60001234"]
    # zh cec_07_1303 Table 3: callSerialNo "number"; every digit on the wire, unquoted.
    assert f'"callSerialNo":{call.call_serial_no}}}'.encode() in raw
    assert int(call.call_serial_no) > 2**53


async def test_create_call_v3_needs_soft_phone_and_answers_a_string(
    session: aiohttp.ClientSession, base: str, huawei: HuaweiEmulator
) -> None:
    answer = await create(session, base, {"called": "60001234"}, path=CREATE_CALL_V3_PATH)
    assert answer["retCode"] == "5"
    answer = await create(
        session,
        base,
        {"softPhone": DEMO_SOFT_PHONE, "called": "60001234"},
        path=CREATE_CALL_V3_PATH,
    )
    assert answer["retCode"] == "0"
    serial = answer["result"]["callSerialNo"]
    assert isinstance(serial, str)  # cec_07_0053: string(50)
    call = huawei.calls.get(serial)
    assert call is not None
    assert (call.caller, call.soft_phone) == (DEMO_SOFT_PHONE, DEMO_SOFT_PHONE)


async def test_v3_tenant_has_no_v1_path(
    session: aiohttp.ClientSession, base: str, huawei: HuaweiEmulator
) -> None:
    huawei.select_variant("v3")
    status, raw = await post(
        session,
        base + CREATE_CALL_PATH,
        await token(session, base),
        {"caller": "88881234", "called": "60001234"},
    )
    assert (status, raw.decode()) == (404, NOT_FOUND_TEXT)


# -- createCall refusals (cec_07_1303 / cec_07_0053 Table 3, Table 4) ----------------------


async def test_create_call_same_task_twice_is_ret_code_1(
    session: aiohttp.ClientSession, base: str, huawei: HuaweiEmulator
) -> None:
    body = {"caller": "88881234", "called": "60001234"}
    assert (await create(session, base, body))["retCode"] == "0"
    assert (await create(session, base, body))["retCode"] == "1"
    [call] = [c for c in huawei.calls if c.called == "60001234"]
    huawei.calls.end_call(call.call_serial_no)
    assert (await create(session, base, body))["retCode"] == "0"  # that task is over


async def test_create_call_tenant_refusals(
    session: aiohttp.ClientSession, base: str, huawei: HuaweiEmulator
) -> None:
    body = {"caller": "88881234", "called": "60001234"}
    huawei.tenant.serial_allocation_fails = True
    assert (await create(session, base, body))["retCode"] == "3"
    huawei.tenant.vdn_available = False
    assert (await create(session, base, body))["retCode"] == "6"
    huawei.tenant.vdn_available = True
    # The caller must be one of the tenant's mobile-agent softphone numbers.
    assert (await create(session, base, {**body, "caller": "13912345678"}))["retCode"] == "8"
    assert len(huawei.calls) == 1  # only the seed's call


async def test_trial_tenant_refusals(
    session: aiohttp.ClientSession, base: str, huawei: HuaweiEmulator
) -> None:
    huawei.select_variant("trial")
    huawei.tenant.trial_daily_limit = 2
    not_whitelisted = {"caller": "88885555", "called": "60001234"}
    assert (await create(session, base, not_whitelisted))["retCode"] == "16"
    for called in ("60000001", "60000002"):
        answer = await create(session, base, {"caller": "88881234", "called": called})
        assert answer["retCode"] == "0"
    answer = await create(session, base, {"caller": "88881234", "called": "60000003"})
    assert answer["retCode"] == "21"


async def test_ita_tenant_refuses_fields_ita_does_not_support(
    session: aiohttp.ClientSession, base: str, huawei: HuaweiEmulator
) -> None:
    huawei.select_variant("ita")
    for extra in ({"callData": "x"}, {"callerPresent": "640003"}, {"agentPresent": "640060"}):
        answer = await create(session, base, {"caller": "88881234", "called": "60001234", **extra})
        assert answer == {"retMsg": "Invalid Input Parameter", "retCode": "90100100"}
    huawei.tenant.ita_barred_callees.add("60009999")
    answer = await create(session, base, {"caller": "88881234", "called": "60009999"})
    assert answer == {"retMsg": "Callee forbid", "retCode": "90106012"}
    answer = await create(session, base, {"caller": "88881234", "called": "60001234"})
    assert answer["retCode"] == "0"


# -- gzip and string times -----------------------------------------------------------------


async def test_gzip_variant_compresses_every_json_reply(base: str, huawei: HuaweiEmulator) -> None:
    huawei.select_variant("gzip")
    async with aiohttp.ClientSession(auto_decompress=False) as raw_session:
        async with raw_session.post(
            base + TOKEN_PATH, json=dict(CREDENTIALS), headers={"Accept-Encoding": "identity"}
        ) as resp:
            assert resp.headers["Content-Encoding"] == "gzip"
            answer = json.loads(gzip.decompress(await resp.read()))
        async with raw_session.post(
            base + QUERY_CALL_STATE_PATH,
            json={"callSerialNo": DEMO_CALL_SERIAL_NO},
            headers={"Authorization": f"Bearer {answer['AccessToken']}"},
        ) as resp:
            assert resp.headers["Content-Encoding"] == "gzip"
            assert json.loads(gzip.decompress(await resp.read()))["retCode"] == "0"
        async with raw_session.post(base + QUERY_CALL_STATE_PATH, json={}) as resp:
            assert resp.status == 401
            assert "Content-Encoding" not in resp.headers  # a plain-text refusal


async def test_string_times_variant_sends_times_as_strings(
    session: aiohttp.ClientSession, base: str, huawei: HuaweiEmulator
) -> None:
    huawei.select_variant("string-times")
    status, raw = await post(
        session,
        base + QUERY_CALL_STATE_PATH,
        await token(session, base),
        {"callSerialNo": DEMO_CALL_SERIAL_NO},
    )
    assert status == 200
    result = json.loads(raw)["result"]
    assert (result["startTime"], result["endTime"]) == ("1621823865000", "1621823872000")
    assert result["state"] == 3
