"""What switchboard serves for browsers: every asset local, pinned, hash-checked, with
the content types and cache headers browsers need (no browser here: tests/web/test_browser)."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from app.graphql.http import EXAMPLE_QUERY
from app.web import STATIC
from app.web.graphiql import graphiql_page
from tests.conftest import EmulatorServer
from tests.graphql.conftest import Gateway, serve_gateway

ROOT = Path(__file__).parents[2]
# src= / href= and the integrity attribute of the same tag.
ASSET_TAG = re.compile(r"<(?:script|link)\b[^>]*?(?:src|href)=\"([^\"]+)\"[^>]*?>", re.DOTALL)
INTEGRITY = re.compile(r"integrity=\"(sha384-[A-Za-z0-9+/=]+)\"")


@pytest.fixture
async def gateway(emulator_server: EmulatorServer) -> AsyncIterator[Gateway]:
    async with serve_gateway(emulator_server) as gateway:
        yield gateway


async def fetch(
    gateway: Gateway, path: str, headers: dict[str, str] | None = None
) -> aiohttp.ClientResponse:
    async with gateway.client.session.get(
        f"{gateway.url}{path}", headers=headers, auto_decompress=False
    ) as response:
        await response.read()
        return response


async def page_html(gateway: Gateway, path: str) -> str:
    async with gateway.client.session.get(
        f"{gateway.url}{path}", headers={"Accept": "text/html"}
    ) as response:
        assert response.status == 200
        assert response.content_type == "text/html"
        return await response.text()


def sri(body: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(body).digest()).decode()


@pytest.mark.parametrize("path", ["/graphql", "/"])
async def test_every_asset_of_the_pages_is_local(gateway: Gateway, path: str) -> None:
    html = await page_html(gateway, path)
    urls = [match.group(1) for match in ASSET_TAG.finditer(html)]
    assert urls, "no asset found in the page"
    for url in urls:
        assert url.startswith(("/static/", "data:")), url
    assert "unpkg.com" not in html
    assert not re.search(r"(?:src|href)=\"(?:https?:)?//", html)


@pytest.mark.parametrize("path", ["/graphql", "/"])
async def test_committed_vendor_files_match_the_pages_integrity_hashes(
    gateway: Gateway, path: str
) -> None:
    html = await page_html(gateway, path)
    checked = 0
    for tag in ASSET_TAG.finditer(html):
        url = tag.group(1)
        if not url.startswith("/static/vendor/"):
            continue
        integrity = INTEGRITY.search(tag.group(0))
        assert integrity, f"{url} has no integrity attribute"
        committed = (STATIC / url.removeprefix("/static/")).read_bytes()
        assert sri(committed) == integrity.group(1), url
        async with gateway.client.session.get(f"{gateway.url}{url}") as response:
            assert sri(await response.read()) == integrity.group(1), url
        checked += 1
    assert checked >= (6 if path == "/graphql" else 1)


def test_graphiql_hashes_are_those_published_for_the_pinned_versions() -> None:
    # The same files Strawberry's page loads from unpkg (strawberry/static/graphiql.html,
    # strawberry-graphql 0.341+): react 18.2.0 and graphiql 3.8.3 as npm publishes them.
    html = graphiql_page("")
    assert (
        'integrity="sha384-tMH8h3BGESGckSAVGZ82T9n90ztNXxvdwvdM6UoR56cYcf+0iGXBliJ29D+wZ/x8"'
        in html
    )
    assert (
        'integrity="sha384-HbRVEFG0JGJZeAHCJ9Xm2+tpknBQ7QZmNlO/DgZtkZ0aJSypT96YYGRNod99l9Ie"'
        in html
    )


def test_vendor_folders_are_the_versions_the_lockfile_pins() -> None:
    lock = json.loads((ROOT / "web" / "package-lock.json").read_text())["packages"]
    folders = sorted(p.name for p in (STATIC / "vendor").iterdir() if p.is_dir())
    assert folders == [
        "graphiql-plugin-explorer@1.0.2",
        "graphiql@3.8.3",
        "graphql-ws@5.16.0",
        "react-dom@18.2.0",
        "react@18.2.0",
    ]
    for folder in folders:
        name, version = folder.rsplit("@", 1)
        package = "@graphiql/plugin-explorer" if name == "graphiql-plugin-explorer" else name
        assert lock[f"node_modules/{package}"]["version"] == version, package


async def test_graphiql_opens_on_the_example_query(gateway: Gateway) -> None:
    html = await page_html(gateway, "/graphql")
    assert f"const EXAMPLE_QUERY = {json.dumps(EXAMPLE_QUERY)};" in html


def test_the_example_query_cannot_close_the_script() -> None:
    html = graphiql_page('# </script><script>alert("x")</script>')
    assert html.count("</script>") == graphiql_page("").count("</script>")


@pytest.mark.parametrize(
    ("path", "content_type", "cache"),
    [
        ("/", "text/html; charset=utf-8", "no-cache"),
        ("/static/wallboard/main.js", "text/javascript; charset=utf-8", "no-cache"),
        ("/static/wallboard/wallboard.css", "text/css; charset=utf-8", "no-cache"),
        (
            "/static/vendor/react@18.2.0/react.production.min.js",
            "text/javascript; charset=utf-8",
            "public, max-age=31536000, immutable",
        ),
        (
            "/static/vendor/graphiql@3.8.3/graphiql.min.css",
            "text/css; charset=utf-8",
            "public, max-age=31536000, immutable",
        ),
    ],
)
async def test_content_types_and_cache_headers(
    gateway: Gateway, path: str, content_type: str, cache: str
) -> None:
    response = await fetch(gateway, path)
    assert response.status == 200
    assert response.headers["content-type"] == content_type
    assert response.headers["cache-control"] == cache
    assert response.headers["x-content-type-options"] == "nosniff"
    again = await fetch(gateway, path, {"If-None-Match": response.headers["etag"]})
    assert again.status == 304


async def test_large_assets_are_sent_compressed_to_who_accepts_it(gateway: Gateway) -> None:
    path = "/static/vendor/graphiql@3.8.3/graphiql.min.js"
    plain = await fetch(gateway, path, {"Accept-Encoding": "identity"})
    packed = await fetch(gateway, path, {"Accept-Encoding": "gzip, br"})
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert int(packed.headers["content-length"]) < int(plain.headers["content-length"]) / 2


async def test_the_wallboard_page_allows_only_its_own_origin(gateway: Gateway) -> None:
    response = await fetch(gateway, "/")
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "connect-src 'self'" in policy
    assert "http" not in policy  # no other origin named


@pytest.mark.parametrize(
    "path",
    [
        "/static/nothing.js",
        "/static/../graphiql.html",
        "/static/%2e%2e/graphiql.py",
        "/static/vendor/",
        "/static/wallboard/../../__init__.py",
    ],
)
async def test_only_the_shipped_files_are_served(gateway: Gateway, path: str) -> None:
    async with gateway.client.session.get(
        f"{gateway.url}{path}", allow_redirects=False
    ) as response:
        assert response.status == 404
        assert "def " not in await response.text()
