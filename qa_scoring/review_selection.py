"""Which calls a human reviews: the risky ones, plus a fair random sample of every agent.

Reviewing only flagged calls would mean agents who never trip a rule are never looked at, and
QA scores would describe the outliers, not the floor. So each agent's unflagged calls are also
sampled at ``review_sample_rate``. The draw is seeded by the call's content hash, so a re-run
(or a second worker) reaches the same decision for the same call, and a batch tops up any agent
with no reviewed call at all so nobody goes unreviewed.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from qa_scoring.config import Settings
from qa_scoring.scored_call import ScoredCall
from qa_scoring.store.models import Call

SAMPLE_REASON = "random sample"
SAMPLE_PRIORITY = 0.1


@dataclass
class ReviewDecision:
    needs_review: bool
    priority: float
    reasons: list[str] = field(default_factory=list)
    sampled: bool = False


def sample_draw(content_sha256: str) -> float:
    """A uniform number in [0, 1) fixed by the call's content (the same on every run and machine)."""
    digest = hashlib.sha256(f"review-sample:{content_sha256}".encode()).hexdigest()
    return int(digest[:16], 16) / 2**64


def decide(
    scored: ScoredCall, content_sha256: str, settings: Settings, rubrics: Iterable[str] | None = None
) -> ReviewDecision:
    """Combine the scorer's review priority with the score thresholds and the random sample."""
    wanted = set(rubrics) if rubrics else None
    reasons = list(scored.review.reasons)
    priority = scored.review.priority if scored.review.needs_review else 0.0
    for card in scored.scorecards.values():
        if (wanted and card.rubric_id not in wanted) or not card.applicable:
            continue
        if card.auto_failed:
            reasons.append(f"auto-fail: {card.rubric_id}")
            priority = max(priority, 0.9)
        elif card.score is not None and card.score < settings.review_low_score:
            reasons.append(f"low score: {card.rubric_id} {card.score:.0f}")
            priority = max(priority, 0.6)
        if card.confidence < settings.review_low_confidence:
            reasons.append(f"low confidence: {card.rubric_id} {card.confidence:.2f}")
            priority = max(priority, 0.5)
    reasons = list(dict.fromkeys(reasons))  # dedupe, keep order (most urgent first from the scorer)
    if scored.review.needs_review or reasons:
        return ReviewDecision(True, round(min(1.0, max(priority, 0.2)), 3), reasons)
    if sample_draw(content_sha256) < settings.review_sample_rate:
        return ReviewDecision(True, SAMPLE_PRIORITY, [SAMPLE_REASON], sampled=True)
    return ReviewDecision(False, 0.0, [])


def apply(call: Call, decision: ReviewDecision) -> None:
    call.needs_review = decision.needs_review
    call.review_priority = decision.priority
    call.review_reasons = decision.reasons
    call.flagged_by_sample = decision.sampled


def top_up_agents(session: Session, call_ids: Iterable[int], settings: Settings) -> list[int]:
    """Flag one call of every agent in ``call_ids`` that has none flagged; returns the calls flagged.

    The chosen call is the one with the lowest sample draw, so the choice is repeatable.
    """
    if settings.review_sample_rate <= 0:
        return []
    ids = list(call_ids)
    calls = (
        session.scalars(select(Call).where(Call.id.in_(ids), Call.status == "scored")).all()
        if ids
        else []
    )
    by_agent: dict[int | None, list[Call]] = defaultdict(list)
    for call in calls:
        by_agent[call.agent_id].append(call)
    flagged = []
    for agent_calls in by_agent.values():
        if any(c.needs_review for c in agent_calls):
            continue
        pick = min(agent_calls, key=lambda c: sample_draw(c.content_sha256))
        apply(
            pick,
            ReviewDecision(True, SAMPLE_PRIORITY, [SAMPLE_REASON + " (agent top-up)"], sampled=True),
        )
        flagged.append(pick.id)
    return flagged
