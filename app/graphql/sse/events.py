"""The event stream's wire format (the graphql-sse protocol, distinct connections mode):
`event: next` with an execution result as `data`, a last `event: complete`, and comments
as keep-alives. A `next` carries `id: <cursor>` when its result delivered one, so that a
browser's EventSource sends it back as `Last-Event-ID` when it reconnects."""

from __future__ import annotations

from typing import Final

# `data:` even when empty: EventSource dispatches no event without one.
COMPLETE: Final = b"event: complete\ndata:\n\n"
KEEP_ALIVE: Final = b":\n\n"

HEADERS: Final = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    # nginx buffers proxied responses unless told not to: events would arrive in lumps.
    (b"x-accel-buffering", b"no"),
]


MAX_EVENT_ID: Final = 64  # characters of an event id (a cursor), and of a Last-Event-ID


def is_event_id(text: str) -> bool:
    """Printable ASCII, at most MAX_EVENT_ID characters: no line break can end the field."""
    return 0 < len(text) <= MAX_EVENT_ID and all(" " <= c <= "~" for c in text)


def next_event(payload: str, event_id: str | None = None) -> bytes:
    """A `next` event of an encoded execution result (compact JSON: one line)."""
    if event_id is not None and is_event_id(event_id):
        head = f"id: {event_id}\nevent: next\ndata: "
    else:
        head = "event: next\ndata: "
    return (head + payload + "\n\n").encode()
