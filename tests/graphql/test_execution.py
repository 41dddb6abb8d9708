"""The executor: an operation leaves nothing for the cyclic garbage collector.

graphql-core's executor ends every operation as a reference cycle unless it is cut
(app/graphql/execution.py); the collector's work grew with concurrent queries (bench B1).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

from app.calls import Vendor
from app.graphql.context import Context
from app.graphql.execution import Executor
from tests.demo import DEMO_IDS
from tests.graphql.conftest import Gateway

QUERY = "query($id: ID!) { call(id: $id) { id state vendorState } }"
STATE = {"state": "CONNECTED", "vendorState": "Established"}


@contextmanager
def garbage_kept() -> Iterator[list[object]]:
    """What the cyclic collector finds unreachable within the block."""
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    found: list[object] = []
    try:
        yield found
        gc.collect()
        found.extend(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


async def test_an_answered_operation_leaves_no_executor_or_context_in_a_cycle(
    gateway: Gateway,
) -> None:
    schema = gateway.app_state.subscriptions.schema
    services = gateway.app_state.services
    variables = {"id": DEMO_IDS[Vendor.GENESYS]}
    await schema.execute(QUERY, variables, services.context())  # sessions and caches warm
    with garbage_kept() as garbage:
        for _ in range(10):
            result = await schema.execute(QUERY, variables, services.context())
            assert result.errors is None
            assert result.data == {"call": {"id": variables["id"], **STATE}}
    assert [o for o in garbage if isinstance(o, (Executor, Context))] == []


async def test_a_failed_field_leaves_no_context_in_a_cycle(gateway: Gateway) -> None:
    # A raised error's traceback holds the frames that hold the context and its loaders.
    schema = gateway.app_state.subscriptions.schema
    services = gateway.app_state.services
    variables = {"id": "genesys:01RCC3N118B1V0SL8O7GK2LAES999999"}  # unknown to the vendor
    await schema.execute(QUERY, variables, services.context())
    with garbage_kept() as garbage:
        for _ in range(10):
            result = await schema.execute(QUERY, variables, services.context())
            assert result.data == {"call": None}
            assert [e.extensions["code"] for e in result.errors or ()] == ["NOT_FOUND"]
    assert [o for o in garbage if isinstance(o, (Executor, Context))] == []
