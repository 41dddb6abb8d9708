"""Fuzzing profiles: `make test` runs a bounded, repeatable number of examples per
strategy (profile "ci"); `make fuzz` runs a long random run (profile "long",
FUZZ_EXAMPLES examples per strategy, default 1,500: over 10,000 inputs in all)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from tests.fuzz.harness import TALLY, ServedGateway, served_gateway

_COMMON = settings(
    deadline=None,  # answers are bounded by the harness (ANSWER_BOUND), not per example
    database=None,  # nothing written into the work tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
settings.register_profile("ci", _COMMON, max_examples=40, derandomize=True)
settings.register_profile(
    "long", _COMMON, max_examples=int(os.environ.get("FUZZ_EXAMPLES", "1500"))
)
settings.load_profile(os.environ.get("FUZZ_PROFILE", "ci"))


@pytest.fixture(scope="module")
def gateway() -> Iterator[ServedGateway]:
    with served_gateway() as served:
        yield served


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if TALLY.inputs:
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(TALLY.by_kind.items()))
        terminalreporter.write_line(
            f"fuzz: {TALLY.inputs} inputs, {TALLY.server_errors} server errors ({kinds})"
        )
