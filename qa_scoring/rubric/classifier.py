"""Per-behaviour turn classifiers, their call-level thresholds, and how they are stored.

One logistic regression per behaviour scores the turns of the behaviour's speaker, from the dense
turn row (``features``) and the turn's word n-grams (``ngrams``); the call shows the behaviour when
its score - its best turn's, or its best two turns' evidence added up (``AGGREGATES``) - clears a
threshold. The threshold is chosen on out-of-fold turn scores of the *training* calls only (grouped by
call), so evaluation never tunes on its test fold.
Some behaviours have a necessary lexical cue (a thanks needs a thanks word; an apology needs an
apology word that no veto covers); the gate zeroes turns without it, which is where rules are
stronger than embeddings. Hold etiquette is structural (ask before a hold, thanks after it) and
is decided in ``detector`` from the rules, not learned.

Stored as plain arrays (``.npz``) plus JSON: no pickle, so loading a model file runs no code.
liblinear is used because it fits these small, partly sparse problems in well under a second.
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

from qa_scoring.rubric import features as feats
from qa_scoring.rubric.ngrams import NgramVocabulary
from qa_scoring.rubric.spec import BEHAVIOUR_IDS, WHO

SEED = 13
C = 0.5
INNER_FOLDS = 4
# Regularisation strengths tried per behaviour by inner CV; the first is the default.
C_GRID = (0.5, 1.0, 2.0, 0.25)
# Weights tried for the n-gram block against the dense block, per behaviour by inner CV with C; the
# first is the default. Its TF-IDF rows are unit length and spread over many columns, so under one L2
# penalty for all columns (weight 1) its weights stay too small to matter and the model leans on the
# dense sentence vector, which blurs the few decisive words ("refund", "not my job"). Too high a
# weight lets a phrase seen in two training turns decide alone; which side suits a behaviour depends
# on how lexical it is, so the training calls choose (grouped CV on them found 3-6 best of 1-10).
NGRAM_WEIGHTS = (6.0, 3.0)
# How a call's turn scores become the call's score, chosen per behaviour by inner CV with the setting:
# the best turn alone ("max"), or the best two turns' evidence added up ("two_turns": their log-odds
# summed, as for independent evidence; a missing second turn adds none). For behaviours usually shown
# more than once (a complaint is rarely one sentence) one stray, middling turn is then outweighed by
# a clearly negative second best, while one unmistakable turn still carries the call; behaviours said
# once (a greeting) keep the best turn. The first is the default.
AGGREGATES = ("max", "two_turns")
# Talking over the customer is unprofessional whatever the interrupting turn says ("one sec" can be
# it), so those agent turns are decided by structure (``features.talks_over``), scored TALK_OVER_SCORE,
# and kept out of the learned model, which would otherwise learn their harmless words as rudeness.
TALK_OVER = "unprofessional"
TALK_OVER_SCORE = 0.95
# Behaviour -> the rule cue a turn needs to show it at all.
GATES: dict[str, str] = {"apology": "apology_clean", "thanks": "thanks", "recording_disclosure": "recording"}
STRUCTURAL = ("hold_etiquette",)
LEARNED: tuple[str, ...] = tuple(b for b in BEHAVIOUR_IDS if b not in STRUCTURAL)


@dataclass
class TurnData:
    """Stacked turn rows of many calls, with what the classifiers need to train and decide."""

    x: sp.csr_matrix
    roles: np.ndarray
    call: np.ndarray  # call index per row
    gates: dict[str, np.ndarray]
    talk_over: np.ndarray
    tags: list[set[str]]
    n_dense: int  # columns before the n-gram block

    @classmethod
    def build(
        cls,
        calls: list[feats.CallFeatures],
        vocab: NgramVocabulary,
        tags: list[list[set[str]]] | None = None,
    ) -> TurnData:
        xs, roles, call_idx, all_tags = [], [], [], []
        for k, cf in enumerate(calls):
            xs.append(sp.hstack([sp.csr_matrix(cf.matrix()), vocab.transform(cf.canonical)]))
            roles += cf.roles
            call_idx += [k] * len(cf.roles)
            all_tags += tags[k] if tags is not None else [set()] * len(cf.roles)
        gates = {
            b: np.concatenate([cf.flags[:, feats.rules.RULE_NAMES.index(g)] for cf in calls]) > 0
            for b, g in GATES.items()
        }
        talk_over = np.concatenate([feats.talks_over(cf) for cf in calls])
        x = sp.vstack(xs).tocsr()
        n_dense = x.shape[1] - len(vocab)
        return cls(x, np.array(roles), np.array(call_idx), gates, talk_over, all_tags, n_dense)


@dataclass
class BehaviourModels:
    coef: dict[str, np.ndarray]
    intercept: dict[str, float]
    threshold: dict[str, float]
    vocab: NgramVocabulary
    meta: dict = field(default_factory=dict)
    aggregate: dict[str, str] = field(default_factory=dict)  # behaviour -> one of AGGREGATES

    def call_score(self, behaviour: str, turn_scores: np.ndarray) -> float:
        """One call's score for the behaviour, to compare with its threshold."""
        call = np.zeros(len(turn_scores), dtype=np.int64)
        return float(call_scores(turn_scores, call, 1, self.aggregate.get(behaviour, AGGREGATES[0]))[0])

    def turn_scores(self, data: TurnData) -> dict[str, np.ndarray]:
        """Probability per turn row for each learned behaviour; 0 for the wrong speaker or a closed gate."""
        if getattr(self, "_w", None) is None:  # all behaviours in one sparse-dense product
            self._w = np.stack([self.coef[b] for b in LEARNED], axis=1)
            self._b = np.array([self.intercept[b] for b in LEARNED])
        z_all = np.asarray(data.x @ self._w) + self._b
        out = {}
        for k, b in enumerate(LEARNED):
            p = 1.0 / (1.0 + np.exp(-z_all[:, k]))
            p = np.where(data.roles == WHO[b], p, 0.0)
            if b in GATES:
                p = np.where(data.gates[b], p, 0.0)
            if b == TALK_OVER:
                p = np.where(data.talk_over, TALK_OVER_SCORE, p)
            out[b] = p
        return out

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        np.savez(
            folder / "weights.npz",
            **{f"coef_{b}": self.coef[b] for b in LEARNED},
            **{f"intercept_{b}": np.array([self.intercept[b]]) for b in LEARNED},
            idf=self.vocab.idf,
        )
        (folder / "ngrams.json").write_text(json.dumps(self.vocab.terms), encoding="utf-8")
        (folder / "thresholds.json").write_text(
            json.dumps(self.threshold, indent=2, sort_keys=True), encoding="utf-8"
        )
        (folder / "aggregates.json").write_text(
            json.dumps(self.aggregate, indent=2, sort_keys=True), encoding="utf-8"
        )
        (folder / "metadata.json").write_text(
            json.dumps(self.meta, indent=2, sort_keys=True), encoding="utf-8"
        )

    @classmethod
    def load(cls, folder: Path) -> BehaviourModels:
        meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
        if meta.get("feature_version") != feats.FEATURE_VERSION:
            raise ValueError(
                f"{folder}: trained for feature layout {meta.get('feature_version')}, this code uses "
                f"{feats.FEATURE_VERSION}; run `qa-scoring train data/labelled` again"
            )
        weights = np.load(folder / "weights.npz")
        thresholds = json.loads((folder / "thresholds.json").read_text(encoding="utf-8"))
        terms = json.loads((folder / "ngrams.json").read_text(encoding="utf-8"))
        aggregate = json.loads((folder / "aggregates.json").read_text(encoding="utf-8"))
        unknown = {b: a for b, a in aggregate.items() if a not in AGGREGATES}
        if unknown:
            raise ValueError(f"{folder}: unknown call aggregate(s) {unknown}")
        return cls(
            {b: weights[f"coef_{b}"] for b in LEARNED},
            {b: float(weights[f"intercept_{b}"][0]) for b in LEARNED},
            {b: float(thresholds[b]) for b in LEARNED},
            NgramVocabulary(terms, weights["idf"]),
            meta,
            {b: aggregate[b] for b in LEARNED},
        )


