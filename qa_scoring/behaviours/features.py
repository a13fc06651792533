"""Per-turn feature rows for the behaviour classifiers.

A behaviour is often only recognisable with its neighbours: an apology is a reply to a complaint,
a thanks after a hold closes the hold, a "so you're saying..." restates what the customer just said.
So each turn's dense row holds its own sentence embedding, the previous and next turns' embeddings,
the rule cues of the turn and its neighbours, and where the turn sits in the call. The classifier
adds the turn's word n-grams (``ngrams``) as a sparse block.

Nothing here depends on training except the embedder's table, so features are computed once per
call and reused across cross-validation folds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from qa_scoring.behaviours import rules, text
from qa_scoring.behaviours.holds import find_holds, resuming_turns
from qa_scoring.behaviours.static_embed import StaticEmbedder
from qa_scoring.behaviours.talk_over import talk_over_turns
from qa_scoring.behaviours.units import split_units
from qa_scoring.transcript import Event, Transcript, Turn

# Feature layout version: bump when the row layout changes, so a stale trained model is refused.
FEATURE_VERSION = 7
# Nothing typographic (dashes, punctuation, markers) goes into a row: a model trained on tidy
# written calls would learn the writers' conventions instead of what a real call carries.
_POSITION = (
    "first_own",
    "second_own",
    "last_own",
    "second_last_own",
    "rel_pos",
    "after_hold",
    "overlap",
    "log_words",
)


@dataclass
class CallFeatures:
    """One row per unit (``units``: a turn, or a sentence-sized piece of a long one)."""

    units: list[Turn]
    turn_of: list[int]  # the transcript turn each unit comes from
    roles: list[str]
    raw: list[str]
    canonical: list[str]
    flags: np.ndarray  # (turns, len(rules.RULE_NAMES))
    emb: np.ndarray  # (turns, 384)
    holds: list[Event]
    after_hold: list[bool]
    position: np.ndarray  # (turns, len(_POSITION))
    talk_over: np.ndarray  # (turns,) bool: agent turns that talk over the customer (``talk_over``)
    # (turns,) bool: agent turns right after a customer turn that a writer marked as cut off. Their
    # labels are about the interruption, not their words, so the learned model never trains on them.
    after_cut_off: np.ndarray

    def matrix(self) -> np.ndarray:
        n = len(self.roles)
        zero_e = np.zeros((1, self.emb.shape[1]), dtype=np.float32)
        zero_f = np.zeros((1, self.flags.shape[1]), dtype=np.float32)
        prev_e = np.vstack([zero_e, self.emb[:-1]]) if n else self.emb
        next_e = np.vstack([self.emb[1:], zero_e]) if n else self.emb
        prev_f = np.vstack([zero_f, self.flags[:-1]]) if n else self.flags
        next_f = np.vstack([self.flags[1:], zero_f]) if n else self.flags
        return np.hstack([self.emb, prev_e, next_e, self.flags, prev_f, next_f, self.position]).astype(
            np.float32
        )


def _position(transcript: Transcript, after_hold: list[bool], canonical: list[str]) -> np.ndarray:
    n = len(transcript.turns)
    rows = np.zeros((n, len(_POSITION)), dtype=np.float32)
    by_role: dict[str, list[int]] = {}
    for i, t in enumerate(transcript.turns):
        by_role.setdefault(t.role, []).append(i)
    for idxs in by_role.values():
        for k, i in enumerate(idxs):
            rows[i, 0] = k == 0
            rows[i, 1] = k == 1
            rows[i, 2] = k == len(idxs) - 1
            rows[i, 3] = k == len(idxs) - 2
    for i, t in enumerate(transcript.turns):
        rows[i, 4] = i / max(1, n - 1)
        rows[i, 5] = after_hold[i]
        rows[i, 6] = t.overlap
        rows[i, 7] = np.log1p(len(canonical[i].split())) / 4.0
    return rows


# An agent turn this short after an unpunctuated customer turn may be a writer's way of showing an
# interruption ("yeah one sec" cutting in): its label may be about the timing, not the words.
_SHORT_REPLY_WORDS = 4


def _after_cut_off(transcript: Transcript, canonical: list[str]) -> np.ndarray:
    """Agent turns whose rudeness label may rest on a cut-off a writer marked, not on their words.

    Used only to keep such turns out of the rudeness model's training, never to decide anything, so it
    may be broad: a customer turn a writer marked as cut off (a dash, a dangling last word), or a short
    agent reply to a customer turn that ends without punctuation.
    """
    turns = transcript.turns
    out = np.zeros(len(turns), dtype=bool)
    for i in range(1, len(turns)):
        prev = turns[i - 1]
        if turns[i].role != "agent" or prev.role != "customer":
            continue
        unpunctuated = not text.ends_sentence(prev.text)
        short = len(canonical[i].split()) <= _SHORT_REPLY_WORDS
        out[i] = text.interrupted(prev.text) or (unpunctuated and short)
    return out


def call_features(transcript: Transcript, embedder: StaticEmbedder) -> CallFeatures:
    transcript, turn_of = split_units(transcript)
    canonical = [text.canonical(t.text) for t in transcript.turns]
    flags = rules.call_flags(canonical)
    emb = embedder.encode(canonical)
    holds = find_holds(transcript, canonical, flags)
    after_hold = resuming_turns(holds, len(canonical))
    return CallFeatures(
        units=transcript.turns,
        turn_of=turn_of,
        roles=[t.role for t in transcript.turns],
        raw=[t.text for t in transcript.turns],
        canonical=canonical,
        flags=flags,
        emb=emb,
        holds=holds,
        after_hold=after_hold,
        position=_position(transcript, after_hold, canonical),
        talk_over=talk_over_turns(transcript, canonical),
        after_cut_off=_after_cut_off(transcript, canonical),
    )


def flag(features: CallFeatures, i: int, name: str) -> bool:
    return bool(features.flags[i, rules.RULE_NAMES.index(name)])
