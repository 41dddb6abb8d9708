"""VoipNow UnifiedAPI wire shapes (VENDORS.md §4 and §6) as TypedDicts: what the vendor sends
and what we send. Two documented spellings of a PhoneCall exist (the seed's `link` /
`callerId` with string numbers, the PhoneCalls Resource page's `links` / `callerID` with
numbers); both are spelled out here, and the mapping reads either."""

from __future__ import annotations

from typing import Required, TypedDict


class PhoneCallViewWire(TypedDict, total=False):
    """One party's view of a call. The seed sends `status: "5"` and `callerId`; the
    PhoneCalls Resource page (wiki.4psa.com/display/VNUAPI30/PhoneCalls+Resource) sends
    `status: 3`, `flow: 4` and `callerID`, plus `ringing`."""

    id: Required[str]
    extension: str
    source: list[str]
    destination: list[str]
    callerId: str  # the seed's spelling
    callerID: str  # the PhoneCalls Resource page's spelling
    flow: str | int  # 2 local, 4 outgoing public, 8 incoming public
    status: str | int  # 0 unknown, 1 off hook, 2 trying, 3 ringing, 4 other side, 5 on call
    ringing: str
    answered: str
    onHold: str  # a date: hold is not a status
    holder: str | int  # 1: this side put the call on hold
    recording: str


class LinkWire(TypedDict, total=False):
    self: str


class PhoneCallWire(TypedDict, total=False):
    id: Required[str]
    nonce: str
    extension: str
    ownerId: str
    ownerName: str
    published: str
    answered: str
    phoneCallView: list[PhoneCallViewWire]
    link: LinkWire  # the seed's spelling
    links: LinkWire  # the PhoneCalls Resource page's and 4PSA's apps' spelling


class PhoneCallCollectionWire(TypedDict, total=False):
    """An OpenSocial collection (UnifiedAPI's `Collection<PhoneCall>`): app-facebookcallme
    `js/lib.js` reads `json.entry[0].phoneCallView[0].status` from a List PhoneCalls answer."""

    startIndex: int
    itemsPerPage: int
    totalResults: int
    entry: list[PhoneCallWire]


class PhoneCallActionWire(TypedDict):
    action: str  # "OnHold" | "OffHold" | "Hangup"
    phoneCallViewId: str


class SimplePhoneCallViewWire(TypedDict, total=False):
    source: Required[list[str]]
    destination: Required[list[str]]
    callerId: str


class SimplePhoneCallWire(TypedDict, total=False):
    """The payload of Create Simple PhoneCalls. `nonce`: the client's, echoed in the
    PhoneCall (PhoneCalls Resource page)."""

    extension: Required[str]
    phoneCallView: Required[list[SimplePhoneCallViewWire]]
    nonce: str


class ErrorDetailWire(TypedDict, total=False):
    code: str
    message: str


class ErrorWire(TypedDict, total=False):
    """`{"error": {"code": "pc_phonecall_invalid", "message": ...}}`, or OAuth's
    `{"error": "invalid_client"}` from the token endpoint."""

    error: ErrorDetailWire | str


class TokenWire(TypedDict, total=False):
    access_token: Required[str]
    expires_in: int | str  # a number on the wire; a string is tolerated
