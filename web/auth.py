"""Login, logout and the role checks every view declares.

Every view carries a ``roles`` decorator; :func:`init_auth` refuses any request to a view that
has none, so a new route cannot be reachable without someone deciding who may use it. The session
cookie holds only a random token; the session itself, and the login throttle, live in the store
(:mod:`qa_scoring.store.logins`), so signing out ends a session on every worker.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy import select

from qa_scoring.store import logins
from qa_scoring.store.models import User, utcnow
from qa_scoring.store.users import password_matches
from qa_scoring.user_roles import ROLES, UserRole
from web.db import get_db

bp = Blueprint("auth", __name__)

ROLE_LABELS = {
    UserRole.QA_OFFICER: "QA officer",
    UserRole.TEAM_LEADER: "Team leader",
    UserRole.AGENT: "Agent",
    UserRole.ADMIN: "Admin",
}
PUBLIC = "public"


def roles(*allowed: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Let only users with one of ``allowed`` roles in (``roles(PUBLIC)``: anyone, logged in or not)."""
    unknown = set(allowed) - set(ROLES) - {PUBLIC}
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if PUBLIC not in allowed:
                user = g.get("user")
                if user is None:
                    if request.is_json or request.method != "GET":
                        abort(401)
                    return redirect(url_for("auth.login", next=request.full_path))
                if user.role not in allowed:
                    abort(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = allowed  # type: ignore[attr-defined]
        return wrapped

    return decorate


def client_address() -> str:
    return request.remote_addr or ""


def init_auth(app: Flask) -> None:
    @app.before_request
    def _load_user() -> Any:
        g.user = None
        token = session.get("sid")
        if token is not None:
            user = logins.session_user(get_db(), current_app.config["QA_SETTINGS"], str(token))
            if user is not None:
                g.user = user
            else:
                session.clear()
        view = app.view_functions.get(request.endpoint or "")
        if view is not None and request.endpoint != "static" and not hasattr(view, "allowed_roles"):
            abort(403)  # a view without a declared role check is closed, not open
        return None


def _safe_next(target: str | None) -> str | None:
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/"):
        return None
    return target


def home_for(user: User) -> str:
    if user.role == UserRole.ADMIN:
        return url_for("queue.index")
    if user.role == UserRole.AGENT:
        return url_for("queue.index", status="all")
    return url_for("queue.index")


@bp.route("/login", methods=["GET", "POST"])
@roles(PUBLIC)
def login() -> Any:
    if request.method == "GET":
        return render_template("auth/login.html", error=None)
    username = request.form.get("username", "").strip()[:150]
    password = request.form.get("password", "")
    settings = current_app.config["QA_SETTINGS"]
    db = get_db()
    client = client_address()
    lock = logins.current_lock(db, settings, username, client)
    if lock is None:
        user = db.scalar(select(User).where(User.username == username))
        if password_matches(user, password):
            assert user is not None
            logins.record_attempt(db, settings, username, client, ok=True)
            token = logins.start_session(db, user, client)
            user.last_login_at = utcnow()
            db.commit()
            session.clear()
            session["sid"] = token
            return redirect(_safe_next(request.args.get("next")) or home_for(user))
        lock = logins.record_attempt(db, settings, username, client, ok=False)
        db.commit()
        if lock is None:
            return render_template("auth/login.html", error="Unknown user or wrong password."), 401
    wait = lock.retry_after()
    error = f"Too many failed sign-in attempts. Try again in {wait} seconds."
    return render_template("auth/login.html", error=error), 429, {"Retry-After": str(wait)}


@bp.route("/logout", methods=["POST"])
@roles(*ROLES)
def logout() -> Any:
    db = get_db()
    logins.end_session(db, str(session.get("sid", "")))
    db.commit()
    session.clear()
    flash("Signed out.")
    return redirect(url_for("auth.login"))


@bp.route("/")
@roles(PUBLIC)
def root() -> Any:
    user = g.get("user")
    return redirect(home_for(user) if user else url_for("auth.login"))


def current_user() -> User:
    user = g.get("user")
    if user is None:  # only reachable from a view that forgot @roles, which init_auth refuses
        abort(401)
    return user


def require_config(key: str) -> Any:
    return current_app.config[key]
