"""Benchmarks: the real production server under ``wrk``, beside a bare Flask baseline."""
