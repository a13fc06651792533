"""Scoring semantics: pass/partial/fail/na, weights, auto-fail, applicability, confidence.

Which calls go to review is tested in test_review_selection.py.
"""

from __future__ import annotations

import pytest
from rubric_texts import SECTION

from qa_scoring.rubric.evaluate import evaluate
from qa_scoring.rubric.metrics import CallMetrics
from qa_scoring.rubric.rubric import parse_rubric
from qa_scoring.scored_call import BehaviourResult, CriterionResult, Evidence, ScorecardResult

RUBRIC = parse_rubric(
    "id: t\nname: T\n"
    + SECTION
    + """\
      - id: polite
        name: Polite
        absent: [unprofessional]
      - id: calm
        name: Empathy on complaints
        any: [empathy, active_listening]
        applies_when: {behaviour: complaint}
""",
    "t.yaml",
)
COMPLAINT_ONLY = parse_rubric(
    "name: C\napplies_when: {behaviour: complaint}\nsections:\n  - id: s\n    name: S\n    criteria:\n"
    "      - {id: a, name: A, all: [apology]}\n",
    "c.yaml",
)


def behaviours(*present: str, confidence: float = 0.9) -> dict[str, BehaviourResult]:
    ids = ["apology", "empathy", "unprofessional", "hold_etiquette", "complaint", "active_listening"]
    return {
        b: BehaviourResult(
            b in present, confidence, [Evidence(3, "agent", f"{b} quote")] if b in present else []
        )
        for b in ids
    }


def metrics(**values: float | None) -> CallMetrics:
    base = {"longest_silence": 5.0, "agent_card_numbers": 0, "hold_count": 0}
    return CallMetrics(
        {**base, **values}, {"longest_silence": [Evidence(7, "customer", "[12 s]", 50.0, 62.0)]}
    )


def results(card) -> dict[str, str]:
    return {c.id: c.result for c in card.criteria}


def criterion(card: ScorecardResult, criterion_id: str) -> CriterionResult:
    """One criterion's result by id (the rubric lists the shared criteria before this file's own)."""
    return next(c for c in card.criteria if c.id == criterion_id)


def test_all_pass_scores_100_and_na_criteria_leave_the_score() -> None:
    card = evaluate(RUBRIC, behaviours("apology"), metrics())
    assert results(card) == {
        "sorry": "pass",
        "polite": "pass",
        "quiet": "pass",
        "card": "pass",
        "held": "na",
        "calm": "na",
    }
    assert card.score == 100.0 and card.applicable and not card.auto_failed
    assert criterion(card, "sorry").evidence[0].quote == "apology quote"


def test_weighted_partial_and_fail() -> None:
    card = evaluate(RUBRIC, behaviours("empathy", "unprofessional"), metrics(longest_silence=20.0))
    assert results(card)["sorry"] == "partial" and results(card)["polite"] == "fail"
    assert results(card)["quiet"] == "partial"
    # weights: sorry 2 x 0.5, polite 1 x 0, quiet 1 x 0.5, card 1 x 1  -> 2.5 / 5
    assert card.score == 50.0
    polite = criterion(card, "polite")
    assert polite.evidence[0].quote == "unprofessional quote" and "unprofessional present" in polite.reason
    quiet = criterion(card, "quiet")
    assert quiet.evidence[0].start == 50.0 and "longest_silence 20 s" in quiet.reason


def test_metric_fail_beyond_partial_band() -> None:
    card = evaluate(RUBRIC, behaviours("apology"), metrics(longest_silence=31.0))
    assert results(card)["quiet"] == "fail" and card.score == pytest.approx(100 * 4 / 5)


def test_auto_fail_zeroes_the_score() -> None:
    card = evaluate(RUBRIC, behaviours("apology"), metrics(agent_card_numbers=1))
    assert results(card)["card"] == "fail" and card.auto_failed and card.score == 0.0
    assert criterion(card, "card").auto_fail


def test_applicability_by_metric_and_behaviour() -> None:
    card = evaluate(RUBRIC, behaviours("complaint", "active_listening"), metrics(hold_count=2))
    assert results(card)["held"] == "fail" and results(card)["calm"] == "pass"
    assert "does not apply" in criterion(evaluate(RUBRIC, behaviours(), metrics()), "held").reason


def test_unmeasured_metric_is_not_applicable() -> None:
    card = evaluate(RUBRIC, behaviours("apology"), metrics(longest_silence=None))
    assert results(card)["quiet"] == "na" and "not available" in criterion(card, "quiet").reason
    assert card.score == 100.0


def test_rubric_level_applicability() -> None:
    card = evaluate(COMPLAINT_ONLY, behaviours("apology"), metrics())
    assert not card.applicable and card.score is None and results(card) == {"a": "na"}
    assert evaluate(COMPLAINT_ONLY, behaviours("apology", "complaint"), metrics()).score == 100.0


def test_confidence_comes_from_behaviours() -> None:
    card = evaluate(RUBRIC, behaviours("apology", confidence=0.55), metrics())
    assert (
        criterion(card, "sorry").confidence == 0.55 and criterion(card, "quiet").confidence == 1.0
    )  # metric only
    assert 0.55 < card.confidence < 1.0
