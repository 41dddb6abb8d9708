"""A graceful stop, first step (app/probes.py `drain`, run on SIGTERM by
app/__main__.py's DrainingServer): not ready, websockets closed with 1001, and the leases
of watched calls released at once, so a second instance takes the calls over without
waiting out the TTL. Two real instances, one real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
import redis.asyncio as aioredis
from websockets.exceptions import ConnectionClosed

from app.calls import Vendor
from app.live.leases import KEY_PREFIX
from app.live.watcher import Watcher
from tests.conftest import EmulatorServer
from tests.demo import DEMO_IDS
from tests.graphql.conftest import serve_gateway
from tests.live.conftest import RedisServer, wait_until
from tests.ws import graphql_ws

CALL_UPDATED = "subscription($id: ID!) { callUpdated(id: $id) { id state } }"
ORACLE = DEMO_IDS[Vendor.ORACLE]
LEASE = f"call:{ORACLE}"


def watcher(app_state: object) -> Watcher:
    return app_state.services.watcher  # type: ignore[attr-defined, no-any-return]


async def test_drain_closes_websockets_and_hands_leases_over(
    emulator_server: EmulatorServer, redis_server: RedisServer
) -> None:
    settings = {
        "broadcast_url": redis_server.url,
        "lease_ttl": 30.0,  # far longer than the test: only a release explains a takeover
        "poll_interval": 0.05,
        "long_poll": 0.0,
        "watch_grace": 30.0,  # closing the websockets alone would keep the call watched
    }
    redis = aioredis.Redis.from_url(redis_server.url)
    async with (
        serve_gateway(emulator_server, **settings) as first,
        serve_gateway(emulator_server, **settings) as second,
        graphql_ws(first.url) as on_first,
    ):
        await on_first.subscribe("1", CALL_UPDATED, {"id": ORACLE})
        await on_first.data("1")
        await wait_until(lambda: LEASE in watcher(first.app_state).leased)
        async with graphql_ws(second.url) as on_second:
            await on_second.subscribe("1", CALL_UPDATED, {"id": ORACLE})
            await on_second.data("1")
            assert LEASE not in watcher(second.app_state).leased  # the first one polls

            drain: Callable[[], Awaitable[None]] = first.app_state.drain
            await drain()

            # Released at once, not left to expire in 30 s.
            assert await redis.get(KEY_PREFIX + LEASE) in (None, second_owner(second))
            with pytest.raises(ConnectionClosed) as closed:
                async with asyncio.timeout(5):
                    await on_first.receive()
            assert closed.value.rcvd is not None
            assert closed.value.rcvd.code == 1001
            async with first.client.session.get(f"{first.url}/readyz") as ready:
                assert ready.status == 503
            await wait_until(lambda: LEASE in watcher(second.app_state).leased)
    await redis.aclose()


def second_owner(gateway: object) -> bytes:
    owner: str = gateway.app_state.services.watcher.leases.owner  # type: ignore[attr-defined]
    return owner.encode()
