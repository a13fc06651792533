"""Speaker segments: the hand-off between diarisation (by channel or by pyannote) and word assignment."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SpeechSegment:
    """A stretch of time in which ``speaker`` (a diarisation label such as ``SPEAKER_00``) talks."""

    start: float
    end: float
    speaker: str

    @property
    def duration(self) -> float:
        return self.end - self.start
