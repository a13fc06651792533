"""Review selection: risky calls first, a repeatable random sample, and no agent left unreviewed."""

from __future__ import annotations

import hashlib
from dataclasses import replace

from sqlalchemy import select

from qa_scoring import review_selection as rs
from qa_scoring.config import load_settings
from qa_scoring.scored_call import ReviewPriority, ScorecardResult, ScoredCall
from qa_scoring.store.db import session_factory
from qa_scoring.store.models import Agent, Call

SETTINGS = replace(
    load_settings(environ={}), review_sample_rate=0.2, review_low_score=60, review_low_confidence=0.6
)


def _scored(
    score: float | None = 85.0,
    auto_failed: bool = False,
    confidence: float = 0.9,
    review: ReviewPriority | None = None,
) -> ScoredCall:
    card = ScorecardResult(
        "rater",
        "RATER",
        "1",
        applicable=score is not None,
        score=score,
        auto_failed=auto_failed,
        confidence=confidence,
    )
    return ScoredCall("c", {}, {}, {"rater": card}, review or ReviewPriority(False, 0.0, []))


def _sha(i: int) -> str:
    return hashlib.sha256(str(i).encode()).hexdigest()


def test_risky_calls_are_flagged_with_reasons() -> None:
    assert rs.decide(_scored(auto_failed=True, score=0.0), _sha(1), SETTINGS).reasons == [
        "auto-fail: rater"
    ]
    low = rs.decide(_scored(score=40.0), _sha(1), SETTINGS)
    assert low.needs_review and low.reasons == ["low score: rater 40"] and not low.sampled
    unsure = rs.decide(_scored(confidence=0.3), _sha(1), SETTINGS)
    assert unsure.reasons == ["low confidence: rater 0.30"]
    complaint = rs.decide(_scored(review=ReviewPriority(True, 0.8, ["complaint"])), _sha(1), SETTINGS)
    assert complaint.reasons == ["complaint"] and complaint.priority == 0.8
    # A rubric not selected for the batch does not flag the call.
    assert not rs.decide(
        _scored(score=10.0), _sha(2), replace(SETTINGS, review_sample_rate=0), ["lass"]
    ).needs_review


def test_random_sample_is_repeatable_and_close_to_the_rate() -> None:
    draws = [rs.decide(_scored(), _sha(i), SETTINGS) for i in range(2000)]
    again = [rs.decide(_scored(), _sha(i), SETTINGS) for i in range(2000)]
    assert [d.sampled for d in draws] == [d.sampled for d in again]
    rate = sum(d.sampled for d in draws) / len(draws)
    assert 0.17 < rate < 0.23, rate
    assert all(d.reasons == [rs.SAMPLE_REASON] for d in draws if d.sampled)
    assert not any(
        rs.decide(_scored(), _sha(i), replace(SETTINGS, review_sample_rate=0)).needs_review
        for i in range(200)
    )


def test_every_agent_gets_a_review(sqlite_url: str) -> None:
    factory = session_factory(sqlite_url)
    with factory.begin() as s:
        agents = [Agent(external_id=f"A{i}") for i in range(3)]
        calls = [
            Call(
                audio_path=f"/{i}.wav",
                content_sha256=_sha(i),
                size_bytes=1,
                agent=agents[i % 3],
                status="scored",
            )
            for i in range(9)
        ]
        calls[0].needs_review = True  # agent A0 already has one
        s.add_all(calls)
    with factory.begin() as s:
        ids = list(s.scalars(select(Call.id)))
        flagged = rs.top_up_agents(s, ids, SETTINGS)
        assert len(flagged) == 2
        assert rs.top_up_agents(s, ids, SETTINGS) == []  # repeatable: nothing more to add
    with factory() as s:
        for agent in s.scalars(select(Agent)):
            assert any(c.needs_review for c in agent.calls), agent.external_id
