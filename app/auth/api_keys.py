"""API keys (SWITCHBOARD_API_KEYS_FILE): for services and wallboards that cannot get a
JWT. The file holds each key's SHA-256 only, with the principal it stands for:

    [{"key_sha256": "<64 hex>", "sub": "wallboard-3", "scope": "calls:read calls:all",
      "lines": ["voipnow:0003*210"]}]

A key is looked up by its hash: the file leaks no key, and a lookup by hash takes the
same time whatever the key's prefix."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Final

from app.auth.principal import Principal, lines_from, scopes_from
from app.errors import Unauthenticated

_SHA256_HEX: Final = re.compile(r"[0-9a-f]{64}")


class ApiKeyError(ValueError):
    pass


class ApiKeys:
    def __init__(self, by_hash: dict[str, Principal]) -> None:
        self._by_hash = by_hash

    def __len__(self) -> int:
        return len(self._by_hash)

    @classmethod
    def parse(cls, text: str) -> ApiKeys:
        """The keys of a file's text; ApiKeyError names the entry that is wrong."""
        try:
            entries: Any = json.loads(text)
        except ValueError as bad:
            raise ApiKeyError(f"not JSON ({bad})") from None
        if not isinstance(entries, list):
            raise ApiKeyError("expected a JSON list of keys")
        by_hash: dict[str, Principal] = {}
        for index, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise ApiKeyError(f"entry {index} is not an object")
            digest = str(entry.get("key_sha256", "")).lower()
            if _SHA256_HEX.fullmatch(digest) is None:
                raise ApiKeyError(f"entry {index}: key_sha256 must be 64 hexadecimal digits")
            sub = entry.get("sub")
            if not isinstance(sub, str) or not sub:
                raise ApiKeyError(f"entry {index}: sub must be a non-empty string")
            if digest in by_hash:
                raise ApiKeyError(f"entry {index}: the same key_sha256 twice")
            scopes = scopes_from(entry.get("scope", entry.get("scp")))
            by_hash[digest] = Principal(
                sub, scopes, lines_from(entry.get("lines")), method="api-key"
            )
        return cls(by_hash)

    def principal(self, key: str) -> Principal:
        found = self._by_hash.get(hashlib.sha256(key.encode()).hexdigest())
        if found is None:
            raise Unauthenticated("Unknown API key.")
        return found
