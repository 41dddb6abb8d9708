"""Mutation root: hold, off-hold, hang up and click-to-call, answered with the call in the
state the vendor confirmed (see app/call_control.py)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import strawberry
from strawberry.scalars import JSON

from app.adapters import StartCall
from app.auth import audit
from app.auth.placed import Placed
from app.auth.principal import Scope, line
from app.calls import CallId, CallSnapshot, Capability, Vendor
from app.errors import BadUserInput, Forbidden, SwitchboardError
from app.graphql.context import Context, Info
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


_OPERATIONS = {
    Capability.HOLD: "holdCall",
    Capability.RETRIEVE: "retrieveCall",
    Capability.HANGUP: "hangupCall",
}


async def _audited(
    context: Context,
    operation: str,
    vendor: str,
    call_id: str | None,
    command: Callable[[], Awaitable[CallSnapshot]],
) -> CallSnapshot:
    """Run `command`, leaving one audit record of its outcome, whatever it is."""
    outcome = "OK"
    try:
        snapshot = await command()
        call_id = call_id or snapshot.id
        return snapshot
    except SwitchboardError as refused:
        outcome = refused.code
        raise
    except BaseException:
        outcome = "INTERNAL_SERVER_ERROR"
        raise
    finally:
        audit.record(
            sub=context.principal.sub,
            operation=operation,
            vendor=vendor,
            call_id=call_id,
            outcome=outcome,
        )


async def _perform(info: Info, id: str, operation: Capability) -> Call:
    context = info.context
    call_id = CallId.parse(id)

    async def command() -> CallSnapshot:
        context.principal.require(Scope.CONTROL)
        if not context.principal.sees_all:
            await context.call(call_id)  # FORBIDDEN, and nothing sent, if not theirs
        await context.rate.check(context.principal.sub)
        return await context.control.perform(call_id, operation)

    name = _OPERATIONS[operation]
    return await _audited(context, name, call_id.vendor.value, str(call_id), command)  # type: ignore[return-value]


async def _start(context: Context, input: StartCallInput) -> CallSnapshot:
    principal = context.principal
    principal.require(Scope.START)
    key = None if input.idempotency_key is None else checked_key(input.idempotency_key)
    request = input.to_request()
    own = frozenset(n for n in principal.lines if n.startswith(f"{request.vendor.value}:"))
    if (
        not principal.sees_all
        and request.from_ is not None
        and line(request.vendor, request.from_) not in own
    ):
        raise Forbidden("`from` is not one of your lines (it needs calls:all).")
    await context.rate.check(principal.sub)
    # Keys are per principal: another caller's key replays nothing for this one.
    snapshot = await context.control.start(request, idempotency_key=key, scope=principal.sub)
    # Remembered, so the caller may follow a call whose vendor names no party (Oracle).
    numbers = {line(request.vendor, request.to)}
    if request.from_ is not None:
        numbers.add(line(request.vendor, request.from_))
    else:
        numbers |= own  # placed from the agent's own phone (Oracle's template, GWS device)
    placed = Placed(principal.sub, frozenset(numbers))
    await context.placed.remember(snapshot.id, placed, context.settings.vendors.idempotency_ttl)
    return snapshot


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
        context = info.context
        vendor = input.vendor.value
        return await _audited(  # type: ignore[return-value]
            context, "startCall", vendor, None, lambda: _start(context, input)
        )
