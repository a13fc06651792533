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
from qa_scoring.behaviours.phrases import (
    DAY_WORDS,
    TIME_TERM,
    PhraseLessons,
    PhraseMatch,
    PhraseMatcher,
    PhraseSpec,
    read_lessons,
    window,
    with_lessons,
)
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
        # what reviewers taught the criteria in plain words, by ``phrase_key`` (``qa-scoring learn``)
        self.lessons: dict[str, PhraseLessons] = read_lessons(folder) if folder else {}

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
        return self.detect_with_phrases(transcript, {})[0]

    def phrase_matcher(self, spec: PhraseSpec, key: str | None = None) -> PhraseMatcher:
        """A matcher for a criterion in plain words, weighting words by this model's call vocabulary;
        ``key`` (its ``phrase_key``) adds what the reviewers taught it."""
        spec = with_lessons(spec, self.lessons.get(key) if key else None)
        vocab = self.models.vocab
        rarest = float(vocab.idf.max()) if len(vocab) else 1.0
        days = [float(vocab.idf[vocab.index[w]]) for w in DAY_WORDS if w in vocab.index]
        idf_of_class = {TIME_TERM: min(days, default=rarest)}
        return PhraseMatcher(
            spec,
            lambda t: float(vocab.idf[vocab.index[t]]) if t in vocab.index else idf_of_class.get(t, rarest),
            self.embedder.word_vectors,
        )

    def detect_with_phrases(
        self, transcript: Transcript, matchers: dict[str, PhraseMatcher]
    ) -> tuple[dict[str, BehaviourResult], dict[str, BehaviourResult]]:
        """The behaviours and, in the same pass over the call, each phrase criterion of ``matchers``."""
        if not transcript.turns:
            empty = _result(False, 0.5, [])
            return {b: empty for b in BEHAVIOUR_IDS}, dict.fromkeys(matchers, empty)
        cf = self.features(transcript)
        behaviours = self.decide(transcript, cf, self.turn_scores(cf))
        return behaviours, {key: self.match_phrase(cf, behaviours, m)[0] for key, m in matchers.items()}

    def match_phrase(
        self, cf: feats.CallFeatures, behaviours: dict[str, BehaviourResult], matcher: PhraseMatcher
    ) -> tuple[BehaviourResult, PhraseMatch]:
        """One phrase criterion on one call: the result for the rubric, and the match (for "try it")."""
        complaint = behaviours["complaint"]
        complaint_unit = (
            cf.turn_of.index(complaint.evidence[0].turn_index)
            if complaint.present and complaint.evidence
            else None
        )
        hold_unit = next((e.turn for e in cf.holds if e.turn is not None), None)
        spec = matcher.spec
        allowed = window(cf.roles, spec.who, spec.when, complaint_unit, hold_unit)
        found = matcher.match(cf.canonical, allowed)
        evidence = [_evidence(cf, i) for i in sorted(found.units)]
        return _result(found.present, found.probability, evidence), found

    def decide(
        self, transcript: Transcript, cf: feats.CallFeatures, scores: dict[str, np.ndarray]
    ) -> dict[str, BehaviourResult]:
        out: dict[str, BehaviourResult] = {}
        short = np.array([len(c.split()) <= SHORT_TURN_WORDS for c in cf.canonical], dtype=bool)
        own = {
            b: self.models.call_score(b, scores[b], cf.talk_over if b == TALK_OVER else None, short)
            for b in LEARNED
        }
        stacked = self.models.stacked(own)
        # Rudeness is asserted from the agent's own turns alone; the whole call's reading of it is the
        # probability shown, so where the two disagree a reviewer decides (``classifier.NOT_STACKED``).
        context = self.models.context_probability(own)
        for b in LEARNED:
            p = scores[b]
            present = stacked[b] > self.models.threshold[b]
            probability = context.get(b, self.models.probability(b, stacked[b]))
            unsure = b in context and (probability if present else 1.0 - probability) < DECISION_CONFIDENCE
            ranked = [int(i) for i in np.argsort(-p, kind="stable") if p[i] > 0 and cf.roles[i] == WHO[b]]
            # The turns over the evidence bar; when the call is carried by weaker turns (two together,
            # or one read beside the rest of the call), or the call reads otherwise than those turns
            # (a reviewer decides), the best two.
            bar = self.models.evidence_bar(b)
            shown = [i for i in ranked if p[i] > bar] or (ranked[:2] if present or unsure else [])
            evidence = [_evidence(cf, i) for i in sorted(shown[:MAX_EVIDENCE])]
            out[b] = _result(present, probability, evidence)
        out["hold_etiquette"] = hold_etiquette(cf)
        return {b: out[b] for b in BEHAVIOUR_IDS}
