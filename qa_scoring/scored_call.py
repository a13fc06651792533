"""The scored-call document: what the rubric engine produces from a transcript.

Like the transcript it is plain, versioned data with one JSON form, so the store, the batch
report and the UI read it without importing the rubric engine. Every automatic decision keeps
its evidence (turn, who, when, the quote) so a reviewer can click it and hear it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

SCHEMA = "qa-scoring/scored-call"
SCHEMA_VERSION = 1

Result = Literal["pass", "fail", "partial", "na"]
# A pre-score less sure than this (the calibrated chance that it is right) is not asserted: it is
# shown as needing a reviewer's decision, for behaviours and the criteria that rest on them.
DECISION_CONFIDENCE = 0.8


@dataclass
class Evidence:
    turn_index: int
    speaker: str  # the role: "agent" | "customer" | "unknown"
    quote: str
    start: float | None = None
    end: float | None = None


@dataclass
class BehaviourResult:
    """Whether a behaviour is in the call.

    ``probability`` is the calibrated chance that the behaviour is present (None where no model gave
    one); ``confidence`` is the chance that ``present`` is right, i.e. ``probability`` or its
    complement. A decision whose confidence falls in the uncertain band ``needs_decision``: a reviewer
    is shown it as open rather than asserted.
    """

    present: bool
    confidence: float
    evidence: list[Evidence] = field(default_factory=list)
    probability: float | None = None
    needs_decision: bool = False


@dataclass
class CriterionResult:
    id: str
    name: str
    result: Result
    weight: float
    confidence: float
    evidence: list[Evidence] = field(default_factory=list)
    auto_fail: bool = False  # an auto-fail criterion that failed zeroes its scorecard
    reason: str = ""
    needs_decision: bool = False  # the pre-score rests on an uncertain behaviour: a reviewer decides


@dataclass
class ScorecardResult:
    rubric_id: str
    name: str
    version: str
    applicable: bool
    score: float | None  # 0-100; None when the scorecard does not apply
    auto_failed: bool = False
    confidence: float = 1.0
    criteria: list[CriterionResult] = field(default_factory=list)
    # How sure the pre-score is that the card applies (or not): its rubric's ``applies_when``. A
    # complaint card on a call that may not be a complaint is scored, but its score is not yet a fact.
    applies_confidence: float = 1.0


@dataclass
class ReviewPriority:
    """How urgently a human should look at this call, and why (most urgent first)."""

    needs_review: bool
    priority: float  # 0 (routine) .. 1 (urgent)
    reasons: list[str] = field(default_factory=list)


@dataclass
class ScoredCall:
    call_id: str
    behaviours: dict[str, BehaviourResult]
    metrics: dict[str, Any]
    scorecards: dict[str, ScorecardResult]
    review: ReviewPriority
    models: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "schema_version": SCHEMA_VERSION, **asdict(self)}

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScoredCall:
        def evidence(items: list[dict[str, Any]]) -> list[Evidence]:
            return [Evidence(**e) for e in items]

        return cls(
            call_id=data["call_id"],
            behaviours={
                k: BehaviourResult(
                    v["present"],
                    v["confidence"],
                    evidence(v.get("evidence", [])),
                    v.get("probability"),
                    bool(v.get("needs_decision", False)),
                )
                for k, v in data["behaviours"].items()
            },
            metrics=data.get("metrics", {}),
            scorecards={
                k: ScorecardResult(
                    **{
                        **{f: v[f] for f in v if f != "criteria"},
                        "criteria": [
                            CriterionResult(**{**c, "evidence": evidence(c.get("evidence", []))})
                            for c in v.get("criteria", [])
                        ],
                    }
                )
                for k, v in data.get("scorecards", {}).items()
            },
            review=ReviewPriority(**data["review"]),
            models=data.get("models", {}),
        )
