"""The command rate shared through Redis: two instances count against one allowance per
principal; Redis unreachable refuses the command (retry safe) rather than let it through
uncounted."""

from __future__ import annotations

from app.calls import Vendor
from app.config import Secret
from tests.auth.http import codes, post
from tests.auth.tokens import SECRET, SUPERVISOR, bearer, hs256
from tests.conftest import EmulatorServer
from tests.demo import DEMO_IDS
from tests.graphql.conftest import serve_gateway
from tests.live.conftest import RedisServer

VOIPNOW = DEMO_IDS[Vendor.VOIPNOW]
HOLD = "mutation($id: ID!) { holdCall(id: $id) { state } }"
RETRIEVE = "mutation($id: ID!) { retrieveCall(id: $id) { state } }"


async def test_two_instances_share_one_allowance(
    emulator_server: EmulatorServer, redis_server: RedisServer
) -> None:
    settings = dict(
        auth="jwt",
        jwt_secret=Secret(SECRET),
        command_rate=2,
        confirm_interval=0.05,
        broadcast_url=redis_server.url,
    )
    sam = bearer(hs256("sam", scope=SUPERVISOR))
    async with (
        serve_gateway(emulator_server, **settings) as one,
        serve_gateway(emulator_server, **settings) as two,
    ):
        assert "errors" not in (await post(one.url, HOLD, {"id": VOIPNOW}, headers=sam)).body
        assert "errors" not in (await post(two.url, RETRIEVE, {"id": VOIPNOW}, headers=sam)).body
        third = await post(one.url, HOLD, {"id": VOIPNOW}, headers=sam)
        assert codes(third.body) == ["RATE_LIMITED"]
        redis_server.stop()
        unreachable = await post(
            two.url, HOLD, {"id": VOIPNOW}, headers=bearer(hs256("sue", scope=SUPERVISOR))
        )
        assert codes(unreachable.body) == ["SERVICE_UNAVAILABLE"]
        assert unreachable.body["errors"][0]["extensions"]["retrySafe"] is True
