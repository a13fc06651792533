"""Demo users, one per role, with known passwords, so ``make demo`` can print a way in.

Only for demonstrations on a local machine: the passwords are public. Existing users of the same
names are left alone (their passwords are not reset), so re-running the demo is safe.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from qa_scoring.store.models import Agent, User
from qa_scoring.store.users import create_user
from qa_scoring.user_roles import UserRole

DEMO_USERS = (
    ("qa", "qa-demo-pass", UserRole.QA_OFFICER),
    ("leader", "leader-demo-pass", UserRole.TEAM_LEADER),
    ("agent", "agent-demo-pass", UserRole.AGENT),
    ("admin", "admin-demo-pass", UserRole.ADMIN),
)


def seed_demo_users(session: Session) -> list[tuple[str, str, str]]:
    """Create the demo users (the agent user linked to the first agent); returns (username, password, role).

    The caller commits. The team leader leads the first agent's team when it has one.
    """
    first_agent = session.scalar(select(Agent).order_by(Agent.id).limit(1))
    created = []
    for username, password, role in DEMO_USERS:
        if session.scalar(select(User).where(User.username == username)) is None:
            extra = {"display_name": f"Demo {role.replace('_', ' ')}"}
            if role == UserRole.AGENT and first_agent is not None:
                extra["agent_id"] = first_agent.id
            if role == UserRole.TEAM_LEADER and first_agent is not None and first_agent.team_id is not None:
                extra["team_id"] = first_agent.team_id
            create_user(session, username, password, role, **extra)
        created.append((username, password, role))
    session.flush()
    return created
