"""Helpers shared by the benchmarks: server processes on free ports (procs), the
switchboard + emulator setup (setup), small blocking HTTP calls (http), the wrk load
generator (wrk), and the results files (results)."""
