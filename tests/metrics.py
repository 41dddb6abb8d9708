"""/metrics as a test reads it: the exposition parsed by prometheus_client's own parser
into {(sample name, sorted labels): value}, so a test asserts on what a scraper sees."""

from __future__ import annotations

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from app.metrics import exposition

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def scrape(session: aiohttp.ClientSession, url: str) -> Samples:
    """A gateway's /metrics at `url`, parsed."""
    async with session.get(f"{url}/metrics") as response:
        assert response.status == 200
        assert response.headers["content-type"].startswith("text/plain")
        return parse(await response.text())


def process_samples() -> Samples:
    """The process-wide counters (app.metrics.REGISTRY) as /metrics shows them, for tests
    of a part with no gateway around it."""
    return parse(exposition().decode())


def value(samples: Samples, name: str, **labels: str) -> float:
    """A sample's value; 0 when it is absent (a counter not yet incremented)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)
