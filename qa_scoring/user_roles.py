"""The roles a user of the review UI can have, in one place (no imports: the CLI reads it at start-up)."""

from __future__ import annotations

from enum import StrEnum


class UserRole(StrEnum):
    """What a user is in the centre; it decides what they see and may do (``web/access.py``).

    A ``StrEnum``: stored as its plain value and equal to it, so rows, forms and templates keep
    reading ``"qa_officer"``.
    """

    QA_OFFICER = "qa_officer"
    TEAM_LEADER = "team_leader"
    AGENT = "agent"
    ADMIN = "admin"


ROLES: tuple[str, ...] = tuple(role.value for role in UserRole)
STAFF = (UserRole.QA_OFFICER, UserRole.TEAM_LEADER, UserRole.ADMIN)
