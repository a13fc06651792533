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

from qa_scoring.rubric import rules, text
from qa_scoring.rubric.static_embed import StaticEmbedder
from qa_scoring.transcript import Transcript

# Feature layout version: bump when the row layout changes, so a stale trained model is refused.
FEATURE_VERSION = 5
# In timed transcripts, a gap this long between turns is treated as a hold (no marker is written).
HOLD_GAP_SECONDS = 20.0
_POSITION = (
    "first_own",
    "second_own",
    "last_own",
    "second_last_own",
    "rel_pos",
    "after_hold",
    "other_cut_off",
    "overlap",
    "log_words",
)


@dataclass
class CallFeatures:
    roles: list[str]
    raw: list[str]
    canonical: list[str]
    flags: np.ndarray  # (turns, len(rules.RULE_NAMES))
    emb: np.ndarray  # (turns, 384)
    after_hold: list[bool]
    position: np.ndarray  # (turns, len(_POSITION))

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


def resumes_after_hold(transcript: Transcript) -> list[bool]:
    """Turns that resume after a hold: a hold/music marker, or a long silence before them when timed."""
    out = []
    prev_end: float | None = None
    for turn in transcript.turns:
        gap = (turn.start - prev_end) if (turn.start is not None and prev_end is not None) else 0.0
        out.append(text.hold_marker(turn.text) or gap >= HOLD_GAP_SECONDS)
        prev_end = turn.end if turn.end is not None else prev_end
    return out


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
        prev = transcript.turns[i - 1] if i else None
        rows[i, 6] = bool(prev is not None and prev.role != t.role and text.interrupted(prev.text))
        rows[i, 7] = t.overlap
        rows[i, 8] = np.log1p(len(canonical[i].split())) / 4.0
    return rows


def call_features(transcript: Transcript, embedder: StaticEmbedder) -> CallFeatures:
    canonical = [text.canonical(t.text) for t in transcript.turns]
    flags = rules.call_flags(canonical)
    emb = embedder.encode(canonical)
    after_hold = resumes_after_hold(transcript)
    return CallFeatures(
        roles=[t.role for t in transcript.turns],
        raw=[t.text for t in transcript.turns],
        canonical=canonical,
        flags=flags,
        emb=emb,
        after_hold=after_hold,
        position=_position(transcript, after_hold, canonical),
    )


def talks_over(features: CallFeatures) -> np.ndarray:
    """Agent turns that cut the customer off: talking over them, which is unprofessional whatever is said."""
    roles = np.array(features.roles, dtype=object)
    after_customer = np.roll(roles, 1) == "customer"
    after_customer[:1] = False  # the first turn follows nobody
    cut = features.position[:, _POSITION.index("other_cut_off")] > 0
    return (roles == "agent") & after_customer & cut


def flag(features: CallFeatures, i: int, name: str) -> bool:
    return bool(features.flags[i, rules.RULE_NAMES.index(name)])
