"""The labelled real recordings in data/recordings/ must be well-formed and must stay measurement-only.

They are the one place where the behaviour model meets real speech (reference transcripts and the
pipeline's own ASR output), so they are worth something only while nothing was fitted to them: no
file of them may reach the training data and no sentence of them may appear in the rules.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest
from conftest import PROJECT_ROOT, shared_path

from qa_scoring.behaviours.labelled import load_dir
from qa_scoring.behaviours.spec import BEHAVIOUR_IDS, WHO

_SCRIPT = PROJECT_ROOT / "scripts" / "check_labelled.py"
_spec = importlib.util.spec_from_file_location("check_labelled", _SCRIPT)
assert _spec and _spec.loader
check_labelled = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("check_labelled", check_labelled)
_spec.loader.exec_module(check_labelled)

RECORDINGS = PROJECT_ROOT / "data" / "recordings"
# The project's contract: the shared one plus the behaviours added since (``spec.OPTIONAL``).
PROJECT_SPEC = PROJECT_ROOT / "qa_scoring" / "behaviours" / "behaviours.yaml"
SETS = ("reference", "asr")
TRAINING = PROJECT_ROOT / "data" / "labelled"


def _files(kind: str | None = None) -> list[Path]:
    kinds = SETS if kind is None else (kind,)
    return sorted(p for k in kinds for p in (RECORDINGS / k).glob("*.json"))


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("kind", SETS)
def test_each_set_passes_the_labelled_checker(kind: str) -> None:
    spec = check_labelled.load_spec(PROJECT_SPEC)
    report = check_labelled.check_dir(RECORDINGS / kind, spec)
    assert report.ok, "\n".join(report.problems)
    assert report.calls >= 2


def test_labels_are_the_tags_of_the_right_speaker() -> None:
    for path in _files():
        data = _load(path)
        assert set(data["labels"]) == set(BEHAVIOUR_IDS), path.name
        for b in BEHAVIOUR_IDS:
            tagged = any(b in t["behaviours"] and t["speaker"] == WHO[b] for t in data["turns"])
            assert data["labels"][b] is tagged, f"{path.name}: {b}"


def test_loader_keeps_turn_times_and_asr_provenance() -> None:
    """The eval loader reads these files with their times; ASR files say which model made them."""
    for kind in SETS:
        for call in load_dir(RECORDINGS / kind):
            assert call.transcript.timed, call.path.name
            starts = [t.start for t in call.transcript.turns]
            assert starts == sorted(starts), call.path.name
            assert all(t.start <= t.end for t in call.transcript.turns), call.path.name
    for path in _files("asr"):
        data = _load(path)
        assert data["provenance"]["transcript"] == "asr"
        assert data["models"]["asr"]["name"], path.name


def test_references_keep_every_word_of_the_shared_reference() -> None:
    """Speakers were assigned and segments merged or split, but no reference word was changed."""
    for path in _files("reference"):
        data = _load(path)
        tsv = shared_path(*Path(data["provenance"]["reference"]).parts[2:])
        with tsv.open(encoding="utf-8") as fh:
            segments = [row["text"].replace("❌", "") for row in csv.DictReader(fh, delimiter="\t")]

        def words(texts: list[str]) -> list[str]:
            return " ".join(texts).split()

        assert words([t["text"] for t in data["turns"]]) == words(segments), path.name


def test_no_recording_is_training_data() -> None:
    names = {p.name for p in TRAINING.glob("*.json")}
    hashes = {hashlib.sha256(p.read_bytes()).hexdigest() for p in TRAINING.glob("*.json")}
    training_text = {
        t["text"].strip().lower()
        for p in TRAINING.glob("*.json")
        for t in _load(p)["turns"]
        if len(t["text"]) > 40
    }
    for path in _files():
        assert path.name not in names
        assert hashlib.sha256(path.read_bytes()).hexdigest() not in hashes, path.name
        for turn in _load(path)["turns"]:
            assert turn["text"].strip().lower() not in training_text, f"{path.name}: {turn['text']}"


def test_no_rule_quotes_a_recording_sentence() -> None:
    """Cues must be general: no sentence of these calls (25+ characters) may appear in the code or rubrics."""
    sources = [*(PROJECT_ROOT / "qa_scoring").rglob("*.py"), *(PROJECT_ROOT / "qa_scoring").rglob("*.yaml")]
    sources += list((PROJECT_ROOT / "rubrics").glob("*.yaml"))
    code = " ".join(re.sub(r"\s+", " ", p.read_text(encoding="utf-8").lower()) for p in sources)
    for path in _files():
        for turn in _load(path)["turns"]:
            for sentence in re.split(r"(?<=[.?!])\s+", turn["text"].lower()):
                if len(sentence) >= 25:
                    assert sentence not in code, f"{path.name}: rule quotes {sentence!r}"
