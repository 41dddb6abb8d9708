"""Reading Verba's `<VerbaApi>` XML: every example body on its pages verbatim, and the
variations a deployment may add (namespaces, extra parts, whitespace, missing parts)."""

from __future__ import annotations

import logging

import pytest

from app.vendors.verba import VerbaApiReply, parse_reply
from app.vendors.verba.wire import missing_roles, more_than_one, not_found, token_refused
from tests.vendors import verba_fixtures as pages


def test_seed_success_sample_reads_its_call_id() -> None:
    reply = parse_reply(pages.SEED_GET_CALL_ID_SUCCESS)

    assert reply is not None
    assert (reply["code"], reply["type"], reply["CallID"], reply["ErrorMessage"]) == (
        "0",
        "GetCallID",
        "a8343631-9f35-4a3a-83f0-9e81592339fb",
        None,
    )


def test_seed_error_sample_reads_its_message() -> None:
    reply = parse_reply(pages.SEED_GET_CALL_ID_ERROR)

    assert reply is not None
    assert (reply["code"], reply["type"], reply["CallID"], reply["ErrorMessage"]) == (
        "2",
        "GetCallID",
        None,
        "Unable to retrieve the call identifier, because the call cannot be found.",
    )
    assert not_found(reply)


@pytest.mark.parametrize(
    ("body", "code", "call_id"),
    [
        (pages.KANA_GET_CALL_ID_SUCCESS, "0", pages.SEED_CALL_ID),
        (pages.KANA_GET_CALL_ID_ERROR, "2", None),
        (pages.NESTED_GET_CALL_ID_SUCCESS, "0", pages.SEED_CALL_ID),
        (pages.NESTED_GET_CALL_ID_ERROR, "2", None),
    ],
    ids=["one-line-success", "one-line-error", "nested-success", "nested-error"],
)
def test_documented_layouts_read_alike(body: bytes, code: str, call_id: str | None) -> None:
    reply = parse_reply(body)

    assert reply is not None
    assert (reply["code"], reply["CallID"]) == (code, call_id)
    if code == "2":
        assert reply["ErrorMessage"] is not None
        assert not_found(reply)


@pytest.mark.parametrize(
    "body",
    [pages.GET_MARKERS_SUCCESS, pages.GET_MARKERS_ERROR, pages.RELEASE_TOKEN_INVALID],
    ids=["get-markers-success", "get-markers-error", "soap-release-token"],
)
def test_pages_samples_that_are_no_verba_api_document_read_as_none(body: bytes) -> None:
    # The Get Markers samples are not well-formed as published; the SOAP envelope is another
    # API's. Each is "no Verba XML": VENDOR_UNAVAILABLE for that one call.
    assert parse_reply(body) is None


@pytest.mark.parametrize(
    "body",
    [
        # An XML namespace on every element (a SOAP-minded gateway).
        b'<?xml version="1.0"?><v:VerbaApi xmlns:v="urn:verba"><v:Response code="0" '
        b'type="GetCallID"/><v:CallID>a8343631-9f35-4a3a-83f0-9e81592339fb</v:CallID>'
        b"</v:VerbaApi>",
        # A default namespace.
        b'<VerbaApi xmlns="urn:verba"><Response code="0" type="GetCallID"/>'
        b"<CallID>a8343631-9f35-4a3a-83f0-9e81592339fb</CallID></VerbaApi>",
        # Extra elements and attributes, indentation, a byte-order mark and leading blanks.
        b'\xef\xbb\xbf\n  <?xml version="1.0" encoding="UTF-8"?>\n<VerbaApi version="9.9">\n'
        b'    <Response code=" 0 " type="GetCallID" time="2026-12-02T12:00:00Z"/>\n'
        b"    <Server>verba-1</Server>\n"
        b"    <CallID>\n      a8343631-9f35-4a3a-83f0-9e81592339fb\n    </CallID>\n"
        b"</VerbaApi>\n",
        # No type attribute, no XML declaration, ISO-8859-1 declared.
        b'<?xml version="1.0" encoding="ISO-8859-1"?><VerbaApi><Response code="0"/>'
        b"<CallID>a8343631-9f35-4a3a-83f0-9e81592339fb</CallID></VerbaApi>",
    ],
    ids=["prefixed-namespace", "default-namespace", "extras-and-whitespace", "no-type"],
)
def test_variations_still_read_the_call_id(body: bytes) -> None:
    reply = parse_reply(body)

    assert reply is not None
    assert (reply["code"], reply["CallID"]) == ("0", pages.SEED_CALL_ID)


