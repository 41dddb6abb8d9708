"""Fixtures for the browser tests: one headless Chromium per test module (a tab per test)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.web.browser import Browser, find_chromium, launch


def under_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    executable = find_chromium()
    if executable is None:
        reason = (
            "chromium not found: `make browser-deps` installs Debian's chromium "
            "(or set SWITCHBOARD_CHROMIUM)"
        )
        if under_ci():
            pytest.fail(f"CI runs the browser tests: {reason}")
        pytest.skip(reason)
    with launch(executable) as browser:
        yield browser
