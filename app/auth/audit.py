"""The audit trail: one record per command (hold, retrieve, hang up, start) on the
`switchboard.audit` logger — when, who (`sub`), which call, what, the outcome code, the
vendor and the request id — whatever its outcome, refusals included. Never a token: the
principal's `sub` is all that identifies the caller."""

from __future__ import annotations

import logging

from app.logs import REQUEST_ID

audit_logger = logging.getLogger("switchboard.audit")


def record(*, sub: str, operation: str, vendor: str, call_id: str | None, outcome: str) -> None:
    audit_logger.info(
        "%s %s by %s: %s",
        operation,
        call_id or vendor,
        sub,
        outcome,
        extra={
            "fields": {
                "audit": True,
                "sub": sub,
                "operation": operation,
                "callId": call_id,
                "vendor": vendor,
                "outcome": outcome,
                "requestId": REQUEST_ID.get(),
            }
        },
    )
