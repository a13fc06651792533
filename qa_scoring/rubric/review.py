"""Which calls a human reviewer should see first, and why.

Reviewers have time for a fraction of calls, so each pre-scored call gets a priority in 0..1 built
from independent reasons. Each reason has its own urgency; they combine as a noisy-or
(``1 - prod(1 - p)``) so two moderate reasons outrank one, and nothing passes 1. An auto-fail is
always urgent (1.0). The random per-agent sample that keeps unflagged calls honest is the batch's
job, not this module's.
"""

from __future__ import annotations

from collections.abc import Mapping

from qa_scoring.config import Settings
from qa_scoring.scored_call import BehaviourResult, ReviewPriority, ScorecardResult

AUTO_FAIL = 1.0
COMPLAINT = 0.5
LOW_SCORE = (0.5, 0.4)  # base, plus this much more as the score falls to 0
LOW_CONFIDENCE = (0.4, 0.3)  # base, plus this much more as the confidence falls to 0


def review_priority(
    scorecards: Mapping[str, ScorecardResult],
    behaviours: Mapping[str, BehaviourResult],
    settings: Settings,
) -> ReviewPriority:
    reasons: list[tuple[float, str]] = []
    low_score, low_conf = settings.review_low_score, settings.review_low_confidence
    for card in scorecards.values():
        if not card.applicable:
            continue
        for crit in card.criteria:
            if crit.auto_fail and crit.result == "fail":
                reasons.append((AUTO_FAIL, f"auto-fail: {card.name}: {crit.name}"))
            elif crit.auto_fail and crit.result != "na" and crit.confidence < low_conf:
                base, extra = LOW_CONFIDENCE
                urgency = base + extra * (low_conf - crit.confidence) / low_conf
                reasons.append((urgency, f"low confidence in auto-fail check: {card.name}: {crit.name}"))
        if card.score is not None and not card.auto_failed and card.score < low_score:
            base, extra = LOW_SCORE
            urgency = base + extra * (low_score - card.score) / max(low_score, 1e-9)
            reasons.append((urgency, f"low score: {card.name} {card.score:g}/100"))
        if card.confidence < low_conf:
            base, extra = LOW_CONFIDENCE
            urgency = base + extra * (low_conf - card.confidence) / low_conf
            reasons.append((urgency, f"low confidence: {card.name} {card.confidence:.2f}"))
    complaint = behaviours.get("complaint")
    if complaint is not None and complaint.present:
        reasons.append((COMPLAINT, "complaint call"))

    reasons.sort(key=lambda r: -r[0])
    remaining = 1.0
    for urgency, _ in reasons:
        remaining *= 1.0 - min(1.0, urgency)
    return ReviewPriority(
        needs_review=bool(reasons),
        priority=round(1.0 - remaining, 3),
        reasons=[text for _, text in reasons],
    )
