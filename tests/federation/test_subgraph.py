"""switchboard's own federation surface, asked directly (no router): `_service { sdl }` is
the exported schema.graphql, and 50 `_entities` representations follow the batching rule."""

from __future__ import annotations

from app.calls import CallId, Vendor
from tests.demo import DEMO_IDS, TYPENAMES
from tests.federation.harness import switchboard_sdl, vendor_fetches
from tests.graphql.conftest import Gateway

ENTITIES = """query($representations: [_Any!]!) {
  _entities(representations: $representations) {
    __typename
    ... on Call { id state }
    ... on GenesysCall { connId }
  }
}"""


async def test_service_sdl_is_the_exported_schema(switchboard: Gateway) -> None:
    body = await switchboard.client.execute("{ _service { sdl } }")
    assert "errors" not in body
    # schema.graphql is `export-schema`'s output: the SDL plus a final newline.
    assert body["data"]["_service"]["sdl"] + "\n" == switchboard_sdl()


async def test_entities_fifty_representations_fetch_each_call_once(
    switchboard: Gateway, distinct_calls: list[str]
) -> None:
    # 50 representations naming the 10 distinct calls five times each, as the interface
    # (what a router sends for an @interfaceObject) and as the concrete type in turn.
    representations = [
        {
            "__typename": "Call" if i % 2 else TYPENAMES[CallId.parse(call_id).vendor],
            "id": call_id,
        }
        for i, call_id in enumerate(distinct_calls * 5)
    ]
    switchboard.control.requests.clear()
    body = await switchboard.client.execute(ENTITIES, {"representations": representations})
    assert "errors" not in body
    entities = body["data"]["_entities"]
    assert [e["id"] for e in entities] == [r["id"] for r in representations]
    genesys = next(e for e in entities if e["id"] == DEMO_IDS[Vendor.GENESYS])
    assert genesys["connId"] == "0071027198180020"
    assert vendor_fetches(switchboard.control) == {
        "genesys": 1,  # the list holds all four Genesys calls
        "voipnow": 2,  # one list per (user, extension): 0003*210 and 0003*211
        "oracle": 1,
        "huawei": 1,
        # RequestToken (its action is in the query, so counted), then one GetCallURL
        "verba": 2,
    }
