"""Which transports a browser client can use to subscribe through Hive Gateway (the
README's "Front ends" says so; these tests keep it true): websockets
(graphql-transport-ws, test_router.py) and SSE work; Apollo Client's multipart
subscriptions are refused with 406 by @graphql-hive/gateway 2.15 (its Accept answer
lists only text/event-stream). If the 406 test fails, the gateway learned multipart:
update the README. Both of Hive Gateway's query planners (`planner`) behave the same."""

from __future__ import annotations

import json

import pytest

from app.calls import Vendor
from tests.demo import DEMO_IDS
from tests.federation.harness import Federation

pytestmark = pytest.mark.timeout(90)

GENESYS = DEMO_IDS[Vendor.GENESYS]
SUBSCRIPTION = {
    "query": f'subscription {{ callUpdated(id: "{GENESYS}") {{ id state }} }}',
}


async def test_hive_gateway_streams_subscriptions_over_sse(federation: Federation) -> None:
    session = federation.router.client.session
    async with session.post(
        federation.router.url, json=SUBSCRIPTION, headers={"Accept": "text/event-stream"}
    ) as response:
        assert response.status == 200
        assert response.content_type == "text/event-stream"
        event = ""
        async for line in response.content:
            text = line.decode().strip()
            if text.startswith("event:"):
                event = text.removeprefix("event:").strip()
            elif text.startswith("data:") and event == "next":
                payload = json.loads(text.removeprefix("data:"))
                assert payload == {"data": {"callUpdated": {"id": GENESYS, "state": "CONNECTED"}}}
                break


@pytest.mark.parametrize(
    "accept",
    [
        # Apollo Client's HttpLink for subscriptions (multipart subscription protocol).
        'multipart/mixed;subscriptionSpec="1.0", application/json',
        'multipart/mixed; boundary="-"; deferSpec=20220824',
    ],
)
async def test_hive_gateway_refuses_multipart_subscriptions(
    federation: Federation, accept: str
) -> None:
    session = federation.router.client.session
    async with session.post(
        federation.router.url, json=SUBSCRIPTION, headers={"Accept": accept}
    ) as response:
        assert response.status == 406
        assert "text/event-stream" in response.headers["accept"]
