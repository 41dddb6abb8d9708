"""Authentication and scoping over real HTTP (issue 12): 401 for no or bad credentials,
FORBIDDEN per field for a missing scope or someone else's call, nothing sent to a
vendor for a call the caller may not touch, `_service` open to routers."""

from __future__ import annotations

import time

import jwt
import pytest

from app.calls import Vendor
from tests.auth.http import codes, post, request
from tests.auth.tokens import ALICE_LINES, SECRET, SUPERVISOR, bearer, claims, hs256
from tests.demo import DEMO_IDS
from tests.graphql.conftest import Gateway

CALL = "query($id: ID!) { call(id: $id) { id state } }"
CALLS = "query($ids: [ID!]!) { calls(ids: $ids) { id } }"
HOLD = "mutation($id: ID!) { holdCall(id: $id) { id state } }"
VOIPNOW = DEMO_IDS[Vendor.VOIPNOW]
GENESYS = DEMO_IDS[Vendor.GENESYS]
HUAWEI = DEMO_IDS[Vendor.HUAWEI]
ORACLE = DEMO_IDS[Vendor.ORACLE]


def alice(**kwargs: object) -> dict[str, str]:
    return bearer(hs256("alice", lines=ALICE_LINES, **kwargs))


def supervisor() -> dict[str, str]:
    return bearer(hs256("sam", scope=SUPERVISOR))


async def test_no_credential_is_401_with_a_bearer_challenge(secured: Gateway) -> None:
    answer = await post(secured.url, CALL, {"id": VOIPNOW})
    assert answer.status == 401
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert codes(answer.body) == ["UNAUTHENTICATED"]
    assert secured.control.count("voipnow", path_contains="phoneCalls") == 0


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic YWxpY2U6c2VjcmV0",  # not Bearer
        "Bearer",  # no token
        "Bearer not-a-jwt",
        "Bearer " + jwt.encode(claims(), "another-secret-of-sufficient-length!!", "HS256"),
        "Bearer " + jwt.encode(claims(ttl=-120), SECRET, "HS256"),  # expired past the leeway
        "Bearer " + jwt.encode(claims(), None, "none"),  # type: ignore[arg-type] # alg: none
        "Bearer " + jwt.encode({"sub": "alice", "scope": "calls:read"}, SECRET, "HS256"),  # no exp
    ],
    ids=["basic", "empty", "garbage", "wrong-key", "expired", "alg-none", "no-exp"],
)
async def test_bad_credentials_are_401(secured: Gateway, authorization: str) -> None:
    answer = await post(
        secured.url, CALL, {"id": VOIPNOW}, headers={"Authorization": authorization}
    )
    assert answer.status == 401
    assert answer.headers["WWW-Authenticate"].startswith('Bearer realm="switchboard"')
    assert codes(answer.body) == ["UNAUTHENTICATED"]
    credential = authorization.partition(" ")[2]
    if credential:
        assert credential not in answer.body["errors"][0]["message"]  # never echoed


async def test_service_sdl_needs_no_credential(secured: Gateway) -> None:
    answer = await post(secured.url, "{ _service { sdl } }")
    assert answer.status == 200
    assert "type Query" in answer.body["data"]["_service"]["sdl"]


async def test_get_needs_a_credential_but_graphiql_page_does_not(secured: Gateway) -> None:
    query = {"query": '{ call(id: "' + VOIPNOW + '") { id } }'}
    refused = await request("GET", f"{secured.url}/graphql", params=query)
    assert refused.status == 401
    allowed = await request("GET", f"{secured.url}/graphql", params=query, headers=alice())
    assert allowed.status == 200
    assert allowed.body["data"]["call"]["id"] == VOIPNOW


async def test_a_missing_scope_is_forbidden_in_that_field(secured: Gateway) -> None:
    no_read = bearer(hs256("bob", scope="calls:control", lines=ALICE_LINES))
    answer = await post(secured.url, CALL, {"id": VOIPNOW}, headers=no_read)
    assert answer.status == 200
    assert answer.body["data"] == {"call": None}
    assert codes(answer.body) == ["FORBIDDEN"]
    assert secured.control.count("voipnow", path_contains="phoneCalls") == 0


async def test_an_agent_sees_calls_on_its_lines_only(secured: Gateway) -> None:
    ids = [VOIPNOW, GENESYS, HUAWEI, ORACLE]
    answer = await post(secured.url, CALLS, {"ids": ids}, headers=alice())
    assert answer.status == 200
    assert answer.body["data"]["calls"] == [{"id": VOIPNOW}, None, {"id": HUAWEI}, None]
    forbidden = sorted(e["path"][1] for e in answer.body["errors"])
    assert forbidden == [1, 3]
    assert set(codes(answer.body)) == {"FORBIDDEN"}
    # Oracle's status names no party: nothing was asked of Oracle at all.
    assert secured.control.count("oracle") == 0


async def test_a_supervisor_sees_every_call(secured: Gateway) -> None:
    ids = [VOIPNOW, GENESYS, HUAWEI]
    answer = await post(secured.url, CALLS, {"ids": ids}, headers=supervisor())
    assert answer.body["data"]["calls"] == [{"id": VOIPNOW}, {"id": GENESYS}, {"id": HUAWEI}]


async def test_active_calls_leave_out_other_agents_calls(secured: Gateway) -> None:
    query = "{ v: activeCalls(vendor: VOIPNOW) { id } g: activeCalls(vendor: GENESYS) { id } }"
    answer = await post(secured.url, query, headers=alice())
    assert "errors" not in answer.body
    assert answer.body["data"] == {"v": [{"id": VOIPNOW}], "g": []}
    everything = await post(secured.url, query, headers=supervisor())
    assert everything.body["data"] == {"v": [{"id": VOIPNOW}], "g": [{"id": GENESYS}]}


