#!/usr/bin/env bash
# `make bench`: install what the benchmarks need, run them, and write bench/results/*.json
# and bench/RESULTS.md. Must finish within 10 minutes on the project's 2-core machine.
#
#   bench/run.sh            every benchmark
#   bench/run.sh b1 b2      only these (names: b1 b2 profile b3 b4 b5)
#   BENCH_PROFILE=0 ...     skip the py-spy profile of B1 (it needs ptrace permission)
#   BENCH_AUTH=0 ...        skip the authenticated targets of B1 and B3 (issue 12)
#
# Every server runs on a port the OS picked, on 127.0.0.1; each benchmark script stops
# its own processes, even on error or Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

STARTED=$SECONDS
PY=.venv/bin/python
step() { printf '\n==> [%s, %3ds] %s\n' "$(date +%H:%M:%S)" $((SECONDS - STARTED)) "$*"; }
want() { [ $# -gt 0 ] && { [ ${#ONLY[@]} -eq 0 ] || [[ " ${ONLY[*]} " == *" $1 "* ]]; }; }
ONLY=("$@")
# Root installs directly (the project's machines); anyone else through sudo, if there is one.
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# -- shared setup -------------------------------------------------------------------------

step "Python environment (make install)"
make --no-print-directory install

if ! command -v wrk >/dev/null 2>&1; then
    step "wrk, the HTTP load generator (Debian package)"
    as_root apt-get update -qq
    as_root apt-get install -y -qq wrk >/dev/null
fi

# -- B1 / B2 ------------------------------------------------------------------------------

if want b1; then
    # Hive Gateway and GraphQL Mesh Compose for B1's baseline (c), from the lockfile.
    if [ ! -f bench/node_modules/.installed ] \
        || [ bench/package-lock.json -nt bench/node_modules/.installed ]; then
        step "Node packages for B1 (npm ci in bench/)"
        (cd bench && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error \
            && touch node_modules/.installed)
    fi
    if [ "${BENCH_AUTH:-1}" != 0 ]; then
        # One run, interleaved: the B1 section and the authentication section (issue 12),
        # switchboard and Hive Gateway each with JWT verification on (HS256, RS256).
        step "B1 query throughput: switchboard vs raw proxy vs Hive Gateway, without and with JWT auth (~6 min)"
        $PY -m bench.b1_throughput \
            --targets switchboard,raw,hive,switchboard-hs256,switchboard-rs256,hive-hs256,hive-rs256
    else
        step "B1 query throughput: switchboard vs raw proxy vs Hive Gateway (~2.5 min)"
        $PY -m bench.b1_throughput
    fi
    step "B1 memory held per query in flight: switchboard vs raw proxy (~15 s)"
    $PY -m bench.b1_inflight
fi

if want b2; then
    step "B2 batching: calls(ids) with 100 ids over five vendors (~15 s)"
    $PY -m bench.b2_batching
fi

if want profile && [ "${BENCH_PROFILE:-1}" != 0 ]; then
    step "Profile of switchboard under B1's load (py-spy, ~40 s)"
    [ -x .venv/bin/py-spy ] || .venv/bin/pip install --quiet py-spy
    # A profile is evidence, not a result: a machine without ptrace permission skips it.
    $PY -m bench.profile_b1 || echo "profile failed (py-spy needs ptrace permission): skipped"
fi

# -- B3 / B4 (websocket fan-out, polling economy) -----------------------------------------

if want b3; then
    # wsproto only serves B3's comparison of uvicorn's websocket implementations; it goes
    # to bench/.deps (pip --target), not into .venv, so `python -m app` stays as shipped.
    if [ ! -d bench/.deps/wsproto ]; then
        step "wsproto for B3's comparison (pip --target bench/.deps)"
        $PY -m pip install --quiet --no-deps --target bench/.deps 'wsproto==1.3.2'
    fi
    step "B3 fan-out: 1,000 and 10,000 websocket subscribers on 1 and 100 calls (~2.5 min)"
    $PY -m bench.b3_fanout --compare gc-freeze,wsproto,websockets
    if [ "${BENCH_AUTH:-1}" != 0 ]; then
        step "B3 fan-out with JWT auth: 10,000 subscribers, each its own token, on 1 call (~30 s)"
        $PY -m bench.b3_fanout --auth --subscribers 10000 --spreads 1 --repeat 1
    fi
    step "B3 idle side: keep-alive rounds with 10,000 subscribers (~70 s)"
    $PY -m bench.b3_keepalive
fi

if want b4; then
    if ! command -v redis-server >/dev/null 2>&1; then
        step "redis-server for B4 (Debian package)"
        as_root apt-get update -qq
        as_root apt-get install -y -qq redis-server >/dev/null
    fi
    step "B4 polling economy: 20 and 200 subscribers over two instances on Redis (~40 s)"
    $PY -m bench.b4_polling
fi

# -- B5 (resuming after a drop, callStats' cost) -------------------------------------------

if want b5; then
    if ! command -v redis-server >/dev/null 2>&1; then
        step "redis-server for B5 (Debian package)"
        as_root apt-get update -qq
        as_root apt-get install -y -qq redis-server >/dev/null
    fi
    step "B5 resume after a 5 s drop (websocket, SSE; memory:// and Redis) and callStats cost (~2.5 min)"
    $PY -m bench.b5_resume
fi

# -- end ----------------------------------------------------------------------------------

step "done: bench/RESULTS.md, bench/results/"
if [ $((SECONDS - STARTED)) -gt 600 ]; then
    echo "WARNING: the benchmarks took more than the 10 minutes they are allowed" >&2
fi
