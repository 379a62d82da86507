"""Benchmarks: synthetic logs (``generate``) and the as-of read latency benchmark (``projections``)."""
