"""Scoring a call: a transcript in, a :class:`ScoredCall` out (behaviours, metrics, every rubric's
scorecard and whether a reviewer should look). It composes the three parts below it - behaviour
detection, the rubric engine and the review rule - so none of them needs to know the others.

Loading (the behaviour detector's models, the rubric files) is slow and happens once in
:meth:`Scorer.load`; :meth:`Scorer.score` is then cheap and pure, so a batch worker loads one
scorer and calls ``score`` for every call it is given.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any, Protocol

from qa_scoring.config import Settings, get_settings
from qa_scoring.review.selection import review_priority
from qa_scoring.rubric.evaluate import evaluate, phrase_key
from qa_scoring.rubric.metrics import compute_metrics
from qa_scoring.rubric.rubric import Rubric, load_rubrics
from qa_scoring.scored_call import BehaviourResult, ScoredCall
from qa_scoring.transcript import Transcript


class Detector(Protocol):
    """What the scorer needs from a behaviour detector."""

    version: str

    def detect(self, transcript: Transcript) -> dict[str, BehaviourResult]: ...


class Scorer:
    def __init__(self, detector: Detector, rubrics: dict[str, Rubric], settings: Settings):
        self.detector = detector
        self.rubrics = rubrics
        self.settings = settings
        # Criteria in plain words, matched in the detector's pass over the call; built once here.
        self.matchers = {
            phrase_key(r.id, c.id): detector.phrase_matcher(c.says, phrase_key(r.id, c.id))  # type: ignore[attr-defined]
            for r in rubrics.values()
            for c in r.criteria
            if c.says is not None
        }

    @classmethod
    def load(cls, settings: Settings | None = None, rubric_ids: Iterable[str] | None = None) -> Scorer:
        """Load the detector and the rubrics (all in ``settings.rubrics_dir``, or only ``rubric_ids``).

        Rubrics are read first: a broken rubric file should fail fast, before minutes of model loading.
        """
        from qa_scoring.behaviours import BehaviourDetector

        settings = settings or get_settings()
        rubrics = load_rubrics(settings.rubrics_dir, list(rubric_ids) if rubric_ids else None)
        return cls(BehaviourDetector.load(settings), rubrics, settings)

    @property
    def models(self) -> dict[str, Any]:
        info = getattr(self.detector, "models_info", None) or {"version": self.detector.version}
        return {"behaviours": info, "rubrics": {r.id: r.version for r in self.rubrics.values()}}

    def score(self, transcript: Transcript, rubric_ids: Collection[str] | None = None) -> ScoredCall:
        """Score ``transcript`` on every loaded rubric, or only on ``rubric_ids`` (a batch run's)."""
        rubrics = self.rubrics
        if rubric_ids:
            unknown = sorted(set(rubric_ids) - set(self.rubrics))
            if unknown:
                raise ValueError(
                    f"unknown rubric(s) {', '.join(unknown)} (loaded: {', '.join(self.rubrics)})"
                )
            rubrics = {rid: rubric for rid, rubric in self.rubrics.items() if rid in rubric_ids}
        if self.matchers:
            behaviours, phrases = self.detector.detect_with_phrases(transcript, self.matchers)  # type: ignore[attr-defined]
        else:
            behaviours, phrases = self.detector.detect(transcript), {}
        metrics = compute_metrics(transcript, hold_min_silence=self.settings.hold_min_silence)
        scorecards = {rid: evaluate(rubric, behaviours, metrics, phrases) for rid, rubric in rubrics.items()}
        return ScoredCall(
            call_id=transcript.call_id,
            behaviours=behaviours,
            metrics=metrics.to_dict(),
            scorecards=scorecards,
            review=review_priority(scorecards, behaviours, self.settings),
            models={**transcript.models, **self.models},
        )
