"""Hostile inputs (issue 11): what an attacker sends, as Hypothesis strategies."""

from __future__ import annotations

import json
from typing import Any

import hypothesis_graphql
from hypothesis import strategies as st
from hypothesis_graphql import nodes

from app.config import Settings
from app.graphql.schema import build_schema
from tests.demo import DEMO_IDS

SDL = build_schema(Settings())._schema  # graphql-core schema: federation directives resolved

_CUSTOM_SCALARS = {
    "DateTime": st.sampled_from(["2025-01-15T12:00:00Z", "yesterday", ""]).map(nodes.String),
    "JSON": st.text(max_size=20).map(nodes.String),
    "_Any": st.just("{}").map(nodes.String),
}

# Documents from the schema: valid ones, and ones with one schema violation each.
schema_queries = st.one_of(
    hypothesis_graphql.queries(SDL, custom_scalars=_CUSTOM_SCALARS),
    hypothesis_graphql.queries(
        SDL, custom_scalars=_CUSTOM_SCALARS, mode=hypothesis_graphql.Mode.NEGATIVE
    ),
)
schema_mutations = hypothesis_graphql.mutations(SDL, custom_scalars=_CUSTOM_SCALARS)

# Ids: the demo calls, well-formed strangers, and strings with control characters,
# surrogates and separators in them.
hostile_ids = st.one_of(
    st.sampled_from(list(DEMO_IDS.values())),
    st.builds(
        lambda vendor, native: f"{vendor}:{native}",
        st.sampled_from(["oracle", "huawei", "verba", "voipnow", "genesys", "nope", ""]),
        st.text(
            alphabet=st.characters(codec=None, categories=["Cc", "Cs", "Zs", "Po", "Lu", "Nd"]),
            max_size=80,
        ),
    ),
    st.text(max_size=200),
)


def nested(depth: int, opener: str = "[", closer: str = "]") -> str:
    """JSON text nested `depth` levels deep (built as text: json.dumps would recurse)."""
    return opener * depth + closer * depth


@st.composite
def deep_json_bodies(draw: st.DrawFn) -> tuple[str, bytes]:
    """JSON nested up to 5,000 levels in the body, variables, extensions or an argument."""
    depth = draw(st.integers(min_value=1, max_value=5_000))
    where = draw(st.sampled_from(["body", "variables", "extensions", "userData", "id"]))
    deep = draw(st.sampled_from([nested(depth), '{"a":' * depth + "1" + "}" * depth]))
    if where == "body":
        return where, deep.encode()
    if where == "userData":
        deep_object = '{"a":' * depth + "1" + "}" * depth
        query = "mutation($input: StartCallInput!) { startCall(input: $input) { id } }"
        return where, (
            '{"query":' + json.dumps(query) + ',"variables":{"input":{"vendor":"GENESYS",'
            '"to":"5001","userData":' + deep_object + "}}}"
        ).encode()
    if where == "id":
        query = "query($id: ID!) { call(id: $id) { id } }"
        return where, (
            '{"query":' + json.dumps(query) + ',"variables":{"id":' + deep + "}}"
        ).encode()
    return where, ('{"query":"{ __typename }","' + where + '":{"x":' + deep + "}}").encode()


@st.composite
def fragment_bombs(draw: st.DrawFn) -> str:
    """Fragments that double: F(n) spreads F(n-1) twice — 2^n selections from a small
    document; also cycles and spreads of fragments that do not exist."""
    kind = draw(st.sampled_from(["doubling", "cycle", "missing", "wide"]))
    n = draw(st.integers(min_value=2, max_value=40))
    if kind == "cycle":
        return "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }"
    if kind == "missing":
        return "query { " + " ".join(f"...Missing{i}" for i in range(n)) + " }"
    if kind == "wide":
        aliases = " ".join(
            f'a{i}: call(id: "{DEMO_IDS[next(iter(DEMO_IDS))]}") {{ id }}' for i in range(n * 10)
        )
        return "query { " + aliases + " }"
    parts = ['fragment F0 on Query { call(id: "oracle:x") { id state } }']
    parts += [f"fragment F{i} on Query {{ ...F{i - 1} ...F{i - 1} }}" for i in range(1, n)]
    return f"query {{ ...F{n - 1} }} " + " ".join(parts)


@st.composite
def huge_lists(draw: st.DrawFn) -> dict[str, Any]:
    """`calls(ids)` with up to 20,000 ids, in variables or inline, under aliases."""
    size = draw(st.integers(min_value=0, max_value=20_000))
    aliases = draw(st.integers(min_value=1, max_value=40))
    ids = [draw(st.sampled_from(list(DEMO_IDS.values())))] * size
    fields = " ".join(f"a{i}: calls(ids: $ids) {{ id }}" for i in range(aliases))
    return {"query": f"query($ids: [ID!]!) {{ {fields} }}", "variables": {"ids": ids}}


odd_content_types = st.sampled_from(
    [
        None,
        "text/plain",
        "application/json; charset=latin-1",
        "application/json; charset=nonsense",
        "application/graphql",
        "application/graphql+json",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "multipart/form-data",
        "application/xml",
        "*/*",
        "application/json\x00",
    ]
)

http_methods = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])

raw_bodies = st.one_of(
    st.binary(max_size=2_000),
    st.text(max_size=500).map(str.encode),
    st.sampled_from(
        [
            b"",
            b"null",
            b"[]",
            b"[{}]",
            b'{"query": 1}',
            b'{"query": null}',
            b'{"query": "{ __typename }", "variables": []}',
            b'{"query": "{ __typename }", "operationName": 7}',
            b'[{"query": "{ __typename }"}]' * 3,
        ]
    ),
)

query_strings = st.one_of(
    st.text(max_size=300),
    st.builds(
        lambda q, v: f"query={q}&variables={v}",
        st.sampled_from(
            [
                "%7B__typename%7D",
                "subscription%7BcallEvents%7Bcall%7Bid%7D%7D%7D",
                "%7B...Missing%7D",
                "",
            ]
        ),
        st.sampled_from(["%7B%7D", "%5B" * 3000 + "%5D" * 3000, "not-json", ""]),
    ),
)

# Websocket frames: a sequence of texts a broken or hostile client sends.
ws_messages = st.lists(
    st.one_of(
        st.sampled_from(
            [
                '{"type":"connection_init"}',
                '{"type":"connection_init","payload":[]}',
                '{"type":"ping"}',
                '{"type":"pong"}',
                '{"type":"subscribe","id":"1","payload":'
                '{"query":"subscription { callEvents { call { id } } }"}}',
                '{"type":"subscribe","id":"1","payload":{"query":"{ ...Missing }"}}',
                '{"type":"subscribe","id":"1","payload":'
                '{"query":"subscription { callUpdated(id: \\"x\\") { id } }"}}',
                '{"type":"subscribe","id":"","payload":{}}',
                '{"type":"subscribe","id":1,"payload":null}',
                '{"type":"complete","id":"1"}',
                '{"type":"start","id":"1","payload":{"query":"{ __typename }"}}',
                '{"type":"stop"}',
                '{"type":"connection_terminate"}',
                "[]",
                "null",
                "{",
                nested(3000),
                '{"type":' + nested(2000) + "}",
            ]
        ),
        st.text(max_size=200),
    ),
    min_size=1,
    max_size=8,
)
