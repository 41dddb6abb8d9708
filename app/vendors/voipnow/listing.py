"""List PhoneCalls, page by page (wiki.4psa.com/display/VNUAPI30/List+PhoneCalls): `count`
is the page size and `startIndex` where it starts, each at most 5000; "no phone calls" is
204 with an empty body. A batch that needs the whole list reads pages until one says it is
the last (short, empty, or `totalResults` reached)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from app.vendors.http import VendorResponse
from app.vendors.voipnow.mapping import Page, page_from_body
from app.vendors.voipnow.session import VoipNowSession, unexpected
from app.vendors.voipnow.wire import PhoneCallWire

logger = logging.getLogger("switchboard.vendors.voipnow")

MAX_COUNT = 5000  # [doc] "Maximum value 5000" for count and for startIndex
MAX_START_INDEX = 5000


def page_of(response: VendorResponse) -> Page:
    """The PhoneCalls of one 200 or 204 answer; anything else is the vendor unwell."""
    if response.status == 204:
        # Documented quirk: "no phone calls to be returned" is a 204 without a body.
        return Page([], 0)
    if response.status != 200:
        raise unexpected(response)
    page = page_from_body(response.json())
    if page is None:
        raise unexpected(response)
    return page


async def list_all(
    session: VoipNowSession,
    path: str,
    *,
    page_size: int = MAX_COUNT,
    first: VendorResponse | None = None,
) -> list[PhoneCallWire]:
    """Every PhoneCall under `path`, reading pages of `page_size`. `first` is the answer to
    the first page when the caller already has it (e.g. to read its error code)."""
    count = max(1, min(page_size, MAX_COUNT))
    calls: list[PhoneCallWire] = []
    seen: set[str] = set()
    start = 0
    while True:
        response = first if first is not None and start == 0 else None
        if response is None:
            response = await session.send("GET", path, params=page_params(start, count))
        page = page_of(response)
        new = [c for c in page.calls if str(c["id"]) not in seen]
        seen.update(str(c["id"]) for c in new)
        calls.extend(new)
        start += len(page.calls)
        if not new or (page.total is not None and start >= page.total):
            return calls
        # Without a total, a page shorter than asked for is the last. A server that caps
        # the page below `count` says so only through `totalResults`.
        if page.total is None and len(page.calls) < count:
            return calls
        if start > MAX_START_INDEX:
            logger.warning("voipnow list %s goes past startIndex %d; read that far", path, start)
            return calls


def page_params(start: int, count: int) -> Mapping[str, str]:
    return {"startIndex": str(start), "count": str(count)}
