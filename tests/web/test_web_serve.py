"""``qa-scoring serve`` as it runs in production: gunicorn worker processes forked from one app,
on SQLite and on PostgreSQL (a connection inherited across a fork would break both processes)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

PROJECT_ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "serve-test-pass"


def _seed(url: str, scorer) -> int:
    from qa_scoring.store.db import dispose_engines, session_scope
    from qa_scoring.transcript import Transcript
    from web.auth import create_user
    from web.seed import agent_named, store_scored_call

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


def _workers(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if stat.read_text().rpartition(")")[2].split()[1] == str(pid):
                children.append(int(stat.parent.name))
        except OSError:
            continue
    return children


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_serve_forks_workers_that_share_sessions_and_the_store(backend, request, tmp_path, web_scorer):
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "postgres_url")
    call_id = _seed(url, web_scorer)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_SCORING_")}
    # No secret key configured: the master must make one key that every worker uses.
    env |= {"QA_SCORING_DATABASE_URL": url, "QA_SCORING_DATA_DIR": str(tmp_path / "data")}
    log = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-c", "from qa_scoring.cli import main; main()", "serve", "--port", str(port)]
        + ["--workers", "2", "--threads", "2"],
        env=env,
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{base}/login", timeout=2)
                break
            except requests.ConnectionError:
                assert server.poll() is None and time.monotonic() < deadline, (
                    tmp_path / "serve.log"
                ).read_text()
                time.sleep(0.2)
        # The first worker can answer before the master has forked the second: wait for both.
        while len(_workers(server.pid)) < 2:
            assert server.poll() is None and time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.1)
        assert len(_workers(server.pid)) == 2

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
    finally:
        server.send_signal(signal.SIGTERM)
        code = server.wait(timeout=30)
        log.close()
    assert code == 0, (tmp_path / "serve.log").read_text()
