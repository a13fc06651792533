"""The scorer end to end on dev calls (gold tags and the real trained detector) and the CLI commands."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import PROJECT_ROOT, shared_path
from rubric_gold import GoldDetector

from qa_scoring.cli import main
from qa_scoring.config import load_settings
from qa_scoring.rubric.rubric import load_rubrics
from qa_scoring.scored_call import ScoredCall
from qa_scoring.scorer import Scorer
from qa_scoring.transcript import Transcript

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def dev(call: str) -> Path:
    return shared_path("data", "calls", "dev", f"{call}.json")


@pytest.fixture(scope="session")
def real_detector():
    from qa_scoring.behaviours.detector import BehaviourDetector

    settings = load_settings(environ={})
    if not (settings.models_dir / "behaviours" / "metadata.json").is_file():
        pytest.fail(
            f"{settings.models_dir}/behaviours missing: run `make models` and `qa-scoring train` first"
        )
    return BehaviourDetector.load(settings)


@pytest.fixture(scope="session")
def gold_scorer() -> Scorer:
    return Scorer(GoldDetector(shared_path("data", "calls", "dev")), load_rubrics(PROJECT_ROOT / "rubrics"),
                  load_settings(environ={}))  # fmt: skip


def test_gold_scores_follow_the_labels(gold_scorer: Scorer) -> None:
    excellent = gold_scorer.score(Transcript.load(dev("dev-010")))
    assert all(card.score == 100.0 for card in excellent.scorecards.values())
    assert excellent.review.reasons == ["complaint call"]

    routine = gold_scorer.score(Transcript.load(dev("dev-002")))  # not a complaint
    assert not routine.scorecards["later"].applicable and routine.scorecards["later"].score is None
    assert routine.scorecards["rater"].applicable

    poor = gold_scorer.score(Transcript.load(dev("dev-009")))  # rude, no identity check
    assert poor.scorecards["uk_compliance"].auto_failed and poor.scorecards["uk_compliance"].score == 0.0
    assert poor.review.reasons[0].startswith("auto-fail: UK compliance (")
    assert poor.review.priority > excellent.review.priority
    later = {c.id: c for c in poor.scorecards["later"].criteria}
    assert later["resolve"].result == "pass" and later["resolve"].evidence[0].turn_index == 12


def test_hold_etiquette_applies_only_with_a_hold(gold_scorer: Scorer) -> None:
    held = {
        c.id: c.result
        for c in gold_scorer.score(Transcript.load(dev("dev-014"))).scorecards["rater"].criteria
    }
    none = {
        c.id: c.result
        for c in gold_scorer.score(Transcript.load(dev("dev-002"))).scorecards["rater"].criteria
    }
    assert held["hold_etiquette"] == "fail" and none["hold_etiquette"] == "na"


def test_real_detector_end_to_end(real_detector) -> None:
    scorer = Scorer(real_detector, load_rubrics(PROJECT_ROOT / "rubrics"), load_settings(environ={}))
    for call in ("dev-010", "dev-009", "dev-015"):
        scored = scorer.score(Transcript.load(dev(call)))
        again = ScoredCall.from_dict(json.loads(scored.to_json()))
        assert again.to_dict() == scored.to_dict()
        assert set(scored.scorecards) == {
            "rater",
            "later",
            "lass",
            "complaint_5step",
            "uk_compliance",
            "default",
        }
        for card in scored.scorecards.values():
            assert card.score is None or 0.0 <= card.score <= 100.0
            for crit in card.criteria:
                for ev in crit.evidence:
                    # the quote is the turn, or the sentences of a long turn that show it
                    assert ev.quote in " ".join(scored_turn_text(call, ev.turn_index).split())
        assert scored.models["behaviours"]["version"] == real_detector.version
    assert scorer.score(Transcript.load(dev("dev-010"))).scorecards["rater"].score > scorer.score(
        Transcript.load(dev("dev-009"))).scorecards["rater"].score  # fmt: skip


def scored_turn_text(call: str, index: int) -> str:
    return Transcript.load(dev(call)).turns[index].text


@pytest.fixture
def cli_scorer(monkeypatch: pytest.MonkeyPatch, gold_scorer: Scorer):
    """The CLI with the gold detector instead of loading the trained models again."""

    def load(cls, settings=None, rubric_ids=None):
        rubrics = load_rubrics(PROJECT_ROOT / "rubrics", rubric_ids or None)
        return Scorer(gold_scorer.detector, rubrics, gold_scorer.settings)

    monkeypatch.setattr(Scorer, "load", classmethod(load))


def test_score_cli_json_and_out(cli_scorer, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["score", str(dev("dev-009")), "--rubric", "later", "--out", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert list(data["scorecards"]) == ["later"]
    assert data["behaviours"]["apology"].keys() >= {"present", "confidence", "evidence"}
    assert data["metrics"]["hold_count"] == 1 and data["review"]["needs_review"] is True
    assert json.loads((tmp_path / "dev-009.scored.json").read_text()) == data


def test_score_cli_table_and_bad_file(cli_scorer, tmp_path: Path) -> None:
    bad = tmp_path / "broken.json"
    bad.write_text("{not json", encoding="utf-8")
    result = CliRunner().invoke(main, ["score", str(bad), str(dev("dev-010")), "--format", "table"])
    assert result.exit_code == 1
    assert f"error: {bad}: not valid JSON" in result.stderr
    assert "dev-010  review: yes" in result.stdout and "LATER" in result.stdout
    assert "\x1b[" not in result.stdout  # no colours when not a terminal


def test_score_cli_unknown_rubric(cli_scorer) -> None:
    result = CliRunner().invoke(main, ["score", str(dev("dev-010")), "--rubric", "ratr"])
    assert result.exit_code == 1 and "unknown rubric 'ratr' - did you mean 'rater'?" in result.output


def test_rubrics_cli(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["rubrics"])
    assert (
        result.exit_code == 0 and "rater" in result.output and "LATER (complaint calls only)" in result.output
    )
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: X\nsections:\n  - id: s\n    name: S\n    criteria:\n      - {id: c, name: C, all: [sory]}\n"
    )
    result = CliRunner().invoke(
        main, ["rubrics", "validate", str(PROJECT_ROOT / "rubrics" / "rater.yaml"), str(bad)]
    )
    assert result.exit_code == 1 and "rater.yaml: ok (rater, 15 criteria)" in result.stdout
    assert f"{bad}:6: criterion 'c': unknown behaviour 'sory'" in result.stderr
