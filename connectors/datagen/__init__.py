"""Synthetic, reproducible rows of any vts type (demos, tests, benchmarks)."""
