"""Apply a rubric to one call's behaviours and metrics: criterion results, then the 0-100 score.

Semantics (the contract ``rubrics/README.md`` documents):

- a criterion whose ``applies_when`` does not hold, or whose metric could not be measured (an
  untimed transcript), is ``na`` and leaves the score;
- it passes when its test holds, is ``partial`` when only its ``partial`` test holds, else fails;
- score = 100 x sum(weight x value) / sum(weight) over applicable criteria, value pass 1,
  partial 0.5, fail 0; a failed ``auto_fail`` criterion makes the score 0 and ``auto_failed`` true;
- confidence comes from the behaviour confidences the decision rests on (metrics are measured,
  so they count as certain); a criterion less sure than ``DECISION_CONFIDENCE`` needs a reviewer's
  decision; evidence is the behaviours' evidence plus the metric's moment.
"""

from __future__ import annotations

from collections.abc import Iterable

from qa_scoring.rubric.metrics import METRICS, CallMetrics
from qa_scoring.rubric.rubric import Condition, Criterion, Rubric, Test
from qa_scoring.scored_call import (
    DECISION_CONFIDENCE,
    BehaviourResult,
    CriterionResult,
    Evidence,
    ScorecardResult,
)

VALUES = {"pass": 1.0, "partial": 0.5, "fail": 0.0}
# A behaviour the detector did not report counts as absent, and as a decision nobody is sure of.
_MISSING = BehaviourResult(present=False, confidence=0.0)


def _within(value: float, low: float | None, high: float | None) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)


def _bounds_text(low: float | None, high: float | None) -> str:
    if low is not None and high is not None:
        return f"{low:g}..{high:g}"
    return f"min {low:g}" if low is not None else f"max {high:g}"


class _Call:
    """One call's behaviours and metrics, with the lookups evaluation needs."""

    def __init__(
        self,
        behaviours: dict[str, BehaviourResult],
        metrics: CallMetrics,
        phrases: dict[str, BehaviourResult] | None = None,
        rubric_id: str = "",
    ):
        self.behaviours = behaviours
        self.metrics = metrics
        self.phrases = phrases or {}
        self.rubric_id = rubric_id

    def said(self, criterion: Criterion) -> tuple[bool, float, list[str], list[Evidence]]:
        """A criterion in plain words: whether its phrases were said (``phrase_key``)."""
        result = self.phrases.get(phrase_key(self.rubric_id, criterion.id), _MISSING)
        who = criterion.says.who if criterion.says else "speaker"
        reason = f"{who} said it" if result.present else f"not said by the {who}"
        return result.present, result.confidence, [reason], list(result.evidence if result.present else ())

    def behaviour(self, bid: str) -> BehaviourResult:
        return self.behaviours.get(bid, _MISSING)

    def metric(self, mid: str) -> float | int | None:
        return self.metrics.values.get(mid)

    def conditions_hold(self, conditions: tuple[Condition, ...]) -> tuple[bool, float, str]:
        """(all hold, confidence of that decision, why not)."""
        confidence = 1.0
        for cond in conditions:
            if cond.behaviour is not None:
                result = self.behaviour(cond.behaviour)
                confidence = min(confidence, result.confidence)
                if result.present != cond.present:
                    state = "not present" if cond.present else "present"
                    return False, confidence, f"does not apply: {cond.behaviour} {state}"
            elif cond.metric is not None:
                value = self.metric(cond.metric)
                if value is None:
                    return False, confidence, f"does not apply: {cond.metric} not available"
                if not _within(value, cond.min, cond.max):
                    bounds = _bounds_text(cond.min, cond.max)
                    return False, confidence, f"does not apply: {cond.metric} {value:g} outside {bounds}"
        return True, confidence, ""

    def run(self, test: Test) -> tuple[bool | None, float, list[str], list[Evidence]]:
        """(passed, or None when its metric is unmeasured; confidence; reason parts; evidence)."""
        passed = True
        confidences: list[float] = []
        reasons: list[str] = []
        evidence: list[Evidence] = []
        for bid in test.all:
            result = self.behaviour(bid)
            confidences.append(result.confidence)
            reasons.append(f"{bid} {'present' if result.present else 'missing'}")
            passed &= result.present
            evidence.extend(result.evidence if result.present else ())
        if test.any:
            present = [b for b in test.any if self.behaviour(b).present]
            if present:
                confidences.append(max(self.behaviour(b).confidence for b in present))
                reasons.append(f"{' or '.join(test.any)}: {', '.join(present)} present")
                for bid in present:
                    evidence.extend(self.behaviour(bid).evidence)
            else:
                confidences.append(min(self.behaviour(b).confidence for b in test.any))
                reasons.append(f"none of {', '.join(test.any)}")
                passed = False
        for bid in test.absent:
            result = self.behaviour(bid)
            confidences.append(result.confidence)
            if result.present:
                reasons.append(f"{bid} present")
                evidence.extend(result.evidence)
                passed = False
            else:
                reasons.append(f"no {bid}")
        if test.metric is not None:
            value = self.metric(test.metric)
            if value is None:
                return None, 1.0, [f"{test.metric} not available (untimed transcript)"], []
            unit = METRICS[test.metric].unit if test.metric in METRICS else ""
            unit = f" {unit}" if unit in ("s", "wpm") else ""
            ok = _within(value, test.min, test.max)
            verdict = "within" if ok else "outside"
            reasons.append(f"{test.metric} {value:g}{unit} ({verdict} {_bounds_text(test.min, test.max)})")
            passed &= ok
            evidence.extend(self.metrics.evidence.get(test.metric, ()))
        return passed, min(confidences, default=1.0), reasons, evidence


