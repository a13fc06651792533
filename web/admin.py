"""Administration: users and roles, rubrics (validated before they are saved), and the behaviour
model (the version in use, learning from the reviewers, rolling back)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from qa_scoring.store import logins
from qa_scoring.store.audit import audit, audit_row
from qa_scoring.store.models import Agent, Team, User
from qa_scoring.store.users import create_user, hash_password
from qa_scoring.user_roles import ROLES, UserRole
from web.auth import ROLE_LABELS, current_user, roles
from web.db import get_db
from web.hardening import optional_record_id

bp = Blueprint("admin", __name__, url_prefix="/admin")

RUBRIC_ID = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}$")


@bp.route("/users")
@roles(UserRole.ADMIN)
def users() -> Any:
    db = get_db()
    settings = current_app.config["QA_SETTINGS"]
    users = list(db.scalars(select(User).order_by(User.username)))
    return render_template(
        "admin/users.html",
        users=users,
        locked={u.id for u in users if logins.is_locked(db, settings, u.username)},
        roles=ROLES,
        role_labels=ROLE_LABELS,
        agents=list(db.scalars(select(Agent).order_by(Agent.name))),
        teams=list(db.scalars(select(Team).order_by(Team.name))),
    )


def _opt_int(name: str) -> int | None:
    return optional_record_id(request.form.get(name))


@bp.route("/users", methods=["POST"])
@roles(UserRole.ADMIN)
def create() -> Any:
    db = get_db()
    username = (request.form.get("username") or "").strip()
    if db.scalar(select(User).where(User.username == username)) is not None:
        flash(f"User {username!r} already exists.", "error")
        return redirect(url_for("admin.users"))
    try:
        user = create_user(
            db,
            username,
            request.form.get("password") or "",
            request.form.get("role") or "",
            display_name=(request.form.get("display_name") or "").strip(),
            agent_id=_opt_int("agent_id"),
            team_id=_opt_int("team_id"),
        )
    except ValueError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.users"))
    db.flush()
    audit_row(
        db,
        user,
        "create",
        user=current_user(),
        new={
            "username": user.username,
            "role": user.role,
            "agent_id": user.agent_id,
            "team_id": user.team_id,
        },
    )
    db.commit()
    flash(f"User {user.username} created.")
    return redirect(url_for("admin.users"))


def _user(user_id: int) -> User:
    """The user an admin route names; 404 when there is none."""
    user = get_db().get(User, user_id)
    if user is None:
        abort(404)
    return user


def _access(user: User) -> dict[str, Any]:
    """What an update can change about a user's access: audited before and after."""
    return {"role": user.role, "active": user.active, "agent_id": user.agent_id, "team_id": user.team_id}


@bp.route("/users/<int:user_id>", methods=["POST"])
@roles(UserRole.ADMIN)
def update(user_id: int) -> Any:
    db = get_db()
    user = _user(user_id)
    old = _access(user)
    role = request.form.get("role") or user.role
    if role not in ROLES:
        abort(400, f"unknown role {role!r}")
    active = request.form.get("active") == "on"
    if user.id == current_user().id and (not active or role != UserRole.ADMIN):
        flash("You cannot demote or deactivate yourself.", "error")
        return redirect(url_for("admin.users"))
    user.role, user.active = role, active
    user.agent_id, user.team_id = _opt_int("agent_id"), _opt_int("team_id")
    if password := request.form.get("password"):
        if len(password) < 8:
            flash("password must have at least 8 characters", "error")
            return redirect(url_for("admin.users"))
        user.password_hash = hash_password(password)
    if password or (old["active"] and not user.active):
        logins.end_user_sessions(db, user, "password changed" if password else "deactivated")
    audit_row(
        db,
        user,
        "update",
        user=current_user(),
        old=old,
        new={**_access(user), "password_changed": bool(password)},
    )
    db.commit()
    flash(f"User {user.username} saved.")
    return redirect(url_for("admin.users"))


