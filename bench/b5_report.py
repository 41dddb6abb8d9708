"""B5's summary in bench/RESULTS.md: the resume cases, the callStats rows and the targets
table, from the payload bench/b5_resume.py also writes to bench/results/b5_resume.json."""

from __future__ import annotations

from typing import Any

from bench import b5_stats
from bench.lib import results


def report(payload: dict[str, Any]) -> None:
    resume_rows = [
        [
            c["bus"] if c["variant"] == "main" else f"{c['bus']}, {c['variant']} (diagnosis)",
            c["transport"],
            c["changes_confirmed_in_gap"],
            c["missed"],
            f"{c['recovered']} ({'all' if c['recovered'] == c['missed'] else 'NOT all'})",
            c["duplicates"],
            c["out_of_order"],
            c["resync"],
            c["ws_send_queue_drops"],
            c["first_event_ms"],
            c["caught_up_ms"] if c["caught_up"] else f"never ({c['missed'] - c['recovered']} lost)",
        ]
        for c in payload["resume"]
    ]
    resume_table = results.table(
        [
            "bus",
            "transport",
            "changes in the gap",
            "missed (reference saw)",
            "recovered",
            "duplicates",
            "out of order",
            "RESYNC",
            "send queue drops",
            "first event ms",
            "caught-up ms",
        ],
        resume_rows,
    )
    stats_rows = [
        [
            f"{s['subscribers']:,}",
            f"{s['window_s']} s",
            s["changes_confirmed"],
            s["gateway_cpu_s"],
            s["gateway_cpu_ms_per_change"],
            f"{s['values_per_subscriber_min']}..{s['values_per_subscriber_max']}"
            if s["subscribers"]
            else "—",
            s["values_bound"] if s["subscribers"] else "—",
            s["min_spacing_s"] if s["subscribers"] else "—",
            f"{s['delivery_ms']['p50']} / {s['delivery_ms']['p99']}" if s["subscribers"] else "—",
        ]
        for s in payload["stats"]
    ]
    stats_table = results.table(
        [
            "callStats subscribers",
            "window",
            "changes",
            "gateway CPU s",
            "CPU ms / change",
            "values / subscriber",
            "bound (window / interval + 1)",
            "min spacing s",
            "delivery p50 / p99 ms",
        ],
        stats_rows,
    )
    verdicts = targets(payload)
    targets_table = results.table(
        ["target", "measured", "met"], [[t, m, "met" if ok else "NOT met"] for t, m, ok in verdicts]
    )
    results.write_section(
        "b5_resume",
        f"""## B5 — resuming after a drop, and what callStats costs

Measured {payload["date"]} on {results.machine_line(payload["machine"])}
(shared: other helpers' tests ran meanwhile); B5 took {payload["took_s"]:.0f} s;
{results.source_line(payload["source"])}.

A `callEvents(vendors: [GENESYS])` client drops (closes its socket) for {payload["gap_s"]:g} s
while the 100 Genesys calls are held, then retrieved, through the gateway's mutations; a
reference client stays connected. It reconnects with its last cursor: over the websocket
`after: <cursor>`, over SSE (`/graphql/stream`) `Last-Event-ID: <last id:>`. Missed = the
reference client's events after that cursor; recovered, duplicates (received twice,
either side of the drop) and out of order (a version not above the last one of its call)
are counted by cursor; caught-up = reconnect started → last missed event read.
memory:// = the in-process event buffer, Redis = the Redis stream (a redis-server of
the run's own).

{resume_table}

send queue drops = the gateway's `switchboard_websocket_dropped_messages_total` over the
reconnect: events the connection's bounded send queue (SWITCHBOARD_WS_SEND_QUEUE, oldest
first) threw away.

callStats: S websocket subscribers of one document (`callStats {{ at total byVendor {{
vendor byState {{ state count }} }} }}`, one filter),
SWITCHBOARD_STATS_INTERVAL={b5_stats.INTERVAL:g}; one `callEvents` subscriber in every
row, so the gateway follows the calls alike. Over the window the 100 calls are held and
retrieved over and over; gateway CPU from /proc. Values counted by their `at` (computed)
inside the window; delivery = `at` → read by the subscriber.

{stats_table}

{targets_table}

Commands:

```sh
{payload["command"]}
python -m app emulate --no-simulate   # + POST /_bench/genesys/calls (bench/lib/procs_ws.py)
redis-server --bind 127.0.0.1 --port R --save '' --appendonly no
SWITCHBOARD_GENESYS_*=… SWITCHBOARD_BROADCAST_URL=memory:// | redis://127.0.0.1:R/0 \\
  SWITCHBOARD_STATS_INTERVAL={b5_stats.INTERVAL:g} python -m app   # on a port the OS picked
```

Raw numbers: `bench/results/b5_resume.json`.""",
    )


def targets(payload: dict[str, Any]) -> list[tuple[str, str, bool]]:
    resume = [c for c in payload["resume"] if c["variant"] == "main"]

    def each(value: Any) -> str:
        return "; ".join(f"{c['transport']} {c['bus']} {value(c)}" for c in resume)

    verdicts = [
        (
            "recovered = all missed",
            each(lambda c: f"{c['recovered']}/{c['missed']}"),
            all(c["recovered"] == c["missed"] and c["missed"] > 0 for c in resume),
        ),
        (
            "duplicates = 0",
            each(lambda c: c["duplicates"]),
            all(c["duplicates"] == 0 for c in resume),
        ),
        (
            "out of order = 0",
            each(lambda c: c["out_of_order"]),
            all(c["out_of_order"] == 0 for c in resume),
        ),
        (
            "no RESYNC (cursor within retention)",
            each(lambda c: c["resync"]),
            all(c["resync"] == 0 for c in resume),
        ),
        (
            "caught-up ms (reported)",
            each(lambda c: c["caught_up_ms"] if c["caught_up"] else "never"),
            all(c["caught_up"] for c in resume),
        ),
    ]
    for s in payload["stats"]:
        if s["subscribers"]:
            verdicts.append(
                (
                    f"callStats, {s['subscribers']:,} subscriber{'s' * (s['subscribers'] > 1)}: "
                    "values ≤ window / interval + 1, none disconnected",
                    f"max {s['values_per_subscriber_max']} (bound {s['values_bound']}), "
                    f"{s['lost_connections']} disconnected",
                    s["values_per_subscriber_max"] <= s["values_bound"]
                    and s["lost_connections"] == 0,
                )
            )
    if payload["stats"]:
        base = payload["stats"][0]
        for s in payload["stats"][1:]:
            verdicts.append(
                (
                    f"callStats CPU cost, {s['subscribers']:,} vs {base['subscribers']} subscribers"
                    " (reported)",
                    f"{s['gateway_cpu_s']} vs {base['gateway_cpu_s']} s in "
                    f"{s['window_s']} / {base['window_s']} s",
                    True,
                )
            )
    return verdicts
