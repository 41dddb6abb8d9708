"""GraphiQL's page, every asset served by switchboard (app/web/graphiql.html)."""

from __future__ import annotations

import json
from pathlib import Path

_TEMPLATE = Path(__file__).with_name("graphiql.html")
_PLACEHOLDER = "__EXAMPLE_QUERY__"


def graphiql_page(example_query: str) -> str:
    """The page, opening on `example_query` (a tab's default document)."""
    # As a JS string literal; `<` escaped so no text of the query can close the script.
    literal = json.dumps(example_query).replace("<", "\\u003c")
    return _TEMPLATE.read_text(encoding="utf-8").replace(_PLACEHOLDER, literal)
