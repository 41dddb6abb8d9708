"""A second subgraph for the federation tests: a small CRM that knows its agents and which
switchboard calls each of them is on.

It joins switchboard both ways:
- `Agent.activeCalls` returns references to switchboard's `Call` (only the `id`), which
  the router resolves through switchboard's `_entities`;
- it adds `crmNote` and `agent` to every `Call` through `@interfaceObject`, so a query
  that starts at switchboard's `call(id:)` gets them from here.

Its data is a `CrmData` given when the app is built, so each test can say which calls
belong to which agent (for example an agent with 50 call references for the batching
tests).
"""

# strawberry.field(...) with arguments is typed as returning Any: the same exemption as
# pyproject.toml gives app.graphql.*.
# mypy: disallow-untyped-decorators=False

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TypeAlias

import strawberry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from app.calls import Vendor
from tests.demo import DEMO_IDS

# The version switchboard links (app/graphql/schema.py); @interfaceObject needs >= 2.3.
FEDERATION_VERSION: Final = "2.9"


@dataclass(frozen=True)
class AgentRecord:
    extension: str
    name: str
    call_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class CrmData:
    """What the CRM knows: its agents (with their calls) and a note per call."""

    agents: tuple[AgentRecord, ...]
    notes: Mapping[str, str] = field(default_factory=dict)

    def agent(self, extension: str) -> AgentRecord | None:
        return next((a for a in self.agents if a.extension == extension), None)

    def owner(self, call_id: str) -> AgentRecord | None:
        """The first agent whose calls include `call_id`."""
        return next((a for a in self.agents if call_id in a.call_ids), None)


# The demo calls' agents: the Genesys demo call is on DN 15001, the VoipNow one on 0003*210.
DEMO_CRM = CrmData(
    agents=(
        AgentRecord("15001", "Grace Genesys", (DEMO_IDS[Vendor.GENESYS],)),
        AgentRecord("0003*210", "Victor VoipNow", (DEMO_IDS[Vendor.VOIPNOW],)),
    ),
    notes={
        DEMO_IDS[Vendor.GENESYS]: "Account 12345678 asked for a callback.",
        DEMO_IDS[Vendor.VOIPNOW]: "Transferred from 0003*024.",
    },
)


@dataclass
class CrmContext:
    data: CrmData


Info: TypeAlias = strawberry.Info[CrmContext, None]


@strawberry.federation.type(keys=["extension"], description="A contact-centre agent.")
class Agent:
    extension: str
    name: str

    @classmethod
    def from_record(cls, record: AgentRecord) -> Agent:
        return cls(extension=record.extension, name=record.name)

    @classmethod
    def resolve_reference(cls, info: Info, extension: str) -> Agent | None:
        record = info.context.data.agent(extension)
        return None if record is None else cls.from_record(record)

    @strawberry.field(description="The switchboard calls the agent is on, by reference.")
    def active_calls(self, info: Info) -> list[Call]:
        record = info.context.data.agent(self.extension)
        return [Call(id=strawberry.ID(call_id)) for call_id in record.call_ids] if record else []


# No description: switchboard owns the interface's documentation, and a second one here
# would replace it in the supergraph (Apollo hints INCONSISTENT_DESCRIPTION).
@strawberry.federation.interface_object(keys=["id"])
class Call:
    id: strawberry.ID

    @classmethod
    def resolve_reference(cls, id: strawberry.ID) -> Call:
        # Every call id is a valid reference: a call the CRM has no record of simply has
        # no note and no agent.
        return cls(id=id)

    @strawberry.field(description="What the agent wrote about the call.")
    def crm_note(self, info: Info) -> str | None:
        return info.context.data.notes.get(self.id)

    @strawberry.field(description="The agent on the call, if the CRM knows one.")
    def agent(self, info: Info) -> Agent | None:
        record = info.context.data.owner(self.id)
        return None if record is None else Agent.from_record(record)


@strawberry.type
class Query:
    @strawberry.field(description="Every agent the CRM knows.")
    def agents(self, info: Info) -> list[Agent]:
        return [Agent.from_record(record) for record in info.context.data.agents]

    @strawberry.field(description="One agent by extension; null if the CRM has none.")
    def agent(self, info: Info, extension: str) -> Agent | None:
        record = info.context.data.agent(extension)
        return None if record is None else Agent.from_record(record)


def build_crm_schema() -> strawberry.federation.Schema:
    return strawberry.federation.Schema(
        query=Query, types=[Agent, Call], federation_version=FEDERATION_VERSION
    )


class CrmGraphQL(GraphQL[CrmContext, None]):
    """Strawberry's ASGI GraphQL app over `data`."""

    def __init__(self, data: CrmData) -> None:
        super().__init__(build_crm_schema(), graphql_ide=None)
        self.data = data

    async def get_context(self, request: Request | WebSocket, response: Any) -> CrmContext:
        return CrmContext(self.data)


def crm_app(data: CrmData) -> Starlette:
    """The CRM at `/graphql`, in Starlette for the lifespan protocol that serve_asgi speaks
    (Strawberry's app alone refuses it)."""
    return Starlette(routes=[Route("/graphql", CrmGraphQL(data), methods=["GET", "POST"])])
