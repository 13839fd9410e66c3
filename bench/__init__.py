"""Benchmark of the verifier: seeded SDS data generator and measurement harness."""