def evaluate_criterion(criterion: Criterion, call: _Call) -> CriterionResult:
    def result(outcome: str, confidence: float, reason: str, evidence: list[Evidence] | None = None):
        return CriterionResult(
            id=criterion.id,
            name=criterion.name,
            result=outcome,  # type: ignore[arg-type]
            weight=criterion.weight,
            confidence=round(confidence, 3),
            evidence=_dedupe(evidence or []),
            auto_fail=criterion.auto_fail,
            reason=reason,
            needs_decision=confidence < DECISION_CONFIDENCE,
        )

    applies, app_conf, why_not = call.conditions_hold(criterion.applies_when)
    if not applies:
        return result("na", app_conf, why_not)
    passed, confidence, reasons, evidence = call.run(criterion.test)
    if criterion.says is not None and passed is not None:
        said, said_conf, said_reasons, said_evidence = call.said(criterion)
        passed &= said
        confidence = min(confidence, said_conf)
        reasons, evidence = said_reasons + reasons, said_evidence + evidence
    confidence = min(confidence, app_conf)
    if passed is None:
        return result("na", confidence, "; ".join(reasons))
    if passed:
        return result("pass", confidence, "; ".join(reasons), evidence)
    if criterion.partial is not None:
        p_passed, p_conf, p_reasons, p_evidence = call.run(criterion.partial)
        if p_passed:
            return result(
                "partial", min(confidence, p_conf), "; ".join(reasons) + " - partly: " + "; ".join(p_reasons),
                evidence + p_evidence,
            )  # fmt: skip
    return result("fail", confidence, "; ".join(reasons), evidence)


def rubric_score(criteria: Iterable[tuple[float, str, bool]]) -> float | None:
    """The 0-100 score of (weight, result, auto_fail) criteria; the one formula for automatic and
    human results alike. None when no criterion applies."""
    scored = [(weight, result, auto_fail) for weight, result, auto_fail in criteria if result != "na"]
    total = sum(weight for weight, _, _ in scored)
    if not scored or total <= 0:
        return None
    if any(auto_fail and result == "fail" for _, result, auto_fail in scored):
        return 0.0
    return round(100.0 * sum(weight * VALUES[result] for weight, result, _ in scored) / total, 1)


def phrase_key(rubric_id: str, criterion_id: str) -> str:
    """How a criterion in plain words is named among a call's phrase results."""
    return f"{rubric_id}/{criterion_id}"


def evaluate(
    rubric: Rubric,
    behaviours: dict[str, BehaviourResult],
    metrics: CallMetrics,
    phrases: dict[str, BehaviourResult] | None = None,
) -> ScorecardResult:
    """Score one rubric for one call (``phrases``: its criteria in plain words, by ``phrase_key``)."""
    call = _Call(behaviours, metrics, phrases, rubric.id)
    applies, app_conf, why_not = call.conditions_hold(rubric.applies_when)

    def not_applicable(criteria: list[CriterionResult]) -> ScorecardResult:
        conf = round(app_conf, 3)
        return ScorecardResult(
            rubric.id, rubric.name, rubric.version, False, None, False, conf, criteria, conf
        )

    if not applies:
        return not_applicable(
            [
                CriterionResult(c.id, c.name, "na", c.weight, round(app_conf, 3), [], c.auto_fail, why_not)
                for c in rubric.criteria
            ]
        )
    criteria = [evaluate_criterion(c, call) for c in rubric.criteria]
    scored = [c for c in criteria if c.result != "na"]
    if not scored:
        return not_applicable(criteria)
    total = sum(c.weight for c in scored)
    auto_failed = any(c.auto_fail and c.result == "fail" for c in scored)
    confidence = min(app_conf, sum(c.weight * c.confidence for c in scored) / total)
    return ScorecardResult(
        rubric_id=rubric.id,
        name=rubric.name,
        version=rubric.version,
        applicable=True,
        score=rubric_score((c.weight, c.result, c.auto_fail) for c in criteria),
        auto_failed=auto_failed,
        confidence=round(confidence, 3),
        criteria=criteria,
        applies_confidence=round(app_conf, 3),
    )


def _dedupe(evidence: list[Evidence]) -> list[Evidence]:
    seen: set[tuple] = set()
    unique = []
    for item in sorted(evidence, key=lambda e: e.turn_index):
        key = (item.turn_index, item.quote, item.start, item.end)
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique
