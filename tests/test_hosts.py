"""The Host check against DNS rebinding, over real HTTP and websocket handshakes; and the
secure posture outside demo mode (no GraphiQL, no introspection unless switched on)."""

from __future__ import annotations

import json

import aiohttp
import pytest

from app.config import Settings
from app.emulators import DEMO_CREDENTIALS
from tests.conftest import EmulatorServer
from tests.graphql.conftest import serve_gateway
from tests.sockets import StalledWebSocket

QUERY = {"query": "{ __typename }"}


async def status_for(url: str, host: str | None) -> tuple[int, dict[str, object]]:
    headers = {"Host": host} if host is not None else {}
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{url}/graphql", json=QUERY, headers=headers) as response,
    ):
        return response.status, await response.json(content_type=None)


def addressed(template: str, gateway_url: str, emulator: EmulatorServer) -> str:
    """A Host value: `{port}` the gateway's own port, `{other}` another one in use (the
    emulators'), as a reverse proxy in front may pass on."""
    port = gateway_url.rsplit(":", 1)[1]
    other = emulator.url.rsplit(":", 1)[1]
    return template.format(port=port, other=other)


@pytest.mark.parametrize(
    "host", ["localhost", "localhost:{port}", "127.0.0.1:{other}", "[::1]:{port}"]
)
async def test_bound_to_loopback_loopback_names_are_served(
    emulator_server: EmulatorServer, host: str
) -> None:
    async with serve_gateway(emulator_server) as gateway:
        host = addressed(host, gateway.url, emulator_server)
        assert await status_for(gateway.url, host) == (200, {"data": {"__typename": "Query"}})


@pytest.mark.parametrize("host", ["rebound.example", "rebound.example:{port}", "127.0.0.1.nip.io"])
async def test_bound_to_loopback_other_names_are_refused(
    emulator_server: EmulatorServer, host: str
) -> None:
    async with serve_gateway(emulator_server) as gateway:
        host = addressed(host, gateway.url, emulator_server)
        status, body = await status_for(gateway.url, host)
        async with aiohttp.ClientSession() as session:
            # Probes (a kubelet's) and scrapes (Prometheus') address pods by IP.
            for path in ("/healthz", "/readyz", "/metrics"):
                async with session.get(f"{gateway.url}{path}", headers={"Host": host}) as probe:
                    assert probe.status == 200, path
    assert status == 403
    assert body["errors"][0]["extensions"]["code"] == "HOST_NOT_ALLOWED"  # type: ignore[index]


async def test_websocket_handshake_with_another_name_is_refused(
    emulator_server: EmulatorServer,
) -> None:
    async with serve_gateway(emulator_server) as gateway:
        client, refused = await StalledWebSocket.handshake(gateway.url, host="rebound.example")
        client.close()
        other = addressed("localhost:{other}", gateway.url, emulator_server)
        client, accepted = await StalledWebSocket.handshake(gateway.url, host=other)
        client.close()
    assert refused.status_code == 403
    assert json.loads(refused.body or b"")["errors"][0]["extensions"]["code"] == "HOST_NOT_ALLOWED"
    assert accepted.status_code == 101


async def test_bound_elsewhere_any_name_is_served_by_default(
    emulator_server: EmulatorServer,
) -> None:
    # Settings say 0.0.0.0; the test still binds loopback only.
    async with serve_gateway(emulator_server, host="0.0.0.0") as gateway:
        assert (await status_for(gateway.url, "anything.example"))[0] == 200


async def test_allowed_hosts_are_the_only_names_served(emulator_server: EmulatorServer) -> None:
    async with serve_gateway(
        emulator_server, host="0.0.0.0", allowed_hosts="api.example.com, *.corp.example"
    ) as gateway:
        assert (await status_for(gateway.url, "api.example.com:443"))[0] == 200
        assert (await status_for(gateway.url, "API.example.com."))[0] == 200
        assert (await status_for(gateway.url, "calls.corp.example"))[0] == 200
        assert (await status_for(gateway.url, "evil.example"))[0] == 403
        assert (await status_for(gateway.url, "corp.example.evil"))[0] == 403
        assert (await status_for(gateway.url, "localhost"))[0] == 403


async def test_allowed_hosts_add_to_the_loopback_names(emulator_server: EmulatorServer) -> None:
    # A local reverse proxy passing its public name on.
    async with serve_gateway(emulator_server, allowed_hosts="api.example.com") as gateway:
        assert (await status_for(gateway.url, "api.example.com"))[0] == 200
        assert (await status_for(gateway.url, "localhost"))[0] == 200
        assert (await status_for(gateway.url, "evil.example"))[0] == 403


def real_vendor_env(emulator_server: EmulatorServer) -> dict[str, str]:
    """Configured as a deployment is: by vendor URLs (here the emulators')."""
    env = {
        "SWITCHBOARD_GENESYS_URL": emulator_server.base_url("genesys"),
        "SWITCHBOARD_AUTH": "none",
    }
    for name, value in DEMO_CREDENTIALS["genesys"].items():
        env[f"SWITCHBOARD_GENESYS_{name.upper()}"] = value
    return env


def test_graphiql_and_introspection_are_on_in_demo_mode_only() -> None:
    demo = Settings.from_env({})
    genesys = {
        "SWITCHBOARD_GENESYS_URL": "https://gws.example",
        "SWITCHBOARD_GENESYS_USERNAME": "agent",
        "SWITCHBOARD_GENESYS_PASSWORD": "secret",
        "SWITCHBOARD_AUTH": "none",
    }
    real = Settings.from_env(genesys)
    assert (demo.server.graphiql, demo.server.introspection) == (True, True)
    assert (real.server.graphiql, real.server.introspection) == (False, False)
    switched_on = Settings.from_env(
        {**genesys, "SWITCHBOARD_GRAPHIQL": "1", "SWITCHBOARD_INTROSPECTION": "1"}
    )
    assert (switched_on.server.graphiql, switched_on.server.introspection) == (True, True)
    switched_off = Settings.from_env({"SWITCHBOARD_GRAPHIQL": "0"})
    assert switched_off.server.graphiql is False
    # The demo setup points demo settings at the emulators: what was resolved stays.
    assert demo.with_vendors("http://vendors.invalid", DEMO_CREDENTIALS).server.graphiql is True


async def test_with_real_vendors_no_graphiql_and_no_introspection(
    emulator_server: EmulatorServer,
) -> None:
    settings = Settings.from_env(real_vendor_env(emulator_server))
    from app.server import create_app
    from tests.asgi import serve_asgi

    async with serve_asgi(create_app(settings)) as url, aiohttp.ClientSession() as session:
        async with session.get(f"{url}/graphql", headers={"Accept": "text/html"}) as page:
            html = await page.text()
        async with session.post(
            f"{url}/graphql", json={"query": "{ __schema { queryType { name } } }"}
        ) as response:
            refused = await response.json()
        async with session.post(f"{url}/graphql", json={"query": "{ _service { sdl } }"}) as r:
            served = await r.json()
    assert "graphiql" not in html.lower()
    assert refused["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "type Query" in served["data"]["_service"]["sdl"]
