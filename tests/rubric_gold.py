"""A behaviour detector built from the dev calls' gold turn tags, for unit tests of the rubric engine.

It stands in for the trained detector (slow to load) so scoring semantics can be tested on real
labelled calls; the real detector is exercised in the end-to-end tests.
"""

from __future__ import annotations

import json
from pathlib import Path

from qa_scoring.behaviours.spec import BEHAVIOUR_IDS, WHO
from qa_scoring.scored_call import BehaviourResult, Evidence
from qa_scoring.transcript import Transcript


class GoldDetector:
    """Reads the ``behaviours`` tags that the dev call files carry on each turn."""

    version = "gold"

    def __init__(self, calls_dir: Path, confidence: float = 0.9):
        self.calls_dir = calls_dir
        self.confidence = confidence

    def detect(self, transcript: Transcript) -> dict[str, BehaviourResult]:
        data = json.loads((self.calls_dir / f"{transcript.call_id}.json").read_text(encoding="utf-8"))
        out = {}
        for bid in BEHAVIOUR_IDS:
            hits = [
                i
                for i, turn in enumerate(data["turns"])
                if bid in turn.get("behaviours", []) and turn["speaker"] == WHO[bid]
            ]
            evidence = [
                Evidence(i, transcript.turns[i].role, transcript.turns[i].text, transcript.turns[i].start,
                         transcript.turns[i].end)
                for i in hits
            ]  # fmt: skip
            out[bid] = BehaviourResult(bool(hits), self.confidence, evidence)
        return out
