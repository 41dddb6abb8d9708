"""Reading vendor wire fields totally (VENDORS.md §6, "Everywhere"): vendors add fields,
omit null ones and change number/string types between versions. A field that cannot be
read is None, never an exception, and the oddity is logged once per (vendor, field,
shape) — the shape is the JSON type seen, never the value, which may be personal data.

Adapters read every field through one `WireReader` of their vendor:

    read = WireReader(Vendor.GENESYS)
    state = read.text(wire, "state")             # str; a number becomes its digits
    held_at = read.epoch_millis(wire, "time")   # int or digit string; a date string too

Only a reply without a usable id or state is unreadable as a whole (the adapter says
VENDOR_UNAVAILABLE for that call alone).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from app.calls import Vendor

logger = logging.getLogger("switchboard.vendors")

# Bounded: a vendor sending a new shape per request must not grow memory.
_REPORTED_LIMIT = 1024
_reported: set[tuple[str, str, str]] = set()

# Date strings seen in vendor examples: Oracle "2013-07-25 4:35:50" (s0204getcallstatus
# examples01), ISO-8601 with or without zone ("2025-01-15T12:00:00Z", "...T12:00:00.000+0000").
_DATE = re.compile(
    r"\s*(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.(\d{1,6})\d*)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?\s*"
)


def shape_of(value: object) -> str:
    """The JSON type of `value` (what is logged about an odd field instead of the value)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return type(value).__name__


class WireReader:
    """Typed, total reads of one vendor's JSON (or XML-derived) values."""

    def __init__(self, vendor: Vendor) -> None:
        self.vendor = vendor

    def odd(self, field: str, value: object, expected: str) -> None:
        """Say once that `field` came in a shape this adapter cannot read."""
        key = (self.vendor.value, field, shape_of(value))
        if key in _reported or len(_reported) >= _REPORTED_LIMIT:
            return
        _reported.add(key)
        logger.warning(
            "%s sent field %r as %s where %s was expected; it reads as null",
            self.vendor.value,
            field,
            key[2],
            expected,
        )

    # -- plain values ---------------------------------------------------------------------

    def text(self, wire: Mapping[str, Any], key: str, *, field: str | None = None) -> str | None:
        """A string; a number becomes its decimal text (vendors switch between the two)."""
        value = wire.get(key)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, int | float) and not isinstance(value, bool):
            return str(value)
        self.odd(field or key, value, "a string")
        return None

    def integer(self, wire: Mapping[str, Any], key: str, *, field: str | None = None) -> int | None:
        """An integer; a string of digits (with spaces or a sign) counts."""
        value = wire.get(key)
        if value is None:
            return None
        number = as_int(value)
        if number is None:
            self.odd(field or key, value, "an integer")
        return number

    def flag(self, wire: Mapping[str, Any], key: str, *, field: str | None = None) -> bool | None:
        """A boolean; "yes"/"no", "true"/"false", 1/0 count."""
        value = wire.get(key)
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        if isinstance(value, str):
            word = value.strip().lower()
            if word in {"yes", "true", "1"}:
                return True
            if word in {"no", "false", "0"}:
                return False
        self.odd(field or key, value, "a boolean")
        return None

    def mapping(
        self, wire: Mapping[str, Any], key: str, *, field: str | None = None
    ) -> Mapping[str, Any] | None:
        value = wire.get(key)
        if value is None or isinstance(value, Mapping):
            return value
        self.odd(field or key, value, "an object")
        return None

    def items(self, wire: Mapping[str, Any], key: str, *, field: str | None = None) -> list[Any]:
        """A list (empty when absent); a single object where a list belongs is a list of one."""
        value = wire.get(key)
        if value is None:
            return []
        if isinstance(value, list):
            return value
        if isinstance(value, Mapping):
            return [value]
        self.odd(field or key, value, "an array")
        return []

    # -- times ----------------------------------------------------------------------------

    def epoch_seconds(
        self, wire: Mapping[str, Any], key: str, *, field: str | None = None
    ) -> datetime | None:
        """Epoch seconds (int, float or digit string, " 1343129570"), or a date string."""
        return self._time(wire, key, field, 1)

    def epoch_millis(
        self, wire: Mapping[str, Any], key: str, *, field: str | None = None
    ) -> datetime | None:
        """Epoch milliseconds (int or digit string), or a date string."""
        return self._time(wire, key, field, 1000)

    def date(
        self, wire: Mapping[str, Any], key: str, *, field: str | None = None
    ) -> datetime | None:
        """A date string (ISO-8601 or "YYYY-MM-DD H:MM:SS"); no zone means UTC."""
        value = wire.get(key)
        if value is None or value == "":
            return None
        parsed = parse_date(value) if isinstance(value, str) else None
        if parsed is None:
            self.odd(field or key, value, "a date")
        return parsed

    def _time(
        self, wire: Mapping[str, Any], key: str, field: str | None, per_second: int
    ) -> datetime | None:
        value = wire.get(key)
        if value is None or value == "":
            return None
        number = as_int(value)
        if number is None and isinstance(value, float):
            number = int(value)
        parsed: datetime | None = None
        if number is not None:
            try:
                parsed = datetime.fromtimestamp(number / per_second, UTC)
            except (OverflowError, OSError, ValueError):
                parsed = None
        elif isinstance(value, str):
            parsed = parse_date(value)
        if parsed is None:
            self.odd(field or key, value, "a time")
        return parsed


def as_int(value: object) -> int | None:
    """An int, or a string of digits (" 1343129570", "+7"); anything else is None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        digits = value.strip()
        if digits.lstrip("+-").isdigit() and len(digits) <= 32:
            return int(digits)
    return None


def parse_date(text: str) -> datetime | None:
    """`text` as an aware datetime, or None. A date without a zone is taken as UTC."""
    match = _DATE.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        parsed = datetime(
            int(year),
            int(month),
            int(day),
            int(hour),
            int(minute),
            int(second or 0),
            int((fraction or "0").ljust(6, "0")),
            tzinfo=UTC,
        )
    except ValueError:
        return None
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        hours, minutes = int(zone[1:3]), int(zone[-2:])
        parsed -= sign * timedelta(hours=hours, minutes=minutes)
    return parsed
