"""Alembic migrations of the inventory database; run them with `medinv migrate`."""
