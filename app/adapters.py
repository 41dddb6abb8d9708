"""The contract between the gateway and the vendor adapters (the one seam between layers).

The GraphQL layer and the live watcher talk only to these Protocols; `app/vendors/`
implements them, one adapter per vendor. Test doubles, if ever needed, are ordinary
implementations of the same Protocols.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from app.calls import CallSnapshot, Vendor, VerbaCall
from app.errors import NotSupported, SwitchboardError

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

    async def close(self) -> None: ...


class AdapterBase:
    """Defaults for what a vendor cannot do: each answers `NotSupported`, no request made."""

    vendor: Vendor

    async def active_calls(self, extension: str | None) -> Sequence[CallSnapshot]:
        raise NotSupported(
            f"{self.vendor.value} has no API to list active calls.", vendor=self.vendor.value
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


@dataclass(frozen=True)
class Adapters:
    """Every configured adapter, by vendor, plus Verba's recording lookup."""

    by_vendor: Mapping[Vendor, VendorAdapter]
    recordings: RecordingLookup | None

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
