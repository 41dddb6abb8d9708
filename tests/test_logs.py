"""Structured logs: one JSON object per line with the request id; client request ids are
taken only when they cannot forge a log line."""

from __future__ import annotations

import io
import json
import logging
import logging.handlers
import queue
import threading

import pytest

from app import logs


def test_a_sane_request_id_is_kept_and_anything_else_replaced() -> None:
    assert logs.request_id_from("req-42.a/b") == "req-42.a/b"
    for forged in ['x" "level":"error', "a\nb", "", None, "x" * 129, "é"]:
        made = logs.request_id_from(forged)
        assert len(made) == 32
        assert made.isalnum()


def test_json_records_carry_the_request_id_and_fields() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger("switchboard.test_logs")
    logger.addHandler(handler)
    logger.propagate = False
    token = logs.REQUEST_ID.set("r-1")
    try:
        logger.warning("served %s", "query", extra={"fields": {"durationMs": 1.5}})
    finally:
        logs.REQUEST_ID.reset(token)
        logger.removeHandler(handler)
    record = json.loads(stream.getvalue())
    assert record["message"] == "served query"
    assert record["requestId"] == "r-1"
    assert record["durationMs"] == 1.5
    assert record["level"] == "warning"
    assert record["logger"] == "switchboard.test_logs"


def test_a_record_formatted_later_in_another_thread_keeps_its_request_id() -> None:
    """As behind a QueueHandler: the record is made while serving, formatted after."""
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    handler = logging.handlers.QueueHandler(records)
    logger = logging.getLogger("switchboard.test_logs.queued")
    logger.addHandler(handler)
    logger.propagate = False
    token = logs.REQUEST_ID.set("r-2")
    try:
        logger.warning("vendor answered")
    finally:
        logs.REQUEST_ID.reset(token)
        logger.removeHandler(handler)
    formatted: list[str] = []
    worker = threading.Thread(
        target=lambda: formatted.append(logs.JsonFormatter().format(records.get()))
    )
    worker.start()
    worker.join()
    assert json.loads(formatted[0])["requestId"] == "r-2"
    assert logs.TextFormatter().format(logging.makeLogRecord({"msg": "x"})).endswith("x")


def test_configure_picks_json_off_a_terminal_and_refuses_unknown_formats() -> None:
    root = logging.getLogger()
    kept = root.handlers[:], root.level
    try:
        assert logs.configure("", stream=io.StringIO()) == "json"
        assert logs.configure("text", stream=io.StringIO()) == "text"
        with pytest.raises(ValueError, match="json or text"):
            logs.configure("xml", stream=io.StringIO())
    finally:
        root.handlers[:], root.level = kept[0], kept[1]
