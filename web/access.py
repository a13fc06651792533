"""Who may see which calls: agents their own, team leaders their team's (all when they lead no
team), QA officers and admins every call. Applied in SQL so paging and counts stay right."""

from __future__ import annotations

from typing import Any

from flask import abort
from sqlalchemy import Select, false

from qa_scoring.store.models import Call, User
from qa_scoring.user_roles import UserRole


def scope_calls(stmt: Select[Any], user: User) -> Select[Any]:
    if user.role == UserRole.AGENT:
        return stmt.where(Call.agent_id == user.agent_id) if user.agent_id else stmt.where(false())
    if user.role == UserRole.TEAM_LEADER and user.team_id is not None:
        return stmt.where(Call.team_id == user.team_id)
    return stmt


def can_see_call(user: User, call: Call) -> bool:
    if user.role == UserRole.AGENT:
        return user.agent_id is not None and call.agent_id == user.agent_id
    if user.role == UserRole.TEAM_LEADER and user.team_id is not None:
        return call.team_id == user.team_id
    return True


def can_see_agent(user: User, agent_id: int, agent_team_id: int | None) -> bool:
    if user.role == UserRole.AGENT:
        return user.agent_id == agent_id
    if user.role == UserRole.TEAM_LEADER and user.team_id is not None:
        return agent_team_id == user.team_id
    return True


def check_call(user: User, call: Call | None) -> Call:
    if call is None:
        abort(404)
    if not can_see_call(user, call):
        abort(403)
    return call
