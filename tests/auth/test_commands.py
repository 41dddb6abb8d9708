"""Commands per principal: the rate limit (RATE_LIMITED with retryAfter, nothing sent)
and the audit trail (one record per command on `switchboard.audit`, never a token)."""

from __future__ import annotations

import json
import logging

import pytest

from app.calls import Vendor
from app.config import Secret
from tests.auth.http import codes, post
from tests.auth.tokens import ALICE_LINES, SECRET, SUPERVISOR, bearer, hs256
from tests.conftest import EmulatorServer
from tests.demo import DEMO_IDS
from tests.graphql.conftest import serve_gateway

VOIPNOW = DEMO_IDS[Vendor.VOIPNOW]
GENESYS = DEMO_IDS[Vendor.GENESYS]
HOLD = "mutation($id: ID!) { holdCall(id: $id) { state } }"
RETRIEVE = "mutation($id: ID!) { retrieveCall(id: $id) { state } }"


async def test_commands_over_the_rate_are_refused_unsent(emulator_server: EmulatorServer) -> None:
    async with serve_gateway(
        emulator_server,
        auth="jwt",
        jwt_secret=Secret(SECRET),
        command_rate=2,
        confirm_interval=0.05,
    ) as gateway:
        sam = bearer(hs256("sam", scope=SUPERVISOR))
        first = await post(gateway.url, HOLD, {"id": VOIPNOW}, headers=sam)
        second = await post(gateway.url, RETRIEVE, {"id": VOIPNOW}, headers=sam)
        assert "errors" not in first.body
        assert "errors" not in second.body
        sent = [r for r in gateway.control.requests if r.method in ("PUT", "POST")]
        third = await post(gateway.url, HOLD, {"id": VOIPNOW}, headers=sam)
        assert codes(third.body) == ["RATE_LIMITED"]
        retry_after = third.body["errors"][0]["extensions"]["retryAfter"]
        assert isinstance(retry_after, int)
        assert 1 <= retry_after <= 60
        assert [r for r in gateway.control.requests if r.method in ("PUT", "POST")] == sent
        # Per principal: another caller still has its allowance.
        other = bearer(hs256("sue", scope=SUPERVISOR))
        allowed = await post(gateway.url, HOLD, {"id": VOIPNOW}, headers=other)
        assert "errors" not in allowed.body, allowed.body


async def test_every_command_leaves_one_audit_record(
    emulator_server: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    token = hs256("alice", lines=ALICE_LINES)
    async with serve_gateway(
        emulator_server, auth="jwt", jwt_secret=Secret(SECRET), confirm_interval=0.05
    ) as gateway:
        with caplog.at_level(logging.INFO, logger="switchboard.audit"):
            held = await post(
                gateway.url,
                HOLD,
                {"id": VOIPNOW},
                headers={**bearer(token), "X-Request-Id": "req-1"},
            )
            refused = await post(gateway.url, HOLD, {"id": GENESYS}, headers=bearer(token))
    assert "errors" not in held.body
    assert codes(refused.body) == ["FORBIDDEN"]
    records = [r for r in caplog.records if r.name == "switchboard.audit"]
    assert [r.__dict__["fields"] for r in records] == [
        {
            "audit": True,
            "sub": "alice",
            "operation": "holdCall",
            "callId": VOIPNOW,
            "vendor": "voipnow",
            "outcome": "OK",
            "requestId": "req-1",
        },
        {
            "audit": True,
            "sub": "alice",
            "operation": "holdCall",
            "callId": GENESYS,
            "vendor": "genesys",
            "outcome": "FORBIDDEN",
            "requestId": records[1].__dict__["fields"]["requestId"],
        },
    ]
    written = json.dumps([r.__dict__["fields"] for r in records]) + caplog.text
    assert token not in written
    assert token.split(".")[2] not in written  # not even the signature
