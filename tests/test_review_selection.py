"""Review selection: one rule, one wording per reason, a share cap, a repeatable sample, every agent."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest
from sqlalchemy import select

from qa_scoring.batch.report import build_report, format_text
from qa_scoring.config import load_settings
from qa_scoring.review import batch_pass as bp
from qa_scoring.review import selection as rs
from qa_scoring.rubric.evaluate import evaluate
from qa_scoring.rubric.metrics import CallMetrics
from qa_scoring.rubric.rubric import parse_rubric
from qa_scoring.scored_call import (
    BehaviourResult,
    CriterionResult,
    ReviewPriority,
    ScorecardResult,
    ScoredCall,
)
from qa_scoring.store.db import session_factory
from qa_scoring.store.models import Agent, BatchRun, Call, Job

SETTINGS = replace(
    load_settings(environ={}), review_sample_rate=0.2, review_low_score=60, review_max_share=0.3
)
NO_SAMPLE = replace(SETTINGS, review_sample_rate=0)


def _crit(cid: str, result: str = "pass", auto_fail: bool = False, open_: bool = False) -> CriterionResult:
    return CriterionResult(cid, cid.title(), result, 1.0, 0.9, auto_fail=auto_fail, needs_decision=open_)  # type: ignore[arg-type]


def _card(
    rid: str = "rater",
    name: str = "RATER",
    score: float | None = 85.0,
    criteria: list[CriterionResult] | None = None,
) -> ScorecardResult:
    auto_failed = any(c.auto_fail and c.result == "fail" for c in criteria or [])
    return ScorecardResult(
        rid, name, "1", score is not None, 0.0 if auto_failed else score, auto_failed, 0.9, criteria or []
    )


def _scored(*cards: ScorecardResult, complaint: bool = False, vulnerable: bool = False) -> ScoredCall:
    behaviours = {
        "complaint": BehaviourResult(complaint, 0.9, probability=0.9 if complaint else 0.1),
        "vulnerability": BehaviourResult(vulnerable, 0.9, probability=0.9 if vulnerable else 0.1),
    }
    return ScoredCall(
        "c", behaviours, {}, {c.rubric_id: c for c in cards or [_card()]}, ReviewPriority(False, 0.0)
    )


def _sha(i: int) -> str:
    return hashlib.sha256(str(i).encode()).hexdigest()


def _reasons(scored: ScoredCall, rubrics: list[str] | None = None) -> list[str]:
    return rs.decide(scored, _sha(1), NO_SAMPLE, rubrics).reasons


def test_each_reason_has_one_wording() -> None:
    compliance = "uk_compliance", "UK compliance"
    sure = _card(*compliance, 100, [_crit("identity", "fail", auto_fail=True)])
    assert _reasons(_scored(sure)) == ["auto-fail: UK compliance (Identity)"]
    # An auto-fail resting on an uncertain behaviour is a decision for the reviewer, not an auto-fail.
    unsure = _card(*compliance, 100, [_crit("identity", "fail", auto_fail=True, open_=True)])
    assert _reasons(_scored(unsure)) == ["needs a decision: 1 criterion"]
    two_open = _card(criteria=[_crit("a", open_=True), _crit("b", "fail", open_=True), _crit("c")])
    assert _reasons(_scored(two_open)) == ["needs a decision: 2 criteria"]
    assert _reasons(_scored(complaint=True)) == ["complaint call"]
    low = [_card("rater", "RATER", 33.3), _card("lass", "LASS", 59.6), _card("later", "LATER", 60.0)]
    assert _reasons(_scored(*low)) == ["low score: RATER 33, LASS 59"]  # one formula: under 60
    lower = [*low, _card("default", "Quality", 12.5), _card("lass5", "LASS 5", 40)]
    assert _reasons(_scored(*lower)) == ["low score: Quality 12, RATER 33 (+2 more)"]  # worst first
    assert _reasons(_scored(*low), rubrics=["later"]) == []  # only the batch's rubrics count
    assert _reasons(_scored(_card(score=None))) == []  # a card that does not apply
    for text, kind in [
        ("auto-fail: UK compliance (Identity)", rs.AUTO_FAIL),
        ("needs a decision: 2 criteria", rs.NEEDS_DECISION),
        ("complaint call", rs.COMPLAINT),
        ("low score: RATER 33, LASS 59", rs.LOW_SCORE),
        ("random sample", rs.SAMPLE),
        ("random sample: one call per agent", rs.SAMPLE),
        ("low score: RATER 33.3/100", rs.LOW_SCORE),  # older wordings still count once
        ("low confidence: rater 0.30", "low confidence"),
    ]:
        assert rs.kind_of(text) == kind, text


def test_scorer_and_batch_give_the_same_single_wording() -> None:
    """The scorer's ScoredCall.review and the batch's decision come from the one rule."""
    rubric = parse_rubric(
        "id: t\nname: T\nsections:\n  - id: s\n    name: S\n    criteria:\n"
        "      - {id: sorry, name: Apologised, all: [apology]}\n"
        "      - {id: card, name: No card read back, metric: agent_card_numbers, max: 0, auto_fail: true}\n",
        "t.yaml",
    )
    behaviours = {
        "apology": BehaviourResult(False, 0.9, probability=0.1),
        "complaint": BehaviourResult(True, 0.9, probability=0.9),
    }
    metrics = CallMetrics({"agent_card_numbers": 0}, {})
    cards = {"t": evaluate(rubric, behaviours, metrics)}  # apology missing: 50 < 60
    review = rs.review_priority(cards, behaviours, SETTINGS)
    scored = ScoredCall("c", behaviours, {}, cards, review)
    decision = rs.decide(scored, _sha(1), SETTINGS)
    assert review.reasons == decision.reasons == ["complaint call", "low score: T 50"]
    assert review.priority == decision.priority
    failed = {"t": evaluate(rubric, behaviours, CallMetrics({"agent_card_numbers": 2}, {}))}
    assert rs.review_priority(failed, behaviours, SETTINGS).reasons == [
        "auto-fail: T (No card read back)",
        "complaint call",
    ]  # the zeroed card is not also a low score


def test_a_score_open_decisions_could_lift_is_a_decision_not_a_low_score() -> None:
    # A complaint card on a call that may not be a complaint: every criterion is open, so the reviewer
    # decides it; its pre-score of 17 is not yet a low score.
    undecided = _card(
        "lass", "LASS", 17, [_crit("a", open_=True), *[_crit(f"f{i}", "fail", open_=True) for i in range(5)]]
    )
    assert _reasons(_scored(undecided)) == ["needs a decision: 6 criteria"]
    # Low whatever the open criterion turns out to be, so deciding it changes nothing: a low score only.
    sure_low = _card(
        "rater", "RATER", 20, [_crit("a", open_=True), *[_crit(f"f{i}", "fail") for i in range(4)]]
    )
    assert _reasons(_scored(sure_low)) == ["low score: RATER 20"]
    assert rs.score_range(sure_low) == (0.0, 20.0)
    # A complaint card on a call whose complaint is uncertain: whether it applies is the decision.
    maybe = replace(
        _card("lass", "LASS", 20, [_crit("a"), *[_crit(f"f{i}", "fail") for i in range(4)]]),
        applies_confidence=0.5,
    )
    unsure = _scored(maybe, complaint=True)
    unsure.behaviours["complaint"] = BehaviourResult(True, 0.5, probability=0.5, needs_decision=True)
    assert _reasons(unsure) == ["needs a decision: whether it is a complaint"]
    assert _reasons(_scored(replace(maybe, applies_confidence=0.9))) == ["low score: LASS 20"]


def test_urgency_order() -> None:
    everything = _scored(
        _card("uk", "UK", 100, [_crit("id", "fail", auto_fail=True)]),
        _card("rater", "RATER", 20, [_crit("a"), *[_crit(f"f{i}", "fail") for i in range(4)]]),
        _card("lass", "LASS", 100, [_crit("b", "fail", auto_fail=True, open_=True)]),
        complaint=True,
        vulnerable=True,
    )
    kinds = [rs.kind_of(r) for r in _reasons(everything)]
    assert kinds == [rs.AUTO_FAIL, rs.VULNERABLE, rs.NEEDS_DECISION, rs.COMPLAINT, rs.LOW_SCORE]

    def prio(scored: ScoredCall) -> float:
        return rs.decide(scored, _sha(1), NO_SAMPLE).priority

    auto_fail = prio(_scored(_card(criteria=[_crit("id", "fail", auto_fail=True)])))
    # Every reason but an auto-fail, each at its worst, still ranks below a bare auto-fail.
    many_open = [_crit(f"c{i}", open_=True) for i in range(20)]
    below_auto = prio(_scored(_card(score=0.0, criteria=many_open), complaint=True, vulnerable=True))
    vulnerable = prio(_scored(vulnerable=True))
    below_vulnerable = prio(_scored(_card(score=0.0, criteria=many_open), complaint=True))
    one_open = prio(_scored(_card(criteria=[_crit("a", open_=True)])))
    complaint_low = prio(_scored(_card(score=0.0), complaint=True))
    complaint = prio(_scored(complaint=True))
    lowest = prio(_scored(_card(score=0.0)))
    low = prio(_scored(_card(score=50.0)))
    sampled = rs.decide(
        _scored(), next(_sha(i) for i in range(100) if rs.sample_draw(_sha(i)) < 0.2), SETTINGS
    )
    assert auto_fail > below_auto > vulnerable > below_vulnerable > one_open > complaint_low > complaint
    assert complaint > lowest > low > sampled.priority > 0
    assert auto_fail <= 1.0 and sampled.reasons == [rs.SAMPLE] and sampled.sampled


def test_random_sample_is_repeatable_and_close_to_the_rate() -> None:
    draws = [rs.decide(_scored(), _sha(i), SETTINGS) for i in range(2000)]
    again = [rs.decide(_scored(), _sha(i), SETTINGS) for i in range(2000)]
    assert [d.sampled for d in draws] == [d.sampled for d in again]
    rate = sum(d.sampled for d in draws) / len(draws)
    assert 0.17 < rate < 0.23, rate
    assert all(d.reasons == [rs.SAMPLE] for d in draws if d.sampled)
    assert not any(rs.decide(_scored(), _sha(i), NO_SAMPLE).needs_review for i in range(200))
    # A call flagged for a reason is not also drawn: the sample is of the otherwise-unflagged calls.
    assert not any(rs.decide(_scored(complaint=True), _sha(i), SETTINGS).sampled for i in range(200))


def _call(i: int, agent: Agent, decision: rs.ReviewDecision) -> Call:
    call = Call(audio_path=f"/{i}.wav", content_sha256=_sha(i), size_bytes=1, agent=agent, status="scored")
    bp.apply(call, decision)
    return call


def _decision(kind: str, priority: float, sampled: bool = False) -> rs.ReviewDecision:
    return rs.ReviewDecision(True, priority, [rs.Reason(kind, "x").text], sampled=sampled)


@pytest.mark.parametrize("share, kept_low", [(0.3, 0), (0.6, 2), (1.0, 6)])
def test_share_cap_keeps_auto_fails_vulnerable_customers_and_the_sample(
    sqlite_url: str, share: float, kept_low: int
) -> None:
    factory = session_factory(sqlite_url)
    with factory.begin() as s:
        agent = Agent(external_id="A")
        calls = [_call(i, agent, _decision(rs.AUTO_FAIL, 0.85)) for i in range(2)]
        calls.append(_call(2, agent, _decision(rs.VULNERABLE, 0.7)))
        calls.append(_call(3, agent, _decision(rs.SAMPLE, 0.1, sampled=True)))
        calls += [_call(4 + i, agent, _decision(rs.LOW_SCORE, 0.2 + 0.01 * i)) for i in range(6)]
        s.add_all(calls)
    settings = replace(SETTINGS, review_max_share=share)
    with factory.begin() as s:
        ids = list(s.scalars(select(Call.id).order_by(Call.id)))
        unflagged = bp.cap_share(s, ids, settings)
        assert bp.cap_share(s, ids, settings) == []  # capping twice changes nothing more
    with factory() as s:
        rows = {c.id: c for c in s.scalars(select(Call))}
        flagged = [c for c in rows.values() if c.needs_review]
        assert all(rows[i].needs_review for i in ids[:4])  # auto-fails, the vulnerable and the sample stay
        assert len(flagged) == 4 + kept_low and len(unflagged) == 6 - kept_low
        # The lowest priorities go first; their reasons stay on the call for the record.
        kept = sorted((c.review_priority for c in flagged if not c.flagged_by_sample), reverse=True)
        assert all(rows[i].review_priority < min(kept) for i in unflagged)
        assert all(rows[i].review_reasons for i in unflagged)


def test_every_agent_gets_a_review_after_the_cap(sqlite_url: str) -> None:
    factory = session_factory(sqlite_url)
    with factory.begin() as s:
        agents = [Agent(external_id=f"A{i}") for i in range(3)]
        calls = [_call(i, agents[i % 3], rs.ReviewDecision(False, 0.0)) for i in range(9)]
        bp.apply(calls[0], _decision(rs.AUTO_FAIL, 0.8))  # agent A0 has one the cap never drops
        bp.apply(calls[1], _decision(rs.LOW_SCORE, 0.3))  # A1's only flag, beyond a share of 0
        s.add_all(calls)
    settings = replace(SETTINGS, review_max_share=0.0, review_top_up_min_calls=3)
    with factory.begin() as s:
        ids = list(s.scalars(select(Call.id)))
        # agents with fewer calls in the batch than the minimum are left to the sample
        assert bp.top_up_agents(s, ids, replace(settings, review_top_up_min_calls=4)) == []
        result = bp.finish_batch(s, ids, settings)
        low = s.scalar(select(Call.id).where(Call.content_sha256 == _sha(1)))
        assert result.unflagged_by_cap == [low] and len(result.topped_up) == 2
        assert bp.top_up_agents(s, ids, settings) == []  # repeatable: nothing more to add
    with factory() as s:
        for agent in s.scalars(select(Agent)):
            assert any(c.needs_review for c in agent.calls), agent.external_id
        for call in s.scalars(select(Call).where(Call.id.in_(result.topped_up))):
            assert call.flagged_by_sample and call.review_reasons[-1] == "random sample: one call per agent"


def test_batch_report_counts_calls_not_reasons(sqlite_url: str) -> None:
    factory = session_factory(sqlite_url)
    reasons = [
        ["auto-fail: UK (Identity)", "complaint call", "low score: RATER 33"],
        ["complaint call", "low score: RATER 33.3/100", "low score: rater 33"],  # an older, doubled wording
        ["needs a decision: 2 criteria", "low score: RATER 40, LASS 50"],
        ["random sample"],
        [],
    ]
    with factory.begin() as s:
        agent = Agent(external_id="A")
        run = BatchRun()
        s.add(run)
        for i, texts in enumerate(reasons):
            call = _call(
                i, agent, rs.ReviewDecision(bool(texts), 0.5, texts, sampled=texts == ["random sample"])
            )
            s.add_all([call, Job(batch_run=run, call=call, state="done", audio_seconds=60.0)])
        s.flush()
        run_id = run.id
        report = build_report(
            s, run_id, 10.0, settings=SETTINGS, review=bp.BatchReview(unflagged_by_cap=[99, 98])
        )
    review = report["review"]
    assert (review["flagged"], review["scored"], review["share"]) == (4, 5, 0.8)
    assert review["calls_by_reason"] == {
        rs.AUTO_FAIL: 1,
        rs.NEEDS_DECISION: 1,
        rs.COMPLAINT: 2,
        rs.LOW_SCORE: 3,
        rs.SAMPLE: 1,
    }
    text = format_text(report).splitlines()
    at = text.index(
        "review: 4 of 5 calls flagged for review (80%); calls per reason (a call may have several):"
    )
    assert text[at + 1 :] == [
        "  1 call: auto-fail",
        "  1 call: needs a decision",
        "  2 calls: complaint call",
        "  3 calls: low score",
        "  1 call: random sample",
        "  share cap (review_max_share 0.3): 2 calls unflagged; per-agent top-up: 0 calls added",
    ]


def test_only_uncertain_criteria_that_could_change_an_outcome_need_a_decision() -> None:
    # Nine sure passes and one uncertain criterion: either way the card scores 90 or 100, over 60.
    settled = _card(criteria=[_crit(f"c{i}") for i in range(9)] + [_crit("open", "fail", open_=True)])
    assert _reasons(_scored(settled)) == []
    # The same uncertain criterion on a card it could pull under 60 is the reviewer's to decide.
    close = _card(score=50, criteria=[_crit("a"), _crit("b", "fail"), _crit("open", "fail", open_=True)])
    assert _reasons(_scored(close))[0] == "needs a decision: 1 criterion"
    # An uncertain auto-fail criterion always matters, passing or not.
    guard = _card(criteria=[_crit(f"c{i}") for i in range(9)] + [_crit("id", auto_fail=True, open_=True)])
    assert _reasons(_scored(guard)) == ["needs a decision: 1 criterion"]


def test_an_uncertain_complaint_is_a_decision_not_a_complaint_call() -> None:
    scored = _scored()
    scored.behaviours["complaint"] = BehaviourResult(True, 0.6, probability=0.6, needs_decision=True)
    assert _reasons(scored) == ["needs a decision: whether it is a complaint"]


def test_sure_signs_of_vulnerability_flag_the_call_and_unsure_ones_are_a_decision() -> None:
    assert _reasons(_scored(vulnerable=True)) == ["vulnerable customer"]
    unsure = _scored()
    unsure.behaviours["vulnerability"] = BehaviourResult(True, 0.6, probability=0.4, needs_decision=True)
    assert _reasons(unsure) == ["needs a decision: whether the customer is vulnerable"]
