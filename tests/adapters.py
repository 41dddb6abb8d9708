"""Helpers for driving a vendor adapter (`app.adapters.VendorAdapter`) in tests."""

from __future__ import annotations

from typing import TypeVar

from app.adapters import VendorAdapter
from app.calls import CallSnapshot

S = TypeVar("S", bound=CallSnapshot)


async def fetch_one(adapter: VendorAdapter, native_id: str, snapshot_type: type[S]) -> S:
    """The snapshot `fetch_many([native_id])` answers, checked to be a `snapshot_type`."""
    (result,) = await adapter.fetch_many([native_id])
    assert isinstance(result, snapshot_type)
    return result
