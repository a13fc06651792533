"""Measuring behaviour detection against gold call-level labels, honestly.

When the calls being measured are also training calls, the measure is cross-validated: grouped
k-fold by call, each fold's classifiers and thresholds trained without that fold (plus any extra
training directories). Features do not depend on training, so they are computed once per call.

Leave-one-source-out (``fit_groups``) holds out a whole group of calls (a writing batch, a sector)
at a time. The fold models are kept, so the held-out calls can also be predicted rewritten in other
transcript styles (``styles``) without training again: styles only rewrite the test side.

Besides the figures per behaviour, ``calibration`` says whether ``probability`` can be read as a
probability (expected calibration error on held-out calls) and how good the decisions are that are
not left to a reviewer (``needs_decision`` false).
"""

from __future__ import annotations

import hashlib
import json
import platform
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.model_selection import GroupKFold

from qa_scoring.behaviours import features as feats
from qa_scoring.behaviours.classifier import BehaviourModels, TurnData, train
from qa_scoring.behaviours.detector import BehaviourDetector
from qa_scoring.behaviours.labelled import LabelledCall
from qa_scoring.behaviours.ngrams import NgramVocabulary
from qa_scoring.behaviours.sources import writing_groups
from qa_scoring.behaviours.spec import BEHAVIOUR_IDS
from qa_scoring.behaviours.static_embed import StaticEmbedder, cached_table
from qa_scoring.config import Settings, get_settings
from qa_scoring.scored_call import BehaviourResult


@dataclass
class Featurised:
    call: LabelledCall
    features: feats.CallFeatures


def training_embedder(settings: Settings | None = None) -> StaticEmbedder:
    """The static embedder distilled from the installed MiniLM (cached under ``<models_dir>/cache``)."""
    table, tokenizer = cached_table((settings or get_settings()).models_dir / "cache")
    return StaticEmbedder(table, tokenizer)


def featurise(calls: list[LabelledCall], embedder: StaticEmbedder) -> list[Featurised]:
    return [Featurised(c, feats.call_features(c.transcript, embedder)) for c in calls]


def fit(
    items: list[Featurised],
    meta: dict | None = None,
    weights: list[float] | None = None,
    settings: dict[str, tuple[float, float]] | None = None,
) -> BehaviourModels:
    """Train on ``items``; ``weights`` (one per call) make some calls count more (a centre's reviews);
    ``settings`` fixes each behaviour's (C, n-gram weight) instead of choosing them (``train``)."""
    vocab = NgramVocabulary.fit([c for f in items for c in f.features.canonical])
    labels = [f.call.labels for f in items]
    data = TurnData.build([f.features for f in items], vocab, [f.call.tags for f in items], labels, weights)
    return train(data, labels, vocab, meta, settings, writing_groups([f.call for f in items]))


def predict(
    models: BehaviourModels, items: list[Featurised], embedder: StaticEmbedder | None = None
) -> list[dict[str, BehaviourResult]]:
    detector = BehaviourDetector(models, embedder)  # type: ignore[arg-type]  # features are precomputed
    out = []
    for f in items:
        scores = detector.turn_scores(f.features)
        out.append(detector.decide(f.call.transcript, f.features, scores))
    return out


@dataclass
class HeldOut:
    """One fold: the group held out, the indices of its calls, and the models trained without them."""

    group: str
    test: list[int]
    models: BehaviourModels


def fit_groups(
    items: list[Featurised],
    groups: list[str],
    extra: list[Featurised] | None = None,
    progress: Callable[[str], None] | None = None,
    settings: dict[str, tuple[float, float]] | None = None,
) -> list[HeldOut]:
    """Train once per group with that group's calls held out (``extra`` joins every training set;
    ``settings`` fixes each behaviour's (C, n-gram weight) in every fold, as in ``fit``)."""
    if len(groups) != len(items):
        raise ValueError(f"{len(groups)} groups for {len(items)} calls")
    names = sorted(set(groups))
    if len(names) < 2:
        raise ValueError("holding a group out needs at least two groups")
    folds = []
    for k, name in enumerate(names, 1):
        test = [i for i, g in enumerate(groups) if g == name]
        if progress:
            progress(f"fold {k}/{len(names)}: training without {name} ({len(test)} calls)")
        train_items = [f for f, g in zip(items, groups, strict=True) if g != name] + (extra or [])
        folds.append(HeldOut(name, test, fit(train_items, settings=settings)))
    return folds


