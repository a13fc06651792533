"""Word error rate the same way in tests and benchmarks, so the figures can be compared.

Reference transcripts of real calls are not verbatim and write numbers, fillers and punctuation
their own way; without one shared normaliser a "WER" mostly measures spelling conventions.
Numbers become words (``23`` -> ``twenty three``), fillers (um, uh, er...) and punctuation go,
hyphens split words, case is folded. ``jiwer`` (a dev dependency) does the alignment.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from qa_scoring.spoken_numbers import number_words

# One spelling for words that references and ASR write differently.
SPELLINGS = {
    "mr": "mister",
    "mrs": "missus",
    "ms": "miss",
    "dr": "doctor",
    "ok": "okay",
    "alright": "all right",
    "gonna": "going to",
    "wanna": "want to",
    "cannot": "can not",
    "percent": "per cent",
}
FILLERS = {"um", "uh", "er", "erm", "ah", "hmm", "mm", "mhm", "uhm", "eh", "oh"}


def _spoken(digits: str) -> str:
    """Up to four digits as a number; longer strings digit by digit, as people read account numbers."""
    if len(digits) <= 4:
        return number_words(int(digits))
    return " ".join(number_words(int(d)) for d in digits)


def normalise(text: str) -> str:
    text = text.lower().replace("’", "'")
    text = re.sub(r"(\d),(\d{3})", r"\1\2", text)  # 1,000 -> 1000
    text = re.sub(r"(\d+)(st|nd|rd|th)\b", r"\1", text)
    text = re.sub(r"\d+", lambda m: " " + _spoken(m.group()) + " ", text)
    text = text.replace("%", " percent ").replace("&", " and ")
    text = re.sub(r"[^a-z' ]+", " ", text)
    words = [SPELLINGS.get(w, w) for w in (w.strip("'") for w in text.split())]
    return " ".join(w for w in " ".join(words).split() if w not in FILLERS)


def word_error_rate(reference: str, hypothesis: str) -> float:
    import jiwer

    ref, hyp = normalise(reference), normalise(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return float(jiwer.wer(ref, hyp))


@dataclass(frozen=True)
class RefSegment:
    start: float
    text: str


def read_segments_tsv(path: Path) -> list[RefSegment]:
    """``start_s<TAB>text`` rows (the real-calls references)."""
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return [RefSegment(float(r["start_s"]), r["text"] or "") for r in rows]


def cut_point(segments: Iterable[RefSegment], seconds: float) -> float:
    """Start of the first reference segment at or after ``seconds``: a boundary both sides agree on."""
    later = [s.start for s in segments if s.start >= seconds]
    return min(later) if later else float("inf")
