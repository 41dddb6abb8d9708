"""The Python floor for benchmark B1: the least a Python ASGI server can do to answer B1's
query, with the same stack switchboard serves on (uvicorn on uvloop + httptools,
Starlette, aiohttp) and none of the GraphQL.

On POST /graphql it reads the JSON body, takes the call id out of the query text, sends
the single upstream request switchboard's Genesys adapter sends for `call(id)` — GET
/api/v2/me/calls/{id} with HTTP Basic auth and the JSESSIONID cookie of the session the
first answer opened, on an aiohttp session configured like switchboard's (DummyCookieJar,
16 connections, 5 s total timeout) — and answers the JSON switchboard answers:
`{"data": {"call": {"id", "state", "vendorState", "connId", "dnis"}}}`.

No validation, no error mapping, no GraphQL parsing or execution: whatever switchboard
costs above this proxy is the price of its GraphQL layer and its adapter's care.

    .venv/bin/python -m bench.raw_proxy --port P --genesys-url http://127.0.0.1:E/genesys
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http.cookies import SimpleCookie

import aiohttp
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.emulators.base import DEMO_CREDENTIALS

CALL_ID = re.compile(r'call\(id:\s*"genesys:([^"]+)"')
# switchboard's normalised states for GWS's (app/vendors/genesys.py, GENESYS_STATES).
STATES = {
    "Dialing": "DIALING",
    "Ringing": "RINGING",
    "Established": "CONNECTED",
    "Held": "HELD",
    "Released": "ENDED",
}


def create_app(genesys_url: str, username: str, password: str) -> Starlette:
    authorization = aiohttp.encode_basic_auth(username, password)
    state: dict[str, aiohttp.ClientSession] = {}
    session_cookie: list[str] = []  # JSESSIONID, once the first answer set it

    async def graphql(request: Request) -> Response:
        body = json.loads(await request.body())
        match = CALL_ID.search(body["query"])
        if match is None:
            return JSONResponse({"errors": [{"message": "no genesys call(id:) in query"}]})
        native = match.group(1)
        headers = {"Authorization": authorization}
        if session_cookie:
            headers["Cookie"] = f"JSESSIONID={session_cookie[0]}"
        url = f"{genesys_url}/api/v2/me/calls/{native}"
        async with state["http"].get(url, headers=headers) as upstream:
            raw = await upstream.read()
            if not session_cookie:
                for header in upstream.headers.getall("Set-Cookie", ()):
                    cookie: SimpleCookie = SimpleCookie(header)
                    if "JSESSIONID" in cookie:
                        session_cookie.append(cookie["JSESSIONID"].value)
        call = json.loads(raw)["call"]
        return JSONResponse(
            {
                "data": {
                    "call": {
                        "id": f"genesys:{call['id']}",
                        "state": STATES.get(call.get("state"), "UNKNOWN"),
                        "vendorState": call.get("state"),
                        "connId": call.get("connId"),
                        "dnis": call.get("dnis"),
                    }
                }
            }
        )

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Configured like switchboard's VendorHttp session (app/vendors/http.py).
        state["http"] = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=5),
            connector=aiohttp.TCPConnector(limit=16, ttl_dns_cache=300),
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        try:
            yield
        finally:
            await state["http"].close()

    return Starlette(
        routes=[Route("/graphql", graphql, methods=["POST"]), Route("/healthz", healthz)],
        lifespan=lifespan,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--genesys-url", required=True, help="e.g. http://127.0.0.1:P/genesys")
    args = parser.parse_args()
    creds = DEMO_CREDENTIALS["genesys"]
    app = create_app(args.genesys_url.rstrip("/"), creds["username"], creds["password"])
    # As switchboard serves (app/__main__.py): uvloop, uvicorn's httptools parser, one
    # process; no access log (switchboard runs with SWITCHBOARD_ACCESS_LOG=0 here).
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
