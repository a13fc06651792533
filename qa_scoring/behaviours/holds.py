"""Holds in a call, from whatever shows them: the audio, a transcriber's marker, or the agent's words.

Most transcripts never write "[on hold]". A hold shows in the audio (music, or nobody speaking for a
long time), which the speech pipeline writes into the transcript as ``events``; and it shows in what
the agent says around it ("can I pop you on hold?" ... "thanks for holding", "sorry to keep you
waiting", "are you still there?"), which is all a text-only transcript has. Every source is found
here, and they are merged into one hold per resuming turn, so hold etiquette and the hold metrics
read the same holds whatever the transcript looks like.
"""

from __future__ import annotations

import re

import numpy as np

from qa_scoring.behaviours import rules, text
from qa_scoring.transcript import Event, EventSource, Transcript

# A gap this long between timed turns is a hold (nobody on a call is silent that long otherwise).
DEFAULT_MIN_GAP_SECONDS = 45.0
# When several sources show the same hold, the evidence a reviewer can check most directly wins.
_SOURCE_RANK: dict[EventSource, int] = {"music": 0, "marker": 1, "silence": 2, "words": 3}
# An announced hold ("let me put you on hold") resumes at one of the agent's next turns.
_ANNOUNCE_REACH = 2
# A turn this short that thanks the customer for agreeing to hold is still on the way into the hold.
_SHORT_TURN_WORDS = 4
# In a timed transcript, a hold the words show must leave at least this gap before the resuming turn.
MIN_WORDS_HOLD_GAP = 3.0
# The explicit word "hold" in an announcement: enough on its own to place a hold after it, unlike
# "bear with me" or "one moment", which agents also say while they keep talking.
_ON_HOLD = re.compile(r"\bhold\b")


def find_holds(
    transcript: Transcript,
    canonical: list[str] | None = None,
    flags: np.ndarray | None = None,
    min_gap: float = DEFAULT_MIN_GAP_SECONDS,
) -> list[Event]:
    """Every hold in the call, one per resuming turn, in call order.

    ``canonical`` and ``flags`` (``rules.call_flags`` of it) are taken when the caller has them already.
    """
    if canonical is None:
        canonical = [text.canonical(t.text) for t in transcript.turns]
    if flags is None:
        flags = rules.call_flags(canonical)
    found: list[Event] = [e for e in transcript.events if e.kind == "hold"]
    found += _from_markers(transcript)
    if transcript.timed:  # a gap that long is a hold whatever the audio analysis made of it
        found += _from_gaps(transcript, min_gap)
    found += _from_words(transcript, canonical, flags)
    return _merge(found, transcript)


def resuming_turns(holds: list[Event], n_turns: int) -> list[bool]:
    """Per turn: whether it is the first turn after a hold."""
    out = [False] * n_turns
    for hold in holds:
        if hold.turn is not None and 0 <= hold.turn < n_turns:
            out[hold.turn] = True
    return out


def _from_markers(transcript: Transcript) -> list[Event]:
    out = []
    for i, turn in enumerate(transcript.turns):
        if text.hold_marker(turn.text):
            prev_end = transcript.turns[i - 1].end if i else None
            out.append(Event("hold", "marker", prev_end, turn.start, i))
    return out


def _from_gaps(transcript: Transcript, min_gap: float) -> list[Event]:
    out = []
    turns = transcript.turns
    covered = turns[0].end if turns else None
    for i in range(1, len(turns)):
        start, end = turns[i].start, turns[i].end
        assert start is not None and end is not None and covered is not None  # timed
        if start - covered >= min_gap:
            out.append(Event("hold", "silence", covered, start, i))
        covered = max(covered, end)
    return out


def _from_words(transcript: Transcript, canonical: list[str], flags: np.ndarray) -> list[Event]:
    """Holds the agent's words show: a return from hold, or an explicit "on hold" announcement.

    In a timed transcript the words must agree with the timing: a hold leaves a gap of at least
    MIN_WORDS_HOLD_GAP seconds before the turn that resumes.
    """
    returns = flags[:, rules.RULE_NAMES.index("hold_return")] > 0
    announces = flags[:, rules.RULE_NAMES.index("hold_announce")] > 0
    thanks = flags[:, rules.RULE_NAMES.index("thanks")] > 0
    agent = [i for i, t in enumerate(transcript.turns) if t.role == "agent"]
    out = []
    for k, i in enumerate(agent):
        if returns[i]:
            out.append(i)
        elif announces[i] and _ON_HOLD.search(canonical[i]):
            # Resumes at the next agent turn that is not still on the way into the hold: a further
            # announcement, or a short "thank you" for the customer's agreement.
            for j in agent[k + 1 : k + 1 + _ANNOUNCE_REACH]:
                short_thanks = thanks[j] and len(canonical[j].split()) <= _SHORT_TURN_WORDS
                if not (announces[j] or short_thanks):
                    out.append(j)
                    break
    if transcript.timed:
        out = [i for i in out if i > 0 and _gap_before(transcript, i) >= MIN_WORDS_HOLD_GAP]
    return [_word_event(transcript, i) for i in out]


def _gap_before(transcript: Transcript, i: int) -> float:
    start = transcript.turns[i].start
    prev_end = max(t.end for t in transcript.turns[:i] if t.end is not None)
    assert start is not None
    return start - prev_end


def _word_event(transcript: Transcript, i: int) -> Event:
    prev_end = transcript.turns[i - 1].end if i else None
    return Event("hold", "words", prev_end, transcript.turns[i].start, i)


def _merge(events: list[Event], transcript: Transcript) -> list[Event]:
    """One hold per resuming turn. A words cue in the first agent turn after another source's hold is
    that same hold, not a second one."""
    n = len(transcript.turns)
    by_turn: dict[int, Event] = {}
    untimed: list[Event] = []
    for e in sorted(events, key=lambda e: _SOURCE_RANK[e.source]):
        if e.turn is None:
            untimed.append(e)
            continue
        turn = e.turn
        if e.source == "words":
            # the agent speaking first after an audio/marker hold is the return from that hold
            earlier = [t for t in by_turn if t <= turn and _only_customer_between(transcript, t, turn)]
            if earlier:
                continue
        if turn not in by_turn and turn <= n:
            by_turn[turn] = e
    merged = [by_turn[t] for t in sorted(by_turn)]
    return merged + untimed


def _only_customer_between(transcript: Transcript, first: int, turn: int) -> bool:
    """Whether no agent turn sits in [first, turn) - so ``turn`` is the agent's first turn from ``first``."""
    return all(transcript.turns[j].role != "agent" for j in range(first, turn))
