"""Post-filters against Whisper's two failure modes on call audio: text on silence, repetition loops.

Decoder thresholds (compression ratio, no-speech, log-probability) catch most of it inside
faster-whisper, but holds, dead air and line noise still produce low-confidence words, and a
stuck decoder still repeats a phrase. These checks look at the words and at the signal energy
under them, so they work the same whichever model produced the words.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from qa_scoring.transcribe.audio import frame_levels_db
from qa_scoring.transcript import Word

FRAME_S = 0.02


def _key(word: Word) -> str:
    return "".join(ch for ch in word.text.lower() if ch.isalnum() or ch == "'")


def remove_repetition_loops(words: Sequence[Word], max_repeats: int = 4, max_n: int = 8) -> list[Word]:
    """Collapse an n-gram repeated back to back more than ``max_repeats`` times to one occurrence.

    People do say "no no no" or "okay okay okay", so a few repeats stand; a decoder loop repeats
    a phrase many times over, and only its first occurrence can be real.
    """
    out = list(words)
    keys = [_key(w) for w in out]
    i = 0
    while i < len(out):
        collapsed = False
        for n in range(1, max_n + 1):
            if i + n * (max_repeats + 1) > len(out):
                break
            gram = keys[i : i + n]
            if not any(gram):
                continue
            reps = 1
            while keys[i + reps * n : i + (reps + 1) * n] == gram:
                reps += 1
            if reps > max_repeats:
                del out[i + n : i + reps * n]
                del keys[i + n : i + reps * n]
                collapsed = True
                break
        if not collapsed:
            i += 1
    return out


class SilenceGate:
    """Tells whether a stretch of the signal is silence relative to this recording's own levels.

    Telephone lines have a noise floor well above digital silence and differ from call to call,
    so "silent" is judged against the recording's floor (a low percentile of frame levels), not an
    absolute level.
    """

    def __init__(self, signal: np.ndarray, margin_db: float = 10.0) -> None:
        self.levels = frame_levels_db(signal, FRAME_S)
        if len(self.levels):
            floor = float(np.percentile(self.levels, 10))
            loud = float(np.percentile(self.levels, 95))
        else:
            floor = loud = -140.0
        # Halfway to the speech level when the line is quiet overall, so a threshold never sits above speech.
        self.threshold = min(floor + margin_db, (floor + loud) / 2)

    def peak_db(self, start: float, end: float) -> float:
        a = max(0, int(start / FRAME_S))
        b = max(a + 1, int(np.ceil(end / FRAME_S)))
        span = self.levels[a:b]
        return float(span.max()) if len(span) else -140.0

    def silent(self, start: float, end: float) -> bool:
        return self.peak_db(start, end) < self.threshold


def remove_words_in_silence(
    words: Sequence[Word], gate: SilenceGate, max_probability: float = 0.5
) -> list[Word]:
    """Drop words that the model was unsure of and under which the signal is at the noise floor."""
    return [w for w in words if not (w.probability < max_probability and gate.silent(w.start, w.end))]
