"""Pre-score vs reviewer agreement per behaviour-model version (``qa_scoring.review.agreement``) and
``qa-scoring eval --reviews``.

The kappa and its interval are checked against hand calculations; the grouping against a store
seeded with calls scored by the real Scorer and reviewed through the real review rules
(``qa_scoring.review.decisions``): the standing, superseded, draft and calibration reviews of calls
scored by two model versions, one call re-scored by the newer model after its review, and one call
whose transcript names no model.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, replace
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import shared_path
from sqlalchemy import select
from store_seed import agent_named, store_scored_call

from qa_scoring.cli import main
from qa_scoring.config import get_settings
from qa_scoring.review import agreement as ag
from qa_scoring.review.decisions import Decision, Edit, accept_remaining, decide, submit
from qa_scoring.store.db import session_scope
from qa_scoring.store.models import CalibrationSession, Call, CriterionResult, Review, Scorecard, Transcript
from qa_scoring.store.users import create_user

# --------------------------------------------------------------------------- kappa and its interval


def test_kappa_by_hand_on_a_two_by_two_table() -> None:
    # 20 decisions, pre-score (rows) vs reviewer (columns):
    #                 reviewer pass  reviewer fail
    #   auto pass          10              2        -> 12
    #   auto fail           3              5        ->  8
    #                      13              7
    # observed agreement po = (10 + 5) / 20 = 0.75
    # chance agreement   pe = (12/20)(13/20) + (8/20)(7/20) = 0.39 + 0.14 = 0.53
    # kappa = (po - pe) / (1 - pe) = 0.22 / 0.47 = 0.468085...
    table = [[10, 2, 0], [3, 5, 0], [0, 0, 0]]
    assert ag.cohen_kappa(table) == pytest.approx(0.22 / 0.47, abs=1e-12)
    pairs = [("pass", "pass")] * 10 + [("pass", "fail")] * 2 + [("fail", "pass")] * 3 + [("fail", "fail")] * 5
    assert ag.confusion_table(pairs) == table
    rows = [ag.DecisionRow("v", "r", "c", a, h, "accept" if a == h else "override") for a, h in pairs]
    s = ag.summarise("r", "c", rows)
    assert (s.n, s.agreement, s.overrides) == (20, 0.75, 0.25)
    assert s.kappa == pytest.approx(0.468085, abs=1e-6)
    low, high = s.ci
    assert low < s.kappa < high


def test_kappa_with_three_results_matches_sklearn() -> None:
    from sklearn.metrics import cohen_kappa_score

    pairs = (
        [("pass", "pass")] * 7
        + [("fail", "fail")] * 4
        + [("partial", "partial")] * 2
        + [("pass", "partial")] * 3
        + [("partial", "fail")] * 1
        + [("fail", "pass")] * 2
    )
    expected = cohen_kappa_score([a for a, _ in pairs], [h for _, h in pairs])
    assert ag.cohen_kappa(ag.confusion_table(pairs)) == pytest.approx(expected, abs=1e-12)


def test_bootstrap_interval_agrees_with_the_standard_error_formula() -> None:
    # The 2x2 table above, ten times over (n = 200): same kappa 0.468, and Cohen's large-sample
    # standard error sqrt(po (1 - po) / (n (1 - pe)^2)) = sqrt(0.1875 / (200 * 0.2209)) = 0.0651, so
    # kappa +- 1.96 SE = [0.340, 0.596]. The percentile bootstrap must land close to it.
    table = [[100, 20, 0], [30, 50, 0], [0, 0, 0]]
    kappa = ag.cohen_kappa(table)
    se = math.sqrt(0.75 * 0.25 / (200 * (1 - 0.53) ** 2))
    low, high = ag.kappa_interval(table)
    assert low == pytest.approx(kappa - 1.96 * se, abs=0.02)
    assert high == pytest.approx(kappa + 1.96 * se, abs=0.02)
    assert ag.kappa_interval(table) == (low, high), "a fixed seed gives the same interval every time"
    assert ag.kappa_interval(table, seed=1) != (low, high)


def test_few_decisions_get_a_kappa_but_no_interval_and_undefined_kappa_is_none() -> None:
    few = [
        ag.DecisionRow("v", "r", "c", a, h, "accept")
        for a, h in [("pass", "pass")] * 5 + [("fail", "fail")] * 4
    ]
    s = ag.summarise("r", "c", few)
    assert s.n == 9 and s.too_few and s.ci is None and s.kappa == 1.0
    assert s.to_dict()["kappa_ci"] is None and s.to_dict()["too_few"] is True
    same = [ag.DecisionRow("v", "r", "c", "pass", "pass", "accept")] * 12
    s = ag.summarise("r", "c", same)
    assert (s.agreement, s.kappa, s.ci, s.too_few) == (1.0, None, None, False)
    empty = ag.summarise(None, None, [])
    assert (empty.n, empty.agreement, empty.kappa, empty.overrides) == (0, None, None, None)


def test_behaviour_version_reads_the_scoring_models_block() -> None:
    assert ag.behaviour_version({"scoring": {"behaviours": {"version": "0.1.0+abc"}}}) == "0.1.0+abc"
    for missing in (None, {}, {"scoring": {}}, {"scoring": {"behaviours": "x"}}, {"asr": {"version": "1"}}):
        assert ag.behaviour_version(missing) == "unknown"


def test_grouping_skips_decisions_without_a_comparable_pre_score() -> None:
    when = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    rows = [
        ag.DecisionRow("new", "r", "a", "pass", "pass", "accept", when + dt.timedelta(days=30)),
        ag.DecisionRow("old", "r", "a", "pass", "fail", "override", when),
        ag.DecisionRow("old", "r", "b", "fail", "fail", "accept", when),
        ag.DecisionRow("old", "r", "b", None, "pass", "override", when),  # no pre-score
        ag.DecisionRow("old", "r", "c", "na", "na", "accept", when),  # not applicable
        ag.DecisionRow("old", "r", "c", "pass", "na", "override", when),
        ag.DecisionRow("unknown", "r", "a", "pass", "pass", "accept"),
        ag.DecisionRow("only-na", "r", "a", "na", "na", "accept", when),
    ]
    versions = ag.agreement_by_version(rows)
    assert [v.version for v in versions] == ["old", "only-na", "new", "unknown"]
    old = versions[0]
    assert (old.overall.n, old.skipped, old.overall.agreement, old.overall.overrides) == (2, 3, 0.5, 0.5)
    assert [(c.criterion_id, c.n) for c in old.criteria] == [("a", 1), ("b", 1)]
    assert versions[1].overall.n == 0 and versions[1].skipped == 1 and versions[1].criteria == []


# --------------------------------------------------------------------------- a real seeded store


@dataclass
class Seeded:
    # (automatic, human, decision) of every usable decision expected per version
    expected: dict[str, list[tuple[str, str, str]]]
    overridden: tuple[str, str]  # the criterion overridden in the counted v1 review


@pytest.fixture(scope="module")
def scored_calls() -> list[tuple[dict[str, Any], Any]]:
    from qa_scoring.scorer import Scorer
    from qa_scoring.transcript import Transcript as Doc

    scorer = Scorer.load()
    out = []
    for name in ("dev-003", "dev-010"):
        data = json.loads(shared_path("data", "calls", "dev", f"{name}.json").read_text(encoding="utf-8"))
        doc = Doc.from_dict(data)
        out.append((doc.to_dict(), scorer.score(doc)))
    return out


def _with_version(scored: Any, version: str | None) -> Any:
    models = dict(scored.models)
    if version is None:
        return replace(scored, models={})
    return replace(scored, models={**models, "behaviours": {**models["behaviours"], "version": version}})


def _review_all(session, call: Call, user, override: tuple[str, str, str] | None = None, calibration=None):
    """``user`` overrides one criterion (rubric, criterion, result), accepts the rest and submits."""
    edit = Edit(None, None, calibration)
    review = None
    if override:
        rubric_id, criterion_id, result = override
        review = decide(
            session, call, user, edit, Decision(rubric_id, criterion_id, "override", result, "wrong")
        )
        edit = Edit(review.id, review.version_id, calibration)
    review, _ = accept_remaining(session, call, user, edit)
    return submit(session, call, user, Edit(review.id, review.version_id, calibration))


def _passed_criterion(session, call: Call) -> tuple[str, str]:
    rubric_id, criterion_id = session.execute(
        select(Scorecard.rubric_id, CriterionResult.criterion_id)
        .join(Scorecard)
        .where(Scorecard.call_id == call.id, Scorecard.applicable, CriterionResult.result == "pass")
        .order_by(Scorecard.rubric_id, CriterionResult.position)
    ).first()
    return rubric_id, criterion_id


def _usable(review: Review) -> list[tuple[str, str, str]]:
    return [
        (d.automatic_result, d.human_result, d.decision)
        for d in review.decisions
        if d.automatic_result in ("pass", "fail", "partial") and d.human_result in ("pass", "fail", "partial")
    ]


def seed_store(url: str, scored_calls) -> Seeded:
    """v1 scored two calls, v2 two more, and one call's transcript names no model:

    - v1 call A: reviewed with one override (counted). v1 call B: accepted, then re-scored by v2 -
      its review still counts for v1, the model of the transcript its reviewer saw.
    - v2 call C: "qa" overrides a criterion, then "qa2" reviews it again accepting everything: only
      the standing second review counts. v2 call D: accepted; "qa2" has a draft override on it and
      both officers override in a blind calibration session on it - neither counts.
    """
    base = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    with session_scope(url) as session:
        qa = create_user(session, "qa", "qa-test-password", "qa_officer")
        qa2 = create_user(session, "qa2", "qa2-test-password", "qa_officer")
        agent = agent_named(session, "A100", "Sarah Jones", "Team A")
        session.flush()

        def call(i: int, version: str | None, days: int) -> Call:
            document, scored = scored_calls[i % 2]
            made = store_scored_call(
                session,
                document=document,
                scored=_with_version(scored, version),
                agent=agent,
                external_id=f"call-{version}-{i}",
            )
            made.transcripts[0].created_at = base + dt.timedelta(days=days)
            return made

        a, b, c, d = call(0, "v1", 0), call(1, "v1", 1), call(0, "v2", 30), call(1, "v2", 31)
        u = call(0, None, 40)
        session.flush()

        overridden = _passed_criterion(session, a)
        counted_a = _review_all(session, a, qa, (*overridden, "fail"))
        counted_b = _review_all(session, b, qa)
        rescored = Transcript(
            call_id=b.id,
            version=2,
            document=b.transcripts[0].document,
            scoring=b.transcripts[0].scoring,
            model_versions={"scoring": _with_version(scored_calls[1][1], "v2").models},
        )
        session.add(rescored)

        superseded = _review_all(session, c, qa, (*_passed_criterion(session, c), "fail"))
        counted_c = _review_all(session, c, qa2)
        session.refresh(superseded)
        assert superseded.status == "submitted" and not superseded.standing
        counted_d = _review_all(session, d, qa)
        draft = decide(
            session,
            d,
            qa2,
            Edit(None, None),
            Decision(*_passed_criterion(session, d), "override", "fail", "no"),
        )
        assert draft.status == "draft"
        calibration = CalibrationSession(name="March", calls=[d], members=[qa, qa2])
        session.add(calibration)
        session.flush()
        practice = _review_all(session, d, qa, (*_passed_criterion(session, d), "partial"), calibration.id)
        assert practice.status == "submitted" and practice.calibration_session_id == calibration.id
        counted_u = _review_all(session, u, qa)

        expected = {
            "v1": _usable(counted_a) + _usable(counted_b),
            "v2": _usable(counted_c) + _usable(counted_d),
            "unknown": _usable(counted_u),
        }
    return Seeded(expected, overridden)


def _check(versions: list[ag.VersionAgreement], seeded: Seeded) -> None:
    assert [v.version for v in versions] == ["v1", "v2", "unknown"]
    for v in versions:
        pairs = seeded.expected[v.version]
        assert v.overall.n == len(pairs) > 0
        assert v.overall.agreement == pytest.approx(sum(a == h for a, h, _ in pairs) / len(pairs))
        assert v.overall.overrides == pytest.approx(sum(x == "override" for _, _, x in pairs) / len(pairs))
        assert v.skipped > 0, "the not-applicable criteria of the scorecards are skipped"
        assert sum(c.n for c in v.criteria) == v.overall.n
    v1, v2, _ = versions
    assert v1.overall.overrides == pytest.approx(1 / v1.overall.n), "one override counted under v1"
    (row,) = [c for c in v1.criteria if (c.rubric_id, c.criterion_id) == seeded.overridden]
    assert row.overrides == pytest.approx(1 / row.n) and row.agreement == pytest.approx(1 - 1 / row.n)
    # v2: the superseded review's, the draft's and the calibration review's overrides do not count.
    assert (v2.overall.agreement, v2.overall.overrides) == (1.0, 0.0)
    assert all(c.overrides == 0.0 for c in v2.criteria)
    assert v1.first_scored < v2.first_scored


def test_agreement_grouped_by_the_model_that_scored_the_reviewed_transcript(db_url, scored_calls) -> None:
    seeded = seed_store(db_url, scored_calls)
    with session_scope(db_url) as session:
        versions = ag.review_agreement(session)
    _check(versions, seeded)


# --------------------------------------------------------------------------- the CLI


@pytest.fixture
def configured_store(sqlite_url: str, monkeypatch):
    monkeypatch.setenv("QA_SCORING_DATABASE_URL", sqlite_url)
    get_settings.cache_clear()
    yield sqlite_url
    get_settings.cache_clear()


def test_eval_reviews_prints_the_table_and_json(configured_store: str, scored_calls) -> None:
    seeded = seed_store(configured_store, scored_calls)
    result = CliRunner().invoke(main, ["eval", "--reviews", "--json"])
    assert result.exit_code == 0, result.output
    output = json.loads(result.output)
    assert [v["version"] for v in output["versions"]] == ["v1", "v2", "unknown"]
    assert output["decisions"] == sum(len(p) for p in seeded.expected.values())
    v1 = output["versions"][0]
    assert v1["overall"]["n"] == len(seeded.expected["v1"])
    assert v1["overall"]["overrides"] == round(1 / v1["overall"]["n"], 3)
    few = [c for c in v1["criteria"] if c["n"] < ag.MIN_DECISIONS]
    assert few and all(c["too_few"] and c["kappa_ci"] is None for c in few)
    if v1["overall"]["n"] >= ag.MIN_DECISIONS and v1["overall"]["kappa"] is not None:
        low, high = v1["overall"]["kappa_ci"]
        assert low <= v1["overall"]["kappa"] <= high

    text = CliRunner().invoke(main, ["eval", "--reviews"])
    assert text.exit_code == 0, text.output
    assert "behaviour model v1, first scored 2026-03-02" in text.output
    assert "kappa [95% CI]" in text.output and "[too few]" in text.output
    lines = text.output.splitlines()
    overall = [line for line in lines if "all criteria" in line]
    assert [line.split()[0] for line in overall] == ["v1", "v2", "unknown"]
    assert overall[0].split()[3] == str(v1["overall"]["n"])
    rubric_id, criterion_id = seeded.overridden
    assert any(line.startswith("v1") and f"{rubric_id}/{criterion_id}" in line for line in lines)


def test_eval_needs_a_labelled_dir_unless_reviews_and_reviews_takes_none(configured_store: str) -> None:
    missing = CliRunner().invoke(main, ["eval"])
    assert missing.exit_code == 2 and "Missing argument 'LABELLED_DIR'" in missing.output
    assert "--reviews" in missing.output
    both = CliRunner().invoke(main, ["eval", "--reviews", "data/labelled"])
    assert both.exit_code == 2 and "takes no LABELLED_DIR" in both.output
    option = CliRunner().invoke(main, ["eval", "--reviews", "--loso", "batch"])
    assert option.exit_code == 2 and "--loso" in option.output
    empty = CliRunner().invoke(main, ["eval", "--reviews"])
    assert empty.exit_code == 0 and "no submitted standing reviews" in empty.output