def predict_folds(folds: list[HeldOut], items: list[Featurised]) -> list[dict[str, BehaviourResult]]:
    """Every call predicted by the models of the fold that held it out.

    ``items`` are the calls the folds were fitted on, in the same order, or those calls rewritten
    (another transcript style).
    """
    preds: list[dict[str, BehaviourResult] | None] = [None] * len(items)
    for fold in folds:
        for i, p in zip(fold.test, predict(fold.models, [items[i] for i in fold.test]), strict=True):
            preds[i] = p
    missing = [i for i, p in enumerate(preds) if p is None]
    if missing:
        raise ValueError(f"{len(missing)} calls are in no held-out fold")
    return [p for p in preds if p is not None]


def kfold_groups(n: int, folds: int = 5) -> list[str]:
    """Each call's fold for k-fold cross-validation grouped by call."""
    groups = [""] * n
    index = np.arange(n)
    for k, (_, test_idx) in enumerate(GroupKFold(n_splits=min(folds, n)).split(index, groups=index)):
        for i in test_idx:
            groups[i] = f"fold-{k + 1}"
    return groups


def scores(truth: list[dict[str, bool | None]], preds: list[dict[str, BehaviourResult]]) -> dict:
    """Per-behaviour precision, recall, F1 and Cohen's kappa at call level, and macro-F1.

    A label of None (nobody decided it) leaves that call out for that behaviour; a behaviour no call
    has a label for is left out of the figures and of the macro-F1.
    """
    per = {}
    for b in BEHAVIOUR_IDS:
        known = [i for i, t in enumerate(truth) if t[b] is not None]
        if not known:
            continue
        y = np.array([truth[i][b] for i in known], dtype=bool)
        p = np.array([preds[i][b].present for i in known], dtype=bool)
        tp, fp, fn = int(np.sum(p & y)), int(np.sum(p & ~y)), int(np.sum(~p & y))
        tn = len(y) - tp - fp - fn
        precision = tp / (tp + fp) if tp + fp else (1.0 if not y.any() else 0.0)
        recall = tp / (tp + fn) if tp + fn else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        n = len(y)
        po = (tp + tn) / n
        pe = ((tp + fp) * (tp + fn) + (tn + fn) * (tn + fp)) / (n * n)
        kappa = (po - pe) / (1 - pe) if pe < 1 else 1.0
        per[b] = {
            "precision": round(precision, 3),
            "recall": round(recall, 3),
            "f1": round(f1, 3),
            "kappa": round(kappa, 3),
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "tn": tn,
        }
    macro = float(np.mean([v["f1"] for v in per.values()])) if per else 0.0
    return {
        "calls": len(truth),
        "behaviours": per,
        "macro_f1": round(macro, 4),
        "min_kappa": min((v["kappa"] for v in per.values()), default=0.0),
    }


def group_scores(
    truth: list[dict[str, bool]], preds: list[dict[str, BehaviourResult]], groups: list[str]
) -> dict[str, dict]:
    """``scores`` for each group's calls, and which group is worst (lowest macro-F1)."""
    per = {}
    for name in sorted(set(groups)):
        idx = [i for i, g in enumerate(groups) if g == name]
        per[name] = scores([truth[i] for i in idx], [preds[i] for i in idx])
    worst = min(per, key=lambda g: (per[g]["macro_f1"], g))
    # Among the groups that have labels for the behaviour (an optional one may be undecided in some).
    worst_kappa = {
        b: min(
            (g for g in per if b in per[g]["behaviours"]),
            key=lambda g, b=b: (per[g]["behaviours"][b]["kappa"], g),
        )
        for b in BEHAVIOUR_IDS
        if any(b in per[g]["behaviours"] for g in per)
    }
    return {
        "groups": per,
        "worst_group": {"group": worst, "macro_f1": per[worst]["macro_f1"], "calls": per[worst]["calls"]},
        "worst_kappa": {
            b: {"group": g, "kappa": per[g]["behaviours"][b]["kappa"]} for b, g in worst_kappa.items()
        },
    }


CALIBRATION_BINS = 10