@bp.route("/users/<int:user_id>/unlock", methods=["POST"])
@roles(UserRole.ADMIN)
def unlock(user_id: int) -> Any:
    db = get_db()
    user = _user(user_id)
    logins.unlock(db, user.username, current_user())
    db.commit()
    flash(f"Sign-in unlocked for {user.username}.")
    return redirect(url_for("admin.users"))


def _rubrics_dir() -> Path:
    return Path(current_app.config["QA_SETTINGS"].rubrics_dir)


@bp.route("/rubrics")
@roles(UserRole.ADMIN)
def rubrics() -> Any:
    from qa_scoring.rubric.rubric import RubricError, load_rubric, rubric_files

    rows = []
    for path in rubric_files(_rubrics_dir()):
        try:
            r = load_rubric(path)
            rows.append(
                {
                    "file": path.name,
                    "id": r.id,
                    "name": r.name,
                    "version": r.version,
                    "criteria": len(r.criteria),
                    "errors": [],
                }
            )
        except RubricError as exc:
            rows.append(
                {"file": path.name, "id": "", "name": "", "version": "", "criteria": 0, "errors": exc.errors}
            )
    return render_template("admin/rubrics.html", rows=rows, directory=_rubrics_dir())


@bp.route("/rubrics/<name>")
@roles(UserRole.ADMIN)
def rubric_source(name: str) -> Any:
    path = _rubrics_dir() / name
    if "/" in name or not path.is_file() or path.suffix not in (".yaml", ".yml"):
        abort(404)
    return render_template(
        "admin/rubric_edit.html", name=name, text=path.read_text(encoding="utf-8"), errors=[]
    )


@bp.route("/rubrics", methods=["POST"])
@roles(UserRole.ADMIN)
def save_rubric() -> Any:
    """Validate pasted rubric YAML with the engine's own validator; save only when it is clean."""
    from qa_scoring.rubric.rubric import RubricError, parse_rubric

    name = (request.form.get("name") or "").strip().removesuffix(".yaml")
    text = request.form.get("text") or ""
    if not RUBRIC_ID.match(name):
        flash("File name: lower-case letters, digits, - and _ only.", "error")
        return render_template("admin/rubric_edit.html", name=name, text=text, errors=[]), 400
    path = _rubrics_dir() / f"{name}.yaml"
    try:
        parse_rubric(text, str(path))
    except RubricError as exc:
        return render_template("admin/rubric_edit.html", name=name, text=text, errors=exc.errors), 400
    old = path.read_text(encoding="utf-8") if path.is_file() else None
    path.write_text(text, encoding="utf-8")
    db = get_db()
    audit(
        db,
        entity="rubrics",
        entity_id=path.name,
        action="update" if old is not None else "create",
        user=current_user(),
        old={"text": old} if old is not None else None,
        new={"text": text},
    )
    db.commit()
    flash(f"Rubric {path.name} saved; new batch runs score with it.")
    return redirect(url_for("admin.rubrics"))


TRY_CALLS = 50  # the editor's "Try it" runs the draft over this many of the latest calls


@bp.route("/rubrics/try", methods=["POST"])
@roles(UserRole.ADMIN)
def try_rubric() -> Any:
    """Run the draft's criteria in plain words over the latest calls; nothing is saved."""
    from qa_scoring.behaviours import BehaviourDetector, ModelMissingError
    from qa_scoring.rubric.rubric import RubricError, parse_rubric
    from qa_scoring.rubric_try import latest_transcripts
    from qa_scoring.rubric_try import try_rubric as run_try

    name = (request.form.get("name") or "").strip().removesuffix(".yaml")
    text = request.form.get("text") or ""
    page = {"name": name, "text": text, "errors": []}
    try:
        draft = parse_rubric(text, f"{name or 'draft'}.yaml")
    except RubricError as exc:
        return render_template("admin/rubric_edit.html", **{**page, "errors": exc.errors}), 400
    if not any(c.says for c in draft.criteria):
        flash("Nothing to try: no criterion in plain words ('says' with example phrases).", "error")
        return render_template("admin/rubric_edit.html", **page), 400
    detector = current_app.extensions.get("qa_detector")
    if detector is None:
        try:
            detector = BehaviourDetector.load(current_app.config["QA_SETTINGS"])
        except ModelMissingError as exc:
            flash(str(exc), "error")
            return render_template("admin/rubric_edit.html", **page), 503
        current_app.extensions["qa_detector"] = detector
    calls = latest_transcripts(get_db(), TRY_CALLS)
    return render_template("admin/rubric_edit.html", **page, tried=run_try(draft, detector, calls))


