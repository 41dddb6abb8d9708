"""Logs: one JSON object per line for log pipelines (or text for a terminal), each record
carrying the request id of the request it belongs to.

`SWITCHBOARD_LOG_FORMAT=json|text`; unset, json unless stderr is a terminal. The request
id comes from the client's `X-Request-Id` (a router's) when it is a sane token, else is
made here; it is echoed in the response header and set in a context variable, so that
every record written while serving that request — vendor requests included — names it.
Records take it when they are made, not when a handler formats them: a handler that
formats later or in another thread (a QueueHandler, pytest's caplog) still has it.
Structured fields go in `extra={"fields": {...}}`; never a credential, token or session id
(tests/graphql/test_secrets.py reads every record).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

REQUEST_ID: ContextVar[str | None] = ContextVar("switchboard_request_id", default=None)

_SANE_ID = re.compile(r"[A-Za-z0-9._:/+=-]{1,128}")

_make_record = logging.getLogRecordFactory()


def _record_in_request(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _make_record(*args, **kwargs)
    # Not `request_id`: records given it in `extra` would clash (logging refuses those).
    record.current_request_id = REQUEST_ID.get()
    return record


if getattr(_make_record, "__name__", "") != _record_in_request.__name__:  # once per process
    logging.setLogRecordFactory(_record_in_request)


def request_id_of(record: logging.LogRecord) -> str | None:
    """The request a record was written for: its own `request_id` (`extra`), else the
    one being served when it was made."""
    return getattr(record, "request_id", None) or getattr(record, "current_request_id", None)


def request_id_from(header: str | bytes | None) -> str:
    """The client's request id if it is a sane token (no spaces, quotes or control
    characters that could forge log lines), else a new one."""
    if isinstance(header, bytes):
        header = header.decode("latin-1")
    if header and _SANE_ID.fullmatch(header):
        return header
    return uuid.uuid4().hex


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message", "requestId"?, ...fields}` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = request_id_of(record)
        if request_id:
            document["requestId"] = request_id
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            document.update(fields)
        if record.exc_info:
            # A bug: its type and place, not the text of a traceback spread over lines.
            document["exception"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(document, default=str, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        request_id = request_id_of(record)
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict) and fields:
            text += " " + " ".join(f"{k}={v}" for k, v in fields.items())
        return f"{text} [{request_id}]" if request_id else text


def configure(log_format: str = "", *, stream: TextIO | None = None) -> str:
    """Set up the root logger once for the process; returns the format chosen."""
    stream = stream or sys.stderr
    chosen = log_format or ("text" if stream.isatty() else "json")
    if chosen not in ("json", "text"):
        raise ValueError(f"log format {log_format!r}: expected json or text")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if chosen == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    return chosen
