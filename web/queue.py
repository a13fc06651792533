"""The review queue: calls needing a human, most urgent first, with filters and paging.

Urgency: an open dispute, then the review priority (``qa_scoring.review.selection``: a sure
auto-fail, then criteria needing a decision, complaints, low scores, the random sample), then the
oldest call. Each call's reasons are shown once, in the rule's one wording.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from flask import Blueprint, current_app, render_template, request
from sqlalchemy import and_, exists, func, select

from qa_scoring.review.selection import AUTO_FAIL, kind_of, one_per_kind
from qa_scoring.store.models import Agent, Call, Dispute, Review, Scorecard, Team
from qa_scoring.user_roles import UserRole
from web.access import scope_calls
from web.auth import current_user, roles
from web.db import get_db
from web.hardening import optional_record_id

bp = Blueprint("queue", __name__, url_prefix="/queue")

STATUSES = {
    "needs_review": "Needs review",
    "in_review": "Review in progress",
    "disputed": "Open dispute",
    "reviewed": "Reviewed",
    "all": "All calls",
}


def _date(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
    except ValueError:
        return None


def queue_query(args: dict[str, str], user: Any) -> tuple[Any, dict[str, Any]]:
    """The filtered, ordered statement and the cleaned filter values (for the form)."""
    open_dispute = exists().where(and_(Dispute.call_id == Call.id, Dispute.status == "open"))
    draft = exists().where(and_(Review.call_id == Call.id, Review.status == "draft"))
    submitted = exists().where(and_(Review.call_id == Call.id, Review.status == "submitted"))
    default_status = "all" if user.role == UserRole.AGENT else "needs_review"
    status = args.get("status") or default_status
    if status not in STATUSES:
        status = default_status
    stmt = scope_calls(select(Call), user)
    if status == "needs_review":
        stmt = stmt.where((Call.needs_review.is_(True)) | open_dispute)
    elif status == "in_review":
        stmt = stmt.where(draft)
    elif status == "disputed":
        stmt = stmt.where(open_dispute)
    elif status == "reviewed":
        stmt = stmt.where(submitted)
    filters: dict[str, Any] = {"status": status}
    if agent := optional_record_id(args.get("agent")):
        stmt = stmt.where(Call.agent_id == agent)
        filters["agent"] = agent
    if team := optional_record_id(args.get("team")):
        stmt = stmt.where(Call.team_id == team)
        filters["team"] = team
    if rubric := args.get("rubric"):
        stmt = stmt.where(exists().where(and_(Scorecard.call_id == Call.id, Scorecard.rubric_id == rubric)))
        filters["rubric"] = rubric
    if start := _date(args.get("date_from")):
        stmt = stmt.where(Call.started_at >= start)
        filters["date_from"] = args["date_from"]
    if end := _date(args.get("date_to")):
        stmt = stmt.where(Call.started_at < end + dt.timedelta(days=1))
        filters["date_to"] = args["date_to"]
    stmt = stmt.order_by(
        open_dispute.desc(),
        Call.review_priority.desc(),
        Call.started_at.asc(),
        Call.id.asc(),
    )
    return stmt, filters


@bp.route("/")
@roles(UserRole.QA_OFFICER, UserRole.TEAM_LEADER, UserRole.AGENT, UserRole.ADMIN)
def index() -> Any:
    db = get_db()
    user = current_user()
    stmt, filters = queue_query(request.args, user)
    total = db.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    size = current_app.config["PAGE_SIZE"]
    pages = max(1, math.ceil(total / size))
    page = min(max(1, request.args.get("page", 1, type=int) or 1), pages)
    calls = list(db.scalars(stmt.offset((page - 1) * size).limit(size)))
    ids = [c.id for c in calls]
    cards: dict[int, list[Scorecard]] = {}
    if ids:
        latest = (
            select(Scorecard.call_id, func.max(Scorecard.transcript_version).label("v"))
            .where(Scorecard.call_id.in_(ids))
            .group_by(Scorecard.call_id)
            .subquery()
        )
        for card in db.scalars(
            select(Scorecard)
            .join(
                latest,
                and_(Scorecard.call_id == latest.c.call_id, Scorecard.transcript_version == latest.c.v),
            )
            .order_by(Scorecard.rubric_id)
        ):
            cards.setdefault(card.call_id, []).append(card)
    disputed = set(
        db.scalars(select(Dispute.call_id).where(Dispute.call_id.in_(ids), Dispute.status == "open"))
    )
    review_state = dict(
        db.execute(
            select(Review.call_id, func.max(Review.status))
            .where(Review.call_id.in_(ids))
            .group_by(Review.call_id)
        ).all()
    )
    agents = scope_agents(db, user)
    teams = list(db.scalars(select(Team).order_by(Team.name))) if user.role != UserRole.AGENT else []
    rubrics = list(db.scalars(select(Scorecard.rubric_id).distinct().order_by(Scorecard.rubric_id)))
    args = {k: v for k, v in filters.items()}
    return render_template(
        "queue/index.html",
        calls=calls,
        cards=cards,
        reasons={c.id: reason_tags(c, c.id in disputed) for c in calls},
        review_state=review_state,
        total=total,
        page=page,
        pages=pages,
        filters=filters,
        statuses=STATUSES,
        agents=agents,
        teams=teams,
        rubrics=rubrics,
        args=args,
    )


# The reason qa_scoring.review.decisions adds; the open dispute itself is shown from the store.
DISPUTE = "dispute"


def reason_tags(call: Call, disputed: bool) -> list[tuple[str, str]]:
    """(text, css class) for the queue's "Why" column: each kind of reason once, most urgent first."""
    tags = [(DISPUTE, "tag bad")] if disputed else []
    for text in one_per_kind(call.review_reasons or []):
        kind = kind_of(text)
        if kind != DISPUTE:
            tags.append((text, "tag bad" if kind == AUTO_FAIL else "tag"))
    return tags


def scope_agents(db: Any, user: Any) -> list[Agent]:
    stmt = select(Agent).order_by(Agent.name, Agent.external_id)
    if user.role == UserRole.AGENT:
        stmt = stmt.where(Agent.id == user.agent_id)
    elif user.role == UserRole.TEAM_LEADER and user.team_id is not None:
        stmt = stmt.where(Agent.team_id == user.team_id)
    return list(db.scalars(stmt))
