"""Call snapshots and call events as JSON, so that gateway instances can share them.

Generic over the snapshot dataclasses of app/calls.py: field types drive the decoding,
so a new vendor field needs no change here.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from app import calls
from app.calls import SNAPSHOT_TYPES, CallId, CallSnapshot, CallState


@dataclass(frozen=True, slots=True)
class CallEvent:
    """A watched call changed state (or was seen for the first time: `previous` None).
    `cursor`: where it is in the event log (app/live/event_log.py), to resume after it."""

    call: CallSnapshot
    previous: CallState | None
    at: datetime
    cursor: str = ""

    @property
    def call_id(self) -> CallId:
        return self.call.call_id


def encode_event(event: CallEvent) -> str:
    return json.dumps(
        {
            "call": _encode(event.call),
            "previous": event.previous.value if event.previous else None,
            "at": event.at.isoformat(),
            "cursor": event.cursor,
        },
        separators=(",", ":"),
    )


def decode_event(text: str) -> CallEvent:
    raw = json.loads(text)
    previous = raw.get("previous")
    return CallEvent(
        call=decode_snapshot(raw["call"]),
        previous=CallState(previous) if previous else None,
        at=datetime.fromisoformat(raw["at"]),
        cursor=raw.get("cursor", ""),
    )


def encode_snapshot(snapshot: CallSnapshot) -> dict[str, Any]:
    return _encode(snapshot)  # type: ignore[no-any-return]


def decode_snapshot(raw: Mapping[str, Any]) -> CallSnapshot:
    call_id = CallId.parse(raw["call_id"])
    snapshot: CallSnapshot = _decode_dataclass(SNAPSHOT_TYPES[call_id.vendor], raw)
    return snapshot


def _encode(value: Any) -> Any:
    if isinstance(value, CallId):
        return str(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (tuple, list)):
        return [_encode(item) for item in value]
    if isinstance(value, Mapping):
        return {str(k): _encode(v) for k, v in value.items()}
    return value


@cache
def _hints(cls: Any) -> dict[str, Any]:
    return typing.get_type_hints(cls, vars(calls))


def _decode_dataclass(cls: Any, raw: Mapping[str, Any]) -> Any:
    hints = _hints(cls)
    kwargs = {
        f.name: _decode(hints[f.name], raw[f.name])
        for f in dataclasses.fields(cls)
        if f.name in raw
    }
    return cls(**kwargs)


def _decode(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        return _decode(options[0], value) if len(options) == 1 else value
    if hint is CallId:
        return CallId.parse(value)
    if hint is datetime:
        return datetime.fromisoformat(value)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return hint(value)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _decode_dataclass(hint, value)
    if origin is tuple:
        (item,) = typing.get_args(hint)[:1]
        return tuple(_decode(item, v) for v in value)
    return value
