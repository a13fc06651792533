"""``qa-scoring serve`` as it runs in production: gunicorn worker processes forked from one app,
on SQLite and on PostgreSQL (a connection inherited across a fork would break both processes)."""

from __future__ import annotations

import datetime as dt
import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from servehelp import serve

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "serve-test-pass"


def _seed(url: str, scorer) -> int:
    from store_seed import agent_named, store_scored_call

    from qa_scoring.store.db import dispose_engines, session_scope
    from qa_scoring.store.users import create_user
    from qa_scoring.transcript import Transcript

    truth = json.loads((PROJECT_ROOT / "samples" / "calls" / "bank-card-lost.truth.json").read_text("utf-8"))
    transcript = Transcript.from_dict(truth)
    with session_scope(url) as session:
        call = store_scored_call(
            session,
            document=transcript.to_dict(),
            scored=scorer.score(transcript),
            agent=agent_named(session, "S1", "Serve Agent", "Serve team"),
            started_at=dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC),
        )
        create_user(session, "officer", PASSWORD, "qa_officer")
        call_id = call.id
    dispose_engines()
    return call_id


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_serve_forks_workers_that_share_sessions_and_the_store(backend, request, tmp_path, web_scorer):
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "postgres_url")
    call_id = _seed(url, web_scorer)
    with serve(url, tmp_path, workers=2, threads=2) as served:
        base = served.base
        assert len(served.workers()) == 2
        s = requests.Session()
        token = re.search(r'name="csrf-token" content="([^"]+)"', s.get(f"{base}/login").text).group(1)
        r = s.post(
            f"{base}/login",
            data={"username": "officer", "password": PASSWORD, "csrf_token": token},
            allow_redirects=False,
        )
        assert r.status_code == 302, r.text[:300]
        cookies = s.cookies.get_dict()

        def page(_: int) -> tuple[int, bool]:
            # A new connection each time, so requests land on both workers.
            resp = requests.get(
                f"{base}/calls/{call_id}", cookies=cookies, headers={"Connection": "close"}, timeout=30
            )
            return resp.status_code, 'id="call"' in resp.text and "officer" in resp.text

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(page, range(40)))
        assert answers == [(200, True)] * 40
