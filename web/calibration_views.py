"""Blind calibration sessions: chosen calls reviewed by several officers who cannot see each
other's decisions until all have submitted; then the agreement per criterion and each officer's
alignment with a reference reviewer (figures in :func:`qa_scoring.review.stats.calibration_report`)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from qa_scoring.review import stats
from qa_scoring.store.audit import audit_row
from qa_scoring.store.models import CalibrationSession, Call, User
from qa_scoring.user_roles import STAFF, UserRole
from web.access import can_see_call
from web.auth import current_user, roles
from web.db import get_db
from web.hardening import optional_record_id

bp = Blueprint("calibration", __name__, url_prefix="/calibration/sessions")

MAX_SESSION_CALLS = 50


def _session(session_id: int) -> CalibrationSession:
    found = get_db().get(CalibrationSession, session_id)
    if found is None:
        abort(404)
    return found


@bp.route("/")
@roles(*STAFF)
def index() -> Any:
    db = get_db()
    sessions = list(db.scalars(select(CalibrationSession).order_by(CalibrationSession.id.desc())))
    officers = list(
        db.scalars(select(User).where(User.role == UserRole.QA_OFFICER, User.active).order_by(User.username))
    )
    return render_template("calibration/index.html", sessions=sessions, officers=officers)


@bp.route("/", methods=["POST"])
@roles(*STAFF)
def create() -> Any:
    db = get_db()
    user = current_user()
    name = (request.form.get("name") or "").strip()
    call_ids = [
        i
        for part in (request.form.get("calls") or "").replace(",", " ").split()
        if (i := optional_record_id(part))
    ]
    calls = [
        c
        for c in (db.get(Call, i) for i in dict.fromkeys(call_ids))
        if c is not None and can_see_call(user, c)
    ]
    members = [
        u
        for u in (db.get(User, optional_record_id(i)) for i in request.form.getlist("members"))
        if u is not None and u.role == UserRole.QA_OFFICER and u.active
    ]
    reference = db.get(User, optional_record_id(request.form.get("reference")) or 0)
    problems = []
    if not name:
        problems.append("a session needs a name")
    if not calls or len(calls) != len(set(call_ids)):
        problems.append("list the calls by id (every one must exist and be yours to see)")
    if len(calls) > MAX_SESSION_CALLS:
        problems.append(f"at most {MAX_SESSION_CALLS} calls")
    if len(members) < 2:
        problems.append("choose at least two QA officers")
    if reference is not None and reference not in members:
        problems.append("the reference reviewer must be one of the members")
    if problems:
        flash("; ".join(problems).capitalize() + ".", "error")
        return redirect(url_for("calibration.index"))
    created = CalibrationSession(
        name=name, created_by=user, reference=reference, calls=calls, members=members
    )
    summary = {
        "name": name,
        "calls": [c.id for c in calls],
        "members": [m.username for m in members],
        "reference": reference.username if reference else None,
    }
    audit_row(db, created, "create", user=user, new=summary)
    db.commit()
    flash(f"Calibration session {name!r} created.")
    return redirect(url_for("calibration.show", session_id=created.id))


@bp.route("/<int:session_id>")
@roles(*STAFF)
def show(session_id: int) -> Any:
    found = _session(session_id)
    user = current_user()
    report = stats.calibration_report(get_db(), found)
    mine = {
        r.call_id: r.status
        for c in found.calls
        for r in c.reviews
        if r.calibration_session_id == found.id and r.reviewer_id == user.id
    }
    return render_template(
        "calibration/show.html",
        cs=found,
        report=report,
        member=user in found.members,
        mine=mine,
        min_calls=stats.MIN_CALIBRATION_CALLS,
    )
