"""Persisted queries: Apollo's automatic persisted queries (APQ) and safelist mode.

APQ (`extensions.persistedQuery = {version: 1, sha256Hash}`, on POST and GET), as Apollo
Server answers it: a hash alone that is not known yet is PERSISTED_QUERY_NOT_FOUND with
the message "PersistedQueryNotFound", HTTP 200 and `Cache-Control: private, no-cache,
must-revalidate` (Apollo Client's link then sends the document with the hash); a document
with its hash is checked (sha256 of the document, else BAD_USER_INPUT "provided sha does
not match query", 400), registered once it validates, and run. Hashes are kept by
app/live/persisted.py (Redis when the bus is Redis).

Safelist mode (SWITCHBOARD_PERSISTED_ONLY=<Apollo persisted query manifest>): only the
manifest's documents run — by hash (`sha256Hash` is the manifest's `id`) or as full text
whose sha256 is one of theirs — and `_service { sdl }` (routers compose). Anything else is
PERSISTED_QUERY_NOT_IN_LIST (Apollo Router's code and statuses: 404 for an unknown hash,
403 for a document) before anything runs; APQ registers nothing in this mode.

Nothing here runs for a request without `extensions` unless the safelist is on: the
common POST pays nothing for it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from graphql import GraphQLError, parse

from app.config import ConfigurationError
from app.errors import (
    BadUserInput,
    PersistedQueryNotFound,
    PersistedQueryNotInList,
    SwitchboardError,
)
from app.graphql.execution import PreparedOperations
from app.live.persisted import PersistedQueryStore

MANIFEST_FORMAT: Final = "apollo-persisted-query-manifest"
_VARIABLE: Final = "SWITCHBOARD_PERSISTED_ONLY"
# Apollo Server sends this with PersistedQueryNotFound: no cache may keep the miss.
NOT_FOUND_HEADERS: Final = {"cache-control": "private, no-cache, must-revalidate"}


def sha256_of(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Safelist:
    """The manifest's documents by id (what clients send as `sha256Hash`) and by the
    sha256 of their text (what a full document is checked against)."""

    by_id: Mapping[str, str]
    hashes: frozenset[str]

    def allows(self, document: str) -> bool:
        return sha256_of(document) in self.hashes


def load_manifest(path: str) -> Safelist:
    """The safelist of an Apollo persisted query manifest (`{"format":
    "apollo-persisted-query-manifest", "version": 1, "operations": [{"id", "name",
    "type", "body"}]}`); a ConfigurationError naming SWITCHBOARD_PERSISTED_ONLY if it
    cannot be read or is not one."""

    def refuse(reason: str) -> ConfigurationError:
        return ConfigurationError(f"{_VARIABLE}={path!r}: {reason}")

    try:
        manifest = json.loads(Path(path).read_text())
    except OSError as unreadable:
        raise refuse(unreadable.strerror or type(unreadable).__name__) from None
    except ValueError as bad:
        raise refuse(f"not JSON ({bad})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise refuse(f'not a persisted query manifest (expected "format": "{MANIFEST_FORMAT}")')
    if manifest.get("version") != 1:
        raise refuse(f"manifest version {manifest.get('version')!r}; only version 1 is known")
    operations = manifest.get("operations")
    if not isinstance(operations, list):
        raise refuse('"operations" must be a list')
    by_id: dict[str, str] = {}
    for index, operation in enumerate(operations):
        where = f"operations[{index}]"
        if not isinstance(operation, dict):
            raise refuse(f"{where} is not an object")
        key, body = operation.get("id"), operation.get("body")
        if not isinstance(key, str) or not key or not isinstance(body, str):
            raise refuse(f'{where} needs a string "id" and "body"')
        try:
            parse(body)
        except GraphQLError as error:
            raise refuse(f"{where} ({key}): its body does not parse: {error.message}") from None
        if by_id.get(key, body) != body:
            raise refuse(f"{where}: id {key} is given to two different bodies")
        by_id[key] = body
    return Safelist(by_id, frozenset(sha256_of(body) for body in by_id.values()))


class Refused(Exception):
    """A request answered before it runs: `error` with HTTP `status` (and `headers`)."""

    def __init__(
        self, error: SwitchboardError, status: int, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(error.message)
        self.error = error
        self.status = status
        self.headers = dict(headers or {})


class PersistedQueries:
    """Turns a request's `query` and `extensions` into the document to run, or refuses."""

    def __init__(
        self,
        store: PersistedQueryStore,
        operations: PreparedOperations,
        safelist: Safelist | None = None,
    ) -> None:
        self.store = store
        self.operations = operations
        self.safelist = safelist

    def concerns(self, extensions: object) -> bool:
        """Whether a request with these `extensions` needs `document` at all."""
        return self.safelist is not None or (
            isinstance(extensions, dict) and "persistedQuery" in extensions
        )

    async def document(self, query: object, extensions: object, name: str | None) -> object:
        """The document to run: `query` itself, the one its hash names, or Refused. A
        `query` that is not a string is handed back for the caller to refuse."""
        persisted = extensions.get("persistedQuery") if isinstance(extensions, dict) else None
        if persisted is None:
            if isinstance(query, str) and query:
                self._check_listed(query, name)
            return query
        if not isinstance(persisted, dict) or persisted.get("version") != 1:
            raise Refused(BadUserInput("Unsupported persisted query version"), 400)
        sha256 = persisted.get("sha256Hash")
        if not isinstance(sha256, str) or not sha256:
            raise Refused(BadUserInput("persistedQuery needs a sha256Hash string"), 400)
        if query is None or query == "":
            return await self._by_hash(sha256)
        if not isinstance(query, str):
            return query
        if sha256_of(query) != sha256.lower():
            raise Refused(BadUserInput("provided sha does not match query"), 400)
        if self.safelist is not None:
            # The hash matches the document; the document must be one of the list's.
            self._check_listed(query, name)
        elif self.operations.get(query, name).document is not None:
            # Registered only once it validates: junk does not take the store's room.
            await self.store.put(sha256.lower(), query)
        return query

    async def _by_hash(self, sha256: str) -> str:
        if self.safelist is not None:
            listed = self.safelist.by_id.get(sha256)
            if listed is None:
                raise Refused(
                    PersistedQueryNotInList(
                        "PersistedQueryNotInList: no operation with this id in the "
                        "persisted query list."
                    ),
                    404,
                )
            return listed
        known = await self.store.get(sha256.lower())
        if known is None:
            raise Refused(PersistedQueryNotFound(), 200, NOT_FOUND_HEADERS)
        return known

    def _check_listed(self, query: str, name: str | None) -> None:
        safelist = self.safelist
        if safelist is None or safelist.allows(query):
            return
        if self.operations.get(query, name).anonymous:
            return  # `_service { sdl }`: routers compose the supergraph
        raise Refused(
            PersistedQueryNotInList(
                "PersistedQueryNotInList: this document is not in the persisted query list."
            ),
            403,
        )


def error_body(error: SwitchboardError) -> dict[str, Any]:
    return {"errors": [{"message": error.message, "extensions": error.extensions}]}
