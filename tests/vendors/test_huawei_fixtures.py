"""Every example body on the Huawei CEC pages, verbatim (whitespace included), parsed by the
adapter's own readers. Expected values are the pages' literals."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from app.calls import CallId, CallState, HuaweiCall, Vendor
from app.vendors.huawei.mapping import huawei_call_from_wire, ret_code_from_wire
from app.vendors.huawei.session import token_from_answer

# seed 001 (queryCallState, "Example"), request parameters.
SEED_QUERY_REQUEST = '{ "callSerialNo": "645735364434067472" }'

# seed 001 (queryCallState, "Example"), response parameters.
SEED_QUERY_RESPONSE = (
    '{ "retMsg": "Query call state successfully", "retCode": "0", "result": { "caller": '
    '"88889050", "called": "88889060", "callerPresent": "640003", "startTime": 1621823865000, '
    '"state": 3, "reasonCode": 0, "agentPresent": "640060", "endTime": 1621823872000 } }'
)

# support.huaweicloud.com/api-ccfs-cec/cec_07_0002 (zh) and intl/en-us/api-cec/cec_07_0002
# (en), "Response Parameters" of tokenByAkSk; the same body on devg-webclint-cec/cec_05_2007.
TOKEN_RESPONSE = """{
"AccessToken": "zzzzzzzzzzzzzzzzzz",
"ApplyType": "Bearer",
"CreateTime": "1545650171",
"Expires": "600",
"Scope": "XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
"AppKey": "xxxxxxxxxxxxxxxxx",
"UserID": "Anonymous"
}"""

# The same pages, "Request Parameters" of tokenByAkSk (what the adapter sends).
TOKEN_REQUEST = """{
"app_key": "xxxxxxxxxxxxxxxx",
"app_secret": "yyyyyyyyyyyyyyyyyy"
}"""


def test_seed_query_call_state_response_parses_to_the_pages_values() -> None:
    serial = json.loads(SEED_QUERY_REQUEST)["callSerialNo"]
    answer = json.loads(SEED_QUERY_RESPONSE)
    assert ret_code_from_wire(answer) == "0"
    assert huawei_call_from_wire(serial, answer["result"]) == HuaweiCall(
        call_id=CallId(Vendor.HUAWEI, "645735364434067472"),
        state=CallState.ENDED,  # state 3: ended
        vendor_state="3",
        started_at=datetime(2021, 5, 24, 2, 37, 45, tzinfo=UTC),  # 1621823865000 ms
        ended_at=datetime(2021, 5, 24, 2, 37, 52, tzinfo=UTC),  # 1621823872000 ms
        call_serial_no="645735364434067472",
        reason_code=0,
        reason="Callee hung up",  # 0: the call ends and the called party hangs up
        call_data=None,
        caller="88889050",
        called="88889060",
        caller_present="640003",
        agent_present="640060",
    )


def test_token_response_gives_the_token_and_its_lifetime() -> None:
    assert token_from_answer(json.loads(TOKEN_RESPONSE), 3600) == ("zzzzzzzzzzzzzzzzzz", 600.0)


def test_token_request_has_the_keys_the_adapter_sends() -> None:
    # The adapter's token body (session._fetch_token) uses exactly these two keys.
    assert sorted(json.loads(TOKEN_REQUEST)) == ["app_key", "app_secret"]