async def test_holding_someone_elses_call_is_forbidden_and_sends_nothing(
    secured: Gateway,
) -> None:
    answer = await post(secured.url, HOLD, {"id": GENESYS}, headers=alice())
    assert answer.status == 200
    assert answer.body["data"] is None
    assert codes(answer.body) == ["FORBIDDEN"]
    assert secured.control.count("genesys", path_contains="/calls/") <= 1  # the read, at most
    commands = [r for r in secured.control.requests if r.vendor == "genesys" and r.method == "POST"]
    assert commands == []


async def test_an_agent_holds_its_own_call(secured: Gateway) -> None:
    answer = await post(secured.url, HOLD, {"id": VOIPNOW}, headers=alice())
    assert "errors" not in answer.body, answer.body
    assert answer.body["data"]["holdCall"] == {"id": VOIPNOW, "state": "HELD"}


async def test_commands_need_the_control_scope(secured: Gateway) -> None:
    reader = bearer(hs256("wallboard", scope="calls:read calls:all"))
    answer = await post(secured.url, HOLD, {"id": VOIPNOW}, headers=reader)
    assert codes(answer.body) == ["FORBIDDEN"]
    assert answer.body["errors"][0]["extensions"]["scope"] == "calls:control"
    assert [r for r in secured.control.requests if r.method == "PUT"] == []


async def test_start_call_needs_the_start_scope_and_the_callers_own_line(
    secured: Gateway,
) -> None:
    start = "mutation($input: StartCallInput!) { startCall(input: $input) { id } }"
    theirs = {"vendor": "VOIPNOW", "to": "0003*210", "from": "0003*999"}
    answer = await post(secured.url, start, {"input": theirs}, headers=alice())
    assert codes(answer.body) == ["FORBIDDEN"]
    no_start = bearer(hs256("alice", scope="calls:read calls:control", lines=ALICE_LINES))
    mine = {"vendor": "VOIPNOW", "to": "0003*210", "from": "0003*024"}
    answer = await post(secured.url, start, {"input": mine}, headers=no_start)
    assert codes(answer.body) == ["FORBIDDEN"]
    assert [r for r in secured.control.requests if r.method == "POST"] == []


async def test_an_oracle_call_placed_by_the_agent_is_the_agents(secured: Gateway) -> None:
    # Oracle's status names no party: the numbers the call was placed with decide.
    start = "mutation($input: StartCallInput!) { startCall(input: $input) { id } }"
    agent = bearer(hs256("olga", lines=["oracle:+15550100"]))
    placed = await post(
        secured.url, start, {"input": {"vendor": "ORACLE", "to": "+15550100"}}, headers=agent
    )
    assert "errors" not in placed.body, placed.body
    call_id = placed.body["data"]["startCall"]["id"]
    mine = await post(secured.url, CALL, {"id": call_id}, headers=agent)
    assert mine.body["data"]["call"]["id"] == call_id
    other = bearer(hs256("otto", lines=["oracle:+15550199"]))
    theirs = await post(secured.url, CALL, {"id": call_id}, headers=other)
    assert codes(theirs.body) == ["FORBIDDEN"]


async def test_entities_obey_the_same_rules(secured: Gateway) -> None:
    query = """query($r: [_Any!]!) { _entities(representations: $r) { ... on Call { id } } }"""
    representations = [
        {"__typename": "VoipNowCall", "id": VOIPNOW},
        {"__typename": "GenesysCall", "id": GENESYS},
    ]
    answer = await post(secured.url, query, {"r": representations}, headers=alice())
    assert answer.body["data"]["_entities"] == [{"id": VOIPNOW}, None]
    assert codes(answer.body) == ["FORBIDDEN"]
    unauthenticated = await post(secured.url, query, {"r": representations})
    assert unauthenticated.status == 401


async def test_an_expiring_token_is_cached_no_longer_than_it_lives(secured: Gateway) -> None:
    # Verified once, then served from the cache; past exp (+ the leeway) it is refused.
    token = jwt.encode(
        {"sub": "alice", "scope": "calls:read", "exp": int(time.time()) - 29}, SECRET, "HS256"
    )
    first = await post(secured.url, "{ __typename }", headers=bearer(token))
    assert first.status == 200  # within the 30 s leeway
    time.sleep(1.2)  # noqa: ASYNC251 (the server shares this loop, a blocking pause is what we want)
    again = await post(secured.url, "{ __typename }", headers=bearer(token))
    assert again.status == 401


async def test_a_genesys_call_is_the_agent_whose_device_it_is_on(secured: Gateway) -> None:
    # The demo call's participant and DNIS are 15001; its deviceUri names the device that
    # GET /api/v2/me/devices lists with phoneNumber 15000 (the agent's own DN).
    device_owner = bearer(hs256("dana", lines=["genesys:15000"]))
    answer = await post(
        secured.url,
        "query($id: ID!) { call(id: $id) { id ... on GenesysCall { deviceNumber } } }",
        {"id": GENESYS},
        headers=device_owner,
    )
    assert answer.body == {"data": {"call": {"id": GENESYS, "deviceNumber": "15000"}}}
    stranger = bearer(hs256("erin", lines=["genesys:15002"]))
    refused = await post(secured.url, CALL, {"id": GENESYS}, headers=stranger)
    assert codes(refused.body) == ["FORBIDDEN"]
