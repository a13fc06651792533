"""The audit trail: one helper to append an entry, and a guard that keeps the log append-only.

Every human change the UI makes (accepting or overriding a criterion, resolving a dispute,
editing a coaching record) should go through :func:`audit` in the same session as the change,
so the entry commits or rolls back with it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from qa_scoring.store.models import AuditEntry, User


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


@event.listens_for(Session, "before_flush")
def _append_only(session: Session, _context: Any, _instances: Any) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEntry) and (obj in session.deleted or session.is_modified(obj)):
            raise AuditLogError(f"audit_log entry {obj.id} cannot be changed or deleted (append-only)")
