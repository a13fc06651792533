"""Criteria in plain words: a QA manager's example phrases, matched against the turns of a call.

A custom criterion ("offered a callback", "mentioned the ombudsman") comes with 5-15 example phrases
and a few near misses, and no labelled calls. It is matched by the words that carry it: each
example becomes its content words and word pairs, weighted by how rare they are in call speech
(the inverse document frequency the behaviour model learnt from the project's calls), and a turn
scores the share of an example's weight it contains, averaged over its best TOP_K examples. Why
lexical and not the sentence vectors: simulated on the project's behaviours (10 example turns of
each from 60 calls, measured on the other 260 calls), the best call-level F1 was 0.85 with this
overlap and 0.74 with the distilled MiniLM vectors, which place any two call-centre sentences close
together; a logistic regression of examples against ordinary call turns found too little (0.71 on
the custom-criteria set).

The threshold comes from the examples themselves, so a manager never sets one: each example is
scored against the others (leave one out), and a turn must reach THRESHOLD_SHARE of their median.
Varied examples give a low bar, near-identical ones a high bar. A turn is not counted when:
- a word it shares with the example is negated wherever it is said, in the same clause ("I can't
  offer a callback"; but "nothing on the card ... I've cancelled the card" is a match);
- it is closer to a near miss than to any example.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from qa_scoring.behaviours import rules
from qa_scoring.behaviours.text import canonical

WHO = ("agent", "customer")
WHEN = ("anywhere", "opening", "closing", "after_complaint", "after_hold")
EDGE_UNITS = 3  # "opening" / "closing": the speaker's first / last few turns (sentence units)
THRESHOLD_SHARE = 0.6
MIN_THRESHOLD = 0.15  # never match on a sliver of an example, however varied the examples are
# How sharply the probability rises past the threshold: p = 1 / (1 + (threshold / score) ** SLOPE).
SLOPE = 4.0
# A turn is scored on its TOP_K best-matching examples (their shares averaged): one example alone lets
# a turn through on the generic words it happens to share ("I want to ..."); a real match resembles
# more than one way of saying it. On the behaviour simulation below, 1 -> 2 raised F1 0.81 -> 0.85.
TOP_K = 2
MAX_EVIDENCE = 3
# Words too common in calls to carry a criterion alone; a pair counts unless both words are here.
STOPWORDS = frozenset(
    """a an the and or but so if then to of in on at for from by with about as into over is are was
    were be been being am do does did done have has had having i me my mine we us our you your yours
    he him his she her it its they them their this that these those there here what which who whom
    when where why how all any some just very really quite can could would should will shall may
    might must i'm i'll i've i'd you're you'll you've you'd we're we'll we've it's that's there's
    what's let's yeah yes yep okay ok right well oh um erm uh er ah mm hmm like please thank thanks
    not no""".split()
)
_WORD = re.compile(r"[a-z']+")


def terms(text: str) -> list[str]:
    """Content words and word pairs of canonical text, in order of appearance."""
    words = text.split()
    out = [w for w in words if w not in STOPWORDS]
    out += [
        f"{a} {b}" for a, b in zip(words, words[1:], strict=False) if not (a in STOPWORDS and b in STOPWORDS)
    ]
    return out


@dataclass(frozen=True)
class PhraseSpec:
    """A criterion in plain words: who says it, where in the call, examples that count, near misses."""

    who: str
    examples: tuple[str, ...]
    near_misses: tuple[str, ...] = ()
    when: str = "anywhere"


@dataclass
class PhraseMatch:
    """One call's result for one phrase criterion."""

    present: bool
    probability: float
    units: list[int]  # the matching units, best first (evidence)
    scores: np.ndarray  # per unit; 0 where the unit cannot count (wrong speaker, outside the window)
    near: list[int]  # units that came close but did not count (for "try it")
    rejected: dict[int, str]  # unit -> why a match did not count ("negated", "near miss")


