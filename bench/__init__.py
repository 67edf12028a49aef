"""Benchmarks (`make bench`): speed and memory measured on this machine, written to
`bench/results.md` with the machine noted. Never part of `make test`; never asserted."""
