"""Changing many calls at once through the gateway's own mutations (B5): `holdCall` or
`retrieveCall` on every call, all sent together, each answered once the vendor confirmed
it (the gateway publishes the confirmed state before it answers)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import aiohttp

MUTATIONS = {
    "HELD": "mutation($id: ID!) { holdCall(id: $id) { id state } }",
    "CONNECTED": "mutation($id: ID!) { retrieveCall(id: $id) { id state } }",
}


@dataclass
class Changes:
    """What a run of mutations did: changes confirmed, and the answers that were not."""

    confirmed: int = 0
    failed: list[str] = field(default_factory=list)


async def change_all(
    session: aiohttp.ClientSession, url: str, calls: list[str], state: str, changes: Changes
) -> None:
    """Every call to `state` (HELD: holdCall, CONNECTED: retrieveCall), all at once."""
    name = "holdCall" if state == "HELD" else "retrieveCall"

    async def one(call_id: str) -> None:
        body = {"query": MUTATIONS[state], "variables": {"id": call_id}}
        async with session.post(f"{url}/graphql", json=body) as response:
            answer = await response.json()
        if answer.get("errors") or answer["data"][name]["state"] != state:
            changes.failed.append(f"{name} {call_id}: {str(answer)[:200]}")
        else:
            changes.confirmed += 1

    await asyncio.gather(*(one(call_id) for call_id in calls))


async def hold_and_retrieve(
    url: str, calls: list[str], *, until: float, cycles: int | None = None
) -> Changes:
    """Hold every call, then retrieve every call, and again, while time.monotonic() <
    `until` (and at most `cycles` times): a half cycle starts only before `until`."""
    changes = Changes()
    connector = aiohttp.TCPConnector(limit=len(calls))
    async with aiohttp.ClientSession(connector=connector) as session:
        done = 0
        while time.monotonic() < until and (cycles is None or done < cycles):
            await change_all(session, url, calls, "HELD", changes)
            if time.monotonic() >= until:
                break
            await change_all(session, url, calls, "CONNECTED", changes)
            done += 1
    return changes


async def state_of(url: str, call_id: str) -> str:
    query = "query($id: ID!) { call(id: $id) { state } }"
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{url}/graphql", json={"query": query, "variables": {"id": call_id}}) as r,
    ):
        answer = await r.json()
    return str(answer["data"]["call"]["state"])
