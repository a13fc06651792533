"""Turn a ScoredCall document into automatic scorecard rows.

One place for the mapping, so the batch and anything else that stores scored calls (the web
fixtures and demo seeding) write exactly the same rows.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection

from qa_scoring.scored_call import ScoredCall
from qa_scoring.store.models import CriterionResult, Scorecard


def scorecard_rows(
    scored: ScoredCall,
    *,
    call_id: int,
    transcript_id: int,
    transcript_version: int,
    rubrics: Collection[str] | None = None,
) -> list[Scorecard]:
    """The automatic scorecards of ``scored`` (only ``rubrics`` when given), ready to add."""
    return [
        Scorecard(
            call_id=call_id,
            transcript_id=transcript_id,
            transcript_version=transcript_version,
            rubric_id=card.rubric_id,
            rubric_name=card.name,
            rubric_version=str(card.version),
            score=card.score,
            applicable=card.applicable,
            auto_failed=card.auto_failed,
            confidence=card.confidence,
            criteria=[
                CriterionResult(
                    position=i,
                    criterion_id=c.id,
                    name=c.name,
                    result=c.result,
                    weight=c.weight,
                    confidence=c.confidence,
                    auto_fail=c.auto_fail,
                    reason=c.reason,
                    evidence=[dataclasses.asdict(e) for e in c.evidence],
                )
                for i, c in enumerate(card.criteria)
            ],
        )
        for card in scored.scorecards.values()
        if not rubrics or card.rubric_id in rubrics
    ]
