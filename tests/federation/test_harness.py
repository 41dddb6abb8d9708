"""The harness itself: Hive Gateway gets another port when the free one it was given is
taken before it binds, and never outlives its block."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from tests.federation import harness, hive_gateway
from tests.federation.harness import Subgraph, compose
from tests.federation.hive_gateway import NodeTools, run_hive_gateway


async def test_hive_gateway_retries_a_taken_port_and_stops_at_exit(
    node: NodeTools, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No subgraph needs to run: `__typename` is answered by the gateway itself.
    switchboard = Subgraph("switchboard", "http://127.0.0.1:9/graphql", harness.switchboard_sdl())
    supergraph = (await compose(node, [switchboard], tmp_path)).apollo.supergraph_sdl
    assert supergraph is not None
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        taken_port = taken.getsockname()[1]
        ports = iter([taken_port, hive_gateway.free_port()])
        monkeypatch.setattr(hive_gateway, "free_port", lambda: next(ports))
        async with run_hive_gateway(node, supergraph, tmp_path) as router:
            assert not router.base_url.endswith(f":{taken_port}")
            assert await router.execute("{ __typename }") == {"data": {"__typename": "Query"}}
            pid = router.pid
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
