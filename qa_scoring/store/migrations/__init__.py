"""Alembic migrations for the store (generated from ``qa_scoring.store.models``)."""
