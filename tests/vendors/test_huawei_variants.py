"""The Huawei CEC adapter against each documented variant of the emulator (VENDORS.md §6):
the token host apart from the API, createCall V1 and V3, createCall refusals, gzip, and
queryCallState results of every shape."""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest

from app.adapters import StartCall
from app.calls import CallState, HuaweiCall, Vendor
from app.config import Settings
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
from app.errors import BadUserInput, SwitchboardError, VendorUnavailable
from app.vendors.huawei import HuaweiAdapter
from app.vendors.huawei.mapping import call_serial_no_from_wire
from app.vendors.registry import build_adapters
from tests.adapters import fetch_one
from tests.clock import ManualClock
from tests.conftest import EmulatorServer, VendorHttpFactory

CREDENTIALS = DEMO_CREDENTIALS["huawei"]
MakeAdapter = Callable[..., HuaweiAdapter]


@pytest.fixture
def huawei(emulator_server: EmulatorServer) -> HuaweiEmulator:
    return emulator_server.emulator(HuaweiEmulator)


@pytest.fixture
async def make_adapter(vendor_http: VendorHttpFactory) -> Any:
    made: list[HuaweiAdapter] = []

    def make(**options: Any) -> HuaweiAdapter:
        adapter = HuaweiAdapter(
            vendor_http(Vendor.HUAWEI),
            app_key=CREDENTIALS["app_key"],
            app_secret=CREDENTIALS["app_secret"],
            **options,
        )
        made.append(adapter)
        return adapter

    yield make
    for adapter in made:
        await adapter.close()


def paths(server: EmulatorServer, contains: str) -> list[str]:
    return [r.path for r in server.control.requests if contains in r.path]


# -- token_url (zh cec_07_0002: tokenByAkSk on https://<domain>:28070) --------------------


async def test_token_url_sends_token_requests_to_the_token_host(
    make_adapter: MakeAdapter, huawei: HuaweiEmulator, emulator_server: EmulatorServer
) -> None:
    huawei.select_variant("token-port")
    base = emulator_server.base_url("huawei")
    adapter = make_adapter(token_url=base + TOKEN_HOST_PREFIX)
    await fetch_one(adapter, DEMO_CALL_SERIAL_NO, HuaweiCall)
    assert paths(emulator_server, TOKEN_PATH) == ["/huawei/_token_host" + TOKEN_PATH]
    assert paths(emulator_server, QUERY_CALL_STATE_PATH) == ["/huawei" + QUERY_CALL_STATE_PATH]


async def test_token_url_may_be_the_whole_token_endpoint(
    make_adapter: MakeAdapter, huawei: HuaweiEmulator, emulator_server: EmulatorServer
) -> None:
    huawei.select_variant("token-port")
    whole = emulator_server.base_url("huawei") + TOKEN_HOST_PREFIX + TOKEN_PATH + "/"
    adapter = make_adapter(token_url=whole)
    await fetch_one(adapter, DEMO_CALL_SERIAL_NO, HuaweiCall)
    assert paths(emulator_server, TOKEN_PATH) == ["/huawei/_token_host" + TOKEN_PATH]


async def test_token_port_tenant_without_token_url_names_the_option(
    make_adapter: MakeAdapter, huawei: HuaweiEmulator
) -> None:
    huawei.select_variant("token-port")
    with pytest.raises(VendorUnavailable) as caught:
        await make_adapter().fetch_many([DEMO_CALL_SERIAL_NO])
    assert "HTTP 404" in caught.value.message
    assert "SWITCHBOARD_HUAWEI_TOKEN_URL" in caught.value.message


async def test_token_from_token_host_is_refreshed_before_expiry_and_once_on_401(
    make_adapter: MakeAdapter, huawei: HuaweiEmulator, emulator_server: EmulatorServer
) -> None:
    huawei.select_variant("token-port")
    vendor_clock, our_clock = ManualClock(), ManualClock(50.0)
    huawei.clock = vendor_clock
    adapter = make_adapter(
        token_url=emulator_server.base_url("huawei") + TOKEN_HOST_PREFIX,
        token_lifetime="120",  # as SWITCHBOARD_HUAWEI_TOKEN_LIFETIME gives it: text
        clock=our_clock,
    )
    await fetch_one(adapter, DEMO_CALL_SERIAL_NO, HuaweiCall)
    [issued] = huawei.tokens.values()
    assert issued.expires_at == vendor_clock.now + 120  # X-Token-Expire: 120
    for clock in (vendor_clock, our_clock):
        clock.advance(95)  # 25 s before the vendor would refuse it
    await fetch_one(adapter, DEMO_CALL_SERIAL_NO, HuaweiCall)
    assert len(paths(emulator_server, TOKEN_PATH)) == 2
    emulator_server.control.expire_tokens("huawei")
    await fetch_one(adapter, DEMO_CALL_SERIAL_NO, HuaweiCall)
    assert len(paths(emulator_server, TOKEN_PATH)) == 3
    assert len(paths(emulator_server, QUERY_CALL_STATE_PATH)) == 4  # one refused, resent once


