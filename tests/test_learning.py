"""Learning from reviewers, piece by piece: decisions to labels, undecided labels, model versions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from model_copies import models_copy, retagged

from qa_scoring.behaviours import BEHAVIOUR_IDS
from qa_scoring.behaviours.labelled import LabelledDataError, load_call
from qa_scoring.behaviours.versions import ModelVersions, VersionError, VersionRecord
from qa_scoring.learning import Comparison, decide
from qa_scoring.review.learning import behaviour_labels
from qa_scoring.rubric.rubric import Test as CriterionTest


@pytest.mark.parametrize(
    ("test", "result", "labels"),
    [
        (CriterionTest(all=("apology",)), "pass", {"apology": True}),
        (CriterionTest(all=("apology",)), "fail", {"apology": False}),
        (CriterionTest(all=("apology",)), "partial", {"apology": False}),  # the main test failed
        (CriterionTest(all=("apology",)), "na", {}),
        (CriterionTest(absent=("unprofessional",)), "pass", {"unprofessional": False}),
        (CriterionTest(absent=("unprofessional",)), "fail", {"unprofessional": True}),
        (
            CriterionTest(any=("confirmation", "follow_up")),
            "fail",
            {"confirmation": False, "follow_up": False},
        ),
        (CriterionTest(any=("confirmation", "follow_up")), "pass", {}),  # which one is not known
        (CriterionTest(all=("greeting", "closing")), "pass", {"greeting": True, "closing": True}),
        (CriterionTest(all=("greeting", "closing")), "fail", {}),  # one of them is missing, not known which
        (CriterionTest(all=("greeting",), metric="aht_s", max=600), "fail", {}),
        (CriterionTest(metric="aht_s", max=600), "pass", {}),
    ],
)
def test_a_decision_labels_only_what_follows_for_certain(test, result, labels):
    assert behaviour_labels(test, result) == labels


def _labelled(tmp_path: Path, labels: dict) -> Path:
    path = tmp_path / "reviewed-000001.json"
    path.write_text(
        json.dumps(
            {
                "turns": [
                    {
                        "speaker": "agent",
                        "text": "Good morning, you're through to Acme, Sam speaking.",
                        "behaviours": ["greeting"],
                    },
                    {"speaker": "customer", "text": "Hi, my order never came.", "behaviours": []},
                ],
                "labels": labels,
            }
        ),
        encoding="utf-8",
    )
    return path


def test_an_undecided_behaviour_is_null_and_left_out_of_the_measure(tmp_path):
    from qa_scoring.behaviours.measure import scores
    from qa_scoring.scored_call import BehaviourResult

    labels = dict.fromkeys(BEHAVIOUR_IDS, None) | {"greeting": True, "complaint": False}
    call = load_call(_labelled(tmp_path, labels))
    assert call.labels["greeting"] is True and call.labels["apology"] is None
    pred = {b: BehaviourResult(b == "greeting", 0.9, []) for b in BEHAVIOUR_IDS}
    figures = scores([call.labels], [pred])
    assert set(figures["behaviours"]) == {"greeting", "complaint"}
    assert figures["macro_f1"] == 1.0


def test_a_label_must_still_be_true_false_or_null(tmp_path):
    labels = dict.fromkeys(BEHAVIOUR_IDS, False) | {"greeting": "yes"}
    with pytest.raises(LabelledDataError, match="greeting"):
        load_call(_labelled(tmp_path, labels))
    labels.pop("greeting")
    with pytest.raises(LabelledDataError, match="greeting"):
        load_call(_labelled(tmp_path, labels))


def test_rows_of_an_undecided_behaviour_are_no_training_examples(tmp_path):
    from qa_scoring.behaviours import features as feats
    from qa_scoring.behaviours.classifier import TurnData
    from qa_scoring.behaviours.measure import training_embedder
    from qa_scoring.behaviours.ngrams import NgramVocabulary

    decided = load_call(_labelled(tmp_path, dict.fromkeys(BEHAVIOUR_IDS, False) | {"greeting": True}))
    undecided = load_call(_labelled(tmp_path, dict.fromkeys(BEHAVIOUR_IDS, None) | {"greeting": True}))
    embedder = training_embedder()
    cfs = [feats.call_features(c.transcript, embedder) for c in (decided, undecided)]
    vocab = NgramVocabulary.fit([t for cf in cfs for t in cf.canonical])
    data = TurnData.build(cfs, vocab, [decided.tags, undecided.tags], [decided.labels, undecided.labels])
    first = data.call == 0
    assert data.known["greeting"].all()
    assert data.known["apology"][first].all() and not data.known["apology"][~first].any()


def test_versions_keep_every_model_and_roll_back(tmp_path):
    from qa_scoring.behaviours.detector import BehaviourDetector
    from qa_scoring.config import load_settings

    models = models_copy(tmp_path)
    versions = ModelVersions(models)
    shipped = versions.active()
    assert versions.history() == []
    assert versions.keep_active() == shipped
    assert [r.version for r in versions.history()] == [shipped]

    trained = retagged(models / "behaviours", "0.1.0+candidate", tmp_path / "trained-candidate")
    versions.keep(
        trained, VersionRecord("0.1.0+candidate", "2026-12-05T00:00:00+00:00", "learn", promoted=True)
    )
    versions.use("0.1.0+candidate")
    assert versions.active() == "0.1.0+candidate"
    settings = load_settings(environ={"QA_SCORING_MODELS_DIR": str(models)})
    assert BehaviourDetector.load(settings).version == "0.1.0+candidate"

    versions.use(shipped)  # rollback
    assert versions.active() == shipped
    assert BehaviourDetector.load(settings).version == shipped
    used = {r.version: len(r.used_from) for r in versions.history()}
    assert used == {shipped: 2, "0.1.0+candidate": 1}
    with pytest.raises(VersionError, match="not kept"):
        versions.use("0.0.0+nothing")
    assert not any(p.name.startswith(".behaviours") for p in models.iterdir())  # no half-swapped folders left


def test_models_behaviours_cli_lists_and_rolls_back(tmp_path):
    from click.testing import CliRunner

    from qa_scoring.cli import main

    models = models_copy(tmp_path)
    versions = ModelVersions(models)
    shipped = versions.keep_active()
    versions.keep(
        retagged(models / "behaviours", "0.1.0+other", tmp_path / "trained-other"),
        VersionRecord("0.1.0+other", "t", "learn"),
    )
    runner = CliRunner()
    result = runner.invoke(main, ["models", "behaviours", "use", "0.1.0+other", "--models-dir", str(models)])
    assert result.exit_code == 0, result.output
    listed = runner.invoke(main, ["models", "behaviours", "list", "--json", "--models-dir", str(models)])
    body = json.loads(listed.output)
    assert body["active"] == "0.1.0+other"
    assert [v["version"] for v in body["versions"]] == [shipped, "0.1.0+other"]
    missing = runner.invoke(main, ["models", "behaviours", "use", "nope", "--models-dir", str(models)])
    assert missing.exit_code != 0 and "not kept" in missing.output


def _cmp(current: float, candidate: float, n: int = 50) -> Comparison:
    return Comparison(current, candidate, n)


def test_promotion_rule():
    ok, reason = decide(_cmp(0.80, 0.85), _cmp(0.990, 0.986), held=8)
    assert ok, reason
    ok, reason = decide(_cmp(0.80, 0.85), _cmp(0.990, 0.980), held=8)
    assert not ok and "worse on the project's calls" in reason
    ok, reason = decide(_cmp(0.85, 0.80), _cmp(0.990, 0.990), held=8)
    assert not ok and "agrees less" in reason
    ok, reason = decide(_cmp(0.80, 0.90), _cmp(0.990, 0.990), held=2)
    assert not ok and "only 2 held-out" in reason
