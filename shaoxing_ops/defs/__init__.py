"""Thin Dagster wiring over the catalog, the engine and the rules: one folder per domain."""
