"""The browser side switchboard serves itself: the wallboard at `/` and every asset under
`/static/` (our own files and the pinned vendor bundles GraphiQL and the wallboard load),
so no page needs a request that leaves the machine.

Only the files present at start are served (a fixed table, so no path from a request
reaches the file system); their content types are ours, not the platform's mimetypes
table (a module script served as anything but JavaScript does not run)."""

from __future__ import annotations

import functools
import gzip
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

STATIC = Path(__file__).parent / "static"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".md": "text/plain; charset=utf-8",
    "": "text/plain; charset=utf-8",  # LICENSE
}

# vendor/<package>@<version>/ never changes under its name: cached for a year. Our own
# files change with switchboard, under the same name: revalidated every time (ETag).
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"

# Our pages load nothing but our own files and talk only to their own origin (graphql over
# HTTP and websockets): a CDN script slipped into a page is refused by the browser too.
PAGE_POLICY = (
    "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)

# Worth compressing (graphiql.min.js: 3.5 MB, 1 MB gzipped); images already are.
_COMPRESSIBLE = ("text/", "application/json", "image/svg+xml")


@dataclass
class Asset:
    body: bytes
    content_type: str
    cache_control: str
    etag: str
    _gzipped: bytes | None = field(default=None, repr=False)

    def gzipped(self) -> bytes:
        # On first request, not at start: most test apps never serve GraphiQL.
        if self._gzipped is None:
            self._gzipped = gzip.compress(self.body, compresslevel=6, mtime=0)
        return self._gzipped


class Assets:
    """The files under `root`, by URL path below it, read once."""

    def __init__(self, root: Path = STATIC) -> None:
        self.files: dict[str, Asset] = {}
        for path in sorted(root.rglob("*")):
            content_type = CONTENT_TYPES.get(path.suffix)
            if not path.is_file() or content_type is None:
                continue
            name = path.relative_to(root).as_posix()
            body = path.read_bytes()
            self.files[name] = Asset(
                body,
                content_type,
                IMMUTABLE if name.startswith("vendor/") else REVALIDATE,
                '"' + hashlib.sha256(body).hexdigest()[:32] + '"',
            )

    def response(self, request: Request, name: str) -> Response:
        asset = self.files.get(name)
        if asset is None:
            return Response("Not found.", status_code=404, media_type="text/plain")
        headers = {
            "cache-control": asset.cache_control,
            "etag": asset.etag,
            "vary": "accept-encoding",
            "x-content-type-options": "nosniff",
        }
        if asset.content_type.startswith("text/html"):
            headers["content-security-policy"] = PAGE_POLICY
        if asset.etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        body = asset.body
        accepted = request.headers.get("accept-encoding", "")
        if "gzip" in accepted and asset.content_type.startswith(_COMPRESSIBLE):
            body = asset.gzipped()
            headers["content-encoding"] = "gzip"
        return Response(body, headers=headers, media_type=asset.content_type)


@functools.cache
def packaged_assets() -> Assets:
    """The files shipped in app/web/static, read once per process (every app shares them)."""
    return Assets()


def web_routes(assets: Assets | None = None) -> list[BaseRoute]:
    """`/` (the wallboard) and `/static/...`."""
    served = assets or packaged_assets()

    async def wallboard(request: Request) -> Response:
        return served.response(request, "wallboard/index.html")

    async def static(request: Request) -> Response:
        return served.response(request, request.path_params["name"])

    return [
        Route("/", wallboard, methods=["GET", "HEAD"]),
        Route("/static/{name:path}", static, methods=["GET", "HEAD"]),
    ]
