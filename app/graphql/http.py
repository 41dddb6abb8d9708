"""GraphQL over HTTP: a lean path for `POST application/json` straight to the schema,
and Strawberry's view for GET (queries only, and GraphiQL's page).

Who is asking is settled first (app/auth): no, a malformed, wrongly signed or expired
credential is answered 401 with `WWW-Authenticate: Bearer` and UNAUTHENTICATED, except
that `_service { sdl }` (a router composing) needs none. A POST that is not JSON — the
`text/plain`, form and multipart posts a foreign page can make a browser send without
CORS' consent — is refused with 415 before anything runs (CSRF).

Every refusal is a coded GraphQL error, JSON, never a 500 or plain text: malformed
JSON, JSON nested too deeply (in the body or in GET parameters), no query, a body over
the size cap (413), a subscription (400: they belong to the websocket endpoint).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.schema.exceptions import InvalidOperationTypeError

from app import tracing
from app.auth.authenticator import Authenticator, credential_of_headers
from app.auth.principal import EVERYONE, NOBODY, Principal
from app.errors import (
    BAD_USER_INPUT,
    INTERNAL_SERVER_ERROR,
    UNAUTHENTICATED,
    BadUserInput,
    Unauthenticated,
    error_document,
)
from app.graphql.context import Context
from app.graphql.json_input import decode, too_deep
from app.graphql.observe import RequestObservation, operation_name_of
from app.graphql.schema import QUERIES_AND_MUTATIONS, SwitchboardSchema
from app.logs import REQUEST_ID
from app.web.graphiql import graphiql_page

# What GraphiQL opens with: the demo calls of all five vendors in one request.
EXAMPLE_QUERY = """\
# switchboard: one GraphQL API over five telephony vendors.
# Press the play button (Ctrl-Enter) to fetch the demo calls.
query DemoCalls {
  calls(ids: [
    "genesys:01RCC3N118B1V0SL8O7GK2LAES000010"
    "huawei:645735364434067472"
    "oracle:1TfU02Xfme2GMuzfUh0rkdgvz4"
    "voipnow:12/0003*210/b817d2618fe6f1804333"
    "verba:a8343631-9f35-4a3a-83f0-9e81592339fb"
  ]) {
    __typename
    id
    vendor
    state
    vendorState
    capabilities
    startedAt
    ... on GenesysCall { connId dnis callType userData recording { id } }
    ... on HuaweiCall { caller called reasonCode reason }
    ... on OracleCall { more hasChanged }
    ... on VoipNowCall { extension views { id extension status onHold } }
  }
  activeCalls(vendor: GENESYS) { id state }
}
"""

logger = logging.getLogger("switchboard.graphql")


ContextFactory = Callable[[Principal], Context]
PRINCIPAL_KEY = "switchboard.principal"  # where the endpoint leaves the principal in the scope


class GraphQLApp(GraphQL[Context, None]):
    """Strawberry's HTTP view with our context and our GraphiQL start page."""

    def __init__(
        self, schema: SwitchboardSchema, context: ContextFactory, *, graphiql: bool
    ) -> None:
        super().__init__(schema, graphql_ide="graphiql" if graphiql else None)
        self.context = context
        # Our page, not Strawberry's: its assets are served by us, not loaded from a CDN.
        self._ide_html = graphiql_page(EXAMPLE_QUERY)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        try:
            response = await self.run(Request(scope, receive))
        except HTTPException as refused:
            # Strawberry answers these in plain text; clients expect a coded GraphQL error.
            response = graphql_error_response(refused.reason, refused.status_code)
        await response(scope, receive, send)

    async def get_context(self, request: Request | WebSocket, response: Any) -> Context:
        return self.context(request.scope[PRINCIPAL_KEY])

    async def render_graphql_ide(self, request: Request) -> Response:
        return HTMLResponse(self._ide_html)


def graphql_error_response(
    message: str,
    status_code: int,
    code: str = BAD_USER_INPUT,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_document(message, code), status_code=status_code, headers=headers)


