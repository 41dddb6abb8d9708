"""`possibleTypes` for Apollo Client, from the exported schema: which concrete types each
interface or union stands for. Without it Apollo's cache cannot match a fragment on an
interface (`... on Call`) to a `GenesysCall` and silently drops its fields.

    python -m app.web.possible_types schema.graphql > possibleTypes.json   (`make schema`)

Apollo's documented shape (https://www.apollographql.com/docs/react/data/fragments#defining-possibletypes-manually):
{"Call": ["GenesysCall", ...]}. Federation's own `_Entity` is left out: clients see the
router's schema, which has no such type.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from graphql import GraphQLInterfaceType, GraphQLUnionType, build_ast_schema, parse


def possible_types(sdl: str) -> dict[str, list[str]]:
    # assume_valid_sdl: the federation directives (@key, @link) have no definitions here.
    schema = build_ast_schema(parse(sdl), assume_valid_sdl=True)
    found: dict[str, list[str]] = {}
    for name, named in sorted(schema.type_map.items()):
        if name.startswith("_") or not isinstance(named, GraphQLInterfaceType | GraphQLUnionType):
            continue
        found[name] = sorted(t.name for t in schema.get_possible_types(named))
    return found


def render(sdl: str) -> str:
    return json.dumps(possible_types(sdl), indent=2) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m app.web.possible_types <schema.graphql>", file=sys.stderr)
        return 2
    sys.stdout.write(render(Path(argv[0]).read_text(encoding="utf-8")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
