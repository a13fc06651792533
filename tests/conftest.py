"""Shared fixtures. Each helper adds its own section; keep sections independent."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from shared_data import PROJECT_ROOT, SHARED, shared_path  # noqa: F401  (test modules import them from here)

# --------------------------------------------------------------------------- store: databases and broker

POSTGRES_ADMIN_URL = os.environ.get(
    "QA_SCORING_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("QA_SCORING_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _unavailable(what: str, exc: Exception) -> None:
    """Skip when a server is not running here; under CI=true that is a failure, not a skip."""
    message = f"{what} unreachable ({type(exc).__name__}: {exc})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}; CI=true requires it")
    pytest.skip(f"{message}; start it or set CI=true to make this a failure")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test, dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin_url = make_url(POSTGRES_ADMIN_URL)
    name = f"qa_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - any connection failure means "not available"
        _unavailable(f"PostgreSQL at {admin_url.render_as_string(hide_password=True)}", exc)
    url = admin_url.set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        from qa_scoring.store.db import dispose_engines

        dispose_engines()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    yield f"sqlite:///{tmp_path / 'qa-scoring.sqlite3'}"
    from qa_scoring.store.db import dispose_engines

    dispose_engines()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """The same test against a SQLite file and a PostgreSQL database."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "postgres_url")


@pytest.fixture
def redis_url() -> str:
    """The Redis broker (database 15, flushed before use), or a skip/CI failure when it is down."""
    import redis

    try:
        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
        client.ping()
        client.flushdb()
    except Exception as exc:  # noqa: BLE001
        _unavailable(f"Redis at {REDIS_URL}", exc)
    return REDIS_URL


# --------------------------------------------------------------------------- speech: models loaded once


@pytest.fixture(scope="session")
def speech_settings():
    """Default settings with the ASR on all cores; the model comes from the model store."""
    from qa_scoring.config import load_settings

    return load_settings(environ={})


@pytest.fixture(scope="session")
def speech_pipeline(speech_settings):
    """One SpeechPipeline (whisper loaded once, diariser on first mono call) for the whole session."""
    from qa_scoring.transcribe.pipeline import SpeechPipeline

    return SpeechPipeline.load(speech_settings)
