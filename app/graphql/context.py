"""The per-request GraphQL context: adapters, limits, and lazily created loaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias

import strawberry

from app.adapters import Adapters
from app.call_control import CallControl
from app.calls import CallId, CallSnapshot, Vendor, VerbaCall
from app.config import Settings
from app.graphql.loaders import CallByNativeIdLoader, RecordingByExtensionLoader
from app.live.watcher import Watcher


@dataclass
class Context:
    adapters: Adapters
    settings: Settings
    control: CallControl
    live: Watcher
    # The websocket `connection_init` payload (auth can use it later); {} over HTTP.
    connection_params: dict[str, Any] = field(default_factory=dict)
    _call_loaders: dict[Vendor, CallByNativeIdLoader] = field(default_factory=dict)
    _recording_loader: RecordingByExtensionLoader | None = None

    def call_loader(self, vendor: Vendor) -> CallByNativeIdLoader:
        # Created on first use: aiodataloader binds to the running loop in its constructor.
        loader = self._call_loaders.get(vendor)
        if loader is None:
            loader = CallByNativeIdLoader(
                self.adapters[vendor], max_batch_size=self.settings.max_ids
            )
            self._call_loaders[vendor] = loader
        return loader

    def forget_loaded(self) -> None:
        """Drop what the loaders cached. A subscription keeps its context for its whole
        life; each of its events must read fresh data, not the first event's."""
        self._call_loaders.clear()
        self._recording_loader = None

    async def load_call(self, call_id: CallId) -> CallSnapshot:
        snapshot: CallSnapshot = await self.call_loader(call_id.vendor).load(call_id.native)
        return snapshot

    async def load_recording(self, extension: str) -> VerbaCall | None:
        if self._recording_loader is None:
            self._recording_loader = RecordingByExtensionLoader(
                self.adapters.recording_lookup(), max_batch_size=self.settings.max_ids
            )
        recording: VerbaCall | None = await self._recording_loader.load(extension)
        return recording


Info: TypeAlias = strawberry.Info[Context, None]
