"""Measuring behaviour detection against gold call-level labels, honestly.

When the calls being measured are also training calls, the measure is cross-validated: grouped
k-fold by call, each fold's classifiers and thresholds trained without that fold (plus any extra
training directories). Features do not depend on training, so they are computed once per call.
"""

from __future__ import annotations

import hashlib
import json
import platform
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import GroupKFold

from qa_scoring.config import Settings, get_settings
from qa_scoring.rubric import features as feats
from qa_scoring.rubric.classifier import BehaviourModels, TurnData, train
from qa_scoring.rubric.detector import BehaviourDetector
from qa_scoring.rubric.labelled import LabelledCall
from qa_scoring.rubric.ngrams import NgramVocabulary
from qa_scoring.rubric.spec import BEHAVIOUR_IDS
from qa_scoring.rubric.static_embed import StaticEmbedder, cached_table
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


def fit(items: list[Featurised], meta: dict | None = None) -> BehaviourModels:
    vocab = NgramVocabulary.fit([c for f in items for c in f.features.canonical])
    data = TurnData.build([f.features for f in items], vocab, [f.call.tags for f in items])
    return train(data, [f.call.labels for f in items], vocab, meta)


def predict(
    models: BehaviourModels, items: list[Featurised], embedder: StaticEmbedder | None = None
) -> list[dict[str, BehaviourResult]]:
    detector = BehaviourDetector(models, embedder)  # type: ignore[arg-type]  # features are precomputed
    out = []
    for f in items:
        scores = detector.turn_scores(f.features)
        out.append(detector.decide(f.call.transcript, f.features, scores))
    return out


def cross_validate(
    items: list[Featurised], extra: list[Featurised] | None = None, folds: int = 5
) -> list[dict[str, BehaviourResult]]:
    """Out-of-fold predictions for ``items``; ``extra`` calls join every fold's training set."""
    extra = extra or []
    preds: list[dict[str, BehaviourResult] | None] = [None] * len(items)
    groups = np.arange(len(items))
    for train_idx, test_idx in GroupKFold(n_splits=min(folds, len(items))).split(groups, groups=groups):
        models = fit([items[i] for i in train_idx] + extra)
        for i, p in zip(test_idx, predict(models, [items[i] for i in test_idx]), strict=True):
            preds[i] = p
    return [p for p in preds if p is not None]


def scores(truth: list[dict[str, bool]], preds: list[dict[str, BehaviourResult]]) -> dict:
    """Per-behaviour precision, recall, F1 and Cohen's kappa at call level, and macro-F1."""
    per = {}
    for b in BEHAVIOUR_IDS:
        y = np.array([t[b] for t in truth])
        p = np.array([q[b].present for q in preds])
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
    macro = float(np.mean([v["f1"] for v in per.values()]))
    return {
        "calls": len(truth),
        "behaviours": per,
        "macro_f1": round(macro, 4),
        "min_kappa": min(v["kappa"] for v in per.values()),
    }


def training_metadata(items: list[Featurised], dirs: list[str]) -> dict:
    """What a trained model was built from, so a rebuilt one can be checked for sameness."""
    import sklearn
    import torch

    from qa_scoring import __version__
    from qa_scoring.rubric import classifier

    hashes = {f.call.path.name: f.call.sha256 for f in items}
    digest = hashlib.sha256(json.dumps(sorted(hashes.items())).encode()).hexdigest()[:12]
    counts = {b: sum(f.call.labels[b] for f in items) for b in BEHAVIOUR_IDS}
    return {
        "version": f"{__version__}+{digest}",
        "feature_version": feats.FEATURE_VERSION,
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