# The behaviour model: the version in use, the kept versions, learning from the reviewers, rollback.

LEARN_REFRESH_S = 5  # the model page reloads itself this often while learning runs


def _settings() -> Any:
    return current_app.config["QA_SETTINGS"]


@bp.route("/model")
@roles(UserRole.ADMIN)
def model() -> Any:
    """The model in use, every kept version with its figures, the learning job, and how well the
    pre-scores of each version agree with the reviewers."""
    from qa_scoring import learn_job
    from qa_scoring.behaviours.versions import ModelVersions
    from qa_scoring.review import agreement as ag

    settings = _settings()
    versions = ModelVersions(settings.models_dir)
    history = sorted(versions.history(), key=lambda r: r.created_at, reverse=True)
    job = learn_job.current(settings)
    page = render_template(
        "admin/model.html",
        active=versions.active(),
        history=history,
        job=job,
        report=job.report if job is not None and not job.running else learn_job.latest_report(settings),
        agreement=ag.review_agreement(get_db()),
        min_decisions=ag.MIN_DECISIONS,
        refresh=LEARN_REFRESH_S,
    )
    resp = current_app.make_response(page)
    if job is not None and job.running:
        resp.headers["Refresh"] = str(LEARN_REFRESH_S)
    return resp


@bp.route("/model/learn", methods=["POST"])
@roles(UserRole.ADMIN)
def learn() -> Any:
    """Start learning from the reviewers as a background job (one at a time)."""
    from qa_scoring import learn_job
    from qa_scoring.behaviours.versions import ModelVersions

    settings = _settings()
    user = current_user()
    try:
        job = learn_job.start(settings, user.username)
    except learn_job.JobRunning as exc:
        flash(f"Not started: {exc}.", "error")
        return redirect(url_for("admin.model"))
    db = get_db()
    audit(
        db,
        entity="behaviour_model",
        entity_id=ModelVersions(settings.models_dir).active() or "none",
        action="learn",
        user=user,
        new={"pid": job.pid, "started_at": job.started_at},
    )
    db.commit()
    flash("Learning started: it takes a few minutes; this page shows how far it got.")
    return redirect(url_for("admin.model"))


@bp.route("/model/use", methods=["POST"])
@roles(UserRole.ADMIN)
def use_model() -> Any:
    """Make a kept version the behaviour model in use (roll back or forward), with a reason."""
    from qa_scoring import learn_job
    from qa_scoring.behaviours.versions import ModelVersions, VersionError

    settings = _settings()
    version = (request.form.get("version") or "").strip()
    reason = (request.form.get("reason") or "").strip()
    if not version or not reason:
        flash("Choose a version and say why it should be used.", "error")
        return redirect(url_for("admin.model"))
    job = learn_job.current(settings)
    if job is not None and job.running:
        flash("Learning is running and may change the model in use: wait until it has finished.", "error")
        return redirect(url_for("admin.model"))
    versions = ModelVersions(settings.models_dir)
    old = versions.active()
    try:
        versions.use(version)
    except VersionError as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.model"))
    db = get_db()
    audit(
        db,
        entity="behaviour_model",
        entity_id=version,
        action="use",
        user=current_user(),
        old={"version": old},
        new={"version": version},
        reason=reason,
    )
    db.commit()
    flash(
        f"Behaviour model {version} is now in use: new scores use it (a running batch worker picks it up "
        "when it restarts). Human decisions and stored reviews are unchanged."
    )
    return redirect(url_for("admin.model"))
