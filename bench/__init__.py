"""Benchmarks: measured quality and speed figures quoted in issues and reports."""
