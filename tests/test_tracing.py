"""Tracing with the SDK's in-memory exporter: a span per vendor request and per command
confirmation, the caller's traceparent continued and passed on to the vendor; off, no
span and no header."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from app import tracing
from app.calls import Vendor
from app.vendors.http import VendorHttp
from tests.conftest import EmulatorServer
from tests.demo import DEMO_IDS
from tests.graphql.conftest import serve_gateway

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
