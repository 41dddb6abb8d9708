"""Operations posted over HTTP: one request object read into an operation (persisted
queries and the safelist applied) or the answer refusing it, its execution into an
answer, and batches — a JSON array of operations, as Apollo's BatchHttpLink sends: at
most `max_batch`, each entry checked like a single request before any of them runs, then
all run at once with one context (one principal per request, so its loaders batch vendor
reads across the operations), answered by an array in the same order."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.types import Receive, Scope, Send
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import InvalidOperationTypeError

from app.auth.principal import NOBODY, Principal
from app.errors import BAD_USER_INPUT, INTERNAL_SERVER_ERROR, Unauthenticated
from app.graphql.context import Context
from app.graphql.observe import RequestObservation, operation_name_of
from app.graphql.persisted import PersistedQueries, Refused, error_body
from app.graphql.schema import QUERIES_AND_MUTATIONS, SwitchboardSchema
from app.graphql.wire import (
    GRAPHQL_RESPONSE_JSON,
    NO_CREDENTIAL,
    graphql_error_response,
    unauthenticated_response,
)

# Made once: json.dumps with `separators` builds a new encoder every call.
COMPACT_JSON = json.JSONEncoder(separators=(",", ":"))


class HttpOperations:
    def __init__(
        self, schema: SwitchboardSchema, persisted: PersistedQueries, *, max_batch: int
    ) -> None:
        self.schema = schema
        self.persisted = persisted
        self.max_batch = max_batch
        # Safelist mode looks at every document; otherwise only requests with extensions.
        self.every_document = persisted.safelist is not None

    async def read(self, request: object) -> Operation | Answer:
        """One request object made an operation to run, or the answer refusing it."""
        if not isinstance(request, dict):
            return refusal("Expected a JSON object with a string `query`, object `variables`.")
        query, variables, name = (
            request.get("query"),
            request.get("variables"),
            request.get("operationName"),
        )
        if not (variables is None or isinstance(variables, dict)) or not (
            name is None or isinstance(name, str)
        ):
            return refusal("Expected a JSON object with a string `query`, object `variables`.")
        extensions = request.get("extensions")
        if extensions is not None or self.every_document:
            try:
                query = await self.persisted.document(query, extensions, name)
            except Refused as refused:
                return Answer(refused.status, error_body(refused.error), refused.headers)
        if not isinstance(query, str):
            return refusal("Expected a JSON object with a string `query`, object `variables`.")
        return Operation(query, variables, name)

    async def execute(self, operation: Operation, context: Context, media_type: bytes) -> Answer:
        query, name = operation.query, operation.name
        try:
            result = await self.schema.execute(
                query,
                variable_values=operation.variables,
                context_value=context,
                operation_name=name,
                allowed_operation_types=QUERIES_AND_MUTATIONS,
            )
        except MissingQueryError:
            return refusal("The query is empty.")
        except InvalidOperationTypeError as refused:
            reason = refused.as_http_error_reason("POST") + "; use the websocket endpoint"
            return refusal(reason)
        prepared = self.schema.operations.get(query, name)  # cached: one dictionary lookup
        answer = Answer(200, {"data": result.data})
        if prepared.operation_type is not None:
            answer.operation_type = prepared.operation_type.value
        answer.operation_name = name or operation_name_of(prepared.document)
        if result.errors:
            answer.body["errors"] = [error.formatted for error in result.errors]
            answer.codes = [
                str((error.extensions or {}).get("code", INTERNAL_SERVER_ERROR))
                for error in result.errors
            ]
        if result.extensions:
            answer.body["extensions"] = result.extensions
        if prepared.document is None and media_type is GRAPHQL_RESPONSE_JSON:
            # Refused before execution (parse, validation, limits): the spec's request
            # error — no `data` entry, 4xx. application/json keeps 200 and `data: null`.
            answer.status = 400
            del answer.body["data"]
        return answer

    async def batch(
        self,
        scope: Scope,
        receive: Receive,
        observed: RequestObservation,
        principal: Principal,
        context_for: Callable[[Principal], Context],
        requests: list[Any],
        media_type: bytes,
    ) -> None:
        send = observed.send
        if not requests or len(requests) > self.max_batch:
            refused = (
                f"A batch of {len(requests)} operations: at most {self.max_batch} per request "
                "(SWITCHBOARD_MAX_BATCH)."
                if requests
                else "An empty batch: send at least one operation."
            )
            await graphql_error_response(refused, 400, media_type=media_type)(scope, receive, send)
            return
        entries = await asyncio.gather(*(self.read(request) for request in requests))
        if principal is NOBODY and any(
            isinstance(entry, Operation)
            and not self.schema.operations.get(entry.query, entry.name).anonymous
            for entry in entries
        ):
            # One credential per request: without one, nothing of the batch runs.
            await unauthenticated_response(Unauthenticated(NO_CREDENTIAL), media_type)(
                scope, receive, send
            )
            return
        context = context_for(principal)

        async def answered(entry: Operation | Answer) -> Answer:
            if isinstance(entry, Answer):
                return entry
            return await self.execute(entry, context, media_type)

        answers = await asyncio.gather(*(answered(entry) for entry in entries))
        observed.operation_type = next((a.operation_type for a in answers if a.operation_type), "")
        observed.operation_name = ",".join(a.operation_name for a in answers if a.operation_name)
        observed.codes = [code for answer in answers for code in answer.codes]
        payload = b"[" + b",".join(COMPACT_JSON.encode(a.body).encode() for a in answers) + b"]"
        await send_payload(send, 200, payload, media_type)


@dataclass(slots=True)
class Operation:
    query: str
    variables: dict[str, Any] | None
    name: str | None


@dataclass(slots=True)
class Answer:
    """One operation's answer: its HTTP status (a batch answers 200 whatever its
    entries'), JSON body, extra headers, and what the access log records of it."""

    status: int
    body: dict[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)
    operation_type: str = ""
    operation_name: str | None = None
    codes: list[str] = field(default_factory=list)


def refusal(message: str) -> Answer:
    return Answer(400, {"errors": [{"message": message, "extensions": {"code": BAD_USER_INPUT}}]})


async def send_answer(send: Send, answer: Answer, media_type: bytes) -> None:
    payload = COMPACT_JSON.encode(answer.body).encode()
    await send_payload(send, answer.status, payload, media_type, answer.headers)


async def send_payload(
    send: Send,
    status: int,
    payload: bytes,
    media_type: bytes,
    headers: Mapping[str, str] | None = None,
) -> None:
    raw_headers = [
        (b"content-type", media_type),
        (b"content-length", str(len(payload)).encode()),
    ]
    if headers:
        raw_headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": payload})
