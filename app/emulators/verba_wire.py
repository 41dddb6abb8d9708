"""What the Verba emulator answers, before and after rendering: the reply of one action,
its messages (the pages' where they show one, marked guesses otherwise) and the layouts
the documented variants write it in: XML (the seed's, the Get Markers page's nested one,
the numbered-codes one), HTML and TEXT.

Sources: seed 002 and the pages named in `app/emulators/verba.py`.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from aiohttp import web

# [doc] seed 002, GetCallID's error sample.
NOT_FOUND = "Unable to retrieve the call identifier, because the call cannot be found."
# [guess] the GetCallID wording for the documented "more than 1 record" error.
MORE_THAN_ONE = "Unable to retrieve the call identifier, because more than one record was found."
# [guess] GetCallURL's errors, worded as GetCallID's.
URL_NOT_FOUND = "Unable to retrieve the call URL, because the call cannot be found."
URL_MORE_THAN_ONE = "Unable to retrieve the call URL, because more than one record was found."
# [doc] the SOAP API's ReleaseToken (v2) page, "Example ReleaseToken on an invalid token".
TOKEN_EXPIRED = "This token is expired or never got authenticated."
# [guess] wordings no page shows.
BAD_LOGIN = "Authentication failed."
MISSING_ROLES = "The user needs the System Administrator and System Supervisor roles."
BAD_API_KEY = "Invalid API key."


@dataclass(frozen=True, slots=True)
class Reply:
    """One API answer before rendering: code 0 with result elements, or code 2 with a message."""

    action: str
    elements: tuple[tuple[str, str], ...] = ()
    error: str | None = None
    http_status: int = 200
    attributes: tuple[tuple[str, str], ...] = ()  # more attributes of <Response>
    cookies: tuple[tuple[str, str], ...] = ()

    @property
    def code(self) -> int:
        return 0 if self.error is None else 2


def render(reply: Reply, response_type: str, variant: str) -> web.Response:
    """The reply as `responseType` asks; anything but HTML or TEXT gets the XML default."""
    kind = response_type.upper()
    if kind == "TEXT":
        lines = [f"{name}: {value}" for name, value in reply.elements]
        if reply.error is not None:
            lines = [f"Error (code {reply.code}): {reply.error}"]
        return web.Response(
            status=reply.http_status, text="\n".join(lines) + "\n", content_type="text/plain"
        )
    if kind == "HTML":
        return _render_html(reply)
    if variant == "numbered-codes":
        text = _render_numbered(reply)
    else:
        text = _render_xml(reply, nested=variant == "nested-results")
    response = web.Response(status=reply.http_status, text=text, content_type="text/xml")
    for name, value in reply.cookies:
        response.set_cookie(name, value, path="/verba", httponly=True)
    return response


def _render_xml(reply: Reply, *, nested: bool) -> str:
    """The seed's layout: one element per line, no indentation. `nested`: the Get Markers
    page's, with the result elements inside <Response>."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<VerbaApi>"]
    response = f"<Response code={quoteattr(str(reply.code))} type={quoteattr(reply.action)}"
    response += "".join(f" {name}={quoteattr(value)}" for name, value in reply.attributes)
    results = [f"<{name}>{escape(value)}</{name}>" for name, value in reply.elements]
    if reply.error is not None:
        described = ' description="Error"' if nested else ""
        message = f"<ErrorMessage{described}>{escape(reply.error)}</ErrorMessage>"
        lines.extend([response + ">", message, "</Response>"])
    elif nested:
        lines.extend([response + ">", *results, "</Response>"])
    else:
        lines.extend([response + "/>", *results])
    lines.append("</VerbaApi>")
    return "\n".join(lines)


# The "numbered-codes" shape: the third-party client's (GitHub "verba_client") code table,
# names as messages where the code says all; other messages kept, so the reason is heard.
_NUMBERED: Mapping[str, tuple[str, str]] = {
    TOKEN_EXPIRED: ("-43", "TOKEN_EXPIRED"),
    NOT_FOUND: ("-50", "CALL_NOT_FOUND"),
    URL_NOT_FOUND: ("-50", "CALL_NOT_FOUND"),
    BAD_LOGIN: ("-40", "INVALID_CREDENTIALS"),
    BAD_API_KEY: ("-41", "INVALID_API_KEY"),
    MISSING_ROLES: ("-40", MISSING_ROLES),
    "Unknown action.": ("-30", "INVALID_ACTION"),
}
_RESULT_ATTRIBUTES = {"Token": "token", "CallID": "callID", "CallURL": "url"}


def _render_numbered(reply: Reply) -> str:
    """`<VerbaData><Response code="-43"/><ErrorMessage>TOKEN_EXPIRED</ErrorMessage>…`, and
    on success the results as attributes: `<Response code="0" callID="…"/>`."""
    lines = ['<?xml version="1.0" encoding="utf-8"?>', "<VerbaData>"]
    if reply.error is not None:
        code, message = _NUMBERED.get(reply.error, ("-20", reply.error))
        lines.append(f"  <Response code={quoteattr(code)}/>")
        lines.append(f"  <ErrorMessage>{escape(message)}</ErrorMessage>")
    else:
        attributes = [*reply.attributes]
        attributes += [(_RESULT_ATTRIBUTES.get(n, n), v) for n, v in reply.elements]
        more = "".join(f" {name}={quoteattr(value)}" for name, value in attributes)
        lines.append(f'  <Response code="0"{more} />')
    lines.append("</VerbaData>")
    return "\n".join(lines)


def _render_html(reply: Reply) -> web.Response:
    items = [f"<p>{html.escape(name)}: {html.escape(value)}</p>" for name, value in reply.elements]
    if reply.error is not None:
        items = [f'<p class="error">Error (code {reply.code}): {html.escape(reply.error)}</p>']
    title = html.escape(reply.action)
    page = (
        f"<!DOCTYPE html>\n<html><head><title>Verba API: {title}</title></head><body>\n"
        f"<h1>{title}</h1>\n" + "\n".join(items) + "\n</body></html>\n"
    )
    return web.Response(status=reply.http_status, text=page, content_type="text/html")
