"""List PhoneCalls for the VoipNow emulator (wiki.4psa.com/display/VNUAPI30/List+PhoneCalls):
the list parameters (filterBy / filterOp / filterValue, sortOrder, startIndex and count —
each at most 5000 — and fields), the page, and UnifiedAPI's error body."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

MAX_PAGE = 5000  # [doc] count and startIndex: "Maximum value 5000"

# Top-level PhoneCall fields: those `filterBy` compares, and all that `fields` may name.
_FILTERABLE = ("id", "extension", "ownerId", "ownerName", "published", "answered")
_FIELDS = (*_FILTERABLE, "nonce", "phoneCallView", "link", "links")
# The seed's names, and the spellings 4PSA's MCP server sends (4psa/mcp-voipnow
# calls/src/tools/phone-calls-list.ts: "equals", "startsWith", "ascending", "descending").
_FILTER_OPS = ("eq", "equals", "contains", "startsWith")
_SORT_ORDERS = {"asc": False, "ascending": False, "desc": True, "descending": True}


def error(status: int, code: str, message: str) -> web.HTTPException:
    """`{"error": {"code", "message"}}` with `status` (400, 401 or 403)."""
    body = json.dumps({"error": {"code": code, "message": message}})
    exception = {400: web.HTTPBadRequest, 401: web.HTTPUnauthorized, 403: web.HTTPForbidden}
    return exception[status](text=body, content_type="application/json")


def int_param(query: Mapping[str, str], name: str, code: str) -> int | None:
    text = query.get(name)
    if text is None:
        return None
    if not text.isdigit():
        raise error(400, code, f"Parameter {name} is invalid.")
    return int(text)


@dataclass(frozen=True, slots=True)
class Selection:
    """One page of a list: its PhoneCalls, where it starts, and how many the list holds."""

    entry: list[dict[str, Any]]
    start: int
    total: int

    def collection(self) -> dict[str, Any]:
        # OpenSocial's collection, which UnifiedAPI follows ("Collection<PhoneCall>").
        return {
            "startIndex": self.start,
            "itemsPerPage": len(self.entry),
            "totalResults": self.total,
            "entry": self.entry,
        }


def select(
    resources: list[dict[str, Any]], query: Mapping[str, str], *, page_size: int
) -> Selection:
    """Apply the list parameters: filter, then sort, then page (never more than
    `page_size`, whatever `count` asks), then pick fields."""
    filter_by = query.get("filterBy")
    if filter_by is not None:
        if filter_by not in _FILTERABLE:
            raise error(400, "filterby_invalid", "Parameter filterBy is invalid.")
        op, value = query.get("filterOp", "eq"), query.get("filterValue")
        if op not in _FILTER_OPS:
            raise error(400, "filterop_invalid", "Parameter filterOp is invalid.")
        if value is None:
            raise error(400, "filtervalue_invalid", "Parameter filterValue is invalid.")
        resources = [r for r in resources if filter_by in r and _matches(r[filter_by], op, value)]
    sort_order = query.get("sortOrder")
    if sort_order is not None:
        if sort_order not in _SORT_ORDERS:
            raise error(400, "sortorder_invalid", "Parameter sortOrder is invalid.")
        resources = sorted(
            resources,
            key=lambda r: datetime.fromisoformat(r["published"]),
            reverse=_SORT_ORDERS[sort_order],
        )
    start = int_param(query, "startIndex", "startindex_invalid") or 0
    count = int_param(query, "count", "count_invalid")
    if start > MAX_PAGE:
        raise error(400, "startindex_invalid", "Parameter startIndex is invalid.")
    if count is not None and count > MAX_PAGE:
        raise error(400, "count_invalid", "Parameter count is invalid.")
    size = page_size if count is None else min(count, page_size)
    total = len(resources)
    entry = resources[start : start + size]
    fields = query.get("fields")
    if fields is not None:
        wanted = {name.strip() for name in fields.split(",")}
        if not wanted <= set(_FIELDS):
            raise error(400, "fields_invalid", "Parameter fields is invalid.")
        # The id is always returned, as OpenSocial (which UnifiedAPI follows) requires.
        entry = [{k: v for k, v in r.items() if k == "id" or k in wanted} for r in entry]
    return Selection(entry, start, total)


def _matches(field: object, op: str, value: str) -> bool:
    if op in ("eq", "equals"):
        return field == value
    if op == "startsWith":
        return isinstance(field, str) and field.startswith(value)
    return isinstance(field, str) and value in field
