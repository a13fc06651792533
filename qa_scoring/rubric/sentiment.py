"""A small lexicon sentiment scorer for customer turns, so a call's mood at the start can be set
against its end without downloading a model.

How it works (documented in ``rubrics/README.md`` too):

- Words and a few two-word phrases carry a weight in -3..+3 (``LEXICON`` below: contact-centre
  words such as "ridiculous", "useless", "sorted", "brilliant").
- A negator ("not", "never", "no", "n't" forms) within the three tokens before a word flips and halves
  its weight ("not happy" -> negative, "not bad" -> mildly positive).
- An intensifier ("very", "really", "so", "absolutely") just before a word multiplies it by 1.5.
- A text's score is the sum over its words divided by ``sqrt(sum^2 + 15)`` (VADER's normalisation),
  which maps to -1..1 and keeps long rants from growing without bound.

It is a cue, not a verdict: sarcasm, irony and domain words outside the lexicon are missed.
"""

from __future__ import annotations

import math
import re

LEXICON: dict[str, float] = {
    # negative
    "angry": -3, "furious": -3, "disgusting": -3, "disgraceful": -3, "appalling": -3, "outrageous": -3,
    "ridiculous": -2.5, "useless": -2.5, "terrible": -2.5, "awful": -2.5, "horrendous": -3, "shocking": -2.5,
    "unacceptable": -2.5, "rubbish": -2, "pathetic": -2.5, "joke": -1.5, "fed": -1, "sick": -1.5,
    "frustrated": -2, "frustrating": -2, "annoyed": -2, "annoying": -2, "upset": -2, "disappointed": -2,
    "disappointing": -2, "worried": -1.5, "stressed": -2, "stressful": -2, "nightmare": -2.5,
    "complain": -1.5, "complaint": -1.5, "complaining": -1.5, "wrong": -1.5, "broken": -1.5,
    "problem": -1, "issue": -0.5, "never": -0.5, "nobody": -1, "waiting": -0.5, "waited": -1,
    "late": -1, "missing": -1.5, "lost": -1.5, "damaged": -2, "charged": -0.5, "overcharged": -2,
    "cancel": -1, "leave": -0.5, "unhappy": -2, "poor": -1.5, "bad": -2, "worse": -2, "worst": -3,
    "hate": -2.5, "sad": -1.5, "confused": -1, "fault": -1, "failed": -1.5, "mess": -2, "shambles": -2.5,
    "hopeless": -2.5, "incompetent": -3, "rude": -2.5, "cheek": -1.5, "sorry": -0.5,
    # positive
    "thanks": 1.5, "thank": 1.5, "cheers": 1.5, "ta": 1, "great": 2, "brilliant": 2.5, "lovely": 2,
    "perfect": 2.5, "fantastic": 2.5, "excellent": 2.5, "amazing": 2.5, "wonderful": 2.5, "good": 1.5,
    "fine": 0.5, "happy": 2, "pleased": 2, "glad": 1.5, "helpful": 2, "appreciate": 2, "appreciated": 2,
    "relieved": 2, "relief": 1.5, "sorted": 2, "smashing": 2, "superb": 2.5, "kind": 1.5, "fair": 1,
    "resolved": 2, "fixed": 1.5, "easy": 1, "nice": 1.5, "okay": 0.3, "ok": 0.3, "love": 2, "better": 1.5,
    "best": 2, "awesome": 2.5, "marvellous": 2.5, "grand": 1.5, "champion": 2, "reasonable": 1,
}  # fmt: skip
PHRASES: dict[tuple[str, str], float] = {
    ("fed", "up"): -2.5, ("sick", "of"): -2.5, ("no", "worries"): 1, ("no", "problem"): 1,
    ("not", "good"): -2, ("waste", "of"): -2.5, ("cheers", "then"): 1.5,
    ("thank", "you"): 1.5, ("for", "nothing"): -4,
}  # fmt: skip
NEGATORS = {"not", "no", "never", "nothing", "cannot", "without", "hardly", "nor", "neither"}
INTENSIFIERS = {"very", "really", "so", "absolutely", "completely", "totally", "extremely", "utterly"}
_WORD = re.compile(r"[a-z]+(?:'[a-z]+)?")


def tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("’", "'"))


def _is_negator(token: str) -> bool:
    return token in NEGATORS or token.endswith("n't")


def raw_score(text: str) -> float:
    """The unnormalised lexicon sum of ``text`` (negation and intensifiers applied)."""
    words = tokens(text)
    total = 0.0
    i = 0
    while i < len(words):
        pair = (words[i], words[i + 1]) if i + 1 < len(words) else None
        if pair in PHRASES:
            value, width = PHRASES[pair], 2
        else:
            value, width = LEXICON.get(words[i], 0.0), 1
        if value:
            if i > 0 and words[i - 1] in INTENSIFIERS:
                value *= 1.5
            if any(_is_negator(w) for w in words[max(0, i - 3) : i]) and pair not in PHRASES:
                value *= -0.5
            total += value
        i += width
    return total


def normalise(total: float) -> float:
    return total / math.sqrt(total * total + 15.0) if total else 0.0


def score(text: str) -> float:
    """Sentiment of ``text`` in -1 (very negative) .. 1 (very positive); 0 when no cue word."""
    return round(normalise(raw_score(text)), 3)