class PhraseMatcher:
    """Matches one PhraseSpec; built once per criterion, then cheap per call."""

    def __init__(self, spec: PhraseSpec, idf: Callable[[str], float]) -> None:
        self.spec = spec
        self.idf = idf
        self.examples = [self._weights(e) for e in spec.examples]
        self.near_misses = [self._weights(e) for e in spec.near_misses]
        loo = []
        for k, example in enumerate(self.examples):
            others = self.examples[:k] + self.examples[k + 1 :]
            if others and example:
                loo.append(self._best(set(example), others)[0])
        self.threshold = max(MIN_THRESHOLD, THRESHOLD_SHARE * float(np.median(loo))) if loo else 0.5

    def _weights(self, phrase: str) -> dict[str, float]:
        return {t: self.idf(t) for t in dict.fromkeys(terms(canonical(phrase)))}

    @staticmethod
    def _best(unit: set[str], examples: list[dict[str, float]]) -> tuple[float, int]:
        """The mean of the TOP_K largest shares of one example's weight the unit contains, and the
        example with the largest."""
        shares = []
        for weights in examples:
            total = sum(weights.values())
            shares.append(sum(w for t, w in weights.items() if t in unit) / total if total > 0 else 0.0)
        if not shares or max(shares) <= 0:
            return 0.0, -1
        top = sorted(shares, reverse=True)[:TOP_K]
        return float(np.mean(top)), int(np.argmax(shares))

    def score_text(self, text: str) -> tuple[float, str]:
        """(share of the best example's weight, why it does not count or "") for one canonical text."""
        unit = terms(text)
        found = set(unit)
        score, which = self._best(found, self.examples)
        if score <= 0:
            return 0.0, ""
        if self.near_misses and self._best(found, self.near_misses)[0] > score:
            return score, "near miss"
        shared = {t for t in unit if " " not in t and t in self.examples[which]}
        if any(_negated(text, word) for word in shared):
            return score, "negated"
        return score, ""

    def probability(self, score: float) -> float:
        if score <= 0:
            return 0.0
        return float(1.0 / (1.0 + (self.threshold / score) ** SLOPE))

    def match(self, texts: list[str], allowed: np.ndarray) -> PhraseMatch:
        """Match the canonical units ``texts``; only ``allowed`` ones (speaker, window) can count."""
        scores = np.zeros(len(texts))
        rejected: dict[int, str] = {}
        for i in np.flatnonzero(allowed):
            score, why = self.score_text(texts[i])
            if why:
                if score >= self.threshold:
                    rejected[int(i)] = why
                continue
            scores[i] = score
        order = [int(i) for i in np.argsort(-scores, kind="stable") if scores[i] > 0]
        hits = [i for i in order if scores[i] >= self.threshold]
        near = [i for i in order if i not in hits and scores[i] >= 0.5 * self.threshold]
        best = scores[order[0]] if order else 0.0
        return PhraseMatch(
            bool(hits), self.probability(best), hits[:MAX_EVIDENCE], scores, near[:MAX_EVIDENCE], rejected
        )


# "No problem, I'll ring you back": reassurance formulae hold a negator but negate nothing after them.
_NOT_NEGATING = re.compile(r"\b(?:no|not a) (?:problem|problems|worries|bother|trouble)\b")


def _negated(text: str, word: str) -> bool:
    """Whether every mention of ``word`` is negated ("nothing on the card ... I've cancelled the card"
    mentions the card twice, negated once)."""
    text = _NOT_NEGATING.sub(lambda m: "x" * len(m.group()), text)  # same length: offsets stay
    starts = [m.start() for m in re.finditer(rf"\b{re.escape(word)}\b", text)]
    return bool(starts) and all(rules.negated(text, start) for start in starts)


def window(
    roles: list[str], who: str, when: str, complaint_unit: int | None, hold_unit: int | None
) -> np.ndarray:
    """Which units can show a phrase: the speaker's, in the part of the call ``when`` names."""
    mine = np.array([r == who for r in roles], dtype=bool)
    idx = np.flatnonzero(mine)
    allowed = np.zeros(len(roles), dtype=bool)
    if when == "anywhere":
        allowed = mine
    elif when == "opening":
        allowed[idx[:EDGE_UNITS]] = True
    elif when == "closing":
        allowed[idx[-EDGE_UNITS:]] = True
    elif when in ("after_complaint", "after_hold"):
        start = complaint_unit if when == "after_complaint" else hold_unit
        if start is not None:
            allowed = mine & (np.arange(len(roles)) > start)
    else:
        raise ValueError(f"when: {when!r} is not one of {', '.join(WHEN)}")
    return allowed
