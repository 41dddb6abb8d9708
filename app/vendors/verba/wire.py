"""Verba's `<VerbaApi>` XML answers, read totally (VENDORS.md §3, §6 "Everywhere"), and
what its code-2 messages mean.

Documented shapes (both occur): the seed's, results beside `<Response>`

    <VerbaApi><Response code="0" type="GetCallID"/><CallID>…</CallID></VerbaApi>

and the Get Markers page's, results inside it with `<ErrorMessage description="Error">`
(kanasoftware.jira.com/wiki/pages/diffpages.action?pageId=4387800553). Besides those this
reads through extra elements and attributes, any whitespace, a byte-order mark, XML
namespaces and a missing `type`; results come as elements or as attributes of
`<Response>` (`token`, as Verint Financial Compliance builds send it; `callID`, `url`),
the document may be `<VerbaData>`, and the negative error codes of a third-party client's
table (-43 token expired, -50 call not found) are understood. A body that is
not a `<VerbaApi>` document is None: the adapter says VENDOR_UNAVAILABLE for that call
alone.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import TypedDict

from app.calls import Vendor
from app.vendors.fields import WireReader

read = WireReader(Vendor.VERBA)

# The result elements the adapter reads. [guess] GetCallURL's: the page's sample was not
# readable, so the names a Verba build might plausibly use are all accepted.
RESULT_ELEMENTS = {
    "Token": "Token",
    "CallID": "CallID",
    "CallURL": "CallURL",
    "CallUrl": "CallURL",
    "URL": "CallURL",
    "Url": "CallURL",
}


class VerbaApiReply(TypedDict):
    """A `<VerbaApi>` document: `<Response code type>` and the action's result elements."""

    code: str | None  # "0" success, "2" error [doc]; None when <Response> has no code
    type: str | None  # the action answered
    Token: str | None  # RequestToken: a <Token> element, or <Response token="…"> (VFC)
    CallID: str | None  # GetCallID
    CallURL: str | None  # GetCallURL
    ErrorMessage: str | None  # inside <Response> on code 2


# Result attributes of <Response>, as VFC builds send the token (a public VFC client's
# sample, GitHub "vfc-recording-retriever" SKILL.md) and as a third-party client (GitHub
# "verba_client" package) reads callID and url.
RESULT_ATTRIBUTES = {"token": "Token", "callid": "CallID", "url": "CallURL", "callurl": "CallURL"}
# The document element: the pages' <VerbaApi>; the third-party client's <VerbaData>.
ROOTS = ("VerbaApi", "VerbaData")
# Codes: 0 and 2 on Verba's pages [doc]; the negative ones from the third-party client's
# table ("Error code reference (from API docs)").
TOKEN_EXPIRED_CODE = "-43"
CALL_NOT_FOUND_CODE = "-50"
KNOWN_CODES = frozenset(
    {"0", "2", "-1", "-10", "-20", "-30", "-40", "-41", "-42", "-43", "-50", "-60", "-70"}
)


def parse_reply(body: bytes) -> VerbaApiReply | None:
    """The XML answer as a `VerbaApiReply`, or None when the body is not one."""
    document = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    # No DOCTYPE, hence no entities to expand: a reply never needs one.
    if b"<!DOCTYPE" in document[:1024].upper() or b"<!ENTITY" in document.upper():
        return None
    try:
        root = ET.fromstring(document)
    except ET.ParseError:
        return None
    if _local(root.tag) not in ROOTS:
        return None
    response = next((e for e in root.iter() if _local(e.tag) == "Response"), None)
    if response is None:
        return None
    reply: VerbaApiReply = {
        "code": None,
        "type": None,
        "Token": None,
        "CallID": None,
        "CallURL": None,
        "ErrorMessage": None,
    }
    for element in root.iter():
        local = _local(element.tag)
        text = "".join(element.itertext()).strip() or None
        if local == "ErrorMessage" and reply["ErrorMessage"] is None:
            reply["ErrorMessage"] = text
        elif local in RESULT_ELEMENTS and reply[RESULT_ELEMENTS[local]] is None:  # type: ignore[literal-required]
            reply[RESULT_ELEMENTS[local]] = text  # type: ignore[literal-required]
    for name, value in response.attrib.items():
        local = _local(name)
        if local in ("code", "type"):
            reply[local] = value.strip()  # type: ignore[literal-required]
        # An element wins over an attribute of the same meaning.
        elif (key := RESULT_ATTRIBUTES.get(local.lower())) and reply[key] is None:  # type: ignore[literal-required]
            reply[key] = value.strip() or None  # type: ignore[literal-required]
    if reply["code"] not in KNOWN_CODES:
        read.odd("Response.code", reply["code"], 'code "0" or "2"')
    return reply


def succeeded(reply: VerbaApiReply, result: str) -> bool:
    """Code 0; a reply without a code counts when it carries its `result` element."""
    if reply["code"] is None:
        return reply[result] is not None  # type: ignore[literal-required]
    return reply["code"] == "0"


def _local(name: str) -> str:
    """A tag or attribute name without its namespace (`{uri}Response` -> `Response`)."""
    return name.rpartition("}")[2]


# What Verba's error messages say, by their documented or likely wording (the numbered
# codes, where a build sends them, say it first).
# "This token is expired or never got authenticated." (ReleaseToken (v2) page).
_TOKEN_REFUSED = re.compile(
    r"token\b.*\b(expired|never got authenticated|invalid|unknown|not valid)"
    r"|\b(expired|invalid|unknown|missing)\b.*\btoken",
    re.IGNORECASE,
)
_NOT_FOUND = re.compile(r"can ?not be found|not found", re.IGNORECASE)
_MORE_THAN_ONE = re.compile(r"more than (one|1)|multiple", re.IGNORECASE)
# [doc] the API user needs the System Administrator and System Supervisor roles.
_MISSING_ROLES = re.compile(r"\brole|permission|not authori[sz]ed|unauthori[sz]ed", re.IGNORECASE)


def token_refused(reply: VerbaApiReply) -> bool:
    if reply["code"] == TOKEN_EXPIRED_CODE:
        return True
    message = reply["ErrorMessage"]
    return message is not None and _TOKEN_REFUSED.search(message) is not None


def not_found(reply: VerbaApiReply) -> bool:
    if reply["code"] == CALL_NOT_FOUND_CODE:
        return True
    return _NOT_FOUND.search(reply["ErrorMessage"] or "") is not None


def more_than_one(reply: VerbaApiReply) -> bool:
    return _MORE_THAN_ONE.search(reply["ErrorMessage"] or "") is not None


def missing_roles(reply: VerbaApiReply) -> bool:
    return _MISSING_ROLES.search(reply["ErrorMessage"] or "") is not None
