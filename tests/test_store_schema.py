"""The store's migrations match its models, on SQLite and PostgreSQL, and its rules hold."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select
from store_checks import assert_second_writer_refused

from qa_scoring.store import audit, session_scope, upgrade
from qa_scoring.store.audit import AuditLogError
from qa_scoring.store.db import get_engine, head_revision
from qa_scoring.store.models import AuditEntry, Base, Call, Review, Transcript, User


def test_migrations_match_models(db_url: str) -> None:
    assert upgrade(db_url) == head_revision()
    with get_engine(db_url).connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(context, Base.metadata)
    assert diffs == [], f"models and migrations differ; generate a new migration: {diffs}"


def test_upgrade_is_idempotent(sqlite_url: str) -> None:
    first = upgrade(sqlite_url)
    assert upgrade(sqlite_url) == first


def test_foreign_keys_enforced_and_versions_unique(db_url: str) -> None:
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError):
        with session_scope(db_url) as s:
            s.add(Transcript(call_id=999, version=1, document={}))
    with session_scope(db_url) as s:
        call = Call(audio_path="/a.wav", content_sha256="a" * 64, size_bytes=1)
        s.add(call)
        s.flush()
        s.add(Transcript(call_id=call.id, version=1, document={"turns": []}))
    with pytest.raises(IntegrityError):
        with session_scope(db_url) as s:
            call_id = s.scalar(select(Call.id))
            s.add(Transcript(call_id=call_id, version=1, document={"turns": []}))


def test_review_optimistic_locking(db_url: str) -> None:
    with session_scope(db_url) as s:
        user = User(username="qa1", role="qa_officer")
        call = Call(audio_path="/a.wav", content_sha256="b" * 64, size_bytes=1)
        s.add_all([user, call])
        s.flush()
        s.add(Review(call_id=call.id, reviewer_id=user.id))
    from qa_scoring.store.db import session_factory

    assert_second_writer_refused(session_factory(db_url))


def test_audit_log_is_append_only(sqlite_url: str) -> None:
    with session_scope(sqlite_url) as s:
        entry = audit(
            s,
            entity="reviews",
            entity_id=1,
            action="override",
            old={"r": "fail"},
            new={"r": "pass"},
            reason="agent did verify identity at 02:10",
        )
    with session_scope(sqlite_url) as s:
        stored = s.scalars(select(AuditEntry)).one()
        assert (stored.actor, stored.entity_id, stored.new_value) == ("system", "1", {"r": "pass"})
        assert stored.at.tzinfo is not None
        stored.reason = "edited"
        with pytest.raises(AuditLogError):
            s.flush()
        stored_id = stored.id
        s.rollback()
    assert entry.id == stored_id


@pytest.mark.postgres
def test_concurrent_upgrades_of_a_fresh_postgres_database(postgres_url: str) -> None:
    """Several workers starting at once on an empty database must not race to create tables."""
    import subprocess
    import sys

    code = "import sys; from qa_scoring.store.db import upgrade; print(upgrade(sys.argv[1]))"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, postgres_url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err for _, err in results]
    assert [out.strip() for out, _ in results] == [head_revision()] * 3
