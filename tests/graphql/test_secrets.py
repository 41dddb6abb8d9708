"""No credential, token or session id ever reaches a response or a log line, whatever fails."""

from __future__ import annotations

import logging

import pytest

from app.emulators import DEMO_CREDENTIALS
from app.emulators.control import Fault
from app.emulators.genesys import GenesysEmulator
from app.emulators.huawei import HuaweiEmulator
from app.emulators.verba import VerbaEmulator
from app.emulators.voipnow import VoipNowEmulator
from app.logs import JsonFormatter
from tests.demo import DEMO_IDS
from tests.graphql.conftest import Gateway

EVERYTHING = """query($ids: [ID!]!) {
  calls(ids: $ids) {
    id state
    ... on GenesysCall { recording { callId } }
    ... on VoipNowCall { recording { callId } }
  }
  recording(extension: "8856") { callId }
}"""


def issued_secrets(gateway: Gateway) -> set[str]:
    emulator = gateway.emulator.emulator
    return {
        *emulator(HuaweiEmulator).tokens,
        *emulator(VoipNowEmulator).tokens,
        *emulator(VerbaEmulator).tokens,
        *emulator(GenesysEmulator).store.session_secrets(),
    }


async def test_no_secret_in_responses_or_logs(
    gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    variables = {"ids": list(DEMO_IDS.values())}
    responses = [await gateway.client.raw(EVERYTHING, variables)]
    secrets = issued_secrets(gateway)
    # Tokens refused (401 then refresh), then vendors failing in every way.
    for vendor in ("huawei", "voipnow", "verba", "genesys"):
        gateway.control.expire_tokens(vendor)
    responses.append(await gateway.client.raw(EVERYTHING, variables))
    secrets |= issued_secrets(gateway)
    for fault in (Fault(status=401), Fault(status=403), Fault(status=502), Fault(drop=True)):
        for vendor in DEMO_CREDENTIALS:
            gateway.control.set_fault(vendor, fault)
        responses.append(await gateway.client.raw(EVERYTHING, variables))
    gateway.control.clear_faults()

    assert len(secrets) >= 6  # tokens and sessions were really issued
    secrets |= {s for credentials in DEMO_CREDENTIALS.values() for s in credentials.values()}
    # Every record as the log pipeline gets it, its structured fields included.
    records = "\n".join(JsonFormatter().format(record) for record in caplog.records)
    text = "\n".join(responses) + "\n" + records
    leaked = sorted(secret for secret in secrets if secret in text)
    assert leaked == []
    assert "Traceback" not in "\n".join(responses)
