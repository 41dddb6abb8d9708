"""Shared subscription executions. Subscribers that send the same operation with the same
variables, and would get the same answers, share ONE execution and ONE encoded payload;
only the websocket sends are per subscriber. A subscriber that joins a running
`callUpdated` gets the latest payload at once (the call's current state)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

from graphql import DocumentNode, FieldNode, NullValueNode, VariableNode, get_operation_ast
from strawberry.types.execution import PreExecutionError

from app.auth.principal import Principal, Scope
from app.errors import extensions_for
from app.graphql.context import Context
from app.graphql.websocket.messages import result_errors, result_payload

if TYPE_CHECKING:
    from app.graphql.websocket.connection import Connection
    from app.graphql.websocket.server import SubscriptionServer

logger = logging.getLogger("switchboard.websocket")

SharingKey = tuple[str, str, str | None, Hashable]
# Seconds an event stream waits for a slow member's send queue to have room.
READER_PATIENCE = 5.0


def sharing_key(
    query: str, variables: dict[str, Any], name: str | None, principal: Principal
) -> SharingKey:
    """Who may share: the same document and variables, and the same visibility — what of
    a principal decides its answers: whether it may read, and every call (`calls:all`,
    whoever it is) or its set of lines (agents with the same lines share)."""
    may_read = Scope.READ in principal.scopes
    visibility: Hashable = (may_read, principal.visibility)
    return (query, json.dumps(variables, sort_keys=True), name, visibility)


class SharedExecution:
    """One subscription execution, its latest payload, and everyone receiving it."""

    def __init__(
        self,
        server: SubscriptionServer,
        key: SharingKey,
        query: str,
        variables: dict[str, Any],
        name: str | None,
        context: Context,
    ) -> None:
        self.server = server
        self.key = key
        self.query = query
        self.variables = variables
        self.name = name
        self.context = context
        self.members: dict[tuple[Connection, str], None] = {}
        self.latest: str | None = None
        document = server.schema.operations.get(query, name).document
        self.replays = _replays_latest(document, name)
        # A stream resumed from a cursor (callEvents(after:)) starts with its replay: who
        # joins once it has begun would miss that, so later subscribers run their own.
        self.resumes = _resumes(document, name, variables)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="subscription")

    @property
    def joinable(self) -> bool:
        """Whether a new subscriber gets what it asked for by joining this execution."""
        return not self.resumes or self.latest is None

    def add(self, connection: Connection, op_id: str) -> None:
        self.members[(connection, op_id)] = None
        if self.replays and self.latest is not None:
            connection.send_data(op_id, self.latest)

    async def remove(self, connection: Connection, op_id: str) -> None:
        self.members.pop((connection, op_id), None)
        if not self.members:
            await self.stop()

    async def stop(self) -> None:
        if self.server.shared.get(self.key) is self:
            del self.server.shared[self.key]
        if self._task is not None and self._task is not asyncio.current_task():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        try:
            stream = await self.server.schema.subscribe(
                self.query,
                variable_values=self.variables,
                context_value=self.context,
                operation_name=self.name,
            )
            async for result in stream:
                if isinstance(result, PreExecutionError) or (result.data is None and result.errors):
                    errors = result_errors(result)
                    for connection, op_id in self._members():
                        connection.send_error(op_id, errors)
                    return
                payload = result_payload(result)  # once, whoever receives it
                self.latest = payload
                for connection, op_id in self._members():
                    connection.send_data(op_id, payload)
                if not self.replays:
                    await self._readers_ready()
            for connection, op_id in self._members():
                connection.send_complete(op_id)
        except Exception:
            logger.exception("subscription execution failed")
            failure = [{"message": "Internal server error.", "extensions": extensions_for(None)}]
            for connection, op_id in self._members():
                connection.send_error(op_id, failure)
        finally:
            if self.server.shared.get(self.key) is self:
                del self.server.shared[self.key]
            for connection, op_id in list(self.members):
                connection.operations.pop(op_id, None)
            self.members.clear()

    def _members(self) -> list[tuple[Connection, str]]:
        return list(self.members)

    async def _readers_ready(self) -> None:
        """A stream of events (callEvents: a replay comes in one burst) loses nothing to a
        reader that is merely slower than the burst: the next event waits until every
        member's send queue has room — at most READER_PATIENCE seconds, so that one reader
        that stopped reading cannot hold the others up for long (then it drops, as a state
        subscription would at once)."""
        waiting = [c.outbox.room() for c, _ in self._members() if c.outbox.full]
        if waiting:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(READER_PATIENCE):
                    await asyncio.gather(*waiting)


# Subscriptions whose every payload is a state (a call now, the counts now).
_STATE_FIELDS = frozenset({"callUpdated", "callStats"})


def _replays_latest(document: DocumentNode | None, name: str | None) -> bool:
    """Late joiners get the latest payload when it is a state (callUpdated, callStats),
    not an event stream (callEvents, whose past events are not news)."""
    operation = get_operation_ast(document, name) if document else None
    fields = operation.selection_set.selections if operation else ()
    return all(isinstance(f, FieldNode) and f.name.value in _STATE_FIELDS for f in fields)


def _resumes(document: DocumentNode | None, name: str | None, variables: dict[str, Any]) -> bool:
    """Whether a root field is given a non-null `after` (a cursor to replay from)."""
    operation = get_operation_ast(document, name) if document else None
    for field in operation.selection_set.selections if operation else ():
        if not isinstance(field, FieldNode):
            continue
        for argument in field.arguments or ():
            if argument.name.value != "after":
                continue
            value = argument.value
            if isinstance(value, VariableNode):
                if variables.get(value.name.value) is not None:
                    return True
            elif not isinstance(value, NullValueNode):
                return True
    return False
