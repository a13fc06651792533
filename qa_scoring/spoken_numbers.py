"""Find digit sequences in transcript text, whether written as digits or spoken as words.

Speech recognition and human transcribers write the same card or account number in many ways:
``4929 5260``, ``four nine two nine``, ``four nine two nine, five two six oh``, ``double oh seven``,
``twenty-two``. Card-number checks and redaction both need the *digits* and where they sit in the
text, so this module turns a text into :class:`DigitRun` spans. It is shared: do not write a second
normaliser elsewhere.

Rules (kept deliberately simple and predictable):

- digit words ``zero``..``nine``, ``oh``/``o``/``nought``/``nil`` for 0;
- ``double X`` / ``triple X`` repeat the next digit word or digit;
- teens (``ten``..``nineteen``) and tens (``twenty``..``ninety``), with an optional following unit
  (``twenty-two``, ``sixty five``), give two digits; ``hundred`` after a digit gives ``X00`` or, with
  a following ``and``/number, ``X`` then the rest (``four hundred and twelve`` -> ``412``);
- written digit groups (``4929``) join the run;
- commas, full stops, hyphens and spaces between parts do not break a run, and nor do hesitation
  fillers (``um``, ``uh``, ``er``, ``erm``); any other word does.

A bare ``o``/``oh`` on its own ("oh, okay") is not a number: a run must contain at least one
unambiguous digit part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

UNITS = {
    "zero": "0", "oh": "0", "o": "0", "nought": "0", "nil": "0",
    "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
    "six": "6", "seven": "7", "eight": "8", "nine": "9",
}  # fmt: skip
TEENS = {
    "ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13", "fourteen": "14", "fifteen": "15",
    "sixteen": "16", "seventeen": "17", "eighteen": "18", "nineteen": "19",
}  # fmt: skip
TENS = {
    "twenty": "2", "thirty": "3", "forty": "4", "fifty": "5",
    "sixty": "6", "seventy": "7", "eighty": "8", "ninety": "9",
}  # fmt: skip
REPEATS = {"double": 2, "triple": 3}
FILLERS = {"um", "uh", "er", "erm", "uhm", "hmm"}
AMBIGUOUS_ZERO = {"oh", "o"}

# A token is a word (letters and apostrophes) or a run of digits; everything else separates.
_TOKEN = re.compile(r"[A-Za-z']+|\d+")
# What may sit between two parts of one number without breaking it.
_JOINER = re.compile(r"^[\s,.\-–—/]*$")


@dataclass(frozen=True)
class DigitRun:
    """A number found in a text: its digits and the character span ``text[start:end]`` it covers."""

    digits: str
    start: int
    end: int


def digit_runs(text: str) -> list[DigitRun]:
    """Every maximal digit sequence in ``text``, spoken or written, with its character span."""
    tokens = [(m.group(0), m.start(), m.end()) for m in _TOKEN.finditer(text)]
    runs: list[DigitRun] = []
    i = 0
    while i < len(tokens):
        parsed = _parse_part(tokens, i)
        if parsed is None:
            i += 1
            continue
        digits, unambiguous, j = parsed
        start, end = tokens[i][1], tokens[j - 1][2]
        while j < len(tokens):
            k = j
            while k < len(tokens) and tokens[k][0].lower() in FILLERS and _joined(text, tokens, k):
                k += 1
            if k >= len(tokens) or not _joined(text, tokens, k):
                break
            nxt = _parse_part(tokens, k)
            if nxt is None:
                break
            more, more_unambiguous, j = nxt
            digits += more
            unambiguous = unambiguous or more_unambiguous
            end = tokens[j - 1][2]
        if unambiguous:
            runs.append(DigitRun(digits, start, end))
        i = j
    return runs


def to_digits(text: str) -> str:
    """All the digits spoken or written in ``text``, in order (``"double oh seven"`` -> ``"007"``)."""
    return "".join(run.digits for run in digit_runs(text))


def _joined(text: str, tokens: list[tuple[str, int, int]], k: int) -> bool:
    """Whether token ``k`` follows token ``k-1`` with only separators in between."""
    return k > 0 and bool(_JOINER.match(text[tokens[k - 1][2] : tokens[k][1]]))


def _parse_part(tokens: list[tuple[str, int, int]], i: int) -> tuple[str, bool, int] | None:
    """Parse one number part at token ``i``: (digits, unambiguous, next token index) or None."""
    word = tokens[i][0].lower()
    if word.isdigit():
        return word, True, i + 1
    if word in REPEATS and i + 1 < len(tokens):
        inner = _parse_unit(tokens[i + 1][0].lower())
        if inner is not None:
            return inner * REPEATS[word], True, i + 2
        return None
    if word in TEENS:
        return _maybe_hundred(tokens, i, TEENS[word])
    if word in TENS:
        if i + 1 < len(tokens):
            unit = tokens[i + 1][0].lower()
            if unit in UNITS and unit not in AMBIGUOUS_ZERO and UNITS[unit] != "0":
                return TENS[word] + UNITS[unit], True, i + 2
        return TENS[word] + "0", True, i + 1
    unit = _parse_unit(word)
    if unit is not None:
        if i + 1 < len(tokens) and tokens[i + 1][0].lower() == "hundred" and word not in AMBIGUOUS_ZERO:
            return _hundred(tokens, i + 2, unit)
        return unit, word not in AMBIGUOUS_ZERO, i + 1
    return None


def _parse_unit(word: str) -> str | None:
    if word in UNITS:
        return UNITS[word]
    if word.isdigit() and len(word) == 1:
        return word
    return None


def _maybe_hundred(tokens: list[tuple[str, int, int]], i: int, digits: str) -> tuple[str, bool, int]:
    # "nineteen hundred" is a year-style number; keep it as written digits "1900".
    if i + 1 < len(tokens) and tokens[i + 1][0].lower() == "hundred":
        return _hundred(tokens, i + 2, digits)
    return digits, True, i + 1


def _hundred(tokens: list[tuple[str, int, int]], j: int, lead: str) -> tuple[str, bool, int]:
    """After ``X hundred``: ``[and] tens/teens/unit`` fills the last two digits, else ``00``."""
    k = j + 1 if j < len(tokens) and tokens[j][0].lower() == "and" else j
    if k < len(tokens):
        word = tokens[k][0].lower()
        if word in TEENS:
            return lead + TEENS[word], True, k + 1
        if word in TENS:
            unit = tokens[k + 1][0].lower() if k + 1 < len(tokens) else ""
            if UNITS.get(unit, "0") != "0":
                return lead + TENS[word] + UNITS[unit], True, k + 2
            return lead + TENS[word] + "0", True, k + 1
        if word in UNITS and word not in AMBIGUOUS_ZERO and k != j:
            return lead + "0" + UNITS[word], True, k + 1
    return lead + "00", True, j


# ---- the other direction: digits to the words a speaker says

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def number_words(n: int) -> str:
    """English words for a non-negative integer, as a speaker would say it (no 'and')."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return _ONES[n // 100] + " hundred" + ("" if rest == 0 else " " + number_words(rest))
    for size, word in ((10**9, "billion"), (10**6, "million"), (1000, "thousand")):
        if n >= size:
            rest = n % size
            return number_words(n // size) + f" {word}" + ("" if rest == 0 else " " + number_words(rest))
    raise AssertionError("unreachable")


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum of payment card numbers: what tells a card number from any long number
    (card checks in the rubrics and redaction both use it)."""
    if not digits.isdigit() or len(digits) < 2:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0
