"""BehaviourDetector: a transcript in, every behaviour of behaviours.yaml out, with evidence.

Loads the trained classifiers and the distilled static embedding table (both build artefacts of
``qa-scoring train``, in one folder) once, then scores a call in one pass with no neural network.
Only the turns of the behaviour's ``who`` speaker count, so a customer's "thanks" never makes the
agent polite.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qa_scoring.behaviours import features as feats
from qa_scoring.behaviours.classifier import LEARNED, SHORT_TURN_WORDS, TALK_OVER, BehaviourModels, TurnData
from qa_scoring.behaviours.spec import BEHAVIOUR_IDS, WHO
from qa_scoring.behaviours.static_embed import TABLE_FILE, StaticEmbedder
from qa_scoring.config import Settings, get_settings
from qa_scoring.scored_call import DECISION_CONFIDENCE, BehaviourResult, Evidence
from qa_scoring.transcript import Transcript

# Agent turns before the hold in which the permission question may sit (the customer's "yes"
# and a short exchange may come between).
HOLD_ASK_WINDOW = 4
MAX_EVIDENCE = 3
# Hold etiquette is decided by rule, not learned: its probabilities are fixed by what the rule saw.
HOLD_ETIQUETTE_P = {"both halves": 0.9, "one half": 0.15, "no hold": 0.03}


class ModelMissingError(FileNotFoundError):
    """The trained behaviour classifiers are not there; the message says how to build them."""


def models_folder(settings: Settings | None = None) -> Path:
    return (settings or get_settings()).models_dir / "behaviours"


def _evidence(cf: feats.CallFeatures, i: int) -> Evidence:
    """Unit ``i`` as evidence: its own words and times, under the index of the turn it belongs to."""
    unit = cf.units[i]
    return Evidence(cf.turn_of[i], unit.role, unit.text, unit.start, unit.end)


def _result(present: bool, probability: float, evidence: list[Evidence]) -> BehaviourResult:
    confidence = probability if present else 1.0 - probability
    return BehaviourResult(
        present,
        round(confidence, 3),
        evidence,
        probability=round(probability, 3),
        needs_decision=confidence < DECISION_CONFIDENCE,
    )


def hold_etiquette(cf: feats.CallFeatures) -> BehaviourResult:
    """Both halves around a hold: a permission question before it and a thanks when the agent is back.

    The holds come from every source (``holds``): the audio, a marker, or the agent's own words.
    """
    holds = [e.turn for e in cf.holds if e.turn is not None]
    if not holds:
        return _result(False, HOLD_ETIQUETTE_P["no hold"], [])
    half: list[Evidence] = []
    for r in holds:
        before = [i for i in range(max(0, r - 2 * HOLD_ASK_WINDOW), r) if cf.roles[i] == "agent"][
            -HOLD_ASK_WINDOW:
        ]
        ask = [i for i in before if feats.flag(cf, i, "hold_ask")]
        back = [i for i in range(r, len(cf.roles)) if cf.roles[i] == "agent"][:1]
        thanks = [i for i in back if feats.flag(cf, i, "thanks")]
        if ask and thanks:
            evidence = [_evidence(cf, ask[-1]), _evidence(cf, thanks[0])]
            return _result(True, HOLD_ETIQUETTE_P["both halves"], evidence)
        if not half:
            # The half that was done is still useful evidence for a reviewer.
            half = [_evidence(cf, i) for i in ask[-1:] + thanks[:1]]
    return _result(False, HOLD_ETIQUETTE_P["one half"], half)


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
            return {b: _result(False, 0.5, []) for b in BEHAVIOUR_IDS}
        cf = self.features(transcript)
        return self.decide(transcript, cf, self.turn_scores(cf))

    def decide(
        self, transcript: Transcript, cf: feats.CallFeatures, scores: dict[str, np.ndarray]
    ) -> dict[str, BehaviourResult]:
        out: dict[str, BehaviourResult] = {}
        short = np.array([len(c.split()) <= SHORT_TURN_WORDS for c in cf.canonical], dtype=bool)
        for b in BEHAVIOUR_IDS:
            if b not in LEARNED:
                continue
            p, t = scores[b], self.models.threshold[b]
            best = self.models.call_score(b, p, cf.talk_over if b == TALK_OVER else None, short)
            present = best > t
            ranked = [int(i) for i in np.argsort(-p, kind="stable") if p[i] > 0 and cf.roles[i] == WHO[b]]
            # The turns over the threshold; when only two turns together carry the call, those two.
            shown = [i for i in ranked if p[i] > t] or (ranked[:2] if present else [])
            evidence = [_evidence(cf, i) for i in sorted(shown[:MAX_EVIDENCE])]
            out[b] = _result(present, self.models.probability(b, best), evidence)
        out["hold_etiquette"] = hold_etiquette(cf)
        return {b: out[b] for b in BEHAVIOUR_IDS}
