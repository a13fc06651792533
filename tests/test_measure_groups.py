"""Leave-one-source-out measurement, calibration figures and `qa-scoring eval --loso/--styles`.

The fold mechanics run real trainings, but on ten real labelled calls (two fits of five calls), so
the module stays well under a minute.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import PROJECT_ROOT

from qa_scoring.behaviours import features as feats
from qa_scoring.behaviours import measure
from qa_scoring.behaviours.classifier import model_settings
from qa_scoring.behaviours.labelled import LabelledDataError, load_dir
from qa_scoring.behaviours.sources import load_sources, writing_groups
from qa_scoring.behaviours.spec import BEHAVIOUR_IDS
from qa_scoring.behaviours.styles import STYLES
from qa_scoring.cli import main
from qa_scoring.config import get_settings
from qa_scoring.scored_call import BehaviourResult

DATA = PROJECT_ROOT / "data" / "labelled"
# five calls from each of two writing batches
SMALL = [f"lab-{n:03d}.json" for n in (*range(71, 76), *range(81, 86))]
SMALL_SOURCES = """\
batches:
  early: {calls: [1, 80], brief: x}
  later: {calls: [81, 140], brief: y}
sectors:
  all: [%s]
"""


# --- the source map ------------------------------------------------------------------------------


def test_every_labelled_call_has_one_batch_and_one_sector_family() -> None:
    calls = load_dir(DATA)
    sources = load_sources(DATA)
    batches = Counter(sources.groups(calls, "batch"))
    sectors = Counter(sources.groups(calls, "sector"))
    assert sum(batches.values()) == sum(sectors.values()) == len(calls)
    assert len(batches) >= 6 and min(batches.values()) >= 10, batches
    # sector families big enough to measure on, none dominating
    assert (
        5 <= len(sectors) <= 8 and min(sectors.values()) >= 20 and max(sectors.values()) <= 0.3 * len(calls)
    )


def test_source_map_errors_name_the_problem(tmp_path: Path) -> None:
    for name in SMALL[:2] + ["lab-150.json"]:
        shutil.copy(DATA / name, tmp_path / name)
    calls = load_dir(tmp_path)
    with pytest.raises(LabelledDataError, match="no source map"):
        load_sources(tmp_path)
    industries = ", ".join(sorted({c.industry for c in calls}))
    (tmp_path / "sources.yaml").write_text(SMALL_SOURCES % industries)
    with pytest.raises(LabelledDataError, match="lab-150.json: call number 150 is in no batch"):
        load_sources(tmp_path).groups(calls, "batch")
    assert load_sources(tmp_path).groups(calls[:2], "batch") == ["early", "early"]
    (tmp_path / "sources.yaml").write_text(SMALL_SOURCES % "nothing")
    with pytest.raises(LabelledDataError, match="is in no sector family"):
        load_sources(tmp_path).groups(calls, "sector")
    (tmp_path / "sources.yaml").write_text(SMALL_SOURCES % "banking, banking")
    with pytest.raises(LabelledDataError, match="two sector families"):
        load_sources(tmp_path)


def test_writing_groups_are_batches_or_single_calls(tmp_path: Path) -> None:
    """Inner folds keep a batch together; calls with no batch, or no map, are groups of their own."""
    mapped, unmapped = tmp_path / "mapped", tmp_path / "reviewed"
    for folder, names in ((mapped, SMALL[:2] + SMALL[5:7] + ["lab-150.json"]), (unmapped, SMALL[2:4])):
        folder.mkdir()
        for name in names:
            shutil.copy(DATA / name, folder / name)
    (mapped / "sources.yaml").write_text(SMALL_SOURCES % "banking")
    calls = load_dir(mapped) + load_dir(unmapped)
    groups = writing_groups(calls)
    assert groups[:4] == [f"{mapped}:early"] * 2 + [f"{mapped}:later"] * 2
    assert groups[4:] == [str(c.path) for c in calls[4:]]  # lab-150 is in no batch; no map
    project = load_dir(DATA)
    assert len(set(writing_groups(project))) == len(set(load_sources(DATA).groups(project, "batch")))


# --- calibration and group figures ---------------------------------------------------------------


def _result(p: float, needs_decision: bool = False) -> BehaviourResult:
    present = p > 0.5
    return BehaviourResult(present, p if present else 1 - p, probability=p, needs_decision=needs_decision)


def test_expected_calibration_error() -> None:
    p = np.array([0.9] * 10 + [0.15] * 20)
    y = np.array([1] * 9 + [0] + [1] * 3 + [0] * 17, dtype=float)
    assert measure.expected_calibration_error(p, y) == pytest.approx(0.0)
    y_bad = np.array([1] * 5 + [0] * 5 + [0] * 20, dtype=float)
    # bin 0.9: |0.9 - 0.5| over 10 of 30; bin 0.15: |0.15 - 0| over 20 of 30
    assert measure.expected_calibration_error(p, y_bad) == pytest.approx(10 / 30 * 0.4 + 20 / 30 * 0.15)
    assert measure.expected_calibration_error(np.array([1.0, 0.0]), np.array([1.0, 0.0])) == 0.0


def test_calibration_counts_auto_decided_share_accuracy_and_precision() -> None:
    probs = [0.95, 0.9, 0.6, 0.4, 0.05]
    uncertain = [False, False, True, True, False]
    truth = [True, False, True, True, False]
    preds = [{b: _result(p, u) for b in BEHAVIOUR_IDS} for p, u in zip(probs, uncertain, strict=True)]
    cal = measure.calibration([dict.fromkeys(BEHAVIOUR_IDS, t) for t in truth], preds)
    one = cal["behaviours"]["complaint"]
    assert one["decisions"] == 5 and one["auto_share"] == 0.6
    assert one["auto_accuracy"] == pytest.approx(2 / 3, abs=1e-4)  # 0.95 right, 0.9 wrong, 0.05 right
    assert one["auto_precision"] == 0.5  # of the two asserted present, one is
    assert one["review_accuracy"] == 0.5
    assert one["reach"] == 1.0  # 0.95 asserted, 0.6 and 0.4 left to a reviewer
    assert cal["pooled"]["decisions"] == 5 * len(BEHAVIOUR_IDS) and cal["pooled"]["auto_share"] == 0.6
    # a result with no probability falls back to its confidence
    assert measure.probability(BehaviourResult(False, 0.8)) == pytest.approx(0.2)


def test_group_scores_find_the_worst_group() -> None:
    truth = [dict.fromkeys(BEHAVIOUR_IDS, t) for t in (True, False, True, False)]
    right = [{b: _result(0.9 if t else 0.1) for b in BEHAVIOUR_IDS} for t in (True, False)]
    wrong = [{b: _result(0.1 if t else 0.9) for b in BEHAVIOUR_IDS} for t in (True, False)]
    out = measure.group_scores(truth, right + wrong, ["x", "x", "y", "y"])
    assert out["groups"]["x"]["macro_f1"] == 1.0 and out["groups"]["y"]["macro_f1"] == 0.0
    assert out["worst_group"] == {"group": "y", "macro_f1": 0.0, "calls": 2}
    assert out["worst_kappa"]["complaint"]["group"] == "y"


def test_kfold_groups_are_the_cross_validation_folds() -> None:
    groups = measure.kfold_groups(12, folds=5)
    assert len(groups) == 12 and sorted(Counter(groups).values()) == [2, 2, 2, 3, 3]
    assert len(set(measure.kfold_groups(3, folds=5))) == 3, "never more folds than calls"


# --- leave one source out through the CLI, with real (small) trainings ---------------------------


@pytest.fixture(scope="module")
def small_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("small")
    for name in SMALL:
        shutil.copy(DATA / name, folder / name)
    industries = ", ".join(sorted({c.industry for c in load_dir(folder)}))
    (folder / "sources.yaml").write_text(SMALL_SOURCES % industries)
    return folder


@pytest.fixture(scope="module")
def loso_run(small_dir: Path) -> tuple[dict, list[tuple[list[str], object]]]:
    """`eval --loso batch --styles --json` on the ten calls, recording what each fit trained on."""
    fits: list[tuple[list[str], object]] = []
    real_fit = measure.fit

    def recording_fit(items, meta=None, settings=None):
        models = real_fit(items, meta, settings=settings)
        fits.append(([f.call.path.name for f in items], models))
        return models

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(measure, "fit", recording_fit)
        result = CliRunner().invoke(main, ["eval", str(small_dir), "--loso", "batch", "--styles", "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), fits


def test_loso_trains_once_per_group_without_that_group(loso_run) -> None:
    output, fits = loso_run
    assert len(fits) == 2, "one training per held-out group, reused for every style"
    trained = sorted(sorted(names) for names, _ in fits)
    assert trained == [SMALL[:5], SMALL[5:]]  # without "later", then without "early"
    assert output["grouping"] == "batch" and output["mode"] == "leave one batch out (2 groups)"


def test_loso_output_per_style_and_group(loso_run) -> None:
    output, _ = loso_run
    styles = output["styles"]
    assert list(styles) == ["original", *STYLES]
    for name, r in styles.items():
        assert r["calls"] == 10 and set(r["groups"]) == {"early", "later"}
        assert sum(g["calls"] for g in r["groups"].values()) == 10
        worst = min(r["groups"].values(), key=lambda g: g["macro_f1"])
        assert r["worst_group"]["macro_f1"] == worst["macro_f1"]
        assert 0.0 <= r["calibration"]["pooled"]["ece"] <= 1.0, name
    worst = min(styles, key=lambda s: styles[s]["macro_f1"])
    assert output["worst_style"]["macro_f1"] == styles[worst]["macro_f1"]


def test_fold_predictions_come_from_the_model_that_held_the_call_out(loso_run, small_dir: Path) -> None:
    """predict_folds gives each call the prediction of its own fold's model, for any style."""
    _, fits = loso_run
    calls = load_dir(small_dir)
    embedder = measure.training_embedder()
    items = measure.featurise(calls, embedder)
    folds = []
    for names, models in fits:
        test = [i for i, c in enumerate(calls) if c.path.name not in names]
        folds.append(measure.HeldOut("g", test, models))
    preds = measure.predict_folds(folds, items)

    def probs(p: dict) -> dict:
        return {b: r.probability for b, r in p.items()}

    differs = False
    for fold in folds:
        own = measure.predict(fold.models, [items[i] for i in fold.test])
        other = next(f for f in folds if f is not fold).models
        theirs = measure.predict(other, [items[i] for i in fold.test])
        for i, p, q in zip(fold.test, own, theirs, strict=True):
            assert probs(preds[i]) == probs(p)
            differs = differs or probs(p) != probs(q)
    assert differs, "the two folds' models must differ for this check to mean anything"
    with pytest.raises(ValueError, match="in no held-out fold"):
        measure.predict_folds(folds[:1], items)


