"""The end-of-batch review pass: hold the day's queue to its share, and leave no agent unreviewed.

Runs once a batch has finished (both engines), over the calls of that run, after each call got its
own decision from :mod:`qa_scoring.review.selection` (whose doc gives the semantics). Kept apart
from the rule because it works on the store, and the scorer must not need the store.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from qa_scoring.config import Settings
from qa_scoring.review.selection import (
    ALWAYS_REVIEWED,
    SAMPLE,
    TOP_UP_DETAIL,
    URGENCY,
    Reason,
    ReviewDecision,
    kind_of,
    sample_draw,
)
from qa_scoring.store.models import Call


def apply(call: Call, decision: ReviewDecision) -> None:
    call.needs_review = decision.needs_review
    call.review_priority = decision.priority
    call.review_reasons = decision.reasons
    call.flagged_by_sample = decision.sampled


def _scored_calls(session: Session, call_ids: Iterable[int]) -> list[Call]:
    ids = list(call_ids)
    if not ids:
        return []
    return list(
        session.scalars(select(Call).where(Call.id.in_(ids), Call.status == "scored").order_by(Call.id))
    )


def cap_share(session: Session, call_ids: Iterable[int], settings: Settings) -> list[int]:
    """Unflag the lowest-priority calls until at most ``review_max_share`` of the scored calls in
    ``call_ids`` are flagged; auto-fails, vulnerable customers and sampled calls always stay.
    Returns the calls unflagged.

    Ties go to the earlier call (lower id), so the same batch is capped the same way every time.
    """
    share = settings.review_max_share
    calls = _scored_calls(session, call_ids)
    if share >= 1 or not calls:
        return []
    limit = math.floor(max(0.0, share) * len(calls) + 1e-9)
    flagged = [c for c in calls if c.needs_review]
    kept = [c for c in flagged if c.flagged_by_sample or any(_has_kind(c, k) for k in ALWAYS_REVIEWED)]
    candidates = sorted(
        (c for c in flagged if c not in kept), key=lambda c: (-(c.review_priority or 0.0), c.id)
    )
    room = max(0, limit - len(kept))
    dropped = candidates[room:]
    for call in dropped:
        call.needs_review = False
    return [c.id for c in dropped]


def _has_kind(call: Call, kind: str) -> bool:
    return any(kind_of(r) == kind for r in call.review_reasons or [])


def top_up_agents(session: Session, call_ids: Iterable[int], settings: Settings) -> list[int]:
    """Flag one call of every agent with ``review_top_up_min_calls`` or more calls in ``call_ids`` and
    none flagged; returns the calls flagged.

    The chosen call is the one with the lowest sample draw, so the choice is repeatable. Reasons it
    already had (a call the share cap unflagged) stay, with the sample added after them.
    """
    if settings.review_sample_rate <= 0:
        return []
    by_agent: dict[int | None, list[Call]] = defaultdict(list)
    for call in _scored_calls(session, call_ids):
        by_agent[call.agent_id].append(call)
    flagged = []
    for agent_calls in by_agent.values():
        if len(agent_calls) < settings.review_top_up_min_calls or any(c.needs_review for c in agent_calls):
            continue
        pick = min(agent_calls, key=lambda c: sample_draw(c.content_sha256))
        reasons = [r for r in pick.review_reasons or [] if kind_of(r) != SAMPLE]
        apply(
            pick,
            ReviewDecision(
                True,
                max(pick.review_priority or 0.0, URGENCY[SAMPLE]),
                [*reasons, Reason(SAMPLE, TOP_UP_DETAIL).text],
                sampled=True,
            ),
        )
        flagged.append(pick.id)
    return flagged


@dataclass
class BatchReview:
    """What the end-of-batch pass changed, for the report."""

    unflagged_by_cap: list[int] = field(default_factory=list)
    topped_up: list[int] = field(default_factory=list)


def finish_batch(session: Session, call_ids: Iterable[int], settings: Settings) -> BatchReview:
    """The batch's post-pass: cap the flagged share, then make sure every agent has a flagged call."""
    ids = list(call_ids)
    capped = cap_share(session, ids, settings)
    session.flush()
    return BatchReview(capped, top_up_agents(session, ids, settings))
