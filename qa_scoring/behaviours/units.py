"""Long turns cut into sentence-sized units before they are classified.

The classifiers learned from turns of a sentence or two (95% of training turns have at most 38
words). A recorded call is not like that: a speaker's stretch of speech can run for a minute and
hundreds of words, whose averaged sentence vector means nothing and whose many n-grams trip cues by
chance. So a turn longer than MAX_UNIT_WORDS is cut at its sentence ends (or, in text without
punctuation, every TARGET_UNIT_WORDS words) into units of about the size the model knows. Each unit
keeps its turn's speaker and, where the words are timed, its own start and end, so evidence quotes
the sentence that shows a behaviour and a reviewer hears that sentence.
"""

from __future__ import annotations

import dataclasses
import re

from qa_scoring.transcript import Transcript, Turn

MAX_UNIT_WORDS = 40
TARGET_UNIT_WORDS = 25
_SENTENCE_END = re.compile(r"(?<=[.?!])\s+")


def split_units(transcript: Transcript) -> tuple[Transcript, list[int]]:
    """The transcript with long turns cut into units, and the original turn index of every unit.

    Events that point at a turn are moved to that turn's first unit.
    """
    units: list[Turn] = []
    turn_of: list[int] = []
    first_unit: list[int] = []
    for i, turn in enumerate(transcript.turns):
        first_unit.append(len(units))
        pieces = _pieces(turn)
        units += pieces
        turn_of += [i] * len(pieces)
    if len(units) == len(transcript.turns):
        return transcript, turn_of
    events = [
        dataclasses.replace(e, turn=first_unit[e.turn] if e.turn < len(first_unit) else len(units))
        if e.turn is not None
        else e
        for e in transcript.events
    ]
    return dataclasses.replace(transcript, turns=units, events=events), turn_of


def _pieces(turn: Turn) -> list[Turn]:
    tokens = turn.text.split()
    if len(tokens) <= MAX_UNIT_WORDS:
        return [turn]
    spans: list[tuple[int, int]] = []  # token ranges [start, end) of each unit
    start = 0
    for sentence in _SENTENCE_END.split(turn.text.strip()):
        n = len(sentence.split())
        for chunk_start in range(0, n, TARGET_UNIT_WORDS):  # an unpunctuated run is cut by length
            size = min(TARGET_UNIT_WORDS, n - chunk_start)
            if spans and spans[-1][1] == start and (spans[-1][1] - spans[-1][0]) + size <= TARGET_UNIT_WORDS:
                spans[-1] = (spans[-1][0], start + size)  # pack short sentences together
            else:
                spans.append((start, start + size))
            start += size
    return [_unit(turn, tokens, a, b) for a, b in spans]


def _unit(turn: Turn, tokens: list[str], a: int, b: int) -> Turn:
    words = turn.words[a:b] if len(turn.words) == len(tokens) else []
    if words:
        start, end = words[0].start, words[-1].end
    elif turn.start is not None and turn.end is not None:  # spread the turn's time over its tokens
        step = (turn.end - turn.start) / len(tokens)
        start, end = turn.start + a * step, turn.start + b * step
    else:
        start = end = None
    return dataclasses.replace(turn, text=" ".join(tokens[a:b]), start=start, end=end, words=list(words))
