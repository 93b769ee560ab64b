"""Inventory records: locations, items, detection records, stock, and the spool that keeps
records while the database is unreachable. SQLAlchemy 2 async; schema in Alembic migrations."""
