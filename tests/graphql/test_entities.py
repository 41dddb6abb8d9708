"""Federation `_entities`: every vendor type and the `Call` interface resolve references
through the same per-request loaders as queries."""

from __future__ import annotations

import pytest

from app.calls import Vendor
from tests.demo import DEMO_IDS, TYPENAMES, UNKNOWN_IDS
from tests.graphql.conftest import Gateway

ENTITIES = """query($representations: [_Any!]!) {
  _entities(representations: $representations) { __typename ... on Call { id state } }
}"""


@pytest.mark.parametrize("vendor", list(Vendor), ids=lambda v: v.value)
@pytest.mark.parametrize("as_interface", [False, True], ids=["concrete", "interface"])
async def test_entities_resolve_each_vendor_type(
    gateway: Gateway, vendor: Vendor, as_interface: bool
) -> None:
    typename = "Call" if as_interface else TYPENAMES[vendor]
    body = await gateway.client.execute(
        ENTITIES, {"representations": [{"__typename": typename, "id": DEMO_IDS[vendor]}]}
    )
    assert "errors" not in body
    [entity] = body["data"]["_entities"]
    assert entity["__typename"] == TYPENAMES[vendor]  # the interface resolves to its type
    assert entity["id"] == DEMO_IDS[vendor]


async def test_entities_batch_through_the_loaders(gateway: Gateway) -> None:
    await gateway.client.execute(  # warm the Huawei token
        ENTITIES, {"representations": [{"__typename": "Call", "id": DEMO_IDS[Vendor.HUAWEI]}]}
    )
    gateway.control.requests.clear()
    representations = [
        {"__typename": "Call" if i % 2 else TYPENAMES[vendor], "id": DEMO_IDS[vendor]}
        for i, vendor in enumerate([Vendor.GENESYS, Vendor.HUAWEI, Vendor.ORACLE] * 4)
    ]
    body = await gateway.client.execute(ENTITIES, {"representations": representations})
    assert "errors" not in body
    assert len(body["data"]["_entities"]) == 12
    fetches = [
        r
        for r in gateway.control.requests
        if "token" not in r.path.lower() and "/devices" not in r.path  # read once, aside
    ]
    assert len(fetches) == 3  # one per distinct call


async def test_entities_with_the_wrong_vendor_type_are_bad_user_input(gateway: Gateway) -> None:
    body = await gateway.client.execute(
        ENTITIES,
        {
            "representations": [
                {"__typename": "OracleCall", "id": DEMO_IDS[Vendor.GENESYS]},
                {"__typename": "GenesysCall", "id": DEMO_IDS[Vendor.GENESYS]},
                {"__typename": "Call", "id": UNKNOWN_IDS[Vendor.GENESYS]},
            ]
        },
    )
    entities = body["data"]["_entities"]
    assert entities[0] is None
    assert entities[1]["id"] == DEMO_IDS[Vendor.GENESYS]
    assert entities[2] is None
    by_index = {e["path"][1]: e["extensions"]["code"] for e in body["errors"]}
    assert by_index == {0: "BAD_USER_INPUT", 2: "NOT_FOUND"}


async def test_entities_refuse_bad_representations_each_in_its_slot(gateway: Gateway) -> None:
    body = await gateway.client.execute(
        ENTITIES,
        {
            "representations": [
                {"__typename": "Agent", "id": "1"},
                {"__typename": "GenesysCall"},
                {"__typename": "GenesysCall", "id": 42},
                {"id": DEMO_IDS[Vendor.GENESYS]},
                {"__typename": "GenesysCall", "id": DEMO_IDS[Vendor.GENESYS]},
            ]
        },
    )
    entities = body["data"]["_entities"]
    assert entities[:4] == [None, None, None, None]
    assert entities[4]["id"] == DEMO_IDS[Vendor.GENESYS]
    by_index = {e["path"][1]: e["extensions"]["code"] for e in body["errors"]}
    assert by_index == dict.fromkeys(range(4), "BAD_USER_INPUT")


async def test_entities_over_the_cap_are_refused(gateway: Gateway) -> None:
    representations = [{"__typename": "Call", "id": DEMO_IDS[Vendor.GENESYS]}] * (
        gateway.settings.limits.max_ids + 1
    )
    body = await gateway.client.execute(ENTITIES, {"representations": representations})
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert gateway.control.requests == []
