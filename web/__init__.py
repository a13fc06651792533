"""The review UI: a small Flask app over the store of record.

Everything it serves (CSS, JS, charts) is local: contact-centre networks are often closed, and no
request may leave the machine with call content in it.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from flask import Flask, g, render_template
from flask_wtf.csrf import CSRFError, CSRFProtect

from qa_scoring.config import Settings, get_settings

csrf = CSRFProtect()


def _secret_key(settings: Settings) -> str:
    """The configured key, else one kept in data_dir so sessions survive a restart."""
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.data_dir) / ".secret_key"
    if path.is_file():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    path.write_text(key, encoding="utf-8")
    path.chmod(0o600)
    return key


def _favicon(app: Flask) -> None:
    """Browsers ask for /favicon.ico whatever the page links; answer with the app's icon."""
    from flask import redirect, url_for

    from web.auth import PUBLIC, roles

    @roles(PUBLIC)
    def favicon() -> Any:
        return redirect(url_for("static", filename="favicon.svg"), code=301)

    app.add_url_rule("/favicon.ico", "favicon", favicon)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app. ``test_config`` may set ``SETTINGS`` (a Settings), ``DATABASE_URL`` and any
    Flask key; without it the process settings (TOML / QA_SCORING_* variables) are used."""
    test_config = dict(test_config or {})
    settings: Settings = test_config.pop("SETTINGS", None) or get_settings()
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=_secret_key(settings),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.session_cookie_secure,
        SESSION_COOKIE_NAME="qa_session",
        DATABASE_URL=settings.resolved_database_url,
        QA_SETTINGS=settings,
        CLIPS_DIR=Path(settings.data_dir) / "clips",
        PAGE_SIZE=25,
        WTF_CSRF_TIME_LIMIT=None,  # a long review must not lose its token; the session bounds it
        SEND_FILE_MAX_AGE_DEFAULT=3600,
    )
    app.config.update(test_config)
    if settings.proxy_hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = settings.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    csrf.init_app(app)

    from web import db, fragments, hardening

    hardening.init_hardening(app)
    db.init_app(app)
    fragments.init_app(app)

    from web.admin import bp as admin_bp
    from web.audit_views import bp as audit_bp
    from web.auth import bp as auth_bp
    from web.auth import init_auth
    from web.calibration_views import bp as calibration_bp
    from web.calls import bp as calls_bp
    from web.clips import bp as clips_bp
    from web.coaching import bp as coaching_bp
    from web.dashboards import bp as dashboards_bp
    from web.queue import bp as queue_bp

    init_auth(app)
    _favicon(app)
    for blueprint in (
        auth_bp,
        queue_bp,
        calls_bp,
        clips_bp,
        coaching_bp,
        dashboards_bp,
        admin_bp,
        audit_bp,
        calibration_bp,
    ):
        app.register_blueprint(blueprint)

    @app.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError):  # noqa: ANN202
        from flask import jsonify, request

        if request.is_json or request.accept_mimetypes.best == "application/json":
            return jsonify(error=f"CSRF check failed: {exc.description}"), 400
        return render_template("error.html", code=400, message=exc.description), 400

    @app.errorhandler(403)
    def _forbidden(exc: Exception):  # noqa: ANN202
        return render_template("error.html", code=403, message="You do not have access to this page."), 403

    @app.errorhandler(404)
    def _not_found(exc: Exception):  # noqa: ANN202
        return render_template("error.html", code=404, message="Not found."), 404

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {"current_user": g.get("user")}

    return app