def call_scores(scores: np.ndarray, call: np.ndarray, n_calls: int, aggregate: str) -> np.ndarray:
    """Per call: the best turn score ("max"), or the best two turns' log-odds summed ("two_turns").

    A score of exactly 0 is a turn that cannot show the behaviour (the other speaker's, a closed
    gate): it is no evidence either way, so it never counts as a second turn.
    """
    out = np.zeros(n_calls)
    if aggregate == "max":
        np.maximum.at(out, call, scores)
        return out
    able = np.flatnonzero(scores > 0)
    order = able[np.lexsort((-scores[able], call[able]))]  # by call, best turn first
    starts = np.flatnonzero(np.r_[True, call[order][1:] != call[order][:-1]])
    rank = np.arange(len(order)) - np.repeat(starts, np.diff(np.r_[starts, len(order)]))
    best_two = order[rank < 2]
    p = np.clip(scores[best_two], 1e-6, 1 - 1e-6)
    log_odds = np.zeros(n_calls)
    np.add.at(log_odds, call[best_two], np.log(p / (1 - p)))
    has_turn = np.bincount(call[best_two], minlength=n_calls) > 0
    out[has_turn] = 1.0 / (1.0 + np.exp(-log_odds[has_turn]))
    return out


def _fit_one(x: sp.csr_matrix, y: np.ndarray, c: float = C) -> tuple[np.ndarray, float]:
    if y.all() or not y.any():  # degenerate fold: a constant model
        return np.zeros(x.shape[1]), (8.0 if y.all() else -8.0)
    model = LogisticRegression(
        C=c, class_weight="balanced", solver="liblinear", max_iter=500, random_state=SEED
    )
    model.fit(x, y)
    return model.coef_[0].astype(np.float64), float(model.intercept_[0])