async def test_token_url_from_the_environment_reaches_the_adapter(
    huawei: HuaweiEmulator, emulator_server: EmulatorServer
) -> None:
    huawei.select_variant("token-port")
    base = emulator_server.base_url("huawei")
    settings = Settings.from_env(
        {
            "SWITCHBOARD_HUAWEI_URL": base,
            "SWITCHBOARD_HUAWEI_TOKEN_URL": base + TOKEN_HOST_PREFIX,
            "SWITCHBOARD_HUAWEI_APP_KEY": CREDENTIALS["app_key"],
            "SWITCHBOARD_HUAWEI_APP_SECRET": CREDENTIALS["app_secret"],
            "SWITCHBOARD_AUTH": "none",
        }
    )
    adapters = build_adapters(settings)
    try:
        [call] = await adapters[Vendor.HUAWEI].fetch_many([DEMO_CALL_SERIAL_NO])
    finally:
        await adapters.close()
    assert isinstance(call, HuaweiCall)
    assert paths(emulator_server, TOKEN_PATH) == ["/huawei/_token_host" + TOKEN_PATH]


@pytest.mark.parametrize(
    ("option", "value", "complaint"),
    [
        ("token_url", "cec.example:28070", "http"),
        ("api_version", "v2", "v1 or v3"),
        ("token_lifetime", "3601", "3600"),
        ("token_lifetime", "ten minutes", "3600"),
    ],
)
def test_bad_options_are_refused_at_start(
    vendor_http: VendorHttpFactory, option: str, value: str, complaint: str
) -> None:
    options: dict[str, Any] = {option: value}
    with pytest.raises(ValueError, match=complaint):
        HuaweiAdapter(vendor_http(Vendor.HUAWEI), app_key="a", app_secret="s", **options)


# -- createCall V1 and V3 ------------------------------------------------------------------


async def test_v1_create_call_keeps_every_digit_of_a_numeric_serial(
    make_adapter: MakeAdapter, huawei: HuaweiEmulator
) -> None:
    serial = await make_adapter().create_call("88881234", "60001234")
    [call] = [c for c in huawei.calls if c.called == "60001234"]
    assert serial == call.call_serial_no
    assert int(serial) > 2**53  # a double would have rounded it


def test_serial_number_reads_every_digit_of_json_numbers_and_strings() -> None:
    # The connect callback's example serial (zh cec_07_0067), as a V1 number and a V3 string.
    assert call_serial_no_from_wire(json.loads('{"callSerialNo":1197235857187927062}')) == (
        "1197235857187927062"
    )
    assert call_serial_no_from_wire({"callSerialNo": "1197235857187927062"}) == (
        "1197235857187927062"
    )
    assert call_serial_no_from_wire({"callSerialNo": 1.1972358571879271e18}) is None
    assert call_serial_no_from_wire({"callSerialNo": " "}) is None
    assert call_serial_no_from_wire({}) is None


async def test_v3_start_call_sends_soft_phone_to_the_v3_path(
    make_adapter: MakeAdapter, huawei: HuaweiEmulator, emulator_server: EmulatorServer
) -> None:
    huawei.select_variant("v3")
    adapter = make_adapter(api_version="v3", soft_phone=DEMO_SOFT_PHONE)
    serial = await adapter.start_call(
        StartCall(vendor=Vendor.HUAWEI, to="60001234", from_="13912345678")
    )
    call = huawei.calls.get(serial)
    assert call is not None
    assert (call.soft_phone, call.caller, call.called) == (
        DEMO_SOFT_PHONE,
        "13912345678",
        "60001234",
    )
    assert len(paths(emulator_server, CREATE_CALL_V3_PATH)) == 1
    assert paths(emulator_server, CREATE_CALL_PATH) == []
    assert (await fetch_one(adapter, serial, HuaweiCall)).state == CallState.DIALING


async def test_v3_start_call_without_from_calls_from_the_configured_soft_phone(
    make_adapter: MakeAdapter, huawei: HuaweiEmulator
) -> None:
    huawei.select_variant("v3")
    adapter = make_adapter(api_version="V3.0.0", soft_phone=DEMO_SOFT_PHONE)
    serial = await adapter.start_call(StartCall(vendor=Vendor.HUAWEI, to="60001234"))
    call = huawei.calls.get(serial)
    assert call is not None
    assert (call.soft_phone, call.caller) == (DEMO_SOFT_PHONE, DEMO_SOFT_PHONE)


