"""B2 — batching: `calls(ids)` with 100 ids over the five vendors.

What it measures, for one `calls(ids: [...100 ids])` query through switchboard:

  - vendor requests per vendor (the emulators' request log, token requests counted apart),
    against the fewest the vendors' APIs allow: Genesys 1 (its list), VoipNow 1 per
    (user, extension), Oracle and Huawei 1 per distinct call, Verba 0 (switchboard answers
    Verba ids without a request: Verba has no lookup by call id);
  - its latency, against fetching the same 100 ids one by one (100 sequential
    `call(id)` queries, one client on one keep-alive connection): the median of
    `--repeat` repetitions of each, alternating.

The calls: the emulators' demo call of each vendor plus 15 more per vendor started through
switchboard's own `startCall` mutation (the emulators run in another process, so their
stores cannot be filled directly; one API for all four vendors that can start calls is the
simplest): Genesys Dials, VoipNow simple calls from the user's three extensions 0003*210,
0003*211 and 0003*212 (5 each), Oracle click-to-call sessions, Huawei createCall. Verba
ids are 16 fixed uuids. That makes 16 distinct calls per vendor; each vendor's first 4 are
asked twice, so the 100 ids hold 80 distinct calls (20 ids per vendor, vendors
interleaved). Both queries select `id state vendorState`.

    .venv/bin/python -m bench.b2_batching [--repeat 11]

Writes bench/results/b2_batching.json and the B2 section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

from bench.lib.http import JsonClient
from bench.lib.procs import Processes, exit_on_sigterm, log
from bench.lib.results import (
    command_line,
    machine,
    machine_line,
    now,
    source,
    source_line,
    table,
    write_json,
    write_section,
)
from bench.lib.setup import VENDORS, RequestLog, start_emulators, start_switchboard

DEMO_IDS = {
    "genesys": "genesys:01RCC3N118B1V0SL8O7GK2LAES000010",
    "voipnow": "voipnow:12/0003*210/b817d2618fe6f1804333",
    "oracle": "oracle:1TfU02Xfme2GMuzfUh0rkdgvz4",
    "huawei": "huawei:645735364434067472",
    "verba": "verba:a8343631-9f35-4a3a-83f0-9e81592339fb",
}
NEW_PER_VENDOR = 15
REPEATED_PER_VENDOR = 4
VOIPNOW_EXTENSIONS = ("0003*210", "0003*211", "0003*212")

START = "mutation($input: StartCallInput!) { startCall(input: $input) { id } }"
BATCH = "query($ids: [ID!]!) { calls(ids: $ids) { id state vendorState } }"
SINGLE = "query($id: ID!) { call(id: $id) { id state vendorState } }"


def start_input(vendor: str, n: int) -> dict[str, Any]:
    """The startCall input of the n-th new call of `vendor` (distinct destinations, so
    that each Genesys Dial is told apart from the others)."""
    if vendor == "genesys":
        return {"vendor": "GENESYS", "to": f"1555{n:07d}"}
    if vendor == "voipnow":
        extension = VOIPNOW_EXTENSIONS[n % len(VOIPNOW_EXTENSIONS)]
        return {"vendor": "VOIPNOW", "from": extension, "to": f"1555{n:07d}"}
    if vendor == "oracle":
        return {"vendor": "ORACLE", "to": f"+1555{n:07d}"}
    if vendor == "huawei":
        return {"vendor": "HUAWEI", "from": f"8888{n:04d}", "to": f"6000{n:04d}"}
    raise ValueError(vendor)


def create_calls(client: JsonClient) -> dict[str, list[str]]:
    """16 distinct call ids per vendor: the demo call and 15 started ones (Verba: uuids)."""
    calls: dict[str, list[str]] = {}
    for vendor in VENDORS:
        ids = [DEMO_IDS[vendor]]
        for n in range(NEW_PER_VENDOR):
            if vendor == "verba":
                ids.append(f"verba:{uuid.uuid5(uuid.NAMESPACE_URL, f'switchboard-bench-{n}')}")
            else:
                started = client.graphql(START, {"input": start_input(vendor, n)})
                ids.append(started["startCall"]["id"])
        calls[vendor] = ids
    return calls


def batch_ids(calls: dict[str, list[str]]) -> list[str]:
    """20 ids per vendor (16 distinct, the first 4 twice), vendors interleaved."""
    per_vendor = {v: ids + ids[:REPEATED_PER_VENDOR] for v, ids in calls.items()}
    length = len(next(iter(per_vendor.values())))
    return [per_vendor[v][i] for i in range(length) for v in VENDORS]


def minimum_requests(ids: list[str]) -> dict[str, int]:
    """The fewest requests the vendors' APIs allow for these ids (see the docstring)."""
    distinct = set(ids)
    by_vendor = Counter(call_id.split(":", 1)[0] for call_id in distinct)
    voipnow_owners = {
        tuple(call_id.split(":", 1)[1].split("/")[:2])
        for call_id in distinct
        if call_id.startswith("voipnow:")
    }
    return {
        "genesys": 1 if by_vendor["genesys"] else 0,
        "voipnow": len(voipnow_owners),
        "oracle": by_vendor["oracle"],
        "huawei": by_vendor["huawei"],
        "verba": 0,
    }


