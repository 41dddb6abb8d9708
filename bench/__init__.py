"""switchboard's benchmarks (see bench/README.md). Run each from the repository root as a
module, e.g. `.venv/bin/python -m bench.b1_throughput`, or all with `bench/run.sh`."""
