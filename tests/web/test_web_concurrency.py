"""Twenty officers deciding on the same ten calls at once while a gunicorn worker is killed: every
decision answered 200 is in the store and in the audit trail, and nothing is duplicated."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from servehelp import serve
from sqlalchemy import select

PROJECT_ROOT = Path(__file__).resolve().parents[2]
OFFICERS = 20
CALLS = 10
PASSWORD = "concurrency-pass"


def _seed(url: str, scorer) -> tuple[list[int], list[tuple[str, str]]]:
    """Ten scored calls, twenty officers; returns the call ids and two criteria to decide."""
    from store_seed import agent_named, store_scored_call

    from qa_scoring.review.decisions import scorecards_for
    from qa_scoring.store.db import dispose_engines, session_scope
    from qa_scoring.store.users import create_user
    from qa_scoring.transcript import Transcript

    truth = json.loads((PROJECT_ROOT / "samples" / "calls" / "bank-card-lost.truth.json").read_text("utf-8"))
    transcript = Transcript.from_dict(truth)
    scored = scorer.score(transcript)
    with session_scope(url) as session:
        agent = agent_named(session, "C1", "Concurrency Agent", "Concurrency team")
        calls = [
            store_scored_call(
                session,
                document=transcript.to_dict(),
                scored=scored,
                agent=agent,
                started_at=dt.datetime(2026, 11, 2, 9, i, tzinfo=dt.UTC),
                external_id=f"concurrent-{i}",
            )
            for i in range(CALLS)
        ]
        cards = [c for c in scorecards_for(session, calls[0].transcripts[0]) if c.applicable]
        criteria = [(cards[0].rubric_id, c.criterion_id) for c in cards[0].criteria[:2]]
        for k in range(OFFICERS):
            create_user(session, f"officer{k}", PASSWORD, "qa_officer")
        ids = [c.id for c in calls]
    dispose_engines()
    return ids, criteria


@pytest.mark.postgres
def test_officers_deciding_at_once_through_a_killed_worker_lose_and_duplicate_nothing(
    postgres_url, tmp_path, web_scorer
):
    call_ids, criteria = _seed(postgres_url, web_scorer)
    answered: list[tuple[str, int, str, str, str]] = []  # officer, call, rubric, criterion, result
    lock = threading.Lock()
    requests_sent = Counter()
    with serve(postgres_url, tmp_path, workers=2, threads=4) as served:
        base = served.base

        def officer(k: int) -> None:
            name = f"officer{k}"
            s = requests.Session()
            token = re.search(r'name="csrf-token" content="([^"]+)"', s.get(f"{base}/login").text).group(1)
            r = s.post(f"{base}/login", data={"username": name, "password": PASSWORD, "csrf_token": token})
            assert r.status_code == 200 and "Sign out" in r.text, r.text[:300]
            token = re.search(r'name="csrf-token" content="([^"]+)"', r.text).group(1)
            for cid in call_ids:
                review_id, version = 0, 0
                for (rubric_id, criterion_id), result in zip(criteria, ("accept", "fail"), strict=True):
                    body = {
                        "review_id": review_id,
                        "version": version,
                        "rubric_id": rubric_id,
                        "criterion_id": criterion_id,
                        "decision": "accept" if result == "accept" else "override",
                        "result": result,
                        "reason": f"{name} on call {cid}",
                    }
                    with lock:
                        requests_sent["sent"] += 1
                    try:
                        resp = s.post(
                            f"{base}/calls/{cid}/decisions",
                            json=body,
                            headers={"X-CSRFToken": token, "Connection": "close"},
                            timeout=60,
                        )
                    except requests.ConnectionError:
                        break  # the worker died under this request: not answered, move on
                    if resp.status_code != 200:
                        break
                    data = resp.json()
                    review_id, version = data["review_id"], data["version"]
                    with lock:
                        answered.append((name, cid, rubric_id, criterion_id, data["decision"]["result"]))

        def killer() -> None:
            # Kill one worker outright once the run is under way; the master forks a new one.
            while requests_sent["sent"] < OFFICERS * CALLS // 2:
                threading.Event().wait(0.02)
            os.kill(served.workers()[0], signal.SIGKILL)
            requests_sent["killed"] = 1

        with ThreadPoolExecutor(OFFICERS + 1) as pool:
            futures = [pool.submit(officer, k) for k in range(OFFICERS)] + [pool.submit(killer)]
            for f in futures:
                f.result()
        assert requests_sent["killed"] == 1
        served.wait_for_workers(2)

    assert len(answered) > OFFICERS * CALLS  # most decisions were answered despite the kill
    from qa_scoring.store.db import dispose_engines, session_scope
    from qa_scoring.store.models import AuditEntry, CriterionDecision, Review

    with session_scope(postgres_url) as session:
        decisions = session.execute(
            select(Review.reviewer_id, Review.call_id, CriterionDecision).join(CriterionDecision.review)
        ).all()
        stored = {
            (d.decided_by.username, call_id, d.rubric_id, d.criterion_id): d for _, call_id, d in decisions
        }
        # Nothing duplicated: one review per officer and call, one decision per review and criterion.
        reviews = Counter(session.execute(select(Review.reviewer_id, Review.call_id)).all())
        assert max(reviews.values()) == 1
        keys = Counter((d.review_id, d.rubric_id, d.criterion_id) for _, _, d in decisions)
        assert max(keys.values()) == 1
        # Every answered decision is stored as answered and audited once, by its officer.
        audit = Counter(
            (e.actor, e.entity_id)
            for e in session.scalars(select(AuditEntry).where(AuditEntry.entity == "criterion_decisions"))
        )
        for officer, cid, rubric_id, criterion_id, result in answered:
            decision = stored.get((officer, cid, rubric_id, criterion_id))
            assert decision is not None and decision.human_result == result, (officer, cid, criterion_id)
            assert audit[(officer, str(decision.id))] == 1
        assert sum(audit.values()) == len(stored)  # and nothing audited that is not stored
    dispose_engines()
