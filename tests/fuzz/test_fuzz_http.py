"""Fuzzing GraphQL over HTTP (issue 11 item 10): documents from the schema and hostile
inputs, against the real app over loopback. Whatever comes in: no 5xx, an answer within
the bound, every error coded, no traceback or credential in any answer."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz import strategies as hostile
from tests.fuzz.harness import ServedGateway, check_answer


@given(query=hostile.schema_queries)
def test_fuzz_schema_queries(gateway: ServedGateway, query: str) -> None:
    check_answer(gateway.post_json({"query": query}), "schema-query")


@given(mutation=hostile.schema_mutations)
def test_fuzz_schema_mutations(gateway: ServedGateway, mutation: str) -> None:
    check_answer(gateway.post_json({"query": mutation}), "schema-mutation")


@given(call_id=hostile.hostile_ids)
def test_fuzz_ids(gateway: ServedGateway, call_id: str) -> None:
    query = "query($id: ID!, $ids: [ID!]!) { call(id: $id) { id state } calls(ids: $ids) { id } }"
    answer = gateway.post_json({"query": query, "variables": {"id": call_id, "ids": [call_id]}})
    check_answer(answer, "id")


@given(case=hostile.deep_json_bodies())
def test_fuzz_deep_json(gateway: ServedGateway, case: tuple[str, bytes]) -> None:
    _, body = case
    check_answer(gateway.post_json(body), "deep-json")


@given(query=hostile.fragment_bombs())
def test_fuzz_fragment_bombs(gateway: ServedGateway, query: str) -> None:
    check_answer(gateway.post_json({"query": query}), "fragment-bomb")


@given(payload=hostile.huge_lists())
def test_fuzz_huge_lists(gateway: ServedGateway, payload: dict[str, Any]) -> None:
    check_answer(gateway.post_json(payload), "huge-list")


@given(
    method=hostile.http_methods,
    content_type=hostile.odd_content_types,
    body=hostile.raw_bodies,
)
def test_fuzz_odd_requests(
    gateway: ServedGateway, method: str, content_type: str | None, body: bytes
) -> None:
    headers = {"host": "127.0.0.1"}
    if content_type is not None:
        headers["content-type"] = content_type
    sent = None if method in {"GET", "HEAD"} else body
    check_answer(gateway.request(method, "/graphql", sent, headers), "odd-request")


@given(query_string=hostile.query_strings, accept=st.sampled_from(["", "text/html", "*/*"]))
def test_fuzz_get_parameters(gateway: ServedGateway, query_string: str, accept: str) -> None:
    path = "/graphql?" + urllib.parse.quote(query_string, safe="=&%")
    headers = {"host": "127.0.0.1", **({"accept": accept} if accept else {})}
    check_answer(gateway.request("GET", path, None, headers), "get")


def test_fuzz_answers_are_json_for_graphql_errors(gateway: ServedGateway) -> None:
    """A sanity check that the harness sees coded errors (fails if the checks read nothing)."""
    answer = gateway.post_json({"query": "{ nope }"})
    check_answer(answer, "sanity")
    [error] = json.loads(answer.body)["errors"]
    assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
