"""The contract between the gateway and the vendor adapters (the one seam between layers).

The GraphQL layer and the live watcher talk only to these Protocols; `app/vendors/`
implements them, one adapter per vendor. Test doubles, if ever needed, are ordinary
implementations of the same Protocols.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from app.calls import CallId, CallSnapshot, Capability, Vendor, VerbaCall
from app.errors import CallNotFound, NotSupported, SwitchboardError, VendorError

# One entry per requested native id, in the same order: the snapshot, or why not.
FetchResult = CallSnapshot | SwitchboardError


class VendorAdapter(Protocol):
    vendor: Vendor

    async def fetch_many(self, native_ids: Sequence[str]) -> Sequence[FetchResult]:
        """Fetch distinct calls with the fewest upstream requests the vendor allows.

        Returns one result per id, in order. A call the vendor does not know is a
        `CallNotFound`; a failure of the vendor itself may be raised for the whole batch.
        """
        ...

    async def active_calls(self, extension: str | None) -> Sequence[CallSnapshot]:
        """The calls in progress (for vendors with a list API), else `NotSupported`."""
        ...

    async def perform(self, call: CallSnapshot, operation: Capability) -> None:
        """Ask the vendor to hold, retrieve or hang up `call` (as last read). Returns once
        the vendor accepted; the new state is confirmed by reading (or by a push event).
        Sent once: never retried, since a resent command could act twice."""
        ...

    async def start_call(self, request: StartCall) -> str:
        """Ask the vendor to start a call; returns the new call's native id. Sent once."""
        ...

    async def close(self) -> None: ...


@runtime_checkable
class LongPolls(Protocol):
    """An adapter whose vendor holds a status request until the call changes (Oracle's
    Get Call Status with `waitperiod`): a watcher asks once per change, not per interval."""

    async def wait_for_change(self, native_id: str, wait: float) -> FetchResult:
        """The call once it changed, or as it is after at most `wait` seconds."""
        ...


@runtime_checkable
class FindsPlacedCalls(Protocol):
    """An adapter whose vendor lists calls (Genesys, VoipNow) can look for a call that it
    may have placed when the answer to the request was lost."""

    async def find_placed_call(self, request: StartCall, since: datetime) -> CallSnapshot | None:
        """The call the vendor shows for `request` (same destination, and origin where
        the vendor says it), begun at or after `since`; None when there is none."""
        ...


@dataclass(frozen=True, slots=True)
class StartCall:
    """A click-to-call request, vendor-neutral. Each adapter takes what its API knows:

    - `to`: the number to call (Oracle userPhone in E.164, Huawei called, VoipNow and
      Genesys destination);
    - `from_`: the agent's side (Huawei caller, VoipNow extension); Oracle and Genesys
      call from the configured template / the agent's own device;
    - `delay_seconds`: Oracle schedules the call; `contact_id`: Oracle's call template;
    - `user_data`: Genesys userData, Huawei callData (as JSON text).
    """

    vendor: Vendor
    to: str
    from_: str | None = None
    delay_seconds: int | None = None
    contact_id: str | None = None
    user_data: Mapping[str, Any] = field(default_factory=dict)


class AdapterBase:
    """Defaults for what a vendor cannot do: each answers `NotSupported`, no request made."""

    vendor: Vendor

    async def active_calls(self, extension: str | None) -> Sequence[CallSnapshot]:
        raise NotSupported(
            f"{self.vendor.value} has no API to list active calls.", vendor=self.vendor.value
        )

    async def perform(self, call: CallSnapshot, operation: Capability) -> None:
        raise NotSupported(
            f"{self.vendor.value} cannot {operation.value.lower()} calls through its API.",
            vendor=self.vendor.value,
        )

    async def start_call(self, request: StartCall) -> str:
        raise NotSupported(
            f"{self.vendor.value} cannot start calls through its API.", vendor=self.vendor.value
        )

    async def close(self) -> None:
        return None


@dataclass(frozen=True, slots=True)
class RecordingQuery:
    """Verba GetCallID parameters. `statuses` are tried in order (e.g. ongoing, next)."""

    extension: str | None = None
    statuses: tuple[str, ...] = ()
    platform_call_id: str | None = None
    native_id: str | None = None


class RecordingLookup(Protocol):
    async def find_recording(self, query: RecordingQuery) -> VerbaCall | None:
        """The one recording matching `query`, or None when Verba finds none."""
        ...

    async def find_recordings(
        self, extensions: Sequence[str], statuses: tuple[str, ...] = ("ongoing",)
    ) -> Sequence[VerbaCall | SwitchboardError | None]:
        """One lookup per distinct extension, concurrently; results in the same order. An
        answer about one extension (e.g. several records match) is returned in its slot."""
        ...


class VendorHealth(Protocol):
    """How a vendor is doing, as the gateway saw it (its circuit breaker)."""

    @property
    def usable(self) -> bool:
        """False while requests to the vendor are refused at once (breaker open)."""
        ...

    def describe(self) -> dict[str, Any]:
        """For /readyz: breaker state, age of the last success, code of the last error."""
        ...


@dataclass(frozen=True)
class Adapters:
    """Every configured adapter, by vendor, plus Verba's recording lookup."""

    by_vendor: Mapping[Vendor, VendorAdapter]
    recordings: RecordingLookup | None
    health: Mapping[Vendor, VendorHealth] = field(default_factory=dict)

    def __getitem__(self, vendor: Vendor) -> VendorAdapter:
        """The vendor's adapter; `NotSupported` when that vendor is not configured."""
        try:
            return self.by_vendor[vendor]
        except KeyError:
            raise NotSupported(
                f"{vendor.value} is not configured on this gateway.", vendor=vendor.value
            ) from None

    def recording_lookup(self) -> RecordingLookup:
        if self.recordings is None:
            raise NotSupported("verba is not configured on this gateway.", vendor="verba")
        return self.recordings

    async def close(self) -> None:
        for adapter in self.by_vendor.values():
            await adapter.close()


async def read_call(
    adapters: Adapters, call_id: CallId, *, missing_ok: bool = False
) -> CallSnapshot | None:
    """The call as the vendor has it now (no request-scoped cache: commands need truth).
    Here, beside the adapters, so that call control and the live layer both use it
    without one importing the other."""
    [result] = await adapters[call_id.vendor].fetch_many([call_id.native])
    if isinstance(result, CallNotFound) and missing_ok:
        return None
    if isinstance(result, Exception):
        raise result
    return result


async def read_if_accepted(
    adapters: Adapters, call_id: CallId, accept: Callable[[CallSnapshot | None], bool]
) -> tuple[bool, CallSnapshot | None]:
    """One read of a command's confirmation: (True, the call — None: gone) when `accept`
    takes what the vendor shows now; (False, None) otherwise, also after a passing vendor
    failure (the caller's deadline, not one bad read, decides)."""
    try:
        snapshot = await read_call(adapters, call_id, missing_ok=True)
    except VendorError:
        return False, None
    return (True, snapshot) if accept(snapshot) else (False, None)
