"""BehaviourDetector: a transcript in, every behaviour of behaviours.yaml out, with evidence.

Loads the trained classifiers and the distilled static embedding table (both build artefacts of
``qa-scoring train``, in one folder) once, then scores a call in one pass with no neural network.
Only the turns of the behaviour's ``who`` speaker count, so a customer's "thanks" never makes the
agent polite.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qa_scoring.config import Settings, get_settings
from qa_scoring.rubric import features as feats
from qa_scoring.rubric.classifier import LEARNED, BehaviourModels, TurnData
from qa_scoring.rubric.spec import BEHAVIOUR_IDS, WHO
from qa_scoring.rubric.static_embed import TABLE_FILE, StaticEmbedder
from qa_scoring.scored_call import BehaviourResult, Evidence
from qa_scoring.transcript import Transcript

# Agent turns before the hold in which the permission question may sit (the customer's "yes"
# and a short exchange may come between).
HOLD_ASK_WINDOW = 4
MAX_EVIDENCE = 3


class ModelMissingError(FileNotFoundError):
    """The trained behaviour classifiers are not there; the message says how to build them."""


def models_folder(settings: Settings | None = None) -> Path:
    return (settings or get_settings()).models_dir / "behaviours"


def _evidence(transcript: Transcript, i: int, quote: str | None = None) -> Evidence:
    turn = transcript.turns[i]
    return Evidence(turn_index=i, speaker=turn.role, quote=quote or turn.text, start=turn.start, end=turn.end)


def hold_etiquette(transcript: Transcript, cf: feats.CallFeatures) -> BehaviourResult:
    """Both halves around a hold: a permission question before it and a thanks when the agent is back."""
    holds = [i for i, h in enumerate(cf.after_hold) if h]
    if not holds:
        return BehaviourResult(False, 0.95, [])
    best: BehaviourResult | None = None
    for r in holds:
        before = [i for i in range(max(0, r - 2 * HOLD_ASK_WINDOW), r) if cf.roles[i] == "agent"][
            -HOLD_ASK_WINDOW:
        ]
        ask = [i for i in before if feats.flag(cf, i, "hold_ask")]
        after = [i for i in range(r, len(cf.roles)) if cf.roles[i] == "agent"][:1]
        thanks = [i for i in after if feats.flag(cf, i, "thanks")]
        if ask and thanks:
            return BehaviourResult(
                True, 0.9, [_evidence(transcript, ask[-1]), _evidence(transcript, thanks[0])]
            )
        if best is None:
            # The half that was done is still useful evidence for a reviewer.
            best = BehaviourResult(False, 0.85, [_evidence(transcript, i) for i in ask[-1:] + thanks[:1]])
    assert best is not None
    return best


def _confidence(p: float, t: float) -> float:
    """Distance from the threshold on the side taken, mapped to 0.5..1."""
    if p > t:
        return round(0.5 + 0.5 * (p - t) / max(1e-6, 1 - t), 3)
    return round(0.5 + 0.5 * (t - p) / max(1e-6, t), 3)


class BehaviourDetector:
    """Detects every behaviour of behaviours.yaml in a transcript."""

    def __init__(self, models: BehaviourModels, embedder: StaticEmbedder, folder: Path | None = None) -> None:
        self.models = models
        self.embedder = embedder
        self.folder = folder
        self.version = str(models.meta.get("version", "unknown"))

    @classmethod
    def load(cls, settings: Settings | None = None) -> BehaviourDetector:
        folder = models_folder(settings)
        if not (folder / "metadata.json").is_file() or not (folder / TABLE_FILE).is_file():
            raise ModelMissingError(
                f"{folder}: no trained behaviour classifiers; run `qa-scoring train data/labelled`"
            )
        try:
            models = BehaviourModels.load(folder)
        except (OSError, KeyError, ValueError) as exc:
            raise ModelMissingError(
                f"{folder}: behaviour classifiers unreadable or stale ({exc}); "
                "run `qa-scoring train data/labelled`"
            ) from None
        embedder = StaticEmbedder.load(folder)
        embedder.warm(models.vocab.terms)  # the training words: most words of any call
        return cls(models, embedder, folder)

    @property
    def models_info(self) -> dict:
        """What goes in a scored call's ``models`` block."""
        return {
            "name": "qa-scoring behaviours",
            "version": self.version,
            "embedding": "all-MiniLM-L6-v2 (distilled static word-piece table)",
            "trained_on": self.models.meta.get("counts", {}),
        }

    def features(self, transcript: Transcript) -> feats.CallFeatures:
        return feats.call_features(transcript, self.embedder)

    def turn_scores(self, cf: feats.CallFeatures) -> dict[str, np.ndarray]:
        return self.models.turn_scores(TurnData.build([cf], self.models.vocab))

    def detect(self, transcript: Transcript) -> dict[str, BehaviourResult]:
        if not transcript.turns:
            return {b: BehaviourResult(False, 0.5, []) for b in BEHAVIOUR_IDS}
        cf = self.features(transcript)
        return self.decide(transcript, cf, self.turn_scores(cf))

    def decide(
        self, transcript: Transcript, cf: feats.CallFeatures, scores: dict[str, np.ndarray]
    ) -> dict[str, BehaviourResult]:
        out: dict[str, BehaviourResult] = {}
        for b in BEHAVIOUR_IDS:
            if b not in LEARNED:
                continue
            p, t = scores[b], self.models.threshold[b]
            best = self.models.call_score(b, p)
            present = best > t
            ranked = [int(i) for i in np.argsort(-p, kind="stable") if p[i] > 0 and cf.roles[i] == WHO[b]]
            # The turns over the threshold; when only two turns together carry the call, those two.
            shown = [i for i in ranked if p[i] > t] or (ranked[:2] if present else [])
            evidence = [_evidence(transcript, i) for i in sorted(shown[:MAX_EVIDENCE])]
            out[b] = BehaviourResult(present, _confidence(best, t), evidence)
        out["hold_etiquette"] = hold_etiquette(transcript, cf)
        return {b: out[b] for b in BEHAVIOUR_IDS}
