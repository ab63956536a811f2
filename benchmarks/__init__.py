"""Benchmark scripts: they print measured figures (throughput, peak memory) rather than assert timings."""