def test_missing_code_is_reported_once_and_read_as_none(
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = b"<VerbaApi><Response/><CallID>a8343631-9f35-4a3a-83f0-9e81592339fb</CallID></VerbaApi>"
    caplog.set_level(logging.WARNING, logger="switchboard.vendors")

    first, second = parse_reply(body), parse_reply(body)

    assert first is not None
    assert second is not None
    assert (first["code"], first["CallID"]) == (None, pages.SEED_CALL_ID)
    reports = [r for r in caplog.records if "Response.code" in r.getMessage()]
    assert len(reports) <= 1  # once per (vendor, field, shape) for the whole process


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"emulated HTTP 200",
        b"<html><body>Verba API: 502 Bad Gateway</body></html>",
        b"<VerbaApi><CallID>a8343631-9f35-4a3a-83f0-9e81592339fb</CallID></VerbaApi>",
        b'<VerbaApi><Response code="0" type="GetCallID"/><CallID>a8343631',
        b'<?xml version="1.0"?><!DOCTYPE VerbaApi [<!ENTITY a "aaaa">]>'
        b'<VerbaApi><Response code="0"/><CallID>&a;</CallID></VerbaApi>',
    ],
    ids=["empty", "text", "html", "no-response-element", "truncated", "doctype"],
)
def test_bodies_that_are_not_verba_xml_read_as_none(body: bytes) -> None:
    assert parse_reply(body) is None


def said(message: str | None, code: str = "2") -> VerbaApiReply:
    return {
        "code": code,
        "type": "GetCallID",
        "Token": None,
        "CallID": None,
        "CallURL": None,
        "ErrorMessage": message,
    }


def test_token_refusal_is_recognised_in_the_documented_wording() -> None:
    assert token_refused(said(pages.TOKEN_EXPIRED_MESSAGE))
    assert token_refused(said("Invalid or expired token."))
    assert not token_refused(said(pages.SEED_NOT_FOUND))
    assert not token_refused(said("Invalid API key."))
    assert not token_refused(said(None))


def test_numbered_codes_decide_whatever_the_message() -> None:
    # The third-party client's table: -43 TOKEN_EXPIRED, -50 CALL_NOT_FOUND.
    assert token_refused(said("TOKEN_EXPIRED", "-43"))
    assert not token_refused(said("CALL_NOT_FOUND", "-50"))
    assert not_found(said("CALL_NOT_FOUND", "-50"))
    assert not not_found(said("TOKEN_EXPIRED", "-43"))


def test_other_messages_are_told_apart() -> None:
    assert more_than_one(
        said("Unable to retrieve the call identifier, because more than one record was found.")
    )
    assert not more_than_one(said(pages.SEED_NOT_FOUND))
    assert missing_roles(
        said("The user needs the System Administrator and System Supervisor roles.")
    )
    assert not missing_roles(said(pages.SEED_NOT_FOUND))
    assert not_found(said(pages.SEED_NOT_FOUND))


def test_vfc_request_token_sample_reads_the_token_attribute() -> None:
    reply = parse_reply(pages.VFC_REQUEST_TOKEN)

    assert reply is not None
    assert (reply["code"], reply["type"], reply["Token"]) == (
        "0",
        "RequestToken",
        "W7XIdoOnOjWY7HTRzKsw8hWBZXMyexo6",
    )


def test_token_element_wins_over_an_attribute() -> None:
    body = (
        b'<VerbaApi><Response code="0" type="RequestToken" token="a"/><Token>b</Token></VerbaApi>'
    )

    reply = parse_reply(body)

    assert reply is not None
    assert reply["Token"] == "b"


def test_attributes_and_the_verba_data_root_are_read() -> None:
    # The third-party client (GitHub "verba_client") reads <VerbaData> and results as
    # attributes of <Response>: token, callID, url.
    body = (
        b'<?xml version="1.0" encoding="utf-8"?>\n<VerbaData>\n  <Response code="0" '
        b'callID="a8343631-9f35-4a3a-83f0-9e81592339fb" url="http://h/verba/x" />\n</VerbaData>'
    )

    reply = parse_reply(body)

    assert reply is not None
    assert (reply["CallID"], reply["CallURL"]) == (pages.SEED_CALL_ID, "http://h/verba/x")
