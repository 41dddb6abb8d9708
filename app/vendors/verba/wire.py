"""Verba's `<VerbaApi>` XML answers, read totally (VENDORS.md §3, §6 "Everywhere"), and
what its code-2 messages mean.

Documented shapes (both occur): the seed's, results beside `<Response>`

    <VerbaApi><Response code="0" type="GetCallID"/><CallID>…</CallID></VerbaApi>

and the Get Markers page's, results inside it with `<ErrorMessage description="Error">`
(kanasoftware.jira.com/wiki/pages/diffpages.action?pageId=4387800553). Besides those this
reads through extra elements and attributes, any whitespace, a byte-order mark, XML
namespaces and a missing `type`; RequestToken's token comes as a `<Token>` element or as
a `token` attribute of `<Response>` (Verint Financial Compliance builds). A body that is
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
    if _local(root.tag) != "VerbaApi":
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
    token_attribute: str | None = None
    for name, value in response.attrib.items():
        local = _local(name)
        if local in ("code", "type"):
            reply[local] = value.strip()  # type: ignore[literal-required]
        elif local.lower() == "token":
            token_attribute = value.strip() or None
    for element in root.iter():
        local = _local(element.tag)
        text = "".join(element.itertext()).strip() or None
        if local == "ErrorMessage" and reply["ErrorMessage"] is None:
            reply["ErrorMessage"] = text
        elif local in RESULT_ELEMENTS and reply[RESULT_ELEMENTS[local]] is None:  # type: ignore[literal-required]
            reply[RESULT_ELEMENTS[local]] = text  # type: ignore[literal-required]
    if reply["Token"] is None:
        # VFC builds: <Response code="0" type="RequestToken" token="…"/> (a public VFC
        # client's sample, GitHub "vfc-recording-retriever" SKILL.md).
        reply["Token"] = token_attribute
    if reply["code"] not in ("0", "2"):
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


# What Verba's code-2 messages say, by their documented or likely wording.
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


def token_refused(message: str | None) -> bool:
    return bool(message) and _TOKEN_REFUSED.search(message or "") is not None


def not_found(message: str | None) -> bool:
    return _NOT_FOUND.search(message or "") is not None


def more_than_one(message: str | None) -> bool:
    return _MORE_THAN_ONE.search(message or "") is not None


def missing_roles(message: str | None) -> bool:
    return _MISSING_ROLES.search(message or "") is not None
