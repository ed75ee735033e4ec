"""Alembic migrations for debatebox's tables, run by :func:`debatebox.migrate.upgrade`."""
