"""GraphQL types of the `Call` interface and its five vendor types.

Resolvers receive the domain snapshots themselves (`app.calls`), so field names mirror
the snapshot attributes and nothing is copied. `Call.resolve_type` picks the concrete type
of a snapshot; `is_type_of` does for the federation `_Entity` union.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, ClassVar

import strawberry
from strawberry.scalars import JSON

from app import calls
from app.calls import CallId, CallSnapshot
from app.errors import BadUserInput
from app.graphql.context import Info

# The domain enums serve as GraphQL enums as they are (strawberry.enum marks them in place).
strawberry.enum(calls.Vendor, description="The telephony vendor behind a call.")
strawberry.enum(calls.CallState, description="A call's state, normalised over the vendors.")
strawberry.enum(
    calls.Capability, description="An operation switchboard can perform on the call now."
)
Vendor = calls.Vendor


@strawberry.enum(description="Verba GetCallID status, tried in the order given.")
class RecordingStatus(enum.Enum):
    ONGOING = "ongoing"
    NEXT = "next"
    LAST = "last"


@strawberry.federation.interface(
    keys=["id"],
    description="A call at any vendor. `id` is global: `<vendor>:<native id>`.",
)
class Call:
    id: strawberry.ID
    vendor: calls.Vendor
    state: calls.CallState = strawberry.field(description="Normalised state.")
    vendor_state: str | None = strawberry.field(
        description="The vendor's own state value, unchanged."
    )
    capabilities: list[calls.Capability] = strawberry.field(
        description="Operations valid now, from the normalised state and the vendor's API."
    )
    started_at: datetime | None
    ended_at: datetime | None

    # Resolved only when asked for: a query's read carries no version of its own, so the
    # live layer's version of the same state is looked up (one dict lookup, no Redis).
    @strawberry.field(
        description="The state's version: a per-call counter, bumped on each state change "
        "switchboard publishes, monotonic across instances. 0: not followed live yet."
    )
    def version(self, parent: strawberry.Parent[CallSnapshot], info: Info) -> int:
        return info.context.live.stamp(parent).version

    @strawberry.field(description="When switchboard first saw this state; null if not yet.")
    def observed_at(self, parent: strawberry.Parent[CallSnapshot], info: Info) -> datetime | None:
        return info.context.live.stamp(parent).observed_at

    # Set on each vendor type; the interface itself accepts any vendor.
    vendor_kind: ClassVar[calls.Vendor | None] = None

    @classmethod
    def resolve_type(cls, obj: object, info: object, abstract_type: object) -> str | None:
        """The vendor type of a snapshot, by one lookup (without this, Strawberry asks each
        type's `is_type_of` in turn: ~8 µs of a query for a Genesys call)."""
        return TYPE_NAMES.get(type(obj))

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> CallSnapshot:
        """Federation `_entities`: goes through the same per-request loaders as queries."""
        call_id = CallId.parse(id)
        if cls.vendor_kind is not None and call_id.vendor is not cls.vendor_kind:
            raise BadUserInput(
                f"Call id {id!r} is not a {cls.vendor_kind.value} call.",
                vendor=call_id.vendor.value,
            )
        return await info.context.load_call(call_id)


def _snapshot_type_check(snapshot_type: type[CallSnapshot]) -> Any:
    def is_type_of(cls: type, obj: object, info: object) -> bool:
        return isinstance(obj, snapshot_type)

    return classmethod(is_type_of)


@strawberry.federation.type(keys=["id"], description="Oracle Click-to-Call session.")
class OracleCall(Call):
    vendor_kind: ClassVar[calls.Vendor | None] = calls.Vendor.ORACLE
    is_type_of = _snapshot_type_check(calls.OracleCall)

    session_id: str
    time: datetime | None = strawberry.field(description="When the current state began.")
    scheduled_time: datetime | None
    more: str | None = strawberry.field(description="yes / no / maybe: more changes to come.")
    has_changed: bool | None = strawberry.field(
        description="Changed since switchboard's previous status request."
    )


@strawberry.federation.type(keys=["id"], description="Huawei Cloud CEC bidirectional call.")
class HuaweiCall(Call):
    vendor_kind: ClassVar[calls.Vendor | None] = calls.Vendor.HUAWEI
    is_type_of = _snapshot_type_check(calls.HuaweiCall)

    call_serial_no: str
    reason_code: int | None
    reason: str | None = strawberry.field(description="`reasonCode` in words.")
    call_data: str | None
    caller: str | None
    called: str | None
    caller_present: str | None
    agent_present: str | None

    @strawberry.field(description="Start of the call (the vendor's `startTime`).")
    def start_time(self, parent: strawberry.Parent[calls.HuaweiCall]) -> datetime | None:
        return parent.started_at

    @strawberry.field(description="End of the call (the vendor's `endTime`).")
    def end_time(self, parent: strawberry.Parent[calls.HuaweiCall]) -> datetime | None:
        return parent.ended_at


@strawberry.federation.type(keys=["id"], description="A Verba recording (GetCallID).")
class VerbaCall(Call):
    vendor_kind: ClassVar[calls.Vendor | None] = calls.Vendor.VERBA
    is_type_of = _snapshot_type_check(calls.VerbaCall)

    verba_call_id: str = strawberry.field(name="callId", description="Verba's CallID.")
    extension: str | None
    platform_call_id: str | None
    native_call_id: str | None = strawberry.field(name="nativeId")
    url: str | None = strawberry.field(
        description="The full HTTP URL pointing to the recording (Verba GetCallURL), when "
        "the recording was read by its CallID."
    )


@strawberry.type(description="One party's view of a VoipNow phone call (`phoneCallView`).")
class VoipNowCallView:
    id: str
    extension: str | None
    source: list[str]
    destination: list[str]
    caller_id: str | None
    flow: int | None
    status: int | None
    answered: datetime | None
    on_hold: datetime | None
    holder: int | None
    recording: str | None


@strawberry.type(description="A participant of a Genesys call.")
class GenesysParticipant:
    e164_number: str | None
    formatted_phone_number: str | None
    phone_number: str | None
    digits: str | None
    country: JSON | None
    location: str | None
    local_phone_number: str | None
    e164_digits: str | None = strawberry.field(name="E164digits")


async def _ongoing_recording(info: Info, extension: str | None) -> CallSnapshot | None:
    if not extension:
        return None
    return await info.context.load_recording(extension)


@strawberry.federation.type(keys=["id"], description="A VoipNow UnifiedAPI phone call.")
class VoipNowCall(Call):
    vendor_kind: ClassVar[calls.Vendor | None] = calls.Vendor.VOIPNOW
    is_type_of = _snapshot_type_check(calls.VoipNowCall)

    user_id: str
    extension: str
    phone_call_id: str
    owner_id: str | None
    owner_name: str | None
    published: datetime | None
    answered: datetime | None
    views: list[VoipNowCallView]
    link: str | None

    @strawberry.field(description="The ongoing Verba recording of this call's extension.")
    async def recording(
        self, parent: strawberry.Parent[calls.VoipNowCall], info: Info
    ) -> VerbaCall | None:
        return await _ongoing_recording(info, parent.extension)  # type: ignore[return-value]


@strawberry.federation.type(keys=["id"], description="A Genesys Web Services voice call.")
class GenesysCall(Call):
    vendor_kind: ClassVar[calls.Vendor | None] = calls.Vendor.GENESYS
    is_type_of = _snapshot_type_check(calls.GenesysCall)

    call_uuid: str | None
    conn_id: str | None
    device_uri: str | None
    device_number: str | None = strawberry.field(
        description="The phone number of the call's device (`deviceUri`): the agent's line."
    )
    participants: list[GenesysParticipant]
    dnis: str | None
    call_type: str | None
    vendor_capabilities: list[str] = strawberry.field(
        description="Genesys' own `capabilities` list, unchanged."
    )
    user_data: JSON
    duration: int | None
    mute: str | None
    recording_state: str | None
    supervisor_listening_in: bool | None
    monitored_user_muted: bool | None
    monitoring: bool | None
    uri: str | None
    path: str | None

    @strawberry.field(
        description="The ongoing Verba recording of the call's first participant's number."
    )
    async def recording(
        self, parent: strawberry.Parent[calls.GenesysCall], info: Info
    ) -> VerbaCall | None:
        number = next((p.phone_number for p in parent.participants if p.phone_number), None)
        return await _ongoing_recording(info, number or parent.dnis)  # type: ignore[return-value]


CALL_TYPES: tuple[type, ...] = (OracleCall, HuaweiCall, VerbaCall, VoipNowCall, GenesysCall)
# The GraphQL type of each domain snapshot.
TYPE_NAMES: dict[type, str] = {
    calls.OracleCall: OracleCall.__name__,
    calls.HuaweiCall: HuaweiCall.__name__,
    calls.VerbaCall: VerbaCall.__name__,
    calls.VoipNowCall: VoipNowCall.__name__,
    calls.GenesysCall: GenesysCall.__name__,
}
