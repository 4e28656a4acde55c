"""Benchmarks, run by hand with `make bench`; they print figures and assert nothing."""
