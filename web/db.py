"""One store session per request, closed at teardown.

The session factory is built once per app (it upgrades the schema on first use), so a request
costs only a pooled connection.
"""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from qa_scoring.store.db import session_factory


def init_app(app: Flask) -> None:
    app.extensions["qa_sessions"] = session_factory(app.config["DATABASE_URL"])

    @app.teardown_appcontext
    def _close(_exc: BaseException | None) -> None:
        session = g.pop("db", None)
        if session is not None:
            session.close()


def get_db() -> Session:
    if "db" not in g:
        g.db = current_app.extensions["qa_sessions"]()
    return g.db
