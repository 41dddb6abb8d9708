"""GraphQL types of callStats (app/live/stats.py). As with calls, resolvers receive the
domain values themselves: field names mirror their attributes, nothing is copied."""

from __future__ import annotations

from datetime import datetime

import strawberry

from app import calls


@strawberry.type(description="How many calls are in one normalised state.")
class StateCount:
    state: calls.CallState
    count: int


@strawberry.type(description="One vendor's calls now, counted by state.")
class VendorCallStats:
    vendor: calls.Vendor
    total: int = strawberry.field(description="Calls not ended.")
    by_state: list[StateCount] = strawberry.field(
        description="Every normalised state but ENDED, in the enum's order, zeros included."
    )
    longest_waiting_seconds: int | None = strawberry.field(
        description="Whole seconds the longest RINGING or DIALING call has been so; "
        "null when none is."
    )
    longest_held_seconds: int | None = strawberry.field(
        description="Whole seconds the longest HELD call has been held; null when none is."
    )


@strawberry.type(description="Calls now, per vendor and overall (callStats).")
class CallStats:
    at: datetime = strawberry.field(description="When these values were computed.")
    total: int = strawberry.field(description="Calls not ended, every vendor counted.")
    by_vendor: list[VendorCallStats] = strawberry.field(
        description="One entry per vendor counted, in the Vendor enum's order."
    )
    longest_waiting_seconds: int | None = strawberry.field(
        description="The longest waiting time over the vendors; null when no call waits."
    )
    longest_held_seconds: int | None = strawberry.field(
        description="The longest held time over the vendors; null when no call is held."
    )