def probability(result: BehaviourResult) -> float:
    """The calibrated P(present); from the confidence where a result carries no probability."""
    if result.probability is not None:
        return float(result.probability)
    return result.confidence if result.present else 1.0 - result.confidence


def expected_calibration_error(p: np.ndarray, y: np.ndarray, bins: int = CALIBRATION_BINS) -> float:
    """Mean |predicted - observed| rate over equal-width probability bins, weighted by bin size."""
    if len(p) == 0:
        return 0.0
    which = np.minimum((p * bins).astype(int), bins - 1)
    error = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            error += mask.sum() / len(p) * abs(float(p[mask].mean()) - float(y[mask].mean()))
    return error


def _decisions(p: np.ndarray, y: np.ndarray, present: np.ndarray, auto: np.ndarray) -> dict:
    auto_pos = auto & present
    return {
        "decisions": int(len(y)),
        "ece": round(expected_calibration_error(p, y.astype(float)), 4),
        "auto_share": round(float(auto.mean()), 4) if len(y) else 0.0,
        # among the decisions not left to a reviewer: how many are right, and how many of the
        # asserted "present" ones are really present
        "auto_accuracy": round(float((present[auto] == y[auto]).mean()), 4) if auto.any() else None,
        "auto_precision": round(float(y[auto_pos].mean()), 4) if auto_pos.any() else None,
        "review_accuracy": round(float((present[~auto] == y[~auto]).mean()), 4) if (~auto).any() else None,
        # of the calls that show it, how many a person gets to see: asserted present or left to review
        "reach": round(float((present | ~auto)[y].mean()), 4) if y.any() else None,
    }


def calibration(truth: list[dict[str, bool | None]], preds: list[dict[str, BehaviourResult]]) -> dict:
    """Reliability of ``probability`` (ECE, 10 bins) per behaviour and pooled, and the auto-decided share.

    Only meaningful on held-out predictions (the installed model on unseen calls, or out-of-fold).
    """
    columns = {}
    for b in BEHAVIOUR_IDS:
        known = [i for i, t in enumerate(truth) if t[b] is not None]
        if not known:
            continue
        columns[b] = (
            np.array([probability(preds[i][b]) for i in known]),
            np.array([truth[i][b] for i in known], dtype=bool),
            np.array([preds[i][b].present for i in known], dtype=bool),
            np.array([not preds[i][b].needs_decision for i in known], dtype=bool),
        )
    pooled = [np.concatenate([c[k] for c in columns.values()]) for k in range(4)]
    return {
        "bins": CALIBRATION_BINS,
        "pooled": _decisions(*pooled),
        "behaviours": {b: _decisions(*c) for b, c in columns.items()},
    }


def code_digest() -> str:
    """A digest of the code and contract that make a model (``qa_scoring/behaviours``): with the
    training files' hashes it says whether an installed model is what training would give now."""
    folder = Path(__file__).parent
    files = sorted([*folder.glob("*.py"), *folder.glob("*.yaml")])
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def training_metadata(items: list[Featurised], dirs: list[str]) -> dict:
    """What a trained model was built from, so a rebuilt one can be checked for sameness."""
    import sklearn
    import torch

    from qa_scoring import __version__
    from qa_scoring.behaviours import classifier

    hashes = {f.call.path.name: f.call.sha256 for f in items}
    code = code_digest()
    # The version names what made the model - the training files and the code - so a retraining with
    # changed code never reuses the name of a model it differs from (kept versions are found by name).
    digest = hashlib.sha256(json.dumps([sorted(hashes.items()), code]).encode()).hexdigest()[:12]
    counts = {b: sum(f.call.labels[b] is True for f in items) for b in BEHAVIOUR_IDS}
    return {
        "version": f"{__version__}+{digest}",
        "feature_version": feats.FEATURE_VERSION,
        "code": code,
        "training_dirs": dirs,
        "files": hashes,
        "counts": {
            "calls": len(items),
            "turns": sum(len(f.features.roles) for f in items),
            "present": counts,
        },
        "seed": classifier.SEED,
        "settings_grid": [list(s) for s in classifier.SETTINGS],
        "versions": {
            "qa_scoring": __version__,
            "scikit-learn": sklearn.__version__,
            "torch": torch.__version__,
            "python": platform.python_version(),
            "embedding": "all-MiniLM-L6-v2 distilled to a static word-piece table",
        },
    }
