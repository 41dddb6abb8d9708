"""A principal: who is asking (`sub`), what they may do (scopes) and which calls are
theirs (their phone lines, unless they see every call).

Scopes (README, "Authentication"):
    calls:read     queries and subscriptions
    calls:control  holdCall, retrieveCall, hangupCall
    calls:start    startCall
    calls:all      every call, not just the principal's lines (supervisors, wallboards)
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from app.calls import Vendor
from app.errors import Forbidden


class Scope(enum.Enum):
    READ = "calls:read"
    CONTROL = "calls:control"
    START = "calls:start"
    ALL = "calls:all"


# Everything but digits, letters, * and #: "+1 (555) 010-2000" and "15550102000" are one
# number, "0003*210" stays as it is. Vendors write the same number in different shapes
# (Genesys `e164Number` with "+", `phoneNumber` without, Huawei digits only).
_NOT_PART_OF_A_NUMBER: Final = re.compile(r"[^0-9A-Za-z*#]")


def line(vendor: Vendor, number: str) -> str:
    """A line as principals name it: "<vendor>:<number>", the number normalised."""
    return f"{vendor.value}:{_NOT_PART_OF_A_NUMBER.sub('', number).lower()}"


def parse_line(text: str) -> str | None:
    """A `lines` claim entry normalised, or None when it is not "<vendor>:<number>"."""
    prefix, sep, number = text.partition(":")
    try:
        vendor = Vendor(prefix.strip().lower())
    except ValueError:
        return None
    normalised = line(vendor, number)
    return normalised if sep and normalised != f"{vendor.value}:" else None


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request or a websocket connection acts for.

    `expires_at`: the credential's `exp` (epoch seconds), None for API keys and when
    authentication is off. `lines`: normalised with `line()`."""

    sub: str
    scopes: frozenset[Scope]
    lines: frozenset[str] = frozenset()
    expires_at: float | None = None
    method: str = "none"  # how it was established: none, jwt, api-key

    @property
    def sees_all(self) -> bool:
        return Scope.ALL in self.scopes

    @property
    def visibility(self) -> frozenset[str] | None:
        """What decides the answers this principal gets: None (every call) or its lines.
        Subscribers with the same visibility may share one execution."""
        return None if self.sees_all else self.lines

    def allows(self, scope: Scope) -> bool:
        return scope in self.scopes

    def require(self, scope: Scope) -> None:
        if scope not in self.scopes:
            raise Forbidden(f"This needs the {scope.value} scope.", scope=scope.value)

    def owns_any(self, parties: Iterable[str]) -> bool:
        """Whether one of `parties` (lines, normalised) is one of this principal's."""
        lines = self.lines
        return any(party in lines for party in parties)


def scopes_from(value: object) -> frozenset[Scope]:
    """`scope` as a space-separated string or `scp` as a list; unknown scopes ignored (an
    identity provider's token carries scopes for other services too)."""
    if isinstance(value, str):
        words: Iterable[object] = value.split()
    elif isinstance(value, list | tuple):
        words = value
    else:
        return frozenset()
    known = {scope.value: scope for scope in Scope}
    return frozenset(known[w] for w in words if isinstance(w, str) and w in known)


def lines_from(value: object) -> frozenset[str]:
    """The `lines` claim: a list of "<vendor>:<number>"; entries that are not are ignored."""
    if not isinstance(value, list | tuple):
        return frozenset()
    parsed = (parse_line(entry) for entry in value if isinstance(entry, str))
    return frozenset(entry for entry in parsed if entry is not None)


# Authentication off (SWITCHBOARD_AUTH=none): every request may do everything.
EVERYONE: Final = Principal("anonymous", frozenset(Scope), method="none")
# No credential at all, when one is required: may read `_service { sdl }` only.
NOBODY: Final = Principal("", frozenset(), method="none")
