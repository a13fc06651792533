"""A store seeded once per session from real documents: three calls scored by the real Scorer
(one timed call with its real recording, two untimed dev calls), a team, two agents and one user
per role. Each test gets its own copy of the SQLite file, so tests can change it freely."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from shared_data import shared_path
from webhelp import PASSWORDS

PROJECT_ROOT = Path(__file__).resolve().parents[2]


os.environ.setdefault("HF_HUB_OFFLINE", "1")


@dataclass
class Seed:
    db_file: Path
    timed_call: int
    dev_calls: list[int]
    audio: Path
    agent1: int
    agent2: int


def timed_sample() -> tuple[Path, dict[str, Any]]:
    """A real recording with a timed transcript: the project's sample call when present, else the
    pyannote sample (two speakers, 30 s) with its STM reference as the transcript."""
    sample = PROJECT_ROOT / "samples" / "calls" / "bank-card-lost.truth.json"
    if sample.is_file():
        truth = json.loads(sample.read_text(encoding="utf-8"))
        return sample.parent / truth["audio"], truth
    stm = shared_path("data", "audio", "pyannote-sample", "sample.stm")
    turns, roles = [], {}
    for line in stm.read_text(encoding="utf-8").splitlines():
        parts = line.split(maxsplit=6)
        if len(parts) < 7 or line.startswith(";;"):
            continue
        speaker = parts[2]
        roles.setdefault(speaker, "agent" if not roles else "customer")
        turns.append(
            {
                "speaker": roles[speaker],
                "start": float(parts[3]),
                "end": float(parts[4]),
                "text": re.sub(r"<[^>]*>", "", parts[6]).strip(),
            }
        )
    return stm.with_name("sample.wav"), {"call_id": "pyannote-sample", "turns": turns, "duration": 30.0}


@pytest.fixture(scope="session")
def web_scorer():
    from qa_scoring.scorer import Scorer

    return Scorer.load()


@pytest.fixture(scope="session")
def web_seed(tmp_path_factory: pytest.TempPathFactory, web_scorer) -> Seed:
    from store_seed import agent_named, store_scored_call

    from qa_scoring.demo_users import seed_demo_users
    from qa_scoring.store.db import dispose_engines, session_scope
    from qa_scoring.transcript import Transcript

    folder = tmp_path_factory.mktemp("web-seed")
    db_file = folder / "seed.sqlite3"
    url = f"sqlite:///{db_file}"
    audio, truth = timed_sample()
    with session_scope(url) as session:
        a1 = agent_named(session, "A100", "Sarah Jones", "Team A")
        a2 = agent_named(session, "A200", "Tom Patel", "Team A")
        transcript = Transcript.from_dict(truth)
        transcript.duration = truth.get("duration")
        doc = transcript.to_dict()
        timed = store_scored_call(
            session,
            document=doc,
            scored=web_scorer.score(transcript),
            agent=a1,
            audio_path=audio,
            started_at=dt.datetime(2026, 11, 2, 9, 30, tzinfo=dt.UTC),
            external_id=truth["call_id"],
        )
        dev_ids = []
        for i, (name, agent) in enumerate((("dev-003", a1), ("dev-010", a2))):
            data = json.loads(shared_path("data", "calls", "dev", f"{name}.json").read_text(encoding="utf-8"))
            t = Transcript.from_dict(data)
            call = store_scored_call(
                session,
                document=t.to_dict(),
                scored=web_scorer.score(t),
                agent=agent,
                started_at=dt.datetime(2026, 11, 9 + 7 * i, 14, 0, tzinfo=dt.UTC),
            )
            dev_ids.append(call.id)
        timed.needs_review = True  # the queue must hold every seeded call
        for cid in dev_ids:
            session.get(type(timed), cid).needs_review = True
        seed_demo_users(session)
        from qa_scoring.store.users import create_user

        create_user(session, "qa2", PASSWORDS["qa2"], "qa_officer")
        create_user(session, "agent2", PASSWORDS["agent2"], "agent", agent_id=a2.id)
        seed = Seed(db_file, timed.id, dev_ids, audio, a1.id, a2.id)
    dispose_engines()
    return seed


@pytest.fixture
def web_settings(tmp_path: Path, web_seed: Seed):
    from qa_scoring.config import load_settings

    db_file = tmp_path / "qa.sqlite3"
    shutil.copy(web_seed.db_file, db_file)
    settings = load_settings(environ={})
    settings.data_dir = tmp_path / "data"
    settings.database_url = f"sqlite:///{db_file}"
    settings.secret_key = "test-secret"
    return settings


@pytest.fixture
def app(web_settings):
    from qa_scoring.store.db import dispose_engines
    from web import create_app

    app = create_app({"SETTINGS": web_settings, "TESTING": True})
    yield app
    dispose_engines()


@pytest.fixture
def client(app):
    return app.test_client()
