"""One store session per request, closed at teardown.

The session factory is built once per app (it upgrades the schema on first use), so a request
costs only a pooled connection.
"""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy import Engine
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


def _engine(app: Flask) -> Engine:
    return app.extensions["qa_sessions"].kw["bind"]


def before_fork(app: Flask) -> None:
    """Close the pooled connections before worker processes are forked from this one, so no
    connection is ever shared between processes."""
    _engine(app).dispose()


def after_fork(app: Flask) -> None:
    """In a forked worker: forget the parent's pool without closing its sockets (closing a
    PostgreSQL connection from the child would end the parent's session); new ones open on use."""
    _engine(app).dispose(close=False)
