"""Alembic migrations of the results database: one revision per schema change, applied by `bench db upgrade`."""
