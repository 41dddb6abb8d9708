"""The exception tree, and the one place that gives each error its GraphQL `extensions`.

    SwitchboardError                      extensions.code
     ├── BadUserInput                     BAD_USER_INPUT
     ├── CallNotFound                     NOT_FOUND
     ├── NotSupported                     NOT_SUPPORTED
     ├── InvalidState                     INVALID_STATE
     └── VendorError
          ├── VendorUnavailable           VENDOR_UNAVAILABLE
          │    └── VendorConnectionLost   VENDOR_UNAVAILABLE (the request may have arrived)
          ├── VendorTimeout               VENDOR_TIMEOUT     (also a TimeoutError)
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


class BadUserInput(SwitchboardError):
    code = "BAD_USER_INPUT"


class CallNotFound(SwitchboardError):
    code = "NOT_FOUND"


class NotSupported(SwitchboardError):
    code = "NOT_SUPPORTED"


class InvalidState(SwitchboardError):
    code = "INVALID_STATE"


class VendorError(SwitchboardError):
    """The vendor could not give an answer. Always names the vendor."""

    code = "VENDOR_UNAVAILABLE"

    def __init__(self, message: str, *, vendor: str, **details: Any) -> None:
        super().__init__(message, vendor=vendor, **details)


class VendorUnavailable(VendorError):
    code = "VENDOR_UNAVAILABLE"


class VendorConnectionLost(VendorUnavailable):
    """The connection broke after the request was sent: the vendor may have acted on it."""


class VendorTimeout(VendorError, TimeoutError):
    """No answer in time: as with a lost connection, the vendor may have acted."""

    code = "VENDOR_TIMEOUT"


class VendorUnauthenticated(VendorError):
    code = "UNAUTHENTICATED"


class VendorForbidden(VendorError):
    code = "FORBIDDEN"


def extensions_for(error: BaseException | None) -> dict[str, Any]:
    """The `extensions` of a GraphQL error caused by `error` (None: not an execution error)."""
    if isinstance(error, SwitchboardError):
        return error.extensions
    return {"code": INTERNAL_SERVER_ERROR}
