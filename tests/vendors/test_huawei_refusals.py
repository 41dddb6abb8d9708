"""Huawei CEC business refusals (HTTP 200, retCode ≠ "0") as the domain errors a user
expects. Expected codes are literals chosen from the pages' meaning of each retCode
(cec_07_1303 / cec_07_0053 Table 3 and Table 4, seed 001 Table 3), never read from the
adapter's table."""

from __future__ import annotations

import pytest

from app.calls import HuaweiCall, Vendor
from app.emulators import DEMO_CREDENTIALS, Fault
from app.emulators.huawei import DEMO_CALL_SERIAL_NO
from app.errors import VendorUnavailable
from app.vendors.huawei import HuaweiAdapter
from app.vendors.huawei.mapping import ret_code_from_wire
from app.vendors.huawei.refusals import create_call_refusal, query_refusal
from tests.adapters import fetch_one
from tests.conftest import EmulatorServer, VendorHttpFactory


@pytest.mark.parametrize(
    ("ret_code", "ret_msg", "code"),
    [
        ("1", "task exists", "INVALID_STATE"),
        ("2", "call data", "BAD_USER_INPUT"),
        ("3", "no serial", "VENDOR_UNAVAILABLE"),
        ("5", "number format", "BAD_USER_INPUT"),
        ("6", "VDN unavailable", "VENDOR_UNAVAILABLE"),
        ("8", "caller out of range", "BAD_USER_INPUT"),
        ("16", "trial whitelist", "FORBIDDEN"),
        ("21", "trial daily limit", "FORBIDDEN"),
        # Table 4, ITA bidirectional calls: retMsg as the table gives it.
        ("90100100", "Invalid Input Parameter", "BAD_USER_INPUT"),
        ("90100200", "Auth Failed", "FORBIDDEN"),
        ("90100300", "Bad Request", "BAD_USER_INPUT"),
        ("90100400", "Not found", "VENDOR_UNAVAILABLE"),
        ("90100600", "Internal Server Error", "VENDOR_UNAVAILABLE"),
        ("90102001", "Insufficient Balance", "FORBIDDEN"),
        ("90102002", "Request Restriction", "FORBIDDEN"),
        ("90104001", "Insufficient Permission", "FORBIDDEN"),
        ("90104003", "Request Forbidden", "FORBIDDEN"),
        ("90104004", "Service Unavailable", "NOT_SUPPORTED"),
        ("90104008", "Service Process Failure", "VENDOR_UNAVAILABLE"),
        ("90104029", "Too Many Requests", "VENDOR_UNAVAILABLE"),
        ("90106001", "Binding relationship already exists", "INVALID_STATE"),
        ("90106002", "Binding relationship not exists", "VENDOR_UNAVAILABLE"),
        ("90106003", "Insufficient Number resources", "VENDOR_UNAVAILABLE"),
        ("90106004", "No corresponding number found", "VENDOR_UNAVAILABLE"),
        ("90106005", "Inconsistent binding data", "VENDOR_UNAVAILABLE"),
        ("90106006", "Other Error", "VENDOR_UNAVAILABLE"),
        ("90106010", "Policy Forbid", "FORBIDDEN"),
        ("90106011", "Caller Forbid", "FORBIDDEN"),
        ("90106012", "Callee forbid", "FORBIDDEN"),
        ("99", "undocumented", "VENDOR_UNAVAILABLE"),
    ],
)
def test_create_call_refusal_code_and_message(ret_code: str, ret_msg: str, code: str) -> None:
    error = create_call_refusal(ret_code, ret_msg)
    assert error.extensions == {"code": code, "vendor": "huawei"}
    assert ret_msg in error.message
    assert f"(retCode {ret_code})" in error.message


def test_create_call_refusal_bounds_the_vendors_message() -> None:
    error = create_call_refusal("5", "x" * 5000)
    assert "x" * 200 in error.message
    assert "x" * 201 not in error.message
    assert "no message" in create_call_refusal("5", None).message


@pytest.mark.parametrize(
    ("ret_code", "code"), [("1", "NOT_FOUND"), ("3", "BAD_USER_INPUT"), ("7", "VENDOR_UNAVAILABLE")]
)
def test_query_refusal_code(ret_code: str, code: str) -> None:
    # seed 001: 1 "Failed to query the status", 3 "The format of the call SN is incorrect".
    error = query_refusal("42", ret_code, "message")
    assert error.extensions == {"code": code, "vendor": "huawei"}
    assert "42" in error.message


def test_ret_code_as_a_number_reads_as_text() -> None:
    assert ret_code_from_wire({"retCode": 5}) == "5"
    assert ret_code_from_wire({"retCode": " 0 "}) == "0"
    assert ret_code_from_wire({}) is None


async def test_reply_that_is_not_json_fails_each_call_alone(
    vendor_http: VendorHttpFactory, emulator_server: EmulatorServer
) -> None:
    credentials = DEMO_CREDENTIALS["huawei"]
    adapter = HuaweiAdapter(
        vendor_http(Vendor.HUAWEI),
        app_key=credentials["app_key"],
        app_secret=credentials["app_secret"],
    )
    await fetch_one(adapter, DEMO_CALL_SERIAL_NO, HuaweiCall)  # a token in hand
    emulator_server.control.set_fault("huawei", Fault(status=200))  # 200 "emulated HTTP 200"
    results = await adapter.fetch_many([DEMO_CALL_SERIAL_NO, "999"])
    assert [type(result) for result in results] == [VendorUnavailable, VendorUnavailable]
    assert all(
        "not JSON" in result.message for result in results if isinstance(result, VendorUnavailable)
    )
