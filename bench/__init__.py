"""Benchmarks: each measures its own baseline in the same run and reports a ratio."""
