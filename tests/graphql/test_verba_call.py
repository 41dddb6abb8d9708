"""A Verba recording read by its id through GraphQL: GetCallURL's link as `url`, an
unknown CallID as NOT_FOUND, the seed's `recording` lookup without a URL."""

from __future__ import annotations

from app.calls import Vendor
from tests.demo import DEMO_IDS, UNKNOWN_IDS
from tests.graphql.conftest import Gateway

CALL = """query($id: ID!) {
  call(id: $id) { id state vendorState ... on VerbaCall { callId url } }
}"""


async def test_call_by_id_answers_the_recording_url(gateway: Gateway) -> None:
    body = await gateway.client.execute(CALL, {"id": DEMO_IDS[Vendor.VERBA]})

    assert "errors" not in body, body
    assert body["data"]["call"] == {
        "id": "verba:a8343631-9f35-4a3a-83f0-9e81592339fb",
        "state": "UNKNOWN",
        "vendorState": None,
        "callId": "a8343631-9f35-4a3a-83f0-9e81592339fb",
        # The Call detail URL page's form, under the emulator's Verba base URL.
        "url": gateway.emulator.url
        + "/verba/verba/gwtCallDetail.do?ccdrId=a8343631-9f35-4a3a-83f0-9e81592339fb",
    }


async def test_unknown_call_id_is_not_found(gateway: Gateway) -> None:
    body = await gateway.client.execute(CALL, {"id": UNKNOWN_IDS[Vendor.VERBA]})

    assert body["data"]["call"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["NOT_FOUND"]
    assert body["errors"][0]["extensions"]["vendor"] == "verba"


async def test_recording_lookup_has_no_url(gateway: Gateway) -> None:
    body = await gateway.client.execute('{ recording(extension: "8856") { callId url } }')

    assert body == {
        "data": {"recording": {"callId": "a8343631-9f35-4a3a-83f0-9e81592339fb", "url": None}}
    }