# (C, n-gram weight) for one behaviour's classifier
Setting = tuple[float, float]
DEFAULT_SETTING: Setting = (C, NGRAM_WEIGHTS[0])
SETTINGS: tuple[Setting, ...] = tuple((c, w) for w in NGRAM_WEIGHTS for c in C_GRID)
# liblinear releases the GIL, so the behaviours' fits run side by side in threads.
_FIT_THREADS = max(1, min(4, os.cpu_count() or 1))


def _fit_weights(
    data: TurnData, rows: np.ndarray, settings: dict[str, Setting] | None = None
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """One classifier per behaviour; coefficients come back for the unweighted columns of ``data.x``."""

    def fit(b: str) -> tuple[np.ndarray, float]:
        sel = rows & (data.roles == WHO[b])
        if b in GATES:  # learn only where the gate is open: the gate already rules out the rest
            sel &= data.gates[b]
        if b == TALK_OVER:  # decided by structure, see TALK_OVER
            sel &= ~data.talk_over
        y = np.array([b in data.tags[i] for i in np.flatnonzero(sel)])
        c, ngram_weight = (settings or {}).get(b, DEFAULT_SETTING)
        scale = np.ones(data.x.shape[1])
        scale[data.n_dense :] = ngram_weight
        w, intercept = _fit_one(data.x[sel] @ sp.diags(scale), y, c)
        return w * scale, intercept

    with ThreadPoolExecutor(_FIT_THREADS) as pool:
        fitted = dict(zip(LEARNED, pool.map(fit, LEARNED), strict=True))
    return {b: f[0] for b, f in fitted.items()}, {b: f[1] for b, f in fitted.items()}


def best_threshold(scores: np.ndarray, truth: np.ndarray, slack: float = 0.02) -> float:
    """The call-level threshold in the middle of the range whose F1 is within ``slack`` of the best.

    Why the middle and not the first best: out-of-fold scores from a few dozen calls are noisy, and
    the edge of the best range is where one more (unseen) call tips over; the middle of the range
    is the choice that moves least when the training calls change.
    """
    candidates = np.unique(np.concatenate([[0.0], scores, [1.0]]))
    mids = (candidates[:-1] + candidates[1:]) / 2
    pred = scores[None, :] > mids[:, None]
    f1s = 2 * (pred & truth[None, :]).sum(1) / np.maximum(1, pred.sum(1) + truth.sum())
    good = mids[f1s >= f1s.max() - slack - 1e-12]
    return float((good.min() + good.max()) / 2)


def _f1_at(scores: np.ndarray, truth: np.ndarray, t: float) -> float:
    pred = scores > t
    return 2 * float(np.sum(pred & truth)) / max(1, int(pred.sum() + truth.sum()))


def train(
    data: TurnData, labels: list[dict[str, bool]], vocab: NgramVocabulary, meta: dict | None = None
) -> BehaviourModels:
    """Fit the classifiers on every row, with regularisation and thresholds from inner grouped CV.

    For each behaviour, the setting (C, n-gram weight) of SETTINGS and the call aggregate of AGGREGATES
    whose out-of-fold call-level F1 (at its own best threshold) is highest are kept - training calls
    only; ties go to the earlier, default ones.
    ``data`` must have been built with ``vocab`` (fitted on the same training calls' turns).
    """
    n_calls = len(labels)
    all_rows = np.ones(len(data.roles), dtype=bool)
    folds = min(INNER_FOLDS, n_calls)
    truth = {b: np.array([lab[b] for lab in labels]) for b in LEARNED}
    chosen = dict.fromkeys(LEARNED, DEFAULT_SETTING)
    thresholds = dict.fromkeys(LEARNED, 0.5)
    aggregate = dict.fromkeys(LEARNED, AGGREGATES[0])
    if folds >= 2:
        splits = list(GroupKFold(n_splits=folds).split(data.roles, groups=data.call))
        best_f1 = dict.fromkeys(LEARNED, -1.0)
        for setting in SETTINGS:
            oof = {b: np.zeros(len(data.roles)) for b in LEARNED}
            for train_idx, test_idx in splits:
                rows = np.zeros(len(data.roles), dtype=bool)
                rows[train_idx] = True
                coef, intercept = _fit_weights(data, rows, dict.fromkeys(LEARNED, setting))
                scores = BehaviourModels(coef, intercept, {}, vocab).turn_scores(data)
                for b in LEARNED:
                    oof[b][test_idx] = scores[b][test_idx]
            for b in LEARNED:
                for how in AGGREGATES:
                    calls = call_scores(oof[b], data.call, n_calls, how)
                    t = best_threshold(calls, truth[b])
                    f1 = _f1_at(calls, truth[b], t)
                    if f1 > best_f1[b] + 1e-9:
                        best_f1[b], chosen[b], thresholds[b], aggregate[b] = f1, setting, t, how
    coef, intercept = _fit_weights(data, all_rows, chosen)
    meta = {
        **(meta or {}),
        "feature_version": feats.FEATURE_VERSION,
        "C": {b: chosen[b][0] for b in LEARNED},
        "ngram_weight": {b: chosen[b][1] for b in LEARNED},
    }
    return BehaviourModels(coef, intercept, thresholds, vocab, meta, aggregate)
