"""Replace personal data in a transcript by typed placeholders, keeping the times of what was removed.

Turns with ASR words are redacted word by word: the words an entity covers become one placeholder
word that starts where the first of them started and ends where the last ended, so the stored
transcript still lines up with the (redacted) audio, and the returned spans say exactly which
stretch of audio to blank. Turns without words (labelled or imported text) are redacted in their
text; their span carries the turn's times when it has them, so the audio redaction blanks the whole
turn rather than guessing.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass

from qa_scoring.redact.entities import KINDS, Entity, find_entities
from qa_scoring.transcript import Transcript, Turn, Word

PLACEHOLDERS = {kind: f"[{kind}]" for kind in KINDS}


@dataclass(frozen=True)
class RedactedSpan:
    """What was removed: ``kind`` in turn ``turn_index``, audio ``start``-``end`` seconds (None: untimed).

    ``char_start``/``char_end`` locate it in the *original* turn text (or joined words), for tools
    that compare before and after; they are never stored next to the original text.
    """

    kind: str
    turn_index: int
    start: float | None
    end: float | None
    char_start: int
    char_end: int


def redact_transcript(transcript: Transcript) -> tuple[Transcript, list[RedactedSpan]]:
    """A redacted copy of ``transcript`` (the input is not changed) and the spans that were removed."""
    texts: list[str] = []
    offsets: list[list[tuple[int, int]]] = []
    for turn in transcript.turns:
        text, spans = _joined_words(turn.words) if turn.words else (turn.text, [])
        texts.append(text)
        offsets.append(spans)
    found = find_entities(texts)
    out = copy.deepcopy(transcript)
    spans: list[RedactedSpan] = []
    for i, (turn, entities) in enumerate(zip(out.turns, found, strict=True)):
        if not entities:
            continue
        if turn.words:
            spans.extend(_redact_words(i, turn, texts[i], offsets[i], entities))
        else:
            turn.text = _replace(turn.text, entities)
            spans.extend(RedactedSpan(e.kind, i, turn.start, turn.end, e.start, e.end) for e in entities)
    return out, spans


def _joined_words(words: list[Word]) -> tuple[str, list[tuple[int, int]]]:
    """The words as one string and each word's character span in it.

    faster-whisper words carry their own leading space (" four"); words from elsewhere may not.
    """
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    pos = 0
    for k, word in enumerate(words):
        piece = word.text if word.text[:1].isspace() or k == 0 else " " + word.text
        lead = len(piece) - len(piece.lstrip())
        spans.append((pos + lead, pos + len(piece)))
        parts.append(piece)
        pos += len(piece)
    return "".join(parts), spans


def _redact_words(
    i: int, turn: Turn, text: str, word_spans: list[tuple[int, int]], entities: list[Entity]
) -> list[RedactedSpan]:
    spans: list[RedactedSpan] = []
    words = turn.words
    new_words: list[Word] = []
    k = 0
    for e in entities:
        first = next(n for n, (s, t) in enumerate(word_spans) if t > e.start)
        last = max(n for n, (s, t) in enumerate(word_spans) if s < e.end)
        if first < k:  # two entities inside one word: the first placeholder already covers it
            continue
        new_words.extend(words[k:first])
        w0, w1 = words[first], words[last]
        lead = w0.text[: len(w0.text) - len(w0.text.lstrip())]
        head = text[word_spans[first][0] : e.start]
        tail = text[e.end : word_spans[last][1]]
        # keep surrounding punctuation ("nine," -> "[CARD],"), never a stray letter or digit
        head = head if not re.search(r"\w", head) else ""
        tail = tail if not re.search(r"\w", tail) else ""
        new_words.append(
            Word(
                text=lead + head + PLACEHOLDERS[e.kind] + tail,
                start=w0.start,
                end=w1.end,
                probability=min(w.probability for w in words[first : last + 1]),
            )
        )
        spans.append(RedactedSpan(e.kind, i, w0.start, w1.end, e.start, e.end))
        k = last + 1
    new_words.extend(words[k:])
    turn.words = new_words
    # the words are the source of truth for a timed turn: its text is rebuilt from them
    turn.text = _joined_words(new_words)[0].strip()
    return spans


def _replace(text: str, entities: list[Entity]) -> str:
    out: list[str] = []
    pos = 0
    for e in sorted(entities, key=lambda e: e.start):
        if e.start < pos:
            continue
        out.append(text[pos : e.start])
        out.append(PLACEHOLDERS[e.kind])
        pos = e.end
    out.append(text[pos:])
    return "".join(out)
