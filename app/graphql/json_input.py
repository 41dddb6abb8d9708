"""JSON from clients, with its nesting bounded.

Python's JSON decoder, graphql-core's coercion of custom scalars (JSON `userData`), the
response encoder and the vendors' request encoders all recurse: a request nested ~1,000
levels deep raised RecursionError in whichever came first — an internal error, or over
a websocket a connection dropped without a close frame — and a value nested a few
hundred levels passed all of them and reached a vendor. Client JSON is refused past
`max_depth` levels (BAD_USER_INPUT) as soon as it is decoded.
"""

from __future__ import annotations

import json
from typing import Any

from app.errors import BadUserInput


def too_deep(max_depth: int) -> BadUserInput:
    return BadUserInput(
        f"JSON nested too deeply: at most {max_depth} levels.", maxJsonDepth=max_depth
    )


def decode(text: str | bytes, max_depth: int) -> Any:
    """`text` decoded; ValueError when it is not JSON, BadUserInput when it nests deeper
    than `max_depth`."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise too_deep(max_depth) from None
    if nested_deeper_than(value, max_depth):
        raise too_deep(max_depth)
    return value


def nested_deeper_than(value: Any, max_depth: int) -> bool:
    """Whether `value` has containers more than `max_depth` levels deep (iteratively:
    the check must not recurse itself). A scalar is level 0, `[]` and `{}` level 1."""
    if not isinstance(value, (dict, list)):
        return False
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        container, depth = stack.pop()
        if depth > max_depth:
            return True
        items = container.values() if isinstance(container, dict) else container
        for item in items:
            if isinstance(item, (dict, list)):
                stack.append((item, depth + 1))
    return False
