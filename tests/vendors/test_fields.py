"""Total reads of vendor fields (app/vendors/fields.py): every documented type variant
reads, anything else is None and logged once per (vendor, field, shape), without the value."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from app.calls import Vendor
from app.vendors.fields import WireReader, parse_date


@pytest.fixture
def read() -> WireReader:
    # A vendor value of its own per test run is not possible (Vendor is closed), so tests
    # use distinct field names to keep "logged once" independent between tests.
    return WireReader(Vendor.ORACLE)


def test_epoch_seconds_reads_every_documented_form(read: WireReader) -> None:
    # VENDORS.md §1/§6: 1343129570, " 1343129570" and "2013-07-25 4:35:50" (Oracle examples).
    at = datetime(2012, 7, 24, 11, 32, 50, tzinfo=UTC)
    assert read.epoch_seconds({"t": 1343129570}, "t") == at
    assert read.epoch_seconds({"t": " 1343129570"}, "t") == at
    assert read.epoch_seconds({"t": "2013-07-25 4:35:50"}, "t") == datetime(
        2013, 7, 25, 4, 35, 50, tzinfo=UTC
    )


def test_epoch_millis_reads_numbers_and_strings(read: WireReader) -> None:
    # VENDORS.md §2: Huawei times are epoch milliseconds, strings in the docs, numbers in
    # the example.
    at = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)
    assert read.epoch_millis({"t": 1736942400000}, "t") == at
    assert read.epoch_millis({"t": "1736942400000"}, "t") == at


def test_dates_with_zones(read: WireReader) -> None:
    assert parse_date("2025-01-15T13:00:00.123+01:00") == datetime(
        2025, 1, 15, 12, 0, 0, 123000, tzinfo=UTC
    )
    assert parse_date("2025-01-15T12:00:00Z") == datetime(2025, 1, 15, 12, 0, tzinfo=UTC)
    assert parse_date("yesterday") is None


def test_text_takes_numbers_as_their_digits(read: WireReader) -> None:
    # VENDORS.md §6: Huawei V1 sends callSerialNo as a number, V3 as a string.
    assert read.text({"n": 645735364434067472}, "n") == "645735364434067472"
    assert read.text({"n": "645735364434067472"}, "n") == "645735364434067472"


def test_odd_field_is_null_and_logged_once_without_its_value(
    read: WireReader, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "switchboard.vendors")
    secret_looking = {"odd_text_field": ["agent-password-1234"]}
    assert read.text(secret_looking, "odd_text_field") is None
    assert read.text(secret_looking, "odd_text_field") is None
    assert read.epoch_seconds({"odd_time_field": {"x": 1}}, "odd_time_field") is None
    assert read.integer({"odd_int_field": "twelve"}, "odd_int_field") is None
    records = [r.getMessage() for r in caplog.records]
    assert len([m for m in records if "odd_text_field" in m]) == 1
    assert any("'odd_time_field' as object" in m for m in records)
    assert any("'odd_int_field' as string" in m for m in records)
    assert not any("agent-password" in m or "twelve" in m for m in records)


def test_flags_and_lists(read: WireReader) -> None:
    assert read.flag({"f": "yes"}, "f") is True
    assert read.flag({"f": "no"}, "f") is False
    assert read.flag({"f": 1}, "f") is True
    assert read.items({"l": {"a": 1}}, "l") == [{"a": 1}]
    assert read.items({}, "l") == []
