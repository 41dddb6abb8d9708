"""Tracing with the SDK's in-memory exporter: a span per GraphQL operation (HTTP, event
stream, websocket), per vendor request and per command confirmation, the caller's
traceparent continued and passed on to the vendor; off, no span, no header and nothing
of OpenTelemetry imported."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from websockets.asyncio.client import connect

from app import tracing
from app.calls import Vendor
from app.vendors.http import VendorHttp
from tests.conftest import EmulatorServer
from tests.demo import DEMO_IDS
from tests.graphql.conftest import serve_gateway
from tests.sse import open_stream
from tests.waiting import eventually
from tests.ws import TRANSPORT_WS, GraphQLWebSocket

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.install(provider)
    yield exporter
    tracing.install(None)


async def vendor_seeing_headers() -> tuple[TestServer, list[dict[str, str]]]:
    seen: list[dict[str, str]] = []

    async def status(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/status", status)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    return server, seen


async def test_a_vendor_request_is_a_span_in_the_callers_trace(
    exporter: InMemorySpanExporter,
) -> None:
    server, seen = await vendor_seeing_headers()
    http = VendorHttp(Vendor.ORACLE, str(server.make_url("")).rstrip("/"))
    try:
        with tracing.span("query", carrier={"traceparent": TRACEPARENT}):
            await http.request("GET", "/status", params={"token": "secret-token"})
    finally:
        await http.close()
        await server.close()
    spans = {s.name: s for s in exporter.get_finished_spans()}
    vendor_span, operation = spans["oracle GET"], spans["query"]
    assert operation.context.trace_id == int("0af7651916cd43dd8448eb211c80319c", 16)
    assert vendor_span.context.trace_id == operation.context.trace_id
    assert vendor_span.parent is not None
    assert vendor_span.parent.span_id == operation.context.span_id
    assert vendor_span.attributes == {
        "vendor": "oracle",
        "http.request.method": "GET",
        "url.path": "/status",
    }
    # Passed on: the vendor sees our span as the parent, in the caller's trace.
    [headers] = seen
    assert headers["traceparent"].split("-")[1] == "0af7651916cd43dd8448eb211c80319c"
    assert headers["traceparent"].split("-")[2] == f"{vendor_span.context.span_id:016x}"


async def test_an_error_marks_the_span_with_its_code(exporter: InMemorySpanExporter) -> None:
    http = VendorHttp(Vendor.HUAWEI, "http://127.0.0.1:9", timeout=0.5)  # nothing listens
    with pytest.raises(Exception, match="huawei"):
        await http.request("GET", "/status")
    await http.close()
    [span] = exporter.get_finished_spans()
    assert span.status.description == "VENDOR_UNAVAILABLE"


async def test_off_means_no_span_and_no_header() -> None:
    assert not tracing.enabled()
    server, seen = await vendor_seeing_headers()
    http = VendorHttp(Vendor.ORACLE, str(server.make_url("")).rstrip("/"))
    try:
        with tracing.span("query") as current:
            assert current is None
            await http.request("GET", "/status")
    finally:
        await http.close()
        await server.close()
    assert "traceparent" not in seen[0]


def test_configure_is_off_without_an_endpoint() -> None:
    assert tracing.configure({}) is False
    assert not tracing.enabled()


async def test_a_graphql_operation_is_a_span_with_its_vendor_requests_inside(
    exporter: InMemorySpanExporter, emulator_server: EmulatorServer
) -> None:
    async with serve_gateway(emulator_server) as gateway:
        query = {
            "query": "query One($id: ID!) { call(id: $id) { id } }",
            "variables": {"id": DEMO_IDS[Vendor.ORACLE]},
        }
        async with gateway.client.session.post(
            gateway.client.url, json=query, headers={"traceparent": TRACEPARENT}
        ) as response:
            assert response.status == 200
    spans = exporter.get_finished_spans()
    [operation] = [s for s in spans if s.name == "graphql"]
    assert operation.context.trace_id == int("0af7651916cd43dd8448eb211c80319c", 16)
    assert operation.attributes is not None
    assert operation.attributes["graphql.operation.type"] == "query"
    assert operation.attributes["graphql.operation.name"] == "One"
    [vendor] = [s for s in spans if s.name == "oracle GET"]
    assert vendor.parent is not None
    assert vendor.context.trace_id == operation.context.trace_id


async def test_a_refused_operation_is_a_span_with_its_code(
    exporter: InMemorySpanExporter, emulator_server: EmulatorServer
) -> None:
    async with serve_gateway(emulator_server) as gateway:
        result = await gateway.client.execute(
            'query Missing { call(id: "oracle:no-such-call") { id } }'
        )
        assert result["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    [operation] = [s for s in exporter.get_finished_spans() if s.name == "graphql"]
    assert operation.status.status_code is StatusCode.ERROR
    assert operation.status.description == "NOT_FOUND"
    assert operation.attributes is not None
    assert operation.attributes["switchboard.error.code"] == "NOT_FOUND"


async def test_a_websocket_operation_is_a_span_in_the_upgrade_requests_trace(
    exporter: InMemorySpanExporter, emulator_server: EmulatorServer
) -> None:
    oracle = DEMO_IDS[Vendor.ORACLE]
    async with serve_gateway(emulator_server, poll_interval=0.05, watch_grace=0) as gateway:
        url = gateway.url.replace("http://", "ws://") + "/graphql"
        async with connect(
            url,
            subprotocols=[TRANSPORT_WS],  # type: ignore[list-item]
            additional_headers={"traceparent": TRACEPARENT},
        ) as connection:
            client = GraphQLWebSocket(connection, TRANSPORT_WS)
            await client.init()
            await client.subscribe(
                "q", "query One($id: ID!) { call(id: $id) { id } }", {"id": oracle}
            )
            assert await client.data("q") == {"data": {"call": {"id": oracle}}}
            assert (await client.receive())["type"] == "complete"
            await client.subscribe(
                "s", "subscription Follow($id: ID!) { callUpdated(id: $id) { id } }", {"id": oracle}
            )
            assert await client.data("s") == {"data": {"callUpdated": {"id": oracle}}}
            await client.stop("s")
            await eventually(lambda: len(graphql_spans(exporter)) == 2)
    query, subscription = sorted(graphql_spans(exporter), key=lambda s: s.start_time or 0)
    for span, kind, name, outcome in (
        (query, "query", "One", "ok"),
        (subscription, "subscription", "Follow", "stopped"),
    ):
        assert span.context.trace_id == int("0af7651916cd43dd8448eb211c80319c", 16)
        assert span.parent is not None
        assert span.parent.span_id == int("b7ad6b7169203331", 16)
        assert span.attributes is not None
        assert span.attributes["graphql.operation.type"] == kind
        assert span.attributes["graphql.operation.name"] == name
        assert span.attributes["switchboard.outcome"] == outcome
    # The query's vendor request is inside its span; the subscription's are its shared
    # execution's, which serves every subscriber.
    [vendor] = [
        s
        for s in exporter.get_finished_spans()
        if s.name == "oracle GET"
        and s.parent is not None
        and s.parent.span_id == query.context.span_id
    ]
    assert vendor.context.trace_id == query.context.trace_id


async def test_an_event_stream_is_a_span_in_the_callers_trace(
    exporter: InMemorySpanExporter, emulator_server: EmulatorServer
) -> None:
    voipnow = DEMO_IDS[Vendor.VOIPNOW]
    async with serve_gateway(emulator_server) as gateway:
        async with open_stream(
            gateway.url,
            "query Streamed($id: ID!) { call(id: $id) { id } }",
            {"id": voipnow},
            headers={"traceparent": TRACEPARENT},
        ) as stream:
            assert await stream.result() == {"data": {"call": {"id": voipnow}}}
            await stream.completes()
        await eventually(lambda: len(graphql_spans(exporter)) == 1)
    [operation] = graphql_spans(exporter)
    assert operation.context.trace_id == int("0af7651916cd43dd8448eb211c80319c", 16)
    assert operation.attributes is not None
    assert operation.attributes["graphql.operation.type"] == "query"
    assert operation.attributes["graphql.operation.name"] == "Streamed"
    assert any(
        s.name.startswith("voipnow ")
        and s.parent is not None
        and s.parent.span_id == operation.context.span_id
        for s in exporter.get_finished_spans()
    )


def graphql_spans(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.name == "graphql"]


def test_off_switchboard_imports_nothing_of_opentelemetry_on_any_transport() -> None:
    """In a process of its own (this one has the SDK loaded) where OpenTelemetry is not
    installed, as without the [otel] extra: the app serves a query over HTTP, the event
    stream and a websocket with tracing off, and none of its modules tried an import of
    it. (redis-py 8 tries one of its own, for its optional metrics.)"""
    script = textwrap.dedent(
        """
        import asyncio, sys, traceback
        from pathlib import Path

        APP = str(Path("app").resolve())
        importers = []

        class NotInstalled:
            def find_spec(self, name, path, target=None):
                if name.partition(".")[0] != "opentelemetry":
                    return None
                # The module whose import statement this is: the newest frame that is
                # neither importlib's nor this finder's.
                frames = [f.filename for f in traceback.extract_stack()]
                importer = [f for f in frames if not f.startswith("<")][-1]
                if importer.startswith(APP):
                    importers.append(importer)
                raise ModuleNotFoundError(f"No module named {name!r}")

        sys.meta_path.insert(0, NotInstalled())

        from aiohttp.test_utils import TestServer
        from app.emulators import build_emulators
        from tests.conftest import EmulatorServer
        from tests.demo import DEMO_IDS
        from tests.graphql.conftest import serve_gateway
        from tests.sse import open_stream
        from tests.ws import graphql_ws

        QUERY = "query($id: ID!) { call(id: $id) { id } }"

        async def main():
            emulators = build_emulators(demo=True)
            server = TestServer(emulators.app, host="127.0.0.1", port=0)
            await server.start_server(access_log=None)
            variables = {"id": next(iter(DEMO_IDS.values()))}
            async with serve_gateway(EmulatorServer(emulators, server)) as gateway:
                assert "data" in await gateway.client.execute(QUERY, variables)
                async with open_stream(gateway.url, QUERY, variables) as stream:
                    assert "data" in await stream.result()
                async with graphql_ws(gateway.url) as client:
                    await client.subscribe("1", QUERY, variables)
                    assert "data" in await client.data("1")
            emulators.control.release_all()
            await server.close()

        asyncio.run(main())
        print("served; importers in app/:", sorted(set(importers)))
        """
    )
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env=environ,
        cwd=Path(__file__).parent.parent,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "served; importers in app/: []"


async def test_a_commands_confirmation_is_a_span_inside_its_operation(
    exporter: InMemorySpanExporter, emulator_server: EmulatorServer
) -> None:
    genesys = DEMO_IDS[Vendor.GENESYS]
    async with serve_gateway(emulator_server, confirm_interval=0.05) as gateway:
        result = await gateway.client.execute(
            "mutation Hold($id: ID!) { holdCall(id: $id) { state } }", {"id": genesys}
        )
        assert result == {"data": {"holdCall": {"state": "HELD"}}}
    spans = exporter.get_finished_spans()
    [operation] = graphql_spans(exporter)
    [confirm] = [s for s in spans if s.name == "confirm"]
    assert confirm.attributes == {"vendor": "genesys"}
    assert confirm.parent is not None
    assert confirm.parent.span_id == operation.context.span_id
    # The confirmation's reads are its children.
    assert any(
        s.name.startswith("genesys ")
        and s.parent is not None
        and s.parent.span_id == confirm.context.span_id
        for s in spans
    )
