"""Alembic migrations: every change to the storage schema goes through here."""
