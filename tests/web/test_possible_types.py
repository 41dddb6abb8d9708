"""possibleTypes.json (Apollo Client's `possibleTypes`) is generated from schema.graphql."""

from __future__ import annotations

import json
from pathlib import Path

from app.web.possible_types import possible_types, render

ROOT = Path(__file__).parents[2]


def test_committed_possible_types_match_the_schema() -> None:
    sdl = (ROOT / "schema.graphql").read_text()
    assert (ROOT / "possibleTypes.json").read_text() == render(sdl), "run `make schema`"


def test_call_stands_for_the_five_vendor_types() -> None:
    committed = json.loads((ROOT / "possibleTypes.json").read_text())
    assert committed == {
        "Call": ["GenesysCall", "HuaweiCall", "OracleCall", "VerbaCall", "VoipNowCall"]
    }


def test_unions_count_and_federation_internals_do_not() -> None:
    sdl = """
        interface Node { id: ID! }
        type A implements Node { id: ID! }
        type B implements Node { id: ID! }
        union Thing = A | B
        union _Entity = A | B
        type Query { node: Node thing: Thing }
    """
    assert possible_types(sdl) == {"Node": ["A", "B"], "Thing": ["A", "B"]}