def check_batch(data: dict[str, Any], ids: list[str]) -> None:
    """Same order and length as asked, every entry answered."""
    answered = [entry["id"] if entry else None for entry in data["calls"]]
    if answered != ids:
        raise RuntimeError(f"calls(ids) answered other ids: {answered[:5]}... for {ids[:5]}...")


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=11, help="repetitions of each timing")
    args = parser.parse_args()
    exit_on_sigterm()
    with Processes() as procs:
        # From here: the wait for another benchmark's lock is not B2's time.
        started = time.monotonic()
        log("B2: starting the emulators and switchboard")
        _, emulators = start_emulators(procs)
        _, base = start_switchboard(procs, emulators)
        client = JsonClient(base)
        requests = RequestLog(emulators)
        log(f"B2: starting {NEW_PER_VENDOR} calls per vendor through startCall")
        calls = create_calls(client)
        ids = batch_ids(calls)
        distinct = {v: len(set(i for i in ids if i.startswith(f"{v}:"))) for v in VENDORS}

        def batch() -> None:
            check_batch(client.graphql(BATCH, {"ids": ids}), ids)

        def one_by_one() -> None:
            for call_id in ids:
                if client.graphql(SINGLE, {"id": call_id})["call"]["id"] != call_id:
                    raise RuntimeError(f"call(id) answered another call for {call_id}")

        # Warm-up: tokens fetched, connections open, parser caches filled.
        batch()
        one_by_one()
        requests.reset()
        batch()
        batch_counts = requests.counts()
        requests.reset()
        one_by_one()
        single_counts = requests.counts()
        log(f"B2: timing the batch and 100 single queries, {args.repeat} times each")
        batch_s, single_s = [], []
        for _ in range(args.repeat):
            batch_s.append(timed(batch))
            single_s.append(timed(one_by_one))
        client.close()
    minimum = minimum_requests(ids)
    result = {
        "benchmark": "b2_batching",
        "date": now(),
        "machine": machine(),
        "source": source(),
        "command": command_line(),
        "server_commands": [
            "python -m app emulate --no-simulate --host 127.0.0.1 --port E",
            "SWITCHBOARD_{ORACLE,HUAWEI,VERBA,VOIPNOW,GENESYS}_URL=http://127.0.0.1:E/<vendor> "
            "(+ demo credentials) SWITCHBOARD_SIMULATE=0 SWITCHBOARD_ACCESS_LOG=0 "
            "SWITCHBOARD_GRAPHIQL=0 python -m app --host 127.0.0.1 --port A",
        ],
        "queries": {"batch": BATCH, "single": SINGLE},
        "ids": ids,
        "ids_total": len(ids),
        "distinct_per_vendor": distinct,
        "voipnow_owners": minimum["voipnow"],
        "batch_requests": batch_counts,
        "minimum_requests": minimum,
        "one_by_one_requests": single_counts,
        "repeat": args.repeat,
        "batch_s": batch_s,
        "one_by_one_s": single_s,
        "batch_median_ms": round(statistics.median(batch_s) * 1000, 1),
        "one_by_one_median_ms": round(statistics.median(single_s) * 1000, 1),
        "elapsed_s": 0.0,
    }
    result["speedup"] = round(result["one_by_one_median_ms"] / result["batch_median_ms"], 1)
    result["elapsed_s"] = round(time.monotonic() - started, 1)
    write_json("b2_batching", result)
    write_section("b2", markdown(result))
    made = sum(c["calls"] for c in batch_counts.values())
    log(
        f"B2: batch {result['batch_median_ms']:.0f} ms with {made} vendor requests "
        f"(minimum {sum(minimum.values())}); one by one {result['one_by_one_median_ms']:.0f} ms; "
        f"done in {result['elapsed_s']:.0f} s"
    )


def markdown(result: dict[str, Any]) -> str:
    rows = []
    for vendor in VENDORS:
        made = result["batch_requests"][vendor]
        rows.append(
            [
                vendor,
                result["ids_total"] // len(VENDORS),
                result["distinct_per_vendor"][vendor],
                made["calls"],
                result["minimum_requests"][vendor],
                made["tokens"],
                result["one_by_one_requests"][vendor]["calls"],
            ]
        )
    totals = [
        "**all**",
        result["ids_total"],
        sum(result["distinct_per_vendor"].values()),
        sum(c["calls"] for c in result["batch_requests"].values()),
        sum(result["minimum_requests"].values()),
        sum(c["tokens"] for c in result["batch_requests"].values()),
        sum(c["calls"] for c in result["one_by_one_requests"].values()),
    ]
    rows.append(totals)
    header = ["vendor", "ids", "distinct calls", "batch: vendor requests", "minimum"]
    header += ["batch: token requests", "one by one: vendor requests"]
    latency = table(
        ["", "median", "all runs (ms)"],
        [
            [
                "`calls(ids)`, 100 ids, one query",
                f"{result['batch_median_ms']:.1f} ms",
                ", ".join(f"{s * 1000:.0f}" for s in result["batch_s"]),
            ],
            [
                "100 x `call(id)`, one after another",
                f"{result['one_by_one_median_ms']:.1f} ms",
                ", ".join(f"{s * 1000:.0f}" for s in result["one_by_one_s"]),
            ],
        ],
    )
    return "\n\n".join(
        [
            "## B2 — batching, `calls(ids)` with 100 ids over five vendors",
            f"Measured {result['date']} on {machine_line(result['machine'])}, "
            f"{source_line(result['source'])}; "
            f"B2 took {result['elapsed_s']:.0f} s. VoipNow calls on "
            f"{result['voipnow_owners']} (user, extension) pairs.",
            table(header, rows),
            latency
            + f"\n\nThe batch is {result['speedup']:g}x faster than the same ids one by one "
            f"(median of {result['repeat']}).",
            "Commands:\n\n```sh\n"
            + "\n".join([result["command"], *result["server_commands"]])
            + "\n```",
        ]
    )


if __name__ == "__main__":
    main()
