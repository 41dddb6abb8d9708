"""Per-request data loaders: each distinct call fetched once, a vendor's batch in one go."""

from __future__ import annotations

from collections.abc import Sequence

from aiodataloader import DataLoader

from app.adapters import FetchResult, RecordingLookup, VendorAdapter
from app.calls import CallSnapshot, VerbaCall
from app.errors import SwitchboardError


class CallByNativeIdLoader(DataLoader[str, CallSnapshot]):
    """One vendor's calls by native id. aiodataloader dedupes keys within the request."""

    def __init__(self, adapter: VendorAdapter, *, max_batch_size: int) -> None:
        super().__init__(max_batch_size=max_batch_size)
        self.adapter = adapter

    # aiodataloader rejects a key's future when its value is an Exception; its annotations
    # do not say so, hence the ignores on both loaders.
    async def batch_load_fn(self, native_ids: Sequence[str]) -> list[FetchResult]:  # type: ignore[override]
        try:
            return list(await self.adapter.fetch_many(native_ids))
        except SwitchboardError as error:
            # The whole vendor failed: every call of this batch is null with that error,
            # while other vendors' calls in the same request still resolve.
            return [error] * len(native_ids)


class RecordingByExtensionLoader(DataLoader[str, VerbaCall | None]):
    """The ongoing Verba recording of each distinct extension (None where there is none)."""

    def __init__(self, lookup: RecordingLookup, *, max_batch_size: int) -> None:
        super().__init__(max_batch_size=max_batch_size)
        self.lookup = lookup

    async def batch_load_fn(  # type: ignore[override]
        self, extensions: Sequence[str]
    ) -> list[VerbaCall | SwitchboardError | None]:
        try:
            return list(await self.lookup.find_recordings(extensions))
        except SwitchboardError as error:
            return [error] * len(extensions)
