"""The wallboard and GraphiQL in a real headless Chromium, on loopback only.

Each test serves switchboard (pointed at the emulators) as tests/graphql does, opens it in
a tab and checks what a person sees; every request the page made must have gone to
127.0.0.1 (the browser cannot reach anything else: tests/web/browser.py).

`SWITCHBOARD_SCREENSHOTS=docs` (`make screenshots`) writes the README's screenshots.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from starlette.types import Receive, Scope, Send

from app.calls import Vendor
from app.emulators import Fault
from app.server import create_app
from tests.asgi import serve_asgi
from tests.conftest import EmulatorServer
from tests.demo import DEMO_IDS
from tests.graphql.conftest import Gateway, gateway_settings, serve_gateway
from tests.web.browser import Browser, Page
from tests.web.relay import Relay

pytestmark = pytest.mark.timeout(60)

GENESYS = DEMO_IDS[Vendor.GENESYS]
VOIPNOW = DEMO_IDS[Vendor.VOIPNOW]

HOLD = "mutation Hold($id: ID!) { holdCall(id: $id) { id state } }"


def row(call_id: str) -> str:
    return f"document.querySelector('tr[data-call-id={json.dumps(call_id)}]')"


def row_state(call_id: str) -> str:
    return f"{row(call_id)}?.dataset.state"


def button(call_id: str, capability: str) -> str:
    return f"tr[data-call-id={json.dumps(call_id)}] button[data-capability={capability}]"


def screenshot_path(tmp_path: Path, name: str) -> Path:
    folder = os.environ.get("SWITCHBOARD_SCREENSHOTS")
    return Path(folder) / name if folder else tmp_path / name


@pytest.fixture
async def gateway(emulator_server: EmulatorServer) -> AsyncIterator[Gateway]:
    # A short poll: a change made elsewhere reaches callEvents within ~0.2 s.
    async with serve_gateway(emulator_server, poll_interval=0.2) as gateway:
        yield gateway


async def open_wallboard(page: Page, url: str) -> None:
    await page.goto(f"{url}/")
    await page.wait_for("document.querySelector('#status').dataset.status === 'live'", timeout=10)
    for call_id in (GENESYS, VOIPNOW):
        await page.wait_for(f"{row_state(call_id)} === 'CONNECTED'", timeout=10)


def assert_loopback_only(page: Page) -> None:
    assert page.requests, "the page made no request at all"
    assert page.foreign_requests() == []
    assert page.errors == []


async def test_wallboard_shows_the_demo_calls_with_their_capabilities(
    chromium: Browser, gateway: Gateway
) -> None:
    async with chromium.page() as page:
        await open_wallboard(page, gateway.url)
        cells = await page.evaluate(
            f"[...{row(GENESYS)}.cells].map(c => c.textContent.trim())"
            f".concat([...{row(VOIPNOW)}.cells].map(c => c.textContent.trim()))"
        )
        # Vendor, state, agent / line (the seeds' Genesys DNIS 15001; VoipNow extension
        # 0003*210 talking to 0003*024).
        assert cells[0] == "GENESYS"
        assert cells[1] == "CONNECTED"
        assert cells[3] == "15001"
        assert cells[6] == "VOIPNOW"
        assert cells[9] == "0003*210 ↔ 0003*024"
        # The time in state ticks ("≥": first seen connected, it may have begun earlier).
        assert cells[2].startswith("≥ 0:0")
        # Buttons by Call.capabilities: a connected call can be held and hung up, not retrieved.
        enabled = await page.evaluate(
            f"[...{row(GENESYS)}.querySelectorAll('button')]"
            ".map(b => [b.dataset.capability, !b.disabled])"
        )
        assert enabled == [["HOLD", True], ["RETRIEVE", False], ["HANGUP", True]]
        colour = await page.evaluate(
            f"getComputedStyle({row(GENESYS)}.querySelector('.state')).backgroundColor"
        )
        assert colour == "rgb(27, 135, 63)"  # --connected
        assert_loopback_only(page)


async def test_hold_clicked_in_the_page_turns_the_row_held_within_a_second(
    chromium: Browser, gateway: Gateway, tmp_path: Path
) -> None:
    async with chromium.page() as page:
        await open_wallboard(page, gateway.url)
        clicked = time.monotonic()
        await page.click(button(GENESYS, "HOLD"))
        await page.wait_for(f"{row_state(GENESYS)} === 'HELD'", timeout=1.0)
        assert time.monotonic() - clicked < 1.0
        # Now the capabilities of a held call: retrieve, not hold.
        await page.wait_for(
            f"!document.querySelector({json.dumps(button(GENESYS, 'RETRIEVE'))}).disabled"
            f" && document.querySelector({json.dumps(button(GENESYS, 'HOLD'))}).disabled",
            timeout=1.0,
        )
        answer = await gateway.client.execute(
            "query($id: ID!) { call(id: $id) { state } }", {"id": GENESYS}
        )
        assert answer["data"]["call"]["state"] == "HELD"  # at the vendor, not only the page
        await page.wait_for(f"{stat_cell('GENESYS', 'HELD')} === '1'", timeout=5)
        await page.screenshot(screenshot_path(tmp_path, "wallboard.png"))
        assert_loopback_only(page)


async def test_hang_up_asks_for_a_second_click(chromium: Browser, gateway: Gateway) -> None:
    hangup = button(VOIPNOW, "HANGUP")
    async with chromium.page() as page:
        await open_wallboard(page, gateway.url)
        await page.click(hangup)
        label = f"document.querySelector({json.dumps(hangup)}).textContent"
        assert await page.evaluate(label) == "Confirm hang up"
        answer = await gateway.client.execute(
            "query($id: ID!) { call(id: $id) { state } }", {"id": VOIPNOW}
        )
        assert answer["data"]["call"]["state"] == "CONNECTED"  # nothing sent yet
        await page.click(hangup)
        await page.wait_for(f"{row_state(VOIPNOW)} === 'ENDED' || !{row(VOIPNOW)}", timeout=5)
        assert_loopback_only(page)


async def test_a_change_made_through_the_api_appears_without_reload(
    chromium: Browser, gateway: Gateway
) -> None:
    async with chromium.page() as page:
        await open_wallboard(page, gateway.url)
        await page.evaluate("window.__notReloaded = true")
        answer = await gateway.client.execute(HOLD, {"id": VOIPNOW})
        assert answer["data"]["holdCall"]["state"] == "HELD"
        await page.wait_for(f"{row_state(VOIPNOW)} === 'HELD'", timeout=5)
        assert await page.evaluate("window.__notReloaded === true")
        # The event carried the moment of the change: the time in state is exact now.
        time_cell = await page.evaluate(f"{row(VOIPNOW)}.querySelector('.time').textContent")
        assert time_cell.startswith("0:0")
        assert_loopback_only(page)


def stat_cell(vendor: str, state: str) -> str:
    return (
        f"document.querySelector('#stats tr[data-vendor={json.dumps(vendor)}] "
        f"td[data-state={json.dumps(state)}]')?.textContent"
    )


async def test_the_live_counts_follow_a_hold(chromium: Browser, gateway: Gateway) -> None:
    async with chromium.page() as page:
        await open_wallboard(page, gateway.url)
        # callStats: the demo calls, one connected call each for Genesys and VoipNow.
        await page.wait_for(f"{stat_cell('GENESYS', 'CONNECTED')} === '1'", timeout=5)
        assert await page.evaluate(stat_cell("VOIPNOW", "CONNECTED")) == "1"
        assert await page.evaluate(stat_cell("GENESYS", "HELD")) == "0"
        answer = await gateway.client.execute(HOLD, {"id": GENESYS})
        assert answer["data"]["holdCall"]["state"] == "HELD"
        await page.wait_for(f"{stat_cell('GENESYS', 'HELD')} === '1'", timeout=5)
        assert await page.evaluate(stat_cell("GENESYS", "CONNECTED")) == "0"
        held = await page.evaluate("document.querySelector('#stats [data-stat=held]').textContent")
        assert held.startswith("longest held 0:0")
        assert_loopback_only(page)


async def test_a_refused_command_shows_its_code(chromium: Browser, gateway: Gateway) -> None:
    async with chromium.page() as page:
        await open_wallboard(page, gateway.url)
        gateway.control.set_fault("genesys", Fault(status=503, methods=("POST",)))
        await page.click(button(GENESYS, "HOLD"))
        shown = await page.wait_for(
            "document.querySelector('#errors .error[data-code=VENDOR_UNAVAILABLE]')?.textContent",
            timeout=5,
        )
        assert shown.startswith(f"VENDOR_UNAVAILABLE HOLD {GENESYS}: ")
        # The row is as it was, its buttons on again.
        assert await page.evaluate(row_state(GENESYS)) == "CONNECTED"
        await page.wait_for(
            f"!document.querySelector({json.dumps(button(GENESYS, 'HOLD'))}).disabled", timeout=2
        )
        assert_loopback_only(page)


async def test_it_reconnects_by_itself_and_resumes(chromium: Browser, gateway: Gateway) -> None:
    relay = Relay(int(gateway.url.rsplit(":", 1)[1]))
    port = await relay.start()
    try:
        async with chromium.page() as page:
            await open_wallboard(page, f"http://127.0.0.1:{port}")
            relay.refusing = True
            relay.cut()
            await page.wait_for(
                "document.querySelector('#status').dataset.status === 'reconnecting'", timeout=5
            )
            # Changed while the page cannot hear: it must catch up once back.
            await gateway.client.execute(HOLD, {"id": GENESYS})
            await asyncio.sleep(0.5)  # a few refused attempts (backoff), then the way back
            relay.refusing = False
            await page.wait_for(
                "document.querySelector('#status').dataset.status === 'live'", timeout=10
            )
            await page.wait_for(f"{row_state(GENESYS)} === 'HELD'", timeout=5)
            # Resumed after the last cursor: the missed event itself came (a list only
            # says "held since at least now", shown "≥"; the event says when).
            held_for = f"{row(GENESYS)}.querySelector('.time').textContent"
            await page.wait_for(f"!{held_for}.startsWith('≥')", timeout=5)
            # And the subscription is back: a later change arrives as an event.
            await gateway.client.execute(HOLD, {"id": VOIPNOW})
            await page.wait_for(f"{row_state(VOIPNOW)} === 'HELD'", timeout=5)
            assert sum(u.startswith("ws://") for u in page.requests) >= 2
            assert page.foreign_requests() == []
    finally:
        await relay.close()


class RequireBearer:
    """Authentication as it will be (not built yet): `/graphql` over HTTP answers 401
    without `Authorization: Bearer <token>`. Stands in front of the real app."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers", []))
        if (
            scope["type"] == "http"
            and scope["path"] == "/graphql"
            and headers.get(b"authorization") != self.expected
        ):
            body = json.dumps(
                {"errors": [{"message": "Who are you?", "extensions": {"code": "UNAUTHENTICATED"}}]}
            ).encode()
            await send(
                {
                    "type": "http.response.start",
                    "status": 401,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


async def test_with_authentication_on_it_asks_for_a_token_and_sends_it(
    chromium: Browser, emulator_server: EmulatorServer
) -> None:
    app = RequireBearer(create_app(gateway_settings(emulator_server)), "sesame")
    async with serve_asgi(app) as url, chromium.page() as page:
        await page.goto(f"{url}/")
        await page.wait_for("!document.querySelector('#token-form').hidden", timeout=10)
        assert await page.evaluate("document.querySelector('#status').dataset.status") == (
            "unauthorized"
        )
        assert await page.evaluate(
            "[...document.querySelectorAll('#errors .error')].some(e => "
            "e.dataset.code === 'UNAUTHENTICATED')"
        )
        await page.click("#token")
        await page.type_text("sesame")
        await page.click("#token-form button[type=submit]")
        await page.wait_for(f"{row_state(GENESYS)} === 'CONNECTED'", timeout=10)
        assert await page.evaluate("sessionStorage.getItem('switchboard.token')") == "sesame"
        async with asyncio.timeout(10):  # the browser reports its traffic asynchronously
            while not any("Authorization" in h for h in page.request_headers) or not any(  # noqa: ASYNC110
                '"Authorization"' in f for f in page.frames_sent
            ):
                await asyncio.sleep(0.05)
        sent = [h.get("Authorization") for h in page.request_headers if "Authorization" in h]
        assert set(sent) == {"Bearer sesame"}
        inits = [json.loads(f) for f in page.frames_sent if '"connection_init"' in f]
        assert inits[-1] == {
            "type": "connection_init",
            "payload": {"Authorization": "Bearer sesame"},
        }
        assert page.foreign_requests() == []


async def test_graphiql_loads_from_local_assets_and_runs_the_example_query(
    chromium: Browser, gateway: Gateway, tmp_path: Path
) -> None:
    editor = "document.querySelector('.graphiql-query-editor .CodeMirror')?.CodeMirror"
    result = "document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror.getValue()"
    async with chromium.page() as page:
        await page.goto(f"{gateway.url}/graphql")
        await page.wait_for(f"{editor}?.getValue().includes('query DemoCalls')", timeout=15)
        await page.click(".graphiql-execute-button")
        text = await page.wait_for(f"{result}?.includes('\"data\"') && {result}", timeout=15)
        data = json.loads(text)["data"]
        assert [call["id"] for call in data["calls"]] == [
            DEMO_IDS[vendor]
            for vendor in (Vendor.GENESYS, Vendor.HUAWEI, Vendor.ORACLE, Vendor.VOIPNOW)
        ] + [DEMO_IDS[Vendor.VERBA]]
        await page.screenshot(screenshot_path(tmp_path, "graphiql.png"))
        assert_loopback_only(page)
        # Every script and style came from switchboard's /static/vendor/.
        assert any("/static/vendor/graphiql@3.8.3/graphiql.min.js" in u for u in page.requests)


async def test_graphiql_subscribes_over_graphql_transport_ws(
    chromium: Browser, gateway: Gateway
) -> None:
    editor = "document.querySelector('.graphiql-query-editor .CodeMirror')?.CodeMirror"
    result = "document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror.getValue()"
    document = f'subscription Watch {{ callUpdated(id: "{GENESYS}") {{ id state }} }}'
    async with chromium.page() as page:
        # ?q= opens a tab on that document (the page's URL sharing, as in Strawberry's).
        await page.goto(f"{gateway.url}/graphql?q={quote(document)}")
        await page.wait_for(f"{editor}?.getValue().includes('subscription Watch')", timeout=15)
        await page.click(".graphiql-execute-button")
        await page.wait_for(f"{result}?.includes('CONNECTED')", timeout=10)
        await gateway.client.execute(HOLD, {"id": GENESYS})
        await page.wait_for(f"{result}?.includes('HELD')", timeout=5)
        subscribe = [json.loads(f) for f in page.frames_sent if '"subscribe"' in f]
        assert subscribe[0]["payload"]["query"] == document  # over graphql-transport-ws
        assert_loopback_only(page)