def test_styles_with_an_installed_model_and_option_errors(
    loso_run, small_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    """An installed model that never saw the calls scores every style of them as they are."""
    _, fits = loso_run
    models = next(m for n, m in fits if "lab-071.json" not in n)  # trained on the later five only
    folder = tmp_path / "models" / "behaviours"
    replace(models, meta={**models.meta, "feature_version": feats.FEATURE_VERSION}).save(folder)
    measure.training_embedder().save(folder)
    unseen = tmp_path / "unseen"
    unseen.mkdir()
    for name in SMALL[:5]:
        shutil.copy(small_dir / name, unseen / name)
    monkeypatch.setenv("QA_SCORING_MODELS_DIR", str(tmp_path / "models"))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(main, ["eval", str(unseen), "--styles"])
        assert result.exit_code == 0, result.output
        assert "installed model" in result.output and "<- worst style" in result.output
        for figure in ("precision", "recall", "f1", "kappa"):
            assert f"{figure} by style" in result.output
        for style in STYLES:
            assert f"\n{style} " in result.output
        bad = CliRunner().invoke(main, ["eval", str(unseen), "--styles", "--asr-style"])
        assert bad.exit_code != 0 and "already includes" in bad.output
        missing = CliRunner().invoke(main, ["eval", str(unseen), "--loso", "sector"])
        assert missing.exit_code != 0 and "no source map" in missing.output
        # --keep-settings: every fold trains with the installed model's per-behaviour settings
        given: list = []
        real_fit = measure.fit
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(measure, "fit", lambda items, settings=None: given.append(settings) or real_fit(items))
            kept = CliRunner().invoke(
                main, ["eval", str(small_dir), "--loso", "batch", "--keep-settings", "--json"]
            )
        assert kept.exit_code == 0, kept.output
        assert "settings of the installed model" in json.loads(kept.stdout)["mode"]
        assert given == [model_settings(models)] * 2
    finally:
        get_settings.cache_clear()
