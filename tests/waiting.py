"""Waiting for background work in tests: a condition polled until it holds, bounded."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def eventually(predicate: Callable[[], object], within: float = 10.0) -> None:
    """Return once `predicate()` is true; TimeoutError after `within` seconds."""
    async with asyncio.timeout(within):
        while not predicate():  # noqa: ASYNC110 (background work)
            await asyncio.sleep(0.01)
