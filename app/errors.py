"""The exception tree, and the one place that gives each error its GraphQL `extensions`.

    SwitchboardError                      extensions.code
     ├── BadUserInput                     BAD_USER_INPUT
     ├── CallNotFound                     NOT_FOUND
     ├── NotSupported                     NOT_SUPPORTED
     ├── InvalidState                     INVALID_STATE
     ├── StoreUnavailable                 SERVICE_UNAVAILABLE (Redis, for idempotency keys)
     ├── CostTooHigh                      COST_ESTIMATED_TOO_EXPENSIVE (demand control)
     ├── Unauthenticated                  UNAUTHENTICATED (no usable credential: HTTP 401)
     ├── Forbidden                        FORBIDDEN (a scope missing, not the caller's call)
     ├── RateLimited                      RATE_LIMITED (retryAfter: seconds)
     ├── PersistedQueryNotFound           PERSISTED_QUERY_NOT_FOUND (APQ: send the query)
     ├── PersistedQueryNotInList          PERSISTED_QUERY_NOT_IN_LIST (not in the safelist)
     └── VendorError
          ├── VendorUnavailable           VENDOR_UNAVAILABLE
          │    └── VendorConnectionLost   VENDOR_UNAVAILABLE (the request may have arrived)
          ├── VendorTimeout               VENDOR_TIMEOUT     (also a TimeoutError)
          ├── OutcomeUnknown              OUTCOME_UNKNOWN    (the vendor may have acted;
          │                                                  retrySafe: false)
          ├── VendorUnauthenticated       UNAUTHENTICATED
          └── VendorForbidden             FORBIDDEN

graphql-core copies an original exception's `extensions` onto the GraphQL error it
wraps, so raising one of these from a resolver is all a resolver does; nothing else in
the code base builds an error code. Messages are written for the API's users: they never
carry a vendor URL query string, a credential or a token.
"""

from __future__ import annotations

from typing import Any, ClassVar

# Codes for errors that are not ours: GraphQL syntax and validation, and anything unexpected.
GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"

# Codes of refusals before any GraphQL is read (app/hosts.py, app/transport.py).
HOST_NOT_ALLOWED = "HOST_NOT_ALLOWED"  # 403: a Host name this server is not reached by
TOO_MANY_CONNECTIONS = "TOO_MANY_CONNECTIONS"  # 503: SWITCHBOARD_MAX_CONNECTIONS reached
REQUEST_TIMEOUT = "REQUEST_TIMEOUT"  # 408: no whole request within the read timeout
TOO_MANY_STREAMS = "TOO_MANY_STREAMS"  # 503: SWITCHBOARD_SSE_MAX_STREAMS event streams open


class SwitchboardError(Exception):
    code: ClassVar[str] = INTERNAL_SERVER_ERROR

    def __init__(self, message: str, *, vendor: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.vendor = vendor
        self.details = details

    @property
    def extensions(self) -> dict[str, Any]:
        extensions: dict[str, Any] = {"code": self.code}
        if self.vendor is not None:
            extensions["vendor"] = self.vendor
        extensions.update(self.details)
        return extensions


BAD_USER_INPUT = "BAD_USER_INPUT"


class BadUserInput(SwitchboardError):
    code = BAD_USER_INPUT


class CallNotFound(SwitchboardError):
    code = "NOT_FOUND"


class NotSupported(SwitchboardError):
    code = "NOT_SUPPORTED"


class InvalidState(SwitchboardError):
    code = "INVALID_STATE"


class StoreUnavailable(SwitchboardError):
    """A store the command depends on (Redis, for idempotency keys) cannot be reached:
    the command was not sent."""

    code = "SERVICE_UNAVAILABLE"


class CostTooHigh(SwitchboardError):
    """The operation would make more vendor requests than allowed (app/graphql/cost.py).

    Apollo Router's code and extensions (`cost.estimated`, `cost.max`, dotted keys, as its
    demand control sends them), and the same numbers as one `cost` object, as Hive
    Gateway sends them."""

    code = "COST_ESTIMATED_TOO_EXPENSIVE"

    def __init__(self, *, estimated: int, maximum: int) -> None:
        details: dict[str, Any] = {
            "cost.estimated": estimated,
            "cost.max": maximum,
            "cost": {"estimated": estimated, "max": maximum},
        }
        super().__init__(
            f"query estimated cost {estimated} exceeded configured maximum {maximum} "
            "(vendor requests)",
            **details,
        )


UNAUTHENTICATED = "UNAUTHENTICATED"
FORBIDDEN = "FORBIDDEN"


class Unauthenticated(SwitchboardError):
    """No credential, or one that does not verify (malformed, wrongly signed, expired,
    unknown key). The message says which, never the credential."""

    code = UNAUTHENTICATED


class Forbidden(SwitchboardError):
    """The caller is known but may not do this: a scope is missing, or the call is not
    one of the caller's lines. Nothing was sent to the vendor."""

    code = FORBIDDEN


class RateLimited(SwitchboardError):
    """Too many commands from one caller in the current minute (SWITCHBOARD_COMMAND_RATE);
    `retryAfter`: seconds until the next one is accepted. The command was not sent."""

    code = "RATE_LIMITED"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message, retryAfter=retry_after)


