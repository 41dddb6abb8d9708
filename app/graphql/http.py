"""GraphQL over HTTP: a lean path for `POST application/json` straight to the schema,
and Strawberry's view for GET (queries only, and GraphiQL's page).

Who is asking is settled first (app/auth): no, a malformed, wrongly signed or expired
credential is answered 401 with `WWW-Authenticate: Bearer` and UNAUTHENTICATED, except
that `_service { sdl }` (a router composing) needs none. A POST that is not JSON — the
`text/plain`, form and multipart posts a foreign page can make a browser send without
CORS' consent — is refused with 415 before anything runs (CSRF).

Persisted queries (APQ, safelist mode: app/graphql/persisted.py) on POST and GET; a POST
body that is a JSON array is a batch; answers are `application/graphql-response+json`
when the request prefers it (app/graphql/wire.py).

Every refusal is a coded GraphQL error, JSON, never a 500 or plain text: malformed
JSON, JSON nested too deeply (in the body or in GET parameters), no query, a body over
the size cap (413), a subscription (400: they belong to the websocket endpoint).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode

from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from app import tracing
from app.auth.authenticator import Authenticator, credential_of_headers
from app.auth.principal import EVERYONE, NOBODY, Principal
from app.errors import INTERNAL_SERVER_ERROR, BadUserInput, Unauthenticated
from app.graphql.context import Context
from app.graphql.http_operations import Answer, HttpOperations, send_answer
from app.graphql.json_input import decode, too_deep
from app.graphql.observe import RequestObservation, traced
from app.graphql.persisted import PersistedQueries, Refused
from app.graphql.schema import SwitchboardSchema
from app.graphql.wire import (
    NO_CREDENTIAL,
    BodySizeLimit,
    graphql_error_response,
    json_content,
    read_body,
    response_media_type,
    unauthenticated_response,
)
from app.live.persisted import MemoryPersistedQueries
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


class GraphQLEndpoint:
    """`/graphql` over HTTP. The common request — POST with a JSON body — goes straight to
    `schema.execute` (the view's generic request handling cost as much CPU as executing
    the query itself); anything else goes to Strawberry's view.

    A POST body may also be a JSON array of operations (batching:
    app/graphql/http_operations.py)."""

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
        persisted: PersistedQueries | None = None,
        max_batch: int = 10,
    ) -> None:
        self.schema = schema
        self.context = context
        self.authenticator = authenticator
        self.access_log = access_log
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.max_json_depth = schema.max_json_depth
        self.persisted = persisted or PersistedQueries(
            MemoryPersistedQueries(1000), schema.operations
        )
        # Safelist mode looks at every document; otherwise only requests with extensions.
        self._every_document = self.persisted.safelist is not None
        self.operations = HttpOperations(schema, self.persisted, max_batch=max_batch)
        self.view = BodySizeLimit(GraphQLApp(schema, context, graphiql=graphiql), max_body_bytes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        observed = RequestObservation(scope, send)
        token = REQUEST_ID.set(observed.request_id)
        try:
            if tracing.enabled():
                await traced(scope, observed, lambda: self._serve(scope, receive, observed))
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
                    await unauthenticated_response(bad_credential, response_media_type(scope))(
                        scope, receive, send
                    )
                    return
                observed.sub = principal.sub if principal is not NOBODY else None
            else:
                principal = EVERYONE  # authentication off: nothing to read
            if scope["method"] == "POST":
                if not json_content(scope):
                    # Not executed: a foreign page may post text/plain or a form freely.
                    refusal = "POST bodies must be application/json (a GraphQL request)."
                    await graphql_error_response(
                        refusal, 415, media_type=response_media_type(scope)
                    )(scope, receive, send)
                    return
                await self._post(scope, receive, observed, principal)
                return
            if scope["method"] == "GET" and (
                self._every_document or b"extensions" in scope.get("query_string", b"")
            ):
                refused = await self._persisted_get(scope)
                if refused is not None:
                    await refused(scope, receive, send)
                    return
            if principal is NOBODY and not self._anonymous_get(scope):
                await unauthenticated_response(Unauthenticated(NO_CREDENTIAL))(scope, receive, send)
                return
            scope[PRINCIPAL_KEY] = principal
            too_deep_parameters = _deep_parameters(scope, self.max_json_depth)
            if too_deep_parameters is not None:
                refused_text = too_deep_parameters.message
                await graphql_error_response(refused_text, 400)(scope, receive, send)
                return
            try:
                await self.view(scope, receive, send)
            except RecursionError:
                # JSON Strawberry decodes itself (multipart `operations`), nested past
                # the decoder: the client's doing, before anything was answered.
                refused_text = too_deep(self.max_json_depth).message
                await graphql_error_response(refused_text, 400)(scope, receive, send)
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

    async def _persisted_get(self, scope: Scope) -> Response | None:
        """A GET's persisted query (`?extensions={"persistedQuery":…}`, with or without
        `query`) and the safelist: the refusal, or None with the document the hash names
        written into the query string for Strawberry's view (which keeps GET's rules:
        queries only)."""
        parameters = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        extensions: object = None
        for text in parameters.get("extensions", ())[:1]:
            try:
                extensions = decode(text, self.max_json_depth)
            except ValueError:
                return None  # malformed JSON: Strawberry's view answers it
            except BadUserInput as too_deep_extensions:
                return graphql_error_response(too_deep_extensions.message, 400)
        queries, names = parameters.get("query"), parameters.get("operationName")
        query = queries[0] if queries else None
        if (query is None and extensions is None) or not self.persisted.concerns(extensions):
            return None  # GraphiQL's page, or nothing persisted about it
        try:
            document = await self.persisted.document(query, extensions, names[0] if names else None)
        except Refused as refused:
            error = refused.error
            return graphql_error_response(
                error.message, refused.status, headers=refused.headers, extensions=error.extensions
            )
        if isinstance(document, str) and document != query:
            parameters["query"] = [document]
            scope["query_string"] = urlencode(parameters, doseq=True).encode("ascii")
        return None

    async def _post(
        self, scope: Scope, receive: Receive, observed: RequestObservation, principal: Principal
    ) -> None:
        send = observed.send
        media_type = response_media_type(scope)
        body = await read_body(receive, self.max_body_bytes)
        if body is None:
            refused = f"Request body larger than {self.max_body_bytes} bytes."
            await graphql_error_response(refused, 413, media_type=media_type)(scope, receive, send)
            return
        try:
            request = decode(body, self.max_json_depth)
        except ValueError:
            request = None
        except BadUserInput as too_deep_body:
            await graphql_error_response(too_deep_body.message, 400, media_type=media_type)(
                scope, receive, send
            )
            return
        if isinstance(request, list):
            await self.operations.batch(
                scope, receive, observed, principal, self.context, request, media_type
            )
            return
        if not isinstance(request, dict):
            refusal = "Unable to parse request body as JSON"
            await graphql_error_response(refusal, 400, media_type=media_type)(scope, receive, send)
            return
        operation = await self.operations.read(request)
        if isinstance(operation, Answer):
            await send_answer(send, operation, media_type)
            return
        if (
            principal is NOBODY
            and not self.schema.operations.get(operation.query, operation.name).anonymous
        ):
            await unauthenticated_response(Unauthenticated(NO_CREDENTIAL), media_type)(
                scope, receive, send
            )
            return
        answer = await self.operations.execute(operation, self.context(principal), media_type)
        observed.operation_type = answer.operation_type
        observed.operation_name = answer.operation_name
        if answer.codes:
            observed.codes = answer.codes
        await send_answer(send, answer, media_type)


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