def unauthenticated_response(refused: Unauthenticated) -> JSONResponse:
    """401 as RFC 6750 says: the scheme in WWW-Authenticate, the reason in the body."""
    challenge = 'Bearer realm="switchboard"'
    if refused.message != _NO_CREDENTIAL:
        challenge += ', error="invalid_token"'
    return graphql_error_response(
        refused.message, 401, UNAUTHENTICATED, {"www-authenticate": challenge}
    )


_NO_CREDENTIAL = "This needs a credential: Authorization: Bearer <token>, or X-API-Key."


class BodySizeLimit:
    """Refuses request bodies over `max_bytes` with 413, before anything parses them."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0

        async def counted_receive() -> Any:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise _BodyTooLarge
            return message

        try:
            await self.app(scope, counted_receive, send)
        except _BodyTooLarge:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"Request body larger than {self.max_bytes} bytes."
        await graphql_error_response(message, 413)(scope, receive, send)


class _BodyTooLarge(Exception):
    pass


# Made once: json.dumps with `separators` builds a new encoder every call.
_COMPACT_JSON = json.JSONEncoder(separators=(",", ":"))


class GraphQLEndpoint:
    """`/graphql` over HTTP. The common request — POST with a JSON body — goes straight to
    `schema.execute` (the view's generic request handling cost as much CPU as executing
    the query itself); anything else goes to Strawberry's view."""

    def __init__(
        self,
        schema: SwitchboardSchema,
        context: ContextFactory,
        authenticator: Authenticator,
        *,
        graphiql: bool,
        max_body_bytes: int,
        access_log: bool = True,
        metrics: bool = True,
    ) -> None:
        self.schema = schema
        self.context = context
        self.authenticator = authenticator
        self.access_log = access_log
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.max_json_depth = schema.max_json_depth
        self.view = BodySizeLimit(GraphQLApp(schema, context, graphiql=graphiql), max_body_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        observed = RequestObservation(scope, send)
        token = REQUEST_ID.set(observed.request_id)
        try:
            if tracing.enabled():
                # A span per operation, continuing the caller's (the router's) trace.
                carrier = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
                with tracing.span(
                    "graphql", {"requestId": observed.request_id}, carrier=carrier
                ) as current:
                    await self._serve(scope, receive, observed)
                    current.set_attribute("graphql.operation.type", observed.operation_type)
                    if observed.operation_name:
                        current.set_attribute("graphql.operation.name", observed.operation_name)
            else:
                await self._serve(scope, receive, observed)
        finally:
            observed.finish(scope, log=self.access_log, metrics=self.metrics)
            REQUEST_ID.reset(token)

    async def _serve(self, scope: Scope, receive: Receive, observed: RequestObservation) -> None:
        send = observed.send
        try:
            if self.authenticator.enabled:
                try:
                    principal = await self.authenticator.principal(
                        credential_of_headers(scope["headers"])
                    )
                except Unauthenticated as bad_credential:
                    await unauthenticated_response(bad_credential)(scope, receive, send)
                    return
                observed.sub = principal.sub if principal is not NOBODY else None
            else:
                principal = EVERYONE  # authentication off: nothing to read
            if scope["method"] == "POST":
                if not _json_content(scope):
                    # Not executed: a foreign page may post text/plain or a form freely.
                    refusal = "POST bodies must be application/json (a GraphQL request)."
                    await graphql_error_response(refusal, 415)(scope, receive, send)
                    return
                await self._post(scope, receive, observed, principal)
                return
            if principal is NOBODY and not self._anonymous_get(scope):
                await unauthenticated_response(Unauthenticated(_NO_CREDENTIAL))(
                    scope, receive, send
                )
                return
            scope[PRINCIPAL_KEY] = principal
            too_deep_parameters = _deep_parameters(scope, self.max_json_depth)
            if too_deep_parameters is not None:
                refused = too_deep_parameters.message
                await graphql_error_response(refused, 400)(scope, receive, send)
                return
            try:
                await self.view(scope, receive, send)
            except RecursionError:
                # JSON Strawberry decodes itself (multipart `operations`), nested past
                # the decoder: the client's doing, before anything was answered.
                refused = too_deep(self.max_json_depth).message
                await graphql_error_response(refused, 400)(scope, receive, send)
        except Exception:
            # A bug of ours (errors of operations are answers, not exceptions): logged
            # with its stack trace, answered without it.
            logger.exception("unexpected error serving %s %s", scope["method"], scope["path"])
            with contextlib.suppress(Exception):  # unless the answer had begun already
                failure = graphql_error_response(
                    "Internal server error.", 500, INTERNAL_SERVER_ERROR
                )
                await failure(scope, receive, send)

    def _anonymous_get(self, scope: Scope) -> bool:
        """A GET that needs no credential: GraphiQL's page (no query), or `_service`."""
        parameters = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        queries = parameters.get("query")
        if not queries:
            return True  # the IDE's page: it sends the token itself (Headers tab)
        names = parameters.get("operationName")
        return self.schema.operations.get(queries[0], names[0] if names else None).anonymous

    async def _post(
        self, scope: Scope, receive: Receive, observed: RequestObservation, principal: Principal
    ) -> None:
        send = observed.send
        body = await _read_body(receive, self.max_body_bytes)
        if body is None:
            refused = f"Request body larger than {self.max_body_bytes} bytes."
            await graphql_error_response(refused, 413)(scope, receive, send)
            return
        try:
            request = decode(body, self.max_json_depth)
        except ValueError:
            request = None
        except BadUserInput as too_deep_body:
            await graphql_error_response(too_deep_body.message, 400)(scope, receive, send)
            return
        if not isinstance(request, dict):
            refusal = "Unable to parse request body as JSON"
            await graphql_error_response(refusal, 400)(scope, receive, send)
            return
        query, variables, name = (
            request.get("query"),
            request.get("variables"),
            request.get("operationName"),
        )
        if (
            not isinstance(query, str)
            or not (variables is None or isinstance(variables, dict))
            or not (name is None or isinstance(name, str))
        ):
            refusal = "Expected a JSON object with a string `query`, object `variables`."
            await graphql_error_response(refusal, 400)(scope, receive, send)
            return
        if principal is NOBODY and not self.schema.operations.get(query, name).anonymous:
            await unauthenticated_response(Unauthenticated(_NO_CREDENTIAL))(scope, receive, send)
            return
        try:
            result = await self.schema.execute(
                query,
                variable_values=variables,
                context_value=self.context(principal),
                operation_name=name,
                allowed_operation_types=QUERIES_AND_MUTATIONS,
            )
        except MissingQueryError:
            await graphql_error_response("The query is empty.", 400)(scope, receive, send)
            return
        except InvalidOperationTypeError as refused:
            refusal = refused.as_http_error_reason("POST") + "; use the websocket endpoint"
            await graphql_error_response(refusal, 400)(scope, receive, send)
            return
        prepared = self.schema.operations.get(query, name)  # cached: one dictionary lookup
        if prepared.operation_type is not None:
            observed.operation_type = prepared.operation_type.value
        observed.operation_name = name or operation_name_of(prepared.document)
        answer: dict[str, Any] = {"data": result.data}
        if result.errors:
            answer["errors"] = [error.formatted for error in result.errors]
            observed.codes = [
                str((error.extensions or {}).get("code", INTERNAL_SERVER_ERROR))
                for error in result.errors
            ]
        if result.extensions:
            answer["extensions"] = result.extensions
        payload = _COMPACT_JSON.encode(answer).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})


def _deep_parameters(scope: Scope, max_depth: int) -> BadUserInput | None:
    """The refusal of a GET whose `variables` or `extensions` nest past `max_depth`
    (Strawberry's view decodes them; other decoding errors are its to answer)."""
    if scope["method"] != "GET" or not scope.get("query_string"):
        return None
    parameters = parse_qs(scope["query_string"].decode("latin-1"))
    for name in ("variables", "extensions"):
        for text in parameters.get(name, ()):
            try:
                decode(text, max_depth)
            except ValueError:
                pass
            except BadUserInput as refusal:
                return refusal
    return None


_JSON_MEDIA_TYPES = frozenset({b"application/json", b"application/graphql-response+json"})


def _json_content(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            media_type: bytes = value.split(b";", 1)[0].strip().lower()
            return media_type in _JSON_MEDIA_TYPES
    return False


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None once it exceeds `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
