"""Reading labelled calls: a transcript plus turn-level behaviour tags and call-level gold labels.

The format is the dev set's (``{"call_id", "turns": [{"speaker", "text", "behaviours"}], "labels"}``).
Files are validated strictly, because a typo in a tag silently becomes a missing training example.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path

from qa_scoring.behaviours.spec import BEHAVIOUR_IDS, OPTIONAL, WHO
from qa_scoring.behaviours.text import asr_style
from qa_scoring.transcript import Transcript, TranscriptError


class LabelledDataError(ValueError):
    """A labelled call file that cannot be used; the message names the file and the problem."""


@dataclass
class LabelledCall:
    path: Path
    transcript: Transcript
    tags: list[set[str]]  # per turn
    labels: dict[str, bool | None]  # None: not decided (see ``load_call``)
    sha256: str
    industry: str = ""  # the file's free-text sector, for grouping calls by source (``sources``)


def load_call(path: Path) -> LabelledCall:
    raw = path.read_bytes()
    try:
        data = json.loads(raw)
        transcript = Transcript.from_dict(data, call_id=path.stem)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LabelledDataError(f"{path}: not valid JSON ({exc})") from None
    except TranscriptError as exc:
        raise LabelledDataError(f"{path}: {exc}") from None
    tags = []
    for i, turn in enumerate(data["turns"]):
        tagged = turn.get("behaviours", [])
        if not isinstance(tagged, list) or not all(isinstance(b, str) for b in tagged):
            raise LabelledDataError(f"{path}: turn {i}: 'behaviours' must be a list of ids")
        unknown = set(tagged) - set(BEHAVIOUR_IDS)
        if unknown:
            raise LabelledDataError(f"{path}: turn {i}: unknown behaviour id(s) {sorted(unknown)}")
        tags.append(set(tagged))
    labels = data.get("labels")
    if not isinstance(labels, dict):
        # Labels follow from the tags by definition; allow files that carry only tags.
        labels = {
            b: any(b in t and transcript.turns[i].role == WHO[b] for i, t in enumerate(tags))
            for b in BEHAVIOUR_IDS
        }
    # null: nobody decided this behaviour (a reviewed call exported by ``qa-scoring learn``, where the
    # reviewer judged only the criteria of the rubrics the call was scored on). Such a label is left
    # out of training and measurement for that behaviour, never read as "absent". A set written before
    # an optional behaviour existed has no label for it at all: the same "not decided".
    labels = {**{b: None for b in OPTIONAL if b not in labels}, **labels}
    missing = [b for b in BEHAVIOUR_IDS if b not in labels or not isinstance(labels[b], (bool, type(None)))]
    if missing:
        raise LabelledDataError(f"{path}: 'labels' lacks a true/false (or null) for {missing}")
    return LabelledCall(
        path,
        transcript,
        tags,
        {b: labels[b] for b in BEHAVIOUR_IDS},
        hashlib.sha256(raw).hexdigest(),
        str(data.get("industry") or ""),
    )


def load_dir(directory: str | Path) -> list[LabelledCall]:
    directory = Path(directory)
    if not directory.is_dir():
        raise LabelledDataError(f"{directory}: not a directory of labelled calls")
    files = sorted(p for p in directory.glob("*.json") if p.is_file())
    if not files:
        raise LabelledDataError(f"{directory}: no *.json labelled calls found")
    return [load_call(p) for p in files]


def as_asr_style(call: LabelledCall) -> LabelledCall:
    """The same call written as raw speech recognition output (for the ASR-robustness check)."""
    transcript = Transcript.from_dict(call.transcript.to_dict())
    for turn in transcript.turns:
        turn.text = asr_style(turn.text)
    return replace(call, transcript=transcript)
