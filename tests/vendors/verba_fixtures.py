"""Verba's example bodies, verbatim from its pages (the source above each), and literal
values from those pages that tests compare against."""

from __future__ import annotations

# Seed 002 (kanasoftware "Get Call ID" diff, verbalabs v99 215330672), "XML based response
# sample on success", with the page's blank lines between elements.
SEED_GET_CALL_ID_SUCCESS = b"""<?xml version="1.0" encoding="UTF-8"?>

<VerbaApi>

<Response code="0" type="GetCallID"/>

<CallID>a8343631-9f35-4a3a-83f0-9e81592339fb</CallID>

</VerbaApi>"""

# Seed 002, "XML based response sample on error" (split in two literals only to fit the
# line length: the bytes are the page's).
SEED_GET_CALL_ID_ERROR = (
    b"""<?xml version="1.0" encoding="UTF-8"?>

<VerbaApi>

<Response code="2" type="GetCallID">

<ErrorMessage>Unable to retrieve the call identifier, because the call cannot be found."""
    b"""</ErrorMessage>

</Response>

</VerbaApi>"""
)

# kanasoftware.jira.com/wiki/pages/diffpages.action?originalId=4387804270&pageId=4387800506
# renders the same samples on one line each, elements separated by single spaces.
KANA_GET_CALL_ID_SUCCESS = (
    b'<?xml version="1.0" encoding="UTF-8"?> <VerbaApi> <Response code="0" type="GetCallID"/>'
    b" <CallID>a8343631-9f35-4a3a-83f0-9e81592339fb</CallID> </VerbaApi>"
)
KANA_GET_CALL_ID_ERROR = (
    b'<?xml version="1.0" encoding="UTF-8"?> <VerbaApi> <Response code="2" type="GetCallID">'
    b" <ErrorMessage>Unable to retrieve the call identifier, because the call cannot be"
    b" found.</ErrorMessage> </Response> </VerbaApi>"
)

# kanasoftware.jira.com/wiki/pages/diffpages.action?originalId=4387804403&pageId=4387800553
# (Get Markers), "XML based response sample on success": results inside <Response>; the
# page closes the document with a second `<VerbaApi>`, so the sample is not well-formed.
GET_MARKERS_SUCCESS = b"""<?xml version="1.0" encoding="UTF-8"?>
<VerbaApi>
<Response code="0" type="GetMarkers">
<verbamarker>
<name>Sale</name>
<start>16700</start>
<end>65400</end>
</verbamarker>
<verbamarker>
<name>Price</name>
<start>101000</start>
<end>145000</end>
</verbamarker>
</Response>
<VerbaApi>"""

# The same page, "XML based response sample on error", as the diff shows it (the old and
# the new ErrorMessage run together, one of them never closed: not well-formed either).
GET_MARKERS_ERROR = b"""<?xml version="1.0" encoding="UTF-8"?>

<VerbaApi>

<Response code="2" type="GetMarkers">

<ErrorMessage description="Error">Call <ErrorMessage>Call cannot be found.</ErrorMessage>

</Response>

</VerbaApi>"""

# The well-formed shape that page intends: GetCallID's answers with the results inside
# <Response> and the ErrorMessage's `description` attribute (not verbatim: derived).
NESTED_GET_CALL_ID_SUCCESS = b"""<?xml version="1.0" encoding="UTF-8"?>
<VerbaApi>
<Response code="0" type="GetCallID">
<CallID>a8343631-9f35-4a3a-83f0-9e81592339fb</CallID>
</Response>
</VerbaApi>"""
NESTED_GET_CALL_ID_ERROR = b"""<?xml version="1.0" encoding="UTF-8"?>
<VerbaApi>
<Response code="2" type="GetCallID">
<ErrorMessage description="Error">Call cannot be found.</ErrorMessage>
</Response>
</VerbaApi>"""

# verbalabs.atlassian.net/wiki/spaces/docs/pages/6818823 (ReleaseToken (v2), SOAP API),
# "Example ReleaseToken on an invalid token": the documented wording for a dead token.
TOKEN_EXPIRED_MESSAGE = "This token is expired or never got authenticated."
RELEASE_TOKEN_INVALID = b"""<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/">
<S:Body>
<ns2:releaseTokenResponse xmlns:ns2="http://v2.provisioning.ws.web.verba.com/">
<return>
<message>This token is expired or never got authenticated.</message>
<statusCode>ERROR_UNAUTHORIZED</statusCode>
</return>
</ns2:releaseTokenResponse>
</S:Body>
</S:Envelope>"""

# The seed's sample values.
SEED_CALL_ID = "a8343631-9f35-4a3a-83f0-9e81592339fb"
SEED_NOT_FOUND = "Unable to retrieve the call identifier, because the call cannot be found."
# Call detail URL page (verbalabs.atlassian.net/wiki/spaces/docs/pages/6817040): what
# GetCallURL's "full HTTP URL pointing to the given call" opens.
CALL_DETAIL_PATH = "/verba/gwtCallDetail.do"

# A public VFC (Verint Financial Compliance, Verba's successor) client on GitHub, a
# "vfc-recording-retriever" SKILL.md: "this is the XML response sample (not real data)" of
# RequestToken, the token "the value of `token` attribute in the XML response".
# (The sample's blank line holds eight spaces, written as an escape for the linter.)
VFC_REQUEST_TOKEN = b"""<?xml version="1.0" encoding="UTF-8"?>
<VerbaApi>
    <Response
        code="0"
        type="RequestToken"
        token="W7XIdoOnOjWY7HTRzKsw8hWBZXMyexo6"
\x20\x20\x20\x20\x20\x20\x20\x20
    />
    <SessionId>8950D82B76341AA93CC7C26CD3B6B88E</SessionId>
    <SessionParameterName>jsessionid</SessionParameterName>
    <SessionCookieName>JSESSIONID</SessionCookieName>
    <Remote>false</Remote>
</VerbaApi>"""
VFC_SAMPLE_TOKEN = "W7XIdoOnOjWY7HTRzKsw8hWBZXMyexo6"