async def test_v3_without_configured_soft_phone_calls_from_the_callers_softphone(
    make_adapter: MakeAdapter, huawei: HuaweiEmulator
) -> None:
    huawei.select_variant("v3")
    serial = await make_adapter(api_version="v3").create_call("88885678", "60001234")
    call = huawei.calls.get(serial)
    assert call is not None
    assert call.soft_phone == "88885678"


async def test_v3_refuses_what_v3_does_not_have_before_any_request(
    make_adapter: MakeAdapter, emulator_server: EmulatorServer
) -> None:
    adapter = make_adapter(api_version="v3")
    with pytest.raises(BadUserInput):
        await adapter.create_call("88881234", "60001234", agent_work_no="101")
    with pytest.raises(BadUserInput):
        await adapter.start_call(StartCall(vendor=Vendor.HUAWEI, to="60001234"))
    assert emulator_server.control.count("huawei") == 0


async def test_v1_adapter_on_a_v3_tenant_names_the_api_version_option(
    make_adapter: MakeAdapter, huawei: HuaweiEmulator, emulator_server: EmulatorServer
) -> None:
    huawei.select_variant("v3")
    with pytest.raises(VendorUnavailable) as caught:
        await make_adapter().create_call("88881234", "60001234")
    assert "SWITCHBOARD_HUAWEI_API_VERSION" in caught.value.message
    assert len(paths(emulator_server, CREATE_CALL_PATH)) == 1


# -- createCall refusals: the code a user expects, with the vendor's retMsg ----------------


def trial_limit_reached(huawei: HuaweiEmulator) -> None:
    huawei.select_variant("trial")
    huawei.tenant.trial_daily_limit = 0


@pytest.mark.parametrize(
    ("setup", "caller", "options", "code", "ret_code", "ret_msg"),
    [
        (lambda h: None, "+88881234", {}, "BAD_USER_INPUT", "5", "number format"),
        (lambda h: None, "88881234", {"call_data": "x" * 1025}, "BAD_USER_INPUT", "2", "1024"),
        (lambda h: None, "13912345678", {}, "BAD_USER_INPUT", "8", "softphone number range"),
        (
            lambda h: setattr(h.tenant, "serial_allocation_fails", True),
            "88881234",
            {},
            "VENDOR_UNAVAILABLE",
            "3",
            "No call serial number",
        ),
        (
            lambda h: setattr(h.tenant, "vdn_available", False),
            "88881234",
            {},
            "VENDOR_UNAVAILABLE",
            "6",
            "VDN is unavailable",
        ),
        (lambda h: h.select_variant("trial"), "88885555", {}, "FORBIDDEN", "16", "whitelisted"),
        (trial_limit_reached, "88881234", {}, "FORBIDDEN", "21", "10 bidirectional calls"),
        (
            lambda h: h.select_variant("ita"),
            "88881234",
            {"call_data": "order-7"},
            "BAD_USER_INPUT",
            "90100100",
            "Invalid Input Parameter",
        ),
        (
            lambda h: (h.select_variant("ita"), h.tenant.ita_barred_callees.add("60001234")),
            "88881234",
            {},
            "FORBIDDEN",
            "90106012",
            "Callee forbid",
        ),
    ],
    ids=["5", "2", "8", "3", "6", "16", "21", "ita-90100100", "ita-90106012"],
)
async def test_create_call_refusal_is_the_expected_code(
    make_adapter: MakeAdapter,
    huawei: HuaweiEmulator,
    emulator_server: EmulatorServer,
    setup: Callable[[HuaweiEmulator], object],
    caller: str,
    options: dict[str, str],
    code: str,
    ret_code: str,
    ret_msg: str,
) -> None:
    setup(huawei)
    calls_before = len(huawei.calls)
    with pytest.raises(SwitchboardError) as caught:
        await make_adapter().create_call(caller, "60001234", **options)
    assert caught.value.extensions == {"code": code, "vendor": "huawei"}
    assert ret_msg in caught.value.message
    assert f"(retCode {ret_code})" in caught.value.message
    assert len(paths(emulator_server, CREATE_CALL_PATH)) == 1  # sent once, never again
    assert len(huawei.calls) == calls_before


async def test_create_call_same_task_twice_is_invalid_state(make_adapter: MakeAdapter) -> None:
    adapter = make_adapter()
    await adapter.create_call("88881234", "60001234")
    with pytest.raises(SwitchboardError) as caught:
        await adapter.create_call("88881234", "60001234")
    assert caught.value.extensions["code"] == "INVALID_STATE"
    assert "(retCode 1)" in caught.value.message


