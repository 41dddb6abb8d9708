"""Headless Chromium driven over the DevTools protocol (CDP) directly: no chromedriver,
no Selenium (whose manager downloads drivers), only a websocket per page.

The browser reaches nothing but loopback: every host name but 127.0.0.1 resolves to
nothing (`--host-resolver-rules`), and every other address goes to a proxy that refuses
(a port bound and never listened on; Chromium sends loopback direct). Each page also keeps
the URL of every request it made, so a test asserts they all went to 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import websockets

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
LOOPBACK = "127.0.0.1"


def find_chromium() -> str | None:
    """SWITCHBOARD_CHROMIUM, or the first Chromium on PATH (Debian's: `chromium`)."""
    configured = os.environ.get("SWITCHBOARD_CHROMIUM")
    if configured:
        return configured
    return next((path for name in CANDIDATES if (path := shutil.which(name))), None)


@dataclass
class Browser:
    """A running headless Chromium; its DevTools endpoint on loopback."""

    devtools: str  # http://127.0.0.1:<port>
    process: subprocess.Popen[bytes]

    @asynccontextmanager
    async def page(self) -> AsyncIterator[Page]:
        """A new tab, closed after the block."""
        async with aiohttp.ClientSession() as http:
            async with http.put(f"{self.devtools}/json/new?about:blank") as response:
                target = await response.json()
            try:
                async with websockets.connect(
                    target["webSocketDebuggerUrl"], max_size=64 * 1024 * 1024
                ) as ws:
                    page = Page(ws)
                    reader = asyncio.create_task(page.read())
                    try:
                        for domain in ("Page", "Runtime", "Network", "Log"):
                            await page.send(f"{domain}.enable")
                        yield page
                    finally:
                        reader.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await reader
            finally:
                async with http.get(f"{self.devtools}/json/close/{target['id']}"):
                    pass


@contextmanager
def launch(executable: str) -> Iterator[Browser]:
    """Start Chromium headless, loopback only; stopped (by its pid) after the block."""
    profile = tempfile.mkdtemp(prefix="switchboard-chromium-")
    # Bound, never listening: connections to it are refused at once.
    refusing = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    refusing.bind((LOOPBACK, 0))
    dead_proxy = f"http://{LOOPBACK}:{refusing.getsockname()[1]}"
    process = subprocess.Popen(
        [
            executable,
            "--headless=new",
            "--no-sandbox",  # root in CI's container
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            "--metrics-recording-only",
            f"--user-data-dir={profile}",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            f"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE {LOOPBACK}",
            f"--proxy-server={dead_proxy}",
            "--window-size=1280,800",
            "about:blank",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield Browser(_devtools_url(Path(profile), process), process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        refusing.close()
        shutil.rmtree(profile, ignore_errors=True)


def _devtools_url(profile: Path, process: subprocess.Popen[bytes]) -> str:
    # Chromium writes the port it bound (port 0 asked) into the profile once listening.
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"chromium exited with {process.returncode} at start")
        if marker.exists() and (lines := marker.read_text().splitlines()):
            return f"http://{LOOPBACK}:{lines[0]}"
        time.sleep(0.05)
    raise RuntimeError("chromium did not open its DevTools port within 30 s")


@dataclass
class Page:
    """One tab: CDP commands, the requests it made, the errors it logged."""

    ws: Any
    requests: list[str] = field(default_factory=list)
    request_headers: list[dict[str, Any]] = field(default_factory=list)
    frames_sent: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _next_id: int = 0
    _pending: dict[int, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)

    async def read(self) -> None:
        async for text in self.ws:
            message = json.loads(text)
            if "id" in message:
                future = self._pending.pop(message["id"], None)
                if future is not None and not future.done():
                    future.set_result(message)
            else:
                self._event(message["method"], message.get("params", {}))

    def _event(self, method: str, params: dict[str, Any]) -> None:
        if method == "Network.requestWillBeSent":
            self.requests.append(params["request"]["url"])
            self.request_headers.append(params["request"].get("headers", {}))
        elif method == "Network.webSocketCreated":
            self.requests.append(params["url"])
        elif method == "Network.webSocketFrameSent":
            self.frames_sent.append(params["response"]["payloadData"])
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            self.errors.append(details.get("exception", {}).get("description") or details["text"])
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            self.errors.append(f"{params['entry'].get('url', '')}: {params['entry']['text']}")

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[self._next_id] = future
        await self.ws.send(json.dumps({"id": self._next_id, "method": method, "params": params}))
        async with asyncio.timeout(15):
            answer = await future
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        result: dict[str, Any] = answer.get("result", {})
        return result

    async def goto(self, url: str) -> None:
        await self.send("Page.navigate", url=url)
        await self.wait_for("document.readyState === 'complete'", timeout=15)

    async def evaluate(self, expression: str) -> Any:
        answer = await self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in answer:
            raise RuntimeError(f"{expression}: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    async def wait_for(self, expression: str, *, timeout: float) -> Any:  # noqa: ASYNC109
        """The first truthy value of `expression`, polled; AssertionError past `timeout`."""
        deadline = time.monotonic() + timeout
        value = None
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if time.monotonic() >= deadline:
                raise AssertionError(
                    f"not true within {timeout} s: {expression} (last: {value!r}); "
                    f"page errors: {self.errors}"
                )
            await asyncio.sleep(0.02)

    async def click(self, selector: str) -> None:
        """A real mouse click (pressed and released) at the element's centre."""
        box = await self.evaluate(
            f"(() => {{ const r = document.querySelector({json.dumps(selector)})"
            ".getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        for kind in ("mousePressed", "mouseReleased"):
            await self.send(
                "Input.dispatchMouseEvent",
                type=kind,
                x=box[0],
                y=box[1],
                button="left",
                clickCount=1,
            )

    async def type_text(self, text: str) -> None:
        await self.send("Input.insertText", text=text)

    async def screenshot(self, path: Path) -> None:
        shot = await self.send("Page.captureScreenshot", format="png")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))  # noqa: ASYNC240

    def foreign_requests(self) -> list[str]:
        """Requests that went anywhere but 127.0.0.1 (data: URLs stay in the page)."""
        return [
            url
            for url in self.requests
            if not url.startswith("data:") and urlsplit(url).hostname != LOOPBACK
        ]
