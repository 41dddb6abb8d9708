"""One simulated VoipNow call for `python -m app`'s demo traffic: a call on one of user 12's
extensions walks trying, ringing, on call (sometimes held and taken back) and hangs up, or
rings unanswered and hangs up."""

from __future__ import annotations

import asyncio
import contextlib
import random

from app.emulators.voipnow_store import (
    ME_USER_ID,
    ActionInvalid,
    PhoneCall,
    PhoneCallStore,
    PhoneCallView,
)

_CALLER_NAMES = ("John Doe", "Jane Roe", "Ana Pop", "Ion Ionescu", "Maria Popescu")


async def simulate_call(store: PhoneCallStore, rng: random.Random, pace: float) -> None:
    """A call on one of user 12's extensions: trying, ringing, on call (sometimes held
    and taken back), hung up; or unanswered and hung up while ringing."""
    extension = rng.choice(store.directory[ME_USER_ID])
    outgoing = rng.random() < 0.5
    if rng.random() < 0.5:
        flow = "2"
        peer = rng.choice([e for es in store.directory.values() for e in es if e != extension])
    else:
        flow = "4" if outgoing else "8"
        peer = str(rng.randrange(2_000_000, 9_999_999))
    source, destination = ([extension], [peer]) if outgoing else ([peer], [extension])
    views = [PhoneCallView("00", extension, source, destination, flow=flow, status="2")]
    if flow == "2":
        peer_status = "3" if outgoing else "4"  # the peer's phone rings, or hears ringing
        views.append(PhoneCallView("01", peer, source, destination, flow=flow, status=peer_status))
    elif not outgoing:
        views[0].caller_id = f"{rng.choice(_CALLER_NAMES)} <{peer}>"
    call = store.add_call(PhoneCall(f"{rng.getrandbits(80):020x}", ME_USER_ID, extension, views))

    async def still_there() -> bool:
        await asyncio.sleep(pace * rng.uniform(1.0, 4.0))
        return call.id in store.calls

    if not await still_there():
        return
    store.set_status(call.id, "4" if outgoing else "3")
    if not await still_there():
        return
    if rng.random() < 0.8:
        for view in call.views:
            store.set_status(call.id, "5", view_id=view.id)
        if rng.random() < 0.5:
            holder = rng.choice(call.views).id
            # The API may have held or taken back the call meanwhile: then skip the step.
            if not await still_there():
                return
            with contextlib.suppress(ActionInvalid):
                store.hold(call.id, holder)
            if not await still_there():
                return
            with contextlib.suppress(ActionInvalid):
                store.retrieve(call.id, holder)
        if not await still_there():
            return
    store.hang_up(call.id)
