"""Mutation root: hold, off-hold, hang up and click-to-call, answered with the call in the
state the vendor confirmed (see app/call_control.py)."""

from __future__ import annotations

import re

import strawberry
from strawberry.scalars import JSON

from app.adapters import StartCall
from app.calls import CallId, Capability, Vendor
from app.errors import BadUserInput
from app.graphql.context import Info
from app.graphql.types import Call
from app.idempotency import checked_key

# Phone numbers and extensions: digits and the dialling symbols, VoipNow's "0003*210".
_NUMBER = re.compile(r"[0-9+*#]{1,32}")


@strawberry.input(
    description="A call to start (click-to-call). Each vendor takes what its API knows."
)
class StartCallInput:
    vendor: Vendor
    to: str = strawberry.field(
        description=(
            "The number to call: Oracle userPhone (E.164), Huawei called, VoipNow and "
            "Genesys destination."
        )
    )
    from_: str | None = strawberry.field(
        default=None,
        name="from",
        description="The agent's side: Huawei caller, VoipNow extension. Oracle and Genesys "
        "call from their template / the agent's device.",
    )
    delay_seconds: int | None = strawberry.field(
        default=None, description="Oracle: schedule the call this many seconds from now."
    )
    contact_id: str | None = strawberry.field(
        default=None,
        description="Oracle: the call template (default SWITCHBOARD_ORACLE_CONTACT_ID).",
    )
    user_data: JSON | None = strawberry.field(
        default=None, description="Genesys userData; Huawei callData (as JSON text)."
    )
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="A key of the client's choosing (a UUID) that makes a retry safe: a "
        "repeat with the same key and request answers the first outcome (for 24 h) and "
        "never places a second call.",
    )

    def to_request(self) -> StartCall:
        for name, value in (("to", self.to), ("from", self.from_)):
            if value is not None and _NUMBER.fullmatch(value) is None:
                raise BadUserInput(
                    f"Malformed {name}: expected 1 to 32 digits or + * #.", vendor=self.vendor.value
                )
        if self.delay_seconds is not None and not 0 <= self.delay_seconds <= 86_400:
            raise BadUserInput("delaySeconds must be between 0 and 86400.")
        if self.user_data is not None and not isinstance(self.user_data, dict):
            raise BadUserInput("userData must be a JSON object.")
        return StartCall(
            vendor=self.vendor,
            to=self.to,
            from_=self.from_,
            delay_seconds=self.delay_seconds,
            contact_id=self.contact_id,
            user_data=self.user_data or {},
        )


async def _perform(info: Info, id: str, operation: Capability) -> Call:
    return await info.context.control.perform(CallId.parse(id), operation)  # type: ignore[return-value]


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Put a call on hold; the call once the vendor confirms it is HELD."
    )
    async def hold_call(self, info: Info, id: strawberry.ID) -> Call:
        return await _perform(info, id, Capability.HOLD)

    @strawberry.mutation(
        description="Take a call off hold; the call once the vendor confirms it is CONNECTED."
    )
    async def retrieve_call(self, info: Info, id: strawberry.ID) -> Call:
        return await _perform(info, id, Capability.RETRIEVE)

    @strawberry.mutation(description="Hang a call up; the call once the vendor confirms it ENDED.")
    async def hangup_call(self, info: Info, id: strawberry.ID) -> Call:
        return await _perform(info, id, Capability.HANGUP)

    @strawberry.mutation(
        description="Start a call (click-to-call); the call once the vendor shows it."
    )
    async def start_call(self, info: Info, input: StartCallInput) -> Call:
        key = None if input.idempotency_key is None else checked_key(input.idempotency_key)
        return await info.context.control.start(  # type: ignore[return-value]
            input.to_request(), idempotency_key=key
        )