# -- gzip (VENDORS.md §6: gateways in front of CEC may gzip replies) -----------------------


async def test_adapter_reads_gzipped_replies(
    make_adapter: MakeAdapter, huawei: HuaweiEmulator, emulator_server: EmulatorServer
) -> None:
    huawei.select_variant("gzip")
    adapter = make_adapter()
    call = await fetch_one(adapter, DEMO_CALL_SERIAL_NO, HuaweiCall)
    assert (call.state, call.caller) == (CallState.ENDED, "88889050")
    serial = await adapter.create_call("88881234", "60001234")
    assert huawei.calls.get(serial) is not None
    # The same replies really were gzipped on the wire.
    base = emulator_server.base_url("huawei")
    async with (
        aiohttp.ClientSession(auto_decompress=False) as raw_session,
        raw_session.post(base + TOKEN_PATH, json=dict(CREDENTIALS)) as resp,
    ):
        assert resp.headers["Content-Encoding"] == "gzip"
        assert "AccessToken" in json.loads(gzip.decompress(await resp.read()))


# -- queryCallState results of every shape -------------------------------------------------


async def test_string_times_read_like_numbers(
    make_adapter: MakeAdapter, huawei: HuaweiEmulator
) -> None:
    huawei.select_variant("string-times")
    call = await fetch_one(make_adapter(), DEMO_CALL_SERIAL_NO, HuaweiCall)
    # seed 001 example: 1621823865000 / 1621823872000 epoch ms.
    assert call.started_at == datetime(2021, 5, 24, 2, 37, 45, tzinfo=UTC)
    assert call.ended_at == datetime(2021, 5, 24, 2, 37, 52, tzinfo=UTC)


async def test_extra_and_missing_fields_are_tolerated(
    make_adapter: MakeAdapter, huawei: HuaweiEmulator
) -> None:
    record = huawei.calls.add_call("88881234", "60001234", call_data="order-7")
    huawei.calls.set_state(record.call_serial_no, 2)
    record.wire_overrides.update(
        {"callData": None, "startTime": None, "recordFile": {"path": "Y:/1/2"}, "vdn": 25}
    )
    call = await fetch_one(make_adapter(), record.call_serial_no, HuaweiCall)
    assert (call.state, call.vendor_state, call.caller) == (CallState.CONNECTED, "2", "88881234")
    assert (call.call_data, call.started_at) == (None, None)


async def test_state_as_digit_string_is_read(
    make_adapter: MakeAdapter, huawei: HuaweiEmulator
) -> None:
    record = huawei.calls.add_call("88881234", "60001234")
    record.wire_overrides["state"] = "1"
    call = await fetch_one(make_adapter(), record.call_serial_no, HuaweiCall)
    assert (call.state, call.vendor_state) == (CallState.RINGING, "1")


async def test_unreadable_field_is_null_and_logged_once(
    make_adapter: MakeAdapter, huawei: HuaweiEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    record = huawei.calls.add_call("88881234", "60001234", agent_present="640060")
    record.wire_overrides.update({"agentPresent": ["640060"], "reasonCode": "busy"})
    adapter = make_adapter()
    with caplog.at_level(logging.WARNING, logger="switchboard.vendors"):
        first = await fetch_one(adapter, record.call_serial_no, HuaweiCall)
        second = await fetch_one(adapter, record.call_serial_no, HuaweiCall)
    assert first == second
    assert (first.agent_present, first.reason_code, first.reason) == (None, None, None)
    assert first.state == CallState.DIALING
    warnings = [r.getMessage() for r in caplog.records if "agentPresent" in r.getMessage()]
    assert warnings == [
        "huawei sent field 'agentPresent' as array where a string was expected; it reads as null"
    ]
    assert "640060" not in caplog.text  # the shape is logged, never the value


@pytest.mark.parametrize("odd_state", [None, "talking", [2], {"code": 2}])
async def test_result_without_usable_state_fails_that_call_alone(
    make_adapter: MakeAdapter, huawei: HuaweiEmulator, odd_state: object
) -> None:
    record = huawei.calls.add_call("88881234", "60001234")
    record.wire_overrides["state"] = odd_state
    odd, demo = await make_adapter().fetch_many([record.call_serial_no, DEMO_CALL_SERIAL_NO])
    assert isinstance(odd, VendorUnavailable)
    assert odd.extensions == {"code": "VENDOR_UNAVAILABLE", "vendor": "huawei"}
    assert record.call_serial_no in odd.message
    assert isinstance(demo, HuaweiCall)
