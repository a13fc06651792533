"""The store of record: calls, transcripts, automatic scores, human reviews, coaching, batch runs."""

from qa_scoring.store.audit import audit
from qa_scoring.store.db import ensure_schema, open_store, session_scope, upgrade

__all__ = ["audit", "ensure_schema", "open_store", "session_scope", "upgrade"]
