"""Benchmarks: they print figures and ratios against a baseline run in the same process."""
