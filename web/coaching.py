"""One-to-one coaching records per agent: GROW fields, linked clips and SMART action items (the
rules and the progress against an action's target are in :mod:`qa_scoring.review.actions`).

Edits carry the record's version, so two team leaders editing the same record get a clear
message instead of one silently replacing the other's notes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from qa_scoring.review import actions
from qa_scoring.rubric.rubric import Rubric, RubricError, load_rubrics
from qa_scoring.store.audit import audit_row
from qa_scoring.store.models import ACTION_STATUSES, ActionItem, Agent, Clip, CoachingSession, utcnow
from qa_scoring.user_roles import UserRole
from web.access import can_see_agent
from web.auth import current_user, roles
from web.db import get_db
from web.hardening import optional_record_id, parse_record_id
from web.queue import scope_agents

bp = Blueprint("coaching", __name__, url_prefix="/coaching")

EDITORS = (UserRole.TEAM_LEADER, UserRole.ADMIN)
VIEWERS = (UserRole.TEAM_LEADER, UserRole.QA_OFFICER, UserRole.ADMIN, UserRole.AGENT)
GROW = ("goal", "reality", "options", "will")


def _date(value: str | None) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        abort(400, f"not a date (YYYY-MM-DD): {value!r}")


def _agent(agent_id: int | None) -> Agent:
    agent = get_db().get(Agent, agent_id) if agent_id else None
    if agent is None:
        abort(404)
    if not can_see_agent(current_user(), agent.id, agent.team_id):
        abort(403)
    return agent


def _rubrics() -> dict[str, Rubric]:
    """The rubrics whose criteria can measure an action (none while a rubric file is broken: the
    admin's rubric page says what is wrong)."""
    try:
        return load_rubrics(current_app.config["QA_SETTINGS"].rubrics_dir)
    except RubricError:
        return {}


def _action_form() -> actions.ActionForm:
    return actions.ActionForm(
        text=request.form.get("text") or "",
        due_date=_date(request.form.get("due_date")),
        measure=request.form.get("measure") or "",
        criterion=request.form.get("criterion") or "",
        target=request.form.get("target"),
        owner_id=optional_record_id(request.form.get("owner_id") or ""),
    )


def _record(record_id: int) -> CoachingSession:
    record = get_db().get(CoachingSession, record_id)
    if record is None:
        abort(404)
    _agent(record.agent_id)
    return record


@bp.route("/")
@roles(*VIEWERS)
def index() -> Any:
    db = get_db()
    agents = scope_agents(db, current_user())
    agent_id = request.args.get("agent", type=parse_record_id)
    ids = [a.id for a in agents if agent_id in (None, a.id)]
    records = list(
        db.scalars(
            select(CoachingSession)
            .where(CoachingSession.agent_id.in_(ids))
            .order_by(CoachingSession.session_date.desc(), CoachingSession.id.desc())
        )
    )
    return render_template(
        "coaching/index.html",
        records=records,
        agents=agents,
        agent_id=agent_id,
        can_edit=current_user().role in EDITORS,
    )


@bp.route("/new", methods=["POST"])
@roles(*EDITORS)
def create() -> Any:
    db = get_db()
    agent = _agent(request.form.get("agent_id", type=parse_record_id))
    record = CoachingSession(
        agent_id=agent.id,
        team_leader_id=current_user().id,
        session_date=_date(request.form.get("session_date")) or dt.date.today(),
        **{f: (request.form.get(f) or "").strip() for f in GROW},
    )
    audit_row(  # adds and flushes the new row
        db,
        record,
        "create",
        user=current_user(),
        new={"agent_id": agent.id, **{f: getattr(record, f) for f in GROW}},
    )
    db.commit()
    return redirect(url_for("coaching.show", record_id=record.id))


@bp.route("/<int:record_id>")
@roles(*VIEWERS)
def show(record_id: int) -> Any:
    db = get_db()
    record = _record(record_id)
    clips = list(db.scalars(select(Clip).where(Clip.agent_id == record.agent_id).order_by(Clip.id.desc())))
    can_edit = current_user().role in EDITORS
    rubrics = _rubrics()
    return render_template(
        "coaching/show.html",
        record=record,
        clips=clips,
        statuses=ACTION_STATUSES,
        can_edit=can_edit,
        today=dt.date.today(),
        progress={a.id: actions.action_progress(db, a) for a in record.action_items},
        criteria=actions.criterion_choices(rubrics) if can_edit else [],
        criterion_names=dict(actions.criterion_choices(rubrics)),
        owners=actions.owner_choices(db, record.agent, current_user()) if can_edit else [],
        min_calls=actions.MIN_CALLS,
    )


@bp.route("/<int:record_id>", methods=["POST"])
@roles(*EDITORS)
def update(record_id: int) -> Any:
    db = get_db()
    record = _record(record_id)
    if request.form.get("version", type=parse_record_id) != record.version_id:
        flash(
            "Someone else changed this record since you opened it; your edit was not saved. "
            "Reload, then make your change again.",
            "error",
        )
        return redirect(url_for("coaching.show", record_id=record.id)), 303
    old = {f: getattr(record, f) for f in (*GROW, "notes")} | {"clips": sorted(c.id for c in record.clips)}
    for f in (*GROW, "notes"):
        setattr(record, f, (request.form.get(f) or "").strip())
    if date := _date(request.form.get("session_date")):
        record.session_date = date
    wanted = {i for x in request.form.getlist("clip_ids") if (i := optional_record_id(x))}
    record.clips = list(db.scalars(select(Clip).where(Clip.id.in_(wanted), Clip.agent_id == record.agent_id)))
    record.updated_at = utcnow()
    db.flush()
    audit_row(
        db,
        record,
        "update",
        user=current_user(),
        old=old,
        new={f: getattr(record, f) for f in (*GROW, "notes")} | {"clips": sorted(c.id for c in record.clips)},
    )
    db.commit()
    flash("Coaching record saved.")
    return redirect(url_for("coaching.show", record_id=record.id))


@bp.route("/<int:record_id>/actions", methods=["POST"])
@roles(*EDITORS)
def add_action(record_id: int) -> Any:
    db = get_db()
    record = _record(record_id)
    try:
        actions.add_action(db, record, _action_form(), _rubrics(), user=current_user())
    except actions.ActionError as exc:
        db.rollback()
        flash("The action was not added. " + " ".join(exc.problems), "error")
        return redirect(url_for("coaching.show", record_id=record.id))
    db.commit()
    return redirect(url_for("coaching.show", record_id=record.id))


@bp.route("/actions/<int:item_id>", methods=["POST"])
@roles(*EDITORS)
def update_action(item_id: int) -> Any:
    db = get_db()
    item = db.get(ActionItem, item_id)
    if item is None:
        abort(404)
    _record(item.coaching_session_id)
    if "text" in request.form:  # the action's edit form: its SMART description
        try:
            actions.edit_action(db, item, _action_form(), _rubrics(), user=current_user())
        except actions.ActionError as exc:
            db.rollback()
            flash("The action was not changed. " + " ".join(exc.problems), "error")
            return redirect(url_for("coaching.show", record_id=item.coaching_session_id))
        db.commit()
        flash("Action saved.")
        return redirect(url_for("coaching.show", record_id=item.coaching_session_id))
    status = request.form.get("status", "")
    if status not in ACTION_STATUSES:
        abort(400, f"status must be one of {', '.join(ACTION_STATUSES)}")
    old = {"status": item.status}
    item.status = status
    item.completed_at = utcnow() if status == "done" else None
    audit_row(db, item, "update", user=current_user(), old=old, new={"status": status})
    db.commit()
    return redirect(url_for("coaching.show", record_id=item.coaching_session_id))
