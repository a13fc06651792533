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

A word a turn does not say still earns part of an example word's weight when the two words' vectors
(the distilled MiniLM table) are close: "give you a ring on Friday" then meets "call you back on
Monday" half-way instead of not at all. Measured with SOFT_FLOOR 0.55 against exact words only, on
16 project behaviours (10 tagged turns from 60 calls as examples, 3 draws, the other 380 calls):
mean call-level F1 0.474 -> 0.511 (11 phrase-like behaviours 0.663 -> 0.697); on the custom-criteria
set 0.758 -> 0.769 with 10 examples, 0.736 -> 0.775 with 5. Lower floors gained more on the
simulation (0.35: 0.774 phrase-like) but lost on the custom set (0.744), where most errors are false
matches, so the floor stays above the 0.3-0.4 that unrelated words reach.

The threshold comes from the examples themselves, so a manager never sets one: each example is
scored against the others (leave one out), and a turn must reach THRESHOLD_SHARE of their median.
Varied examples give a low bar, near-identical ones a high bar. A turn is not counted when:
- a word it shares with the example is negated wherever it is said, in the same clause ("I can't
  offer a callback"; but "nothing on the card ... I've cancelled the card" is a match), unless the
  example negates it too ("if this isn't sorted I'm cancelling" meets "it's not sorted so I'm
  leaving": on the custom set 0.804 -> 0.818 with 5 examples, 0.800 -> 0.806 with 10);
- it is closer to a near miss than to any example.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

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
# A word the unit does not say still earns part of an example word's weight when their vectors are this
# close or closer (cosine; unrelated words sit near 0.3-0.4, "monday"/"friday" at 0.71).
SOFT_FLOOR = 0.55
# A word the examples share carries the criterion more than a word one example happens to say ("manager"
# in six of ten examples vs "want" in two): its weight is idf + KEYNESS * log(share of examples saying
# it), a keyness score against call speech. Neutral on the behaviour simulation (0.697 -> 0.698), it
# cut false matches on generic customer openings ("I want to ...") on the custom set: 0.769 -> 0.785.
KEYNESS = 1.0
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


_NUMBER = (
    r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty|forty|"
    r"fifty|sixty|seventy|ninety|a|an|a couple of|a few|twenty four|forty eight|seventy two)"
)
DAY_WORDS = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "tomorrow",
    "today",
)
_TIME = re.compile(
    rf"\b(?:{'|'.join(DAY_WORDS)}|tonight|weekend"
    r"|(?:this|next|tomorrow|first thing) (?:morning|afternoon|evening|week|month)"
    rf"|(?:within|in|over the next|by|for|up to) (?:the next )?{_NUMBER}(?: {_NUMBER})? (?:working )?"
    r"(?:minutes?|hours?|days?|weeks?|months?)"
    rf"|{_NUMBER}(?: {_NUMBER})? o'?clock|(?:at|by|before|after|around) {_NUMBER}(?: {_NUMBER})? ?(?:am|pm)?"
    r"|end of (?:the )?(?:day|week|month))\b"
)
# The class term for a time or a timescale ("on Thursday", "within ten working days", "by five"): a
# criterion about when something happens names one in every example, each in other words. Its idf is
# that of the commonest day word: a time said any way is at least as common as its commonest form.
# On the behaviour simulation it raised follow-up 0.72 -> 0.78 and ownership 0.34 -> 0.42 (phrase-like
# mean 0.698 -> 0.714); on the custom set, next-steps timescale 0.55 -> 0.65 (mean 0.785 -> 0.804).
TIME_TERM = "<when>"


def terms(text: str) -> list[str]:
    """Content words and word pairs of canonical text, in order of appearance."""
    words = text.split()
    out = [w for w in words if w not in STOPWORDS]
    out += [
        f"{a} {b}" for a, b in zip(words, words[1:], strict=False) if not (a in STOPWORDS and b in STOPWORDS)
    ]
    if _TIME.search(text):
        out.append(TIME_TERM)
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
    """Matches one PhraseSpec; built once per criterion, then cheap per call.

    Each example is a row of term weights over the criterion's terms (``examples``); a unit credits
    each term it says (1), or, for a word it does not say, how close its nearest word is (``_credits``),
    and an example's share is the credited weight over the example's total (``_shares``).
    """

    def __init__(
        self,
        spec: PhraseSpec,
        idf: Callable[[str], float],
        vectors: Callable[[list[str]], np.ndarray] | None = None,
    ) -> None:
        self.spec = spec
        self.vectors = vectors
        example_texts = [canonical(e) for e in spec.examples]
        example_terms = [dict.fromkeys(terms(t)) for t in example_texts]
        near_terms = [dict.fromkeys(terms(canonical(e))) for e in spec.near_misses]
        self.terms = list(dict.fromkeys(t for ts in example_terms + near_terms for t in ts))
        self._column = column = {t: k for k, t in enumerate(self.terms)}
        idf_row = np.array([idf(t) for t in self.terms])
        if example_terms:
            share = np.array([sum(t in ts for ts in example_terms) for t in self.terms]) / len(example_terms)
            idf_row = np.maximum(0.1, idf_row + KEYNESS * np.log(np.maximum(share, 1 / len(example_terms))))

        def weights(rows: list[dict[str, None]]) -> np.ndarray:
            out = np.zeros((len(rows), len(self.terms)))
            for r, ts in enumerate(rows):
                cols = [column[t] for t in ts]
                out[r, cols] = idf_row[cols]
            return out

        self.examples, self.near_misses = weights(example_terms), weights(near_terms)
        # per example, the words it negates itself: a turn negating one of those agrees with it
        self._negated_in_example = [
            {t for t in ts if " " not in t and _negated(text, t)}
            for text, ts in zip(example_texts, example_terms, strict=True)
        ]
        words = [k for k, t in enumerate(self.terms) if " " not in t]
        self._word_columns = np.array(words, dtype=int)
        self._word_vectors = vectors([self.terms[k] for k in words]) if vectors and words else None
        loo = []
        for k in range(len(self.examples)):
            others = np.delete(self.examples, k, axis=0)
            if len(others) and self.examples[k].any():
                credit = self._credits([list(example_terms[k])])
                loo.append(float(self._shares(credit, others)[0][0]))
        self.threshold = max(MIN_THRESHOLD, THRESHOLD_SHARE * float(np.median(loo))) if loo else 0.5

    def _credits(self, units: list[list[str]]) -> np.ndarray:
        """(units, terms): 1 where a unit says a term, else, for a word, its nearest word's soft credit.

        The similarities of all the units' words are computed in one product: per unit, the small
        products cost more in overhead than in arithmetic."""
        credit = np.zeros((len(units), len(self.terms)))
        for i, unit in enumerate(units):
            credit[i, [self._column[t] for t in unit if t in self._column]] = 1.0
        if self._word_vectors is None:
            return credit
        words = list(dict.fromkeys(w for unit in units for w in unit if " " not in w))
        if not words:
            return credit
        similarity = self._word_vectors @ self.vectors(words).T  # type: ignore[misc]
        soft = np.clip((similarity - SOFT_FLOOR) / (1.0 - SOFT_FLOOR), 0.0, 1.0)
        index = {w: k for k, w in enumerate(words)}
        cols = [[index[w] for w in unit if " " not in w] for unit in units]
        has_words = np.array([bool(c) for c in cols])
        starts = np.cumsum([0] + [len(c) for c in cols if c])[:-1]
        # the best soft credit of each term over each unit's words, all units in one reduction
        best = np.maximum.reduceat(soft[:, [k for c in cols for k in c]], starts, axis=1).T
        sub = credit[np.ix_(has_words, self._word_columns)]
        credit[np.ix_(has_words, self._word_columns)] = np.maximum(sub, best)
        return credit

    @staticmethod
    def _shares(credit: np.ndarray, examples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per unit: the mean of the TOP_K largest shares of one example's weight it carries, and the
        example with the largest."""
        if not len(examples):
            return np.zeros(len(credit)), np.full(len(credit), -1)
        totals = examples.sum(axis=1)
        shares = np.divide(
            credit @ examples.T, totals, out=np.zeros((len(credit), len(examples))), where=totals > 0
        )
        top = -np.sort(-shares, axis=1)[:, :TOP_K]
        return top.mean(axis=1), shares.argmax(axis=1)

    def _judge(self, units: list[list[str]], texts: list[str], bar: float) -> tuple[np.ndarray, list[str]]:
        """Each unit's score and why it does not count ("near miss", "negated" or ""); the reasons are
        only worked out for units scoring at least ``bar``."""
        credit = self._credits(units)
        scores, which = self._shares(credit, self.examples)
        near = self._shares(credit, self.near_misses)[0] if len(self.near_misses) else np.zeros(len(units))
        why = [""] * len(units)
        for i in np.flatnonzero(scores >= max(bar, 1e-12)):
            if near[i] > scores[i]:
                why[i] = "near miss"
                continue
            example = self.examples[which[i]]
            shared = {
                t for t in units[i] if " " not in t and t in self._column and example[self._column[t]] > 0
            }
            shared -= self._negated_in_example[which[i]]  # "if this isn't sorted I'm leaving"
            if any(_negated(texts[i], word) for word in shared):
                why[i] = "negated"
        return scores, why

    def score_text(self, text: str) -> tuple[float, str]:
        """(share of the best examples' weight, why it does not count or "") for one canonical text."""
        scores, why = self._judge([terms(text)], [text], 0.0)
        return float(scores[0]), why[0]

    def probability(self, score: float) -> float:
        if score <= 0:
            return 0.0
        return float(1.0 / (1.0 + (self.threshold / score) ** SLOPE))

    def match(self, texts: list[str], allowed: np.ndarray) -> PhraseMatch:
        """Match the canonical units ``texts``; only ``allowed`` ones (speaker, window) can count."""
        scores = np.zeros(len(texts))
        rejected: dict[int, str] = {}
        idx = np.flatnonzero(allowed)
        unit_scores, why = self._judge(
            [terms(texts[i]) for i in idx], [texts[i] for i in idx], 0.5 * self.threshold
        )
        for i, score, reason in zip(idx, unit_scores, why, strict=True):
            if reason:
                if score >= self.threshold:
                    rejected[int(i)] = reason
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


# What reviewers taught a criterion in plain words (``qa-scoring learn``): the turns they pointed at as
# showing it become examples, the turns they pointed at as wrongly taken to show it near misses. They
# are kept with the behaviour model version that learnt them, so a rollback takes them back too.
LESSONS_FILE = "phrase_lessons.json"
# The latest ones per criterion: a manager's own 5-15 examples must not be drowned by a year of reviews.
MAX_LESSONS = 20


@dataclass(frozen=True)
class PhraseLessons:
    examples: tuple[str, ...] = ()
    near_misses: tuple[str, ...] = ()


def with_lessons(spec: PhraseSpec, lessons: PhraseLessons | None) -> PhraseSpec:
    """The criterion with the reviewers' turns added to its examples and near misses."""
    if lessons is None:
        return spec

    def merged(own: tuple[str, ...], learnt: tuple[str, ...]) -> tuple[str, ...]:
        seen = {canonical(t) for t in own}
        new = [t for t in dict.fromkeys(learnt) if canonical(t) not in seen]
        return own + tuple(new[-MAX_LESSONS:])

    return replace(
        spec,
        examples=merged(spec.examples, lessons.examples),
        near_misses=merged(spec.near_misses, lessons.near_misses),
    )


def read_lessons(folder: Path) -> dict[str, PhraseLessons]:
    """The lessons kept in a model folder (none when it has no lessons file)."""
    path = folder / LESSONS_FILE
    if not path.is_file():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {
        key: PhraseLessons(tuple(v.get("examples", ())), tuple(v.get("near_misses", ())))
        for key, v in data.items()
    }


def _lessons_json(lessons: dict[str, PhraseLessons]) -> str:
    data = {k: {"examples": list(v.examples), "near_misses": list(v.near_misses)} for k, v in lessons.items()}
    return json.dumps(data, indent=2, sort_keys=True)


def write_lessons(folder: Path, lessons: dict[str, PhraseLessons]) -> None:
    (folder / LESSONS_FILE).write_text(_lessons_json(lessons), encoding="utf-8")


def lessons_digest(lessons: dict[str, PhraseLessons]) -> str:
    """A short digest of the lessons, part of a learnt version's name: the same classifiers with new
    lessons are a new version, not the old one kept again without them."""
    return hashlib.sha256(_lessons_json(lessons).encode()).hexdigest()[:8]
