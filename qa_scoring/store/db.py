"""Engines, sessions and schema upgrades for the store.

Every command that touches the database goes through :func:`open_store`, which upgrades the
schema on first use, so a fresh install never needs a separate ``db upgrade`` step (the command
exists for operators who want to run it explicitly, e.g. before starting many workers).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from qa_scoring.config import Settings, get_settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

T = TypeVar("T")

_engines: dict[str, Engine] = {}
_upgraded: set[str] = set()
_lock = threading.Lock()


class StoreError(RuntimeError):
    """The database cannot be opened or upgraded; the message names the URL (without password)."""


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the batch workers write while readers (the UI, the report) keep reading;
    # foreign keys are off by default in SQLite; busy_timeout makes concurrent writers wait
    # instead of failing with "database is locked".
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=60000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str) -> Engine:
    """A new engine for ``url``; for SQLite the parent folder is created and pragmas set."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"future": True}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 60}
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def get_engine(url: str | None = None) -> Engine:
    """The process-wide engine for ``url`` (default: the configured database)."""
    url = url or get_settings().resolved_database_url
    with _lock:
        if url not in _engines:
            _engines[url] = make_engine(url)
        return _engines[url]


def dispose_engines() -> None:
    """Close every pooled connection; a forked or spawned worker must not reuse its parent's."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _upgraded.clear()


def alembic_config(engine: Engine) -> Any:
    """An Alembic config that needs no alembic.ini, so upgrades work from an installed package."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    config.attributes["engine"] = engine
    return config


def upgrade(url: str | None = None, revision: str = "head") -> str:
    """Bring the schema at ``url`` up to ``revision``; returns the revision now current."""
    from alembic import command

    engine = get_engine(url)
    try:
        command.upgrade(alembic_config(engine), revision)
    except Exception as exc:  # noqa: BLE001 - re-raised with the database named
        safe = engine.url.render_as_string(hide_password=True)
        raise StoreError(f"{safe}: cannot upgrade the schema ({exc})") from exc
    _upgraded.add(str(engine.url))
    return current_revision(engine) or ""


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    from qa_scoring.store.db import alembic_config as _cfg  # noqa: PLW0406 - same module, lazy import

    script = ScriptDirectory.from_config(_cfg(make_engine("sqlite://")))
    head = script.get_current_head()
    assert head is not None, "no migrations found"
    return head


def ensure_schema(url: str | None = None) -> Engine:
    """The engine for ``url`` with its schema at head (upgraded once per process when behind)."""
    engine = get_engine(url)
    key = str(engine.url)
    if key not in _upgraded:
        if current_revision(engine) != head_revision():
            upgrade(url)
        _upgraded.add(key)
    return engine


def session_factory(url: str | None = None) -> sessionmaker[Session]:
    return sessionmaker(bind=ensure_schema(url), expire_on_commit=False)


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A session committed on success and rolled back on error: one unit of work."""
    session = session_factory(url)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def open_store(settings: Settings | None = None) -> sessionmaker[Session]:
    """The session factory for the configured database, schema upgraded on first use."""
    settings = settings or get_settings()
    return session_factory(settings.resolved_database_url)


def in_transaction(
    factory: sessionmaker[Session], work: Callable[[Session], T], attempts: int = 4, wait_s: float = 0.5
) -> T:
    """Run ``work`` in one transaction, again from the start if the connection was lost under it.

    ``pool_pre_ping`` only tests a connection when it is checked out; a server restart or an
    administrator terminating backends in the middle of a transaction still raises. Such a
    transaction was rolled back by the server, so repeating it whole is safe; anything else
    (a constraint, a bug) is raised at once.
    """
    for attempt in range(1, attempts + 1):
        try:
            with factory.begin() as session:
                return work(session)
        except DBAPIError as exc:
            if not exc.connection_invalidated or attempt == attempts:
                raise
            time.sleep(wait_s * attempt)
    raise AssertionError("unreachable")  # pragma: no cover
