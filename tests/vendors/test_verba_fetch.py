"""Reading Verba recordings by CallID (GetCallURL, kanasoftware "Get Call URL"), and the
adapter reading the pages' example bodies verbatim over HTTP, from a scripted server that
answers exactly those bytes (an ordinary aiohttp app on a free port)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from app.adapters import RecordingQuery
from app.calls import CallId, CallState, Vendor, VerbaCall
from app.emulators.base import DEMO_CREDENTIALS
from app.emulators.verba import DEMO_CALL_ID, GENESYS_DEMO_RECORDING_ID, VerbaEmulator
from app.errors import CallNotFound, VendorUnavailable
from app.vendors.http import VendorHttp
from app.vendors.verba import VerbaAdapter
from tests.conftest import EmulatorServer, VendorHttpFactory
from tests.vendors import verba_fixtures as pages

CREDENTIALS = DEMO_CREDENTIALS["verba"]
UNKNOWN_CALL_ID = "00000000-0000-4000-8000-000000000000"
TOKEN = "09835e02-6c10-11e0-bb22-ba324924019b"  # the pages' example token


@pytest.fixture
def verba(emulator_server: EmulatorServer) -> VerbaEmulator:
    return emulator_server.emulator(VerbaEmulator)


def make_adapter(http: VendorHttp) -> VerbaAdapter:
    return VerbaAdapter(
        http,
        api_key=CREDENTIALS["api_key"],
        username=CREDENTIALS["username"],
        password=CREDENTIALS["password"],
    )


@pytest.fixture
def adapter(vendor_http: VendorHttpFactory) -> VerbaAdapter:
    return make_adapter(vendor_http(Vendor.VERBA))


def detail_url(emulator_server: EmulatorServer, call_id: str) -> str:
    return f"{emulator_server.base_url('verba')}{pages.CALL_DETAIL_PATH}?ccdrId={call_id}"


@pytest.mark.parametrize(
    "variant", ["in-band", "http-401", "nested-results", "api-key-only", "numbered-codes", "vfc"]
)
async def test_fetch_many_reads_each_call_id_with_get_call_url(
    adapter: VerbaAdapter, emulator_server: EmulatorServer, verba: VerbaEmulator, variant: str
) -> None:
    verba.select_variant(variant)

    results = await adapter.fetch_many([DEMO_CALL_ID, UNKNOWN_CALL_ID, GENESYS_DEMO_RECORDING_ID])

    assert results[0] == VerbaCall(
        call_id=CallId(Vendor.VERBA, "a8343631-9f35-4a3a-83f0-9e81592339fb"),
        state=CallState.UNKNOWN,  # GetCallURL says the recording exists, not its status
        vendor_state=None,
        verba_call_id="a8343631-9f35-4a3a-83f0-9e81592339fb",
        url=detail_url(emulator_server, DEMO_CALL_ID),
    )
    assert isinstance(results[1], CallNotFound)
    assert results[1].vendor == "verba"
    assert isinstance(results[2], VerbaCall)
    assert results[2].url == detail_url(emulator_server, GENESYS_DEMO_RECORDING_ID)
    # One token for the batch, one GetCallURL per id.
    assert verba.action_counts == {"RequestToken": 1, "GetCallURL": 3}


async def test_fetch_many_of_nothing_asks_nothing(
    adapter: VerbaAdapter, emulator_server: EmulatorServer
) -> None:
    assert await adapter.fetch_many([]) == []
    assert emulator_server.control.count("verba") == 0


# -- a scripted Verba: exact bodies ---------------------------------------------------------

Script = Callable[[Mapping[str, str]], bytes]


TOKEN_BODY = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<VerbaApi>\n'
    b'<Response code="0" type="RequestToken"/>\n'
    b"<Token>" + TOKEN.encode() + b"</Token>\n</VerbaApi>"
)


class ScriptedVerba:
    """A server at `/verba/api` answering RequestToken with a token and every other action
    with `answer(query)`; the queries it was sent land in `asked`."""

    def __init__(self) -> None:
        self.asked: list[dict[str, str]] = []
        self.token_body = TOKEN_BODY
        self._servers: list[TestServer] = []
        self._https: list[VendorHttp] = []

    async def adapter(self, answer: Script) -> VerbaAdapter:
        async def api(request: web.Request) -> web.Response:
            query = dict(request.query)
            self.asked.append(query)
            body = self.token_body if query.get("action") == "RequestToken" else answer(query)
            return web.Response(body=body, content_type="text/xml")

        app = web.Application()
        app.router.add_get("/verba/api", api)
        server = TestServer(app, host="127.0.0.1", port=0)
        await server.start_server(access_log=None)
        self._servers.append(server)
        http = VendorHttp(Vendor.VERBA, str(server.make_url("")).rstrip("/"), timeout=2.0)
        self._https.append(http)
        return make_adapter(http)

    async def close(self) -> None:
        for http in self._https:
            await http.close()
        for server in self._servers:
            await server.close()


@pytest.fixture
async def scripted() -> AsyncIterator[ScriptedVerba]:
    verba = ScriptedVerba()
    yield verba
    await verba.close()


async def test_seed_bodies_read_verbatim_over_http(scripted: ScriptedVerba) -> None:
    bodies = {"8856": pages.SEED_GET_CALL_ID_SUCCESS, "4711": pages.SEED_GET_CALL_ID_ERROR}
    adapter = await scripted.adapter(lambda query: bodies[query["extension"]])

    found = await adapter.find_recording(RecordingQuery(extension="8856", statuses=("ongoing",)))
    missing = await adapter.find_recording(RecordingQuery(extension="4711"))

    assert found is not None
    assert (found.id, found.state) == (
        "verba:a8343631-9f35-4a3a-83f0-9e81592339fb",
        CallState.CONNECTED,
    )
    assert missing is None
    # [doc] responseType defaults to XML; the adapter says it anyway.
    assert all(query["responseType"] == "XML" for query in scripted.asked)


@pytest.mark.parametrize(
    "body",
    [pages.KANA_GET_CALL_ID_SUCCESS, pages.NESTED_GET_CALL_ID_SUCCESS],
    ids=["one-line", "nested"],
)
async def test_other_documented_layouts_read_over_http(
    scripted: ScriptedVerba, body: bytes
) -> None:
    adapter = await scripted.adapter(lambda query: body)

    found = await adapter.find_recording(RecordingQuery(extension="8856"))

    assert found is not None
    assert found.verba_call_id == pages.SEED_CALL_ID


async def test_an_unparsable_answer_fails_that_call_only(
    scripted: ScriptedVerba,
) -> None:
    good = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<VerbaApi>\n<Response code="0" '
        b'type="GetCallURL"/>\n<CallURL>http://192.168.1.104/verba/gwtCallDetail.do?ccdrId='
        b"a8343631-9f35-4a3a-83f0-9e81592339fb</CallURL>\n</VerbaApi>"
    )

    def answer(query: Mapping[str, str]) -> bytes:
        # The Get Markers page's success sample, verbatim: not well-formed.
        return good if query["callID"] == pages.SEED_CALL_ID else pages.GET_MARKERS_SUCCESS

    adapter = await scripted.adapter(answer)

    results = await adapter.fetch_many([UNKNOWN_CALL_ID, pages.SEED_CALL_ID])

    assert isinstance(results[0], VendorUnavailable)
    assert results[0].code == "VENDOR_UNAVAILABLE"
    assert isinstance(results[1], VerbaCall)
    assert results[1].url == (
        "http://192.168.1.104/verba/gwtCallDetail.do?ccdrId=a8343631-9f35-4a3a-83f0-9e81592339fb"
    )


@pytest.mark.parametrize(
    "url",
    [
        f"http://192.168.1.104/verba/media?token={TOKEN}",
        f"http://192.168.1.104/verba/media?apiKey={CREDENTIALS['api_key']}",
        "javascript:alert(1)",
        "",
    ],
    ids=["carries-token", "carries-api-key", "not-http", "empty"],
)
async def test_a_call_url_we_cannot_pass_on_is_null(scripted: ScriptedVerba, url: str) -> None:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<VerbaApi>\n<Response code="0" '
        f'type="GetCallURL"/>\n<CallURL>{url.replace("&", "&amp;")}</CallURL>\n</VerbaApi>'
    ).encode()
    adapter = await scripted.adapter(lambda query: body)

    [result] = await adapter.fetch_many([pages.SEED_CALL_ID])

    assert isinstance(result, VerbaCall)
    assert result.url is None  # the recording is still there, its link is not
    assert result.verba_call_id == pages.SEED_CALL_ID


async def test_a_call_id_that_is_no_uuid_is_unavailable(
    scripted: ScriptedVerba,
) -> None:
    body = pages.SEED_GET_CALL_ID_SUCCESS.replace(pages.SEED_CALL_ID.encode(), b"../../etc")
    adapter = await scripted.adapter(lambda query: body)

    with pytest.raises(VendorUnavailable, match="without a usable CallID"):
        await adapter.find_recording(RecordingQuery(extension="8856"))


async def test_vfc_sample_token_is_sent_with_the_lookup(scripted: ScriptedVerba) -> None:
    adapter = await scripted.adapter(lambda query: pages.SEED_GET_CALL_ID_SUCCESS)
    scripted.token_body = pages.VFC_REQUEST_TOKEN

    found = await adapter.find_recording(RecordingQuery(extension="8856"))

    assert found is not None
    assert [q.get("token") for q in scripted.asked] == [None, pages.VFC_SAMPLE_TOKEN]
