"""Requests with chosen headers and bodies, over real HTTP."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import aiohttp


@dataclass
class Answer:
    status: int
    headers: Any
    body: Any


async def post(
    url: str,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    headers: dict[str, str] | None = None,
) -> Answer:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{url}/graphql",
            json={"query": query, "variables": variables or {}},
            headers=headers or {},
        ) as response,
    ):
        text = await response.text()
        return Answer(response.status, response.headers, json.loads(text) if text else None)


async def request(
    method: str, url: str, *, headers: dict[str, str] | None = None, **kwargs: Any
) -> Answer:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, url, headers=headers or {}, **kwargs) as response,
    ):
        text = await response.text()
        try:
            body: Any = json.loads(text) if text else None
        except ValueError:
            body = text
        return Answer(response.status, response.headers, body)


def codes(body: dict[str, Any]) -> list[str]:
    return [e["extensions"]["code"] for e in body.get("errors", [])]
