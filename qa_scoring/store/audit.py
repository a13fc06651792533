"""The audit trail: one helper to append an entry, and a guard that keeps the log append-only.

Every human change the UI makes (accepting or overriding a criterion, resolving a dispute,
editing a coaching record) should go through :func:`audit` in the same session as the change,
so the entry commits or rolls back with it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, event, or_, select
from sqlalchemy.orm import Session

from qa_scoring.store.models import AuditEntry, Base, Call, Clip, CriterionDecision, Dispute, Review, User


class AuditLogError(RuntimeError):
    """Raised when code tries to change or delete an audit entry."""


def audit(
    session: Session,
    *,
    entity: str,
    entity_id: Any,
    action: str,
    user: User | None = None,
    actor: str | None = None,
    old: dict[str, Any] | None = None,
    new: dict[str, Any] | None = None,
    reason: str = "",
) -> AuditEntry:
    """Add an audit entry to ``session`` (committed with the caller's transaction).

    ``actor`` defaults to the user's username, or "system" for batch processing.
    """
    entry = AuditEntry(
        user_id=user.id if user is not None else None,
        actor=actor or (user.username if user is not None else "system"),
        entity=entity,
        entity_id=str(entity_id),
        action=action,
        old_value=old,
        new_value=new,
        reason=reason or "",
    )
    session.add(entry)
    return entry


def audit_row(session: Session, row: Base, action: str, **details: Any) -> AuditEntry:
    """Audit ``action`` on a stored row, named by its table and id (``details``: as for :func:`audit`).

    A new row is added and flushed first so that its entry carries its id; most entries are about
    one row, and naming it from the row keeps the entity and the id from drifting apart.
    """
    if row.id is None:
        session.add(row)
        session.flush()
    return audit(session, entity=row.__tablename__, entity_id=row.id, action=action, **details)


@event.listens_for(Session, "before_flush")
def _append_only(session: Session, _context: Any, _instances: Any) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEntry) and (obj in session.deleted or session.is_modified(obj)):
            raise AuditLogError(f"audit_log entry {obj.id} cannot be changed or deleted (append-only)")


def _call_entities(session: Session, call_id: int, blind: bool = False) -> list[tuple[str, list[str]]]:
    """The (entity, ids) whose audit entries belong to one call: the call, its reviews, their
    decisions, its disputes and clips. ``blind``: leave out blind calibration reviews (a member
    reading the call's trail must not see another member's calibration decisions)."""
    reviews = select(Review.id).where(Review.call_id == call_id)
    if blind:
        reviews = reviews.where(Review.calibration_session_id.is_(None))
    review_ids = list(session.scalars(reviews))
    decision_ids = (
        list(session.scalars(select(CriterionDecision.id).where(CriterionDecision.review_id.in_(review_ids))))
        if review_ids
        else []
    )
    return [
        ("calls", [str(call_id)]),
        ("reviews", [str(i) for i in review_ids]),
        ("criterion_decisions", [str(i) for i in decision_ids]),
        ("disputes", [str(i) for i in session.scalars(select(Dispute.id).where(Dispute.call_id == call_id))]),
        ("clips", [str(i) for i in session.scalars(select(Clip.id).where(Clip.call_id == call_id))]),
    ]


@dataclass(frozen=True)
class AuditFilter:
    """What an audit search narrows to; every field is optional."""

    actor: str = ""
    call_id: int | None = None
    blind: bool = False  # with call_id: without blind calibration reviews
    since: dt.date | None = None
    until: dt.date | None = None  # inclusive


def audit_query(session: Session, where: AuditFilter) -> Select[tuple[AuditEntry]]:
    """Audit entries matching ``where``, newest first (read-only: the trail is append-only)."""
    stmt = select(AuditEntry)
    if where.actor:
        stmt = stmt.where(AuditEntry.actor == where.actor)
    if where.call_id is not None:
        parts = [
            and_(AuditEntry.entity == entity, AuditEntry.entity_id.in_(ids))
            for entity, ids in _call_entities(session, where.call_id, where.blind)
            if ids
        ]
        stmt = stmt.where(or_(*parts))
    if where.since is not None:
        stmt = stmt.where(AuditEntry.at >= dt.datetime.combine(where.since, dt.time(), dt.UTC))
    if where.until is not None:
        end = dt.datetime.combine(where.until + dt.timedelta(days=1), dt.time(), dt.UTC)
        stmt = stmt.where(AuditEntry.at < end)
    return stmt.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())


def call_audit(session: Session, call: Call) -> list[AuditEntry]:
    """Everything that happened to one call, oldest first: who, when, old -> new, why (blind
    calibration reviews are in the admin's trail and the session's report, not here)."""
    where = AuditFilter(call_id=call.id, blind=True)
    return list(reversed(session.scalars(audit_query(session, where)).all()))
