"""Generators of realistic fake data for tests, benchmarks and demos. No real people."""
