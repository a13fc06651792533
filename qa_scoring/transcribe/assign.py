"""Words to speakers to turns, keeping overtalk visible.

Diarisation gives *who spoke when* (:class:`SpeechSegment`), ASR gives *words with times*; the two
disagree at the edges by a few hundred milliseconds, and in overtalk two speakers hold the floor
at once. Words therefore go to the speaker whose speech covers most of the word, with the
previous word's speaker breaking ties (a sentence rarely changes speaker mid-overlap). Turns are
built per speaker first, so a customer's "yeah" inside an agent's explanation becomes its own
short turn marked ``overlap`` instead of cutting the agent's turn in two.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from qa_scoring.transcribe.segments import SpeechSegment
from qa_scoring.transcript import Overlap, Turn, Word

LabelledWord = tuple[Word, str]


def assign_words(
    words: Sequence[Word],
    segments: Sequence[SpeechSegment],
    max_distance: float = 1.0,
) -> list[LabelledWord]:
    """Label each word with the speaker whose segments cover most of it (nearest segment otherwise)."""
    segs = sorted(segments, key=lambda s: s.start)
    labelled: list[LabelledWord] = []
    previous: str | None = None
    for word in sorted(words, key=lambda w: w.start):
        cover: dict[str, float] = {}
        nearest: tuple[float, str] | None = None
        for seg in segs:
            if seg.start > word.end + max_distance:
                break
            overlap = min(seg.end, word.end) - max(seg.start, word.start)
            if overlap > 0:
                cover[seg.speaker] = cover.get(seg.speaker, 0.0) + overlap
            distance = max(seg.start - word.end, word.start - seg.end, 0.0)
            if distance <= max_distance and (nearest is None or distance < nearest[0]):
                nearest = (distance, seg.speaker)
        if cover:
            best = max(cover.values())
            # Overtalk: several speakers cover the word about equally - keep the sentence together.
            tied = [s for s, c in cover.items() if c >= 0.8 * best]
            speaker = previous if previous in tied else max(cover, key=lambda s: cover[s])
        elif nearest is not None:
            speaker = nearest[1]
        elif previous is not None:
            speaker = previous
        else:
            speaker = segs[0].speaker if segs else "SPEAKER_00"
        labelled.append((word, speaker))
        previous = speaker
    return labelled


def build_turns(
    labelled: Iterable[LabelledWord], pause_split: float = 1.0, max_gap: float = 5.0
) -> list[Turn]:
    """Group labelled words into turns (role ``unknown``; :mod:`roles` names them later).

    Each speaker's words form runs broken at their own pauses longer than ``pause_split``; runs are
    ordered by start, and consecutive runs of one speaker (nobody else started in between) are
    joined unless the silence between them exceeds ``max_gap`` (a hold is a turn boundary).
    """
    by_speaker: dict[str, list[Word]] = {}
    for word, speaker in labelled:
        by_speaker.setdefault(speaker, []).append(word)
    runs: list[tuple[str, list[Word]]] = []
    for speaker, words in by_speaker.items():
        words.sort(key=lambda w: w.start)
        current = [words[0]]
        for w in words[1:]:
            if w.start - current[-1].end > pause_split:
                runs.append((speaker, current))
                current = []
            current.append(w)
        runs.append((speaker, current))
    runs.sort(key=lambda r: (r[1][0].start, r[1][-1].end))
    merged: list[tuple[str, list[Word]]] = []
    for speaker, words in runs:
        if merged and merged[-1][0] == speaker and words[0].start - merged[-1][1][-1].end <= max_gap:
            merged[-1][1].extend(words)
        else:
            merged.append((speaker, list(words)))
    return [
        Turn(
            speaker=speaker,
            role="unknown",
            text=join_words(words),
            start=words[0].start,
            end=max(w.end for w in words),
            words=words,
        )
        for speaker, words in merged
    ]


def join_words(words: Sequence[Word]) -> str:
    return " ".join(w.text for w in words).strip()


def segments_from_words(labelled: Iterable[LabelledWord], bridge: float = 0.5) -> list[SpeechSegment]:
    """Speaker activity from word times (for stereo, where the words themselves are the diarisation)."""
    by_speaker: dict[str, list[Word]] = {}
    for word, speaker in labelled:
        by_speaker.setdefault(speaker, []).append(word)
    segments: list[SpeechSegment] = []
    for speaker, words in by_speaker.items():
        words.sort(key=lambda w: w.start)
        start, end = words[0].start, words[0].end
        for w in words[1:]:
            if w.start - end > bridge:
                segments.append(SpeechSegment(start, end, speaker))
                start = w.start
            end = max(end, w.end)
        segments.append(SpeechSegment(start, end, speaker))
    return sorted(segments, key=lambda s: s.start)


def find_overlaps(segments: Sequence[SpeechSegment], min_duration: float = 0.2) -> list[Overlap]:
    """Stretches where two or more speakers talk at once, merged and at least ``min_duration`` long."""
    events: list[tuple[float, int, str]] = []
    for s in segments:
        if s.end > s.start:
            events.append((s.start, 1, s.speaker))
            events.append((s.end, -1, s.speaker))
    events.sort(key=lambda e: (e[0], e[1]))
    active: dict[str, int] = {}
    overlaps: list[Overlap] = []
    open_at: float | None = None
    involved: set[str] = set()
    for time, delta, speaker in events:
        active[speaker] = active.get(speaker, 0) + delta
        speaking = {s for s, n in active.items() if n > 0}
        if len(speaking) >= 2:
            if open_at is None:
                open_at, involved = time, set()
            involved |= speaking
        elif open_at is not None:
            if time - open_at >= min_duration:
                overlaps.append(Overlap(round(open_at, 3), round(time, 3), sorted(involved)))
            open_at = None
    return overlaps


def mark_overlaps(turns: Sequence[Turn], overlaps: Sequence[Overlap], min_shared: float = 0.1) -> None:
    """Set ``Turn.overlap`` on turns whose speaker takes part in an overlap inside the turn."""
    for turn in turns:
        if turn.start is None or turn.end is None:
            continue
        turn.overlap = any(
            turn.speaker in o.speakers and min(o.end, turn.end) - max(o.start, turn.start) >= min_shared
            for o in overlaps
        )