# Persisted queries (app/graphql/persisted.py): the codes and messages Apollo Server
# answers for automatic persisted queries (Apollo Client's link retries on this message
# or code with the document), and Apollo Router's code for a safelist refusal.
PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
PERSISTED_QUERY_NOT_IN_LIST = "PERSISTED_QUERY_NOT_IN_LIST"


class PersistedQueryNotFound(SwitchboardError):
    """A hash without its document that this gateway does not know (yet): the client
    sends it again with the document, which registers it."""

    code = PERSISTED_QUERY_NOT_FOUND

    def __init__(self) -> None:
        super().__init__("PersistedQueryNotFound")


class PersistedQueryNotInList(SwitchboardError):
    """Safelist mode (SWITCHBOARD_PERSISTED_ONLY): the document, or the hash, is not one
    of the manifest's operations. Nothing was executed."""

    code = PERSISTED_QUERY_NOT_IN_LIST


class VendorError(SwitchboardError):
    """The vendor could not give an answer. Always names the vendor.

    `unsent`: the request that failed was a preliminary one (a token, a session): the
    command it was for was never sent, so even a timeout here cannot have acted."""

    code = "VENDOR_UNAVAILABLE"

    def __init__(self, message: str, *, vendor: str, **details: Any) -> None:
        super().__init__(message, vendor=vendor, **details)
        self.unsent = False


class VendorUnavailable(VendorError):
    code = "VENDOR_UNAVAILABLE"


class VendorConnectionLost(VendorUnavailable):
    """The connection broke after the request was sent: the vendor may have acted on it."""


class VendorTimeout(VendorError, TimeoutError):
    """No answer in time: as with a lost connection, the vendor may have acted."""

    code = "VENDOR_TIMEOUT"


class OutcomeUnknown(VendorError):
    """A command's answer was lost after the vendor may have carried it out (a call may
    have been placed): resending it could act twice, so the client is told not to retry
    blindly (`retrySafe: false`) but to look (or retry with the same idempotency key)."""

    code = "OUTCOME_UNKNOWN"

    def __init__(self, message: str, *, vendor: str, **details: Any) -> None:
        super().__init__(message, vendor=vendor, retrySafe=False, **details)


class VendorUnauthenticated(VendorError):
    code = UNAUTHENTICATED


class VendorForbidden(VendorError):
    code = FORBIDDEN


def error_entry(message: str, code: str, **details: Any) -> dict[str, Any]:
    """One entry of a response's `errors`, for refusals made before any GraphQL runs (HTTP
    and websocket refusals, canned answers): the same shape graphql-core gives ours."""
    return {"message": message, "extensions": {"code": code, **details}}


def error_document(message: str, code: str, **details: Any) -> dict[str, Any]:
    """A whole response body of one refusal: `{"errors": [error_entry(...)]}`."""
    return {"errors": [error_entry(message, code, **details)]}


def coded(extensions: dict[str, Any] | None, code: str) -> dict[str, Any]:
    """`extensions` with `code` set unless it has one: how errors that graphql-core makes
    (syntax, validation, variable coercion) are coded where they are made."""
    if extensions and "code" in extensions:
        return extensions
    return {**(extensions or {}), "code": code}


def extensions_for(error: BaseException | None) -> dict[str, Any]:
    """The `extensions` of a GraphQL error caused by `error` (None: not an execution error)."""
    if isinstance(error, SwitchboardError):
        return error.extensions
    return {"code": INTERNAL_SERVER_ERROR}
