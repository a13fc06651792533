"""Public entry point for behaviour detection.

Other parts of qa-scoring (rubrics, scorecards, metrics, the UI) import from here only:
``BEHAVIOUR_IDS``/``WHO`` are the contract from behaviours.yaml, and ``BehaviourDetector`` turns a
transcript into one ``BehaviourResult`` per behaviour. The implementation lives in small modules
beside this one (spec, text, embed, rules, features, classifier, detector, measure).
"""

from __future__ import annotations

from qa_scoring.behaviours.detector import BehaviourDetector, ModelMissingError, models_folder
from qa_scoring.behaviours.phrases import WHEN as PHRASE_WHEN
from qa_scoring.behaviours.phrases import WHO as PHRASE_WHO
from qa_scoring.behaviours.phrases import PhraseMatch, PhraseMatcher, PhraseSpec
from qa_scoring.behaviours.spec import BEHAVIOUR_IDS, DEFINITIONS, WHO
from qa_scoring.scored_call import BehaviourResult, Evidence

__all__ = [
    "BEHAVIOUR_IDS",
    "DEFINITIONS",
    "WHO",
    "BehaviourDetector",
    "BehaviourResult",
    "Evidence",
    "ModelMissingError",
    "PHRASE_WHEN",
    "PHRASE_WHO",
    "PhraseMatch",
    "PhraseMatcher",
    "PhraseSpec",
    "models_folder",
]
