"""Find personal data in the turns of a call: what must not be stored or played back.

Everything works on plain text with character spans, so the same detectors serve turns that only
have text (labelled or imported transcripts) and turns built from ASR words (the caller joins the
words and maps spans back). Digits come from the shared spoken-number normaliser
(:mod:`qa_scoring.spoken_numbers`), because callers say "four nine two nine, five two six oh" far
more often than they are transcribed as digits.

Two kinds of evidence decide an entity:

- *structure* alone where it is strong enough to be safe: a Luhn-valid 13-19 digit run is a card
  number, a UK mobile/landline shape is a phone number, an ``at ... dot com`` sequence is an email,
  a UK postcode shape with a real postcode area is a postcode;
- *a question* for the rest: a security code, sort code, account number, expiry or date of birth is
  a plain number or date, so it is only taken when someone asked for it (the cue) in that turn or
  one of the few turns before, and only the first matching item after the cue is taken. That keeps
  prices, times, quantities and reference numbers out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from qa_scoring.spoken_numbers import TEENS, TENS, UNITS, DigitRun, digit_runs, luhn_valid

KINDS = ("CARD", "CVV", "EXPIRY", "SORT_CODE", "ACCOUNT", "DOB", "POSTCODE", "EMAIL", "PHONE")
# How many turns after a question its answer may come ("hang on... right, it's ...").
CUE_WINDOW = 3


@dataclass(frozen=True)
class Entity:
    """One item of personal data: ``text[start:end]`` of turn ``turn_index`` is a ``kind``."""

    kind: str
    turn_index: int
    start: int
    end: int


# --- cues: the questions that make a plain number personal -------------------------------------

_CUES: dict[str, re.Pattern[str]] = {
    "CVV": re.compile(
        r"security (?:code|number|digits)|(?:three|3|last) digits|digits on the back|on the back of the card"
        r"|\bcvv\b|\bcvc\b|\bcv2\b|card verification",
        re.I,
    ),
    "EXPIRY": re.compile(r"\bexpir|\bexpires?\b|valid (?:until|to|thru|through)|\bexp date\b", re.I),
    "SORT_CODE": re.compile(r"\bsort ?code", re.I),
    "ACCOUNT": re.compile(
        r"\baccount(?:'s)? (?:number|no\b)|\bacc(?:t)?\.? (?:number|no\b)"
        r"|(?:customer|membership|member) number",
        re.I,
    ),
    "DOB": re.compile(r"date of birth|\bd\.? ?o\.? ?b\b|\bbirthday\b|\bborn\b|\bbirth date\b", re.I),
    "PHONE": re.compile(
        r"(?:phone|mobile|cell|contact|landline|telephone|home) number|\bmobile(?:'s| is)|\blandline\b"
        r"|(?:call|ring|text|reach) (?:me|you) (?:on|at)|\bnumber to (?:call|reach|ring)",
        re.I,
    ),
    "CARD": re.compile(r"\bcard\b|\bvisa\b|mastercard|\bamex\b|long number", re.I),
}
# Order matters: a turn answering "sort code and account number" gives the sort code first, and a
# claimed span cannot be taken again by a later kind.
_CUED_ORDER = ("CVV", "EXPIRY", "SORT_CODE", "ACCOUNT", "DOB", "PHONE")

_FILLER = {"um", "uh", "er", "erm", "uhm", "hmm", "mm", "ah"}
_WORD = re.compile(r"[A-Za-z']+|\d+")


def find_entities(texts: list[str]) -> list[list[Entity]]:
    """Personal data in every turn of one call, in turn order; cues in earlier turns count."""
    runs = [digit_runs(t) for t in texts]
    found: list[list[Entity]] = [[] for _ in texts]

    def claim(e: Entity) -> bool:
        if any(e.start < o.end and o.start < e.end for o in found[e.turn_index]):
            return False
        found[e.turn_index].append(e)
        return True

    # Structure first: these hold whatever was asked.
    for i, text in enumerate(texts):
        for e in _emails(i, text):
            claim(e)
    for e in _cards(texts, runs):
        claim(e)
    for i, text in enumerate(texts):
        for e in _postcodes(i, text):
            claim(e)
        for e in _phones(i, text, runs[i]):
            claim(e)
        for m in _WRITTEN_SORT_CODE.finditer(text):
            claim(Entity("SORT_CODE", i, m.start(), m.end()))

    # Then answers to questions. First an answer that follows its own cue in one turn ("Expiry oh
    # six twenty-eight, security code four one seven"); only a cue left unanswered in its own turn
    # looks at the next turns, and a later turn that already holds that kind answers it.
    unanswered: list[tuple[int, str]] = []
    for i, text in enumerate(texts):
        for kind in ("CARD", *_CUED_ORDER):
            for m in _CUES[kind].finditer(text):
                hit = _answer(kind, i, text, runs[i], m.end(), found[i])
                if hit is None or not claim(hit):
                    unanswered.append((i, kind))
    for i, kind in unanswered:
        for j in range(i + 1, min(len(texts), i + CUE_WINDOW + 1)):
            if any(e.kind == kind for e in found[j]):
                break
            hit = _answer(kind, j, texts[j], runs[j], 0, found[j])
            if hit is not None:
                claim(hit)
                break
    for turn in found:
        turn.sort(key=lambda e: e.start)
    return found


def _free(start: int, end: int, taken: list[Entity]) -> bool:
    return not any(start < o.end and o.start < end for o in taken)


def _answer(
    kind: str, i: int, text: str, runs: list[DigitRun], after: int, taken: list[Entity]
) -> Entity | None:
    """The first item of ``kind`` after character ``after`` in turn ``i`` that is not already taken."""
    if kind == "DOB":
        for start, end in _dates(text, after):
            if _free(start, end, taken):
                return Entity("DOB", i, start, end)
        return None
    for run in runs:
        if run.start < after or not _free(run.start, run.end, taken):
            continue
        n = len(run.digits)
        if kind == "CVV" and n in (3, 4):
            return Entity(kind, i, run.start, run.end)
        if kind == "EXPIRY" and 3 <= n <= 6:
            return Entity(kind, i, run.start, run.end)
        if kind == "SORT_CODE" and n == 6:
            return Entity(kind, i, run.start, run.end)
        if kind == "SORT_CODE" and n >= 12:  # sort code and account said in one breath
            return Entity("ACCOUNT", i, run.start, run.end)
        if kind == "ACCOUNT" and 5 <= n <= 16:
            return Entity(kind, i, _letter_prefix(text, run.start), run.end)
        if kind == "PHONE" and 10 <= n <= 13:
            return Entity(kind, i, run.start, run.end)
        if kind == "CARD" and 12 <= n <= 19:  # asked for a card: an ASR slip must not let it through
            return Entity(kind, i, run.start, run.end)
    if kind == "EXPIRY":
        for start, end in _month_years(text, after):
            if _free(start, end, taken):
                return Entity(kind, i, start, end)
    return None


def _letter_prefix(text: str, start: int) -> int:
    """Extend an account number back over spelled letters before it ("F L 7322904", "MGE dash 61194")."""
    head = text[:start]
    m = re.search(r"(?:(?<![\w'])[A-Za-z](?![\w'])[\s,.]*){1,3}(?:(?:dash|-)\s*)?$", head)
    if m is None:
        m = re.search(r"(?<![\w'])[A-Z]{1,3}[\s-]*$", head)  # written prefix "MGE-" / "FL"
    return m.start() if m else start


# --- cards ---------------------------------------------------------------------------------------


def _cards(texts: list[str], runs: list[list[DigitRun]]) -> list[Entity]:
    """Luhn-valid 13-19 digit runs, also across turns when a caller pauses mid-number.

    Joining pieces across turns is only tried after someone mentioned a card: any two numbers that
    happen to meet at a turn boundary pass Luhn one time in ten.
    """
    out: list[Entity] = []
    card_talk = [bool(_CUES["CARD"].search(t)) for t in texts]
    for i, turn_runs in enumerate(runs):
        for run in turn_runs:
            if _card_digits(run.digits):
                out.append(Entity("CARD", i, run.start, run.end))
    # A number split over turns: "4929 5260" ... "yep" ... "1815 9081". Join a run that ends a turn
    # to the run that starts the next turn or the one after (the listener's "mm hm" between).
    for i in range(len(texts)):
        if not runs[i] or texts[i][runs[i][-1].end :].strip(" ,.?!-") != "":
            continue
        if not any(card_talk[max(0, i - CUE_WINDOW) : i + 1]) or _card_digits(runs[i][-1].digits):
            continue
        pieces = [(i, runs[i][-1])]
        j = i + 1
        while j < len(texts) and j <= pieces[-1][0] + 2 and len(pieces) < 4:
            first = runs[j][0] if runs[j] else None
            if first is not None and texts[j][: first.start].strip(" ,.-") == "":
                pieces.append((j, first))
                digits = "".join(r.digits for _, r in pieces)
                if len(digits) > 19 or _card_digits(first.digits):
                    break
                if _card_digits(digits):
                    out.extend(Entity("CARD", t, r.start, r.end) for t, r in pieces)
                    break
                if texts[j][first.end :].strip(" ,.?!-") != "":
                    break
            j += 1
    return out


def _card_digits(digits: str) -> bool:
    n = len(digits)
    if 13 <= n <= 19:
        return luhn_valid(digits)
    if n > 19:  # said straight into something else: any card-length Luhn window taints the run
        return any(
            luhn_valid(digits[s : s + k]) and digits[s] in "23456"
            for k in range(13, 20)
            for s in range(n - k + 1)
        )
    return False


# --- phones --------------------------------------------------------------------------------------

_UK_PHONE = re.compile(r"^(?:0[1237]\d{8,9}|0[89]\d{8,9})$")
_INTL_UK = re.compile(r"^44[1237]\d{8,9}$")


def _phones(i: int, text: str, runs: list[DigitRun]) -> list[Entity]:
    out = []
    for run in runs:
        before = text[max(0, run.start - 8) : run.start].lower()
        if _UK_PHONE.match(run.digits) or (
            _INTL_UK.match(run.digits) and ("+" in before or "plus" in before)
        ):
            start = run.start
            m = re.search(r"(?:\+|\bplus\s+)\s*$", text[: run.start], re.I)
            if m:
                start = m.start()
            out.append(Entity("PHONE", i, start, run.end))
    return out


# --- written sort codes ----------------------------------------------------------------------------

_WRITTEN_SORT_CODE = re.compile(r"(?<![\d-])\d{2}-\d{2}-\d{2}(?![\d-])")


# --- emails --------------------------------------------------------------------------------------

_WRITTEN_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
_TLDS = {"com", "org", "net", "uk", "co", "io", "gov", "ac", "edu", "info", "biz", "me", "ie", "eu", "us"}
_JOINERS = {"dot", "underscore", "dash", "hyphen"}
_NOT_LOCAL = {
    "is", "it's", "its", "email", "address", "the", "my", "it", "that's", "yeah", "yes", "and", "on",
    "under", "me", "e-mail", "mail", "to", "send", "of", "from", "was", "be", "just",
}  # fmt: skip


def _emails(i: int, text: str) -> list[Entity]:
    out = [Entity("EMAIL", i, m.start(), m.end()) for m in _WRITTEN_EMAIL.finditer(text)]
    toks = [(m.group(0).lower(), m.start(), m.end()) for m in _WORD.finditer(text)]
    for k, (word, _, _) in enumerate(toks):
        if word != "at" or k == 0:
            continue
        end = _spoken_domain(toks, k + 1)
        if end is None:
            continue
        start = _spoken_local(text, toks, k)
        if start is not None:
            out.append(Entity("EMAIL", i, start, end))
    return out


def _spoken_domain(toks: list[tuple[str, int, int]], k: int) -> int | None:
    """End character of ``example dot co dot uk`` starting at token ``k``, if it ends in a TLD."""
    if k >= len(toks) or toks[k][0] in _JOINERS:
        return None
    end = None
    j = k + 1
    while j + 1 < len(toks) and toks[j][0] == "dot":
        if toks[j + 1][0] in _TLDS:
            end = toks[j + 1][2]
        j += 2
    return end


def _spoken_local(text: str, toks: list[tuple[str, int, int]], k: int) -> int | None:
    """Start character of the local part that ends just before the ``at`` token ``k``."""
    j = k - 1
    start = None
    while j >= 0:
        # a segment: one plain word and/or trailing numbers and letters ("okafor eighty-four", "m")
        seg_start = None
        while j >= 0 and _numberish(toks[j][0]) and _adjacent(text, toks, j):
            seg_start, j = toks[j][1], j - 1
        if (
            j >= 0
            and toks[j][0] not in _NOT_LOCAL
            and toks[j][0] not in _JOINERS
            and _adjacent(text, toks, j)
        ):
            seg_start, j = toks[j][1], j - 1
        if seg_start is None:
            break
        start = seg_start
        if j >= 0 and toks[j][0] in _JOINERS and _adjacent(text, toks, j):
            j -= 1
            continue
        break
    return start


def _adjacent(text: str, toks: list[tuple[str, int, int]], j: int) -> bool:
    """Whether token ``j`` runs on into token ``j+1`` with no sentence punctuation between."""
    return j + 1 >= len(toks) or not re.search(r"[,.;:?!]", text[toks[j][2] : toks[j + 1][1]])


def _numberish(word: str) -> bool:
    return word.isdigit() or word in UNITS or word in TEENS or word in TENS or len(word) == 1


# --- postcodes -----------------------------------------------------------------------------------

# Real UK postcode areas: a letters-digits-letters shape alone would catch too much spoken spelling.
_AREAS = set(
    "AB AL B BA BB BD BF BH BL BN BR BS BT BX CA CB CF CH CM CO CR CT CV CW DA DD DE DG DH DL DN DT DY E "
    "EC EH EN EX FK FY G GL GU GY HA HD HG HP HR HS HU HX IG IM IP IV JE KA KT KW KY L LA LD LE LL LN LS LU "
    "M ME MK ML N NE NG NN NP NR NW OL OX PA PE PH PL PO PR RG RH RM S SA SE SG SK SL SM SN SO SP SR SS ST "
    "SW SY TA TD TF TN TQ TR TS TW UB W WA WC WD WF WN WR WS WV YO ZE".split()
)
_NATO = {
    "alpha": "A", "alfa": "A", "bravo": "B", "charlie": "C", "delta": "D", "echo": "E", "foxtrot": "F",
    "golf": "G", "hotel": "H", "india": "I", "juliet": "J", "juliett": "J", "kilo": "K", "lima": "L",
    "mike": "M", "november": "N", "oscar": "O", "papa": "P", "quebec": "Q", "romeo": "R", "sierra": "S",
    "tango": "T", "uniform": "U", "victor": "V", "whiskey": "W", "whisky": "W", "x-ray": "X", "xray": "X",
    "yankee": "Y", "zulu": "Z", "zed": "Z",
}  # fmt: skip
# ``@`` stands for a spoken "o"/"oh": the letter O or the digit 0, whichever the shape needs.
_POSTCODE = re.compile(r"([A-Z@]{1,2})([0-9@]{1,2}|[0-9@][A-Z@])([0-9@])([ABD-HJLNP-UW-Z]{2})")


def _postcodes(i: int, text: str) -> list[Entity]:
    """UK postcodes written ("LS6 4JQ") or spelled out ("l s six, four j q", "S O fourteen two L X")."""
    toks = [(m.group(0), m.start(), m.end()) for m in _WORD.finditer(text)]
    chars: list[str] = []
    owner: list[int] = []  # token index of each char
    starts: set[int] = set()  # char positions where a token begins
    breaks = [0]
    k = 0
    while k < len(toks):
        word, s, _ = toks[k]
        low = word.lower()
        nxt = toks[k + 1][0].lower() if k + 1 < len(toks) else ""
        if low in _FILLER:
            k += 1
            continue
        piece, used = _postcode_piece(word, low, nxt, text, toks, k)
        if piece is None:
            chars.append("|")
            owner.append(k)
            k += 1
            continue
        starts.add(len(chars))
        chars.extend(piece)
        owner.extend([k] * len(piece))
        k += used
    del breaks
    stream = "".join(chars)
    out: list[Entity] = []
    pos = 0
    while True:
        m = _POSTCODE.search(stream, pos)
        if m is None:
            break
        begin = m.start()
        area = m.group(1).replace("@", "O")
        if len(area) == 2 and area not in _AREAS and area[1] in _AREAS:
            begin += 1  # "it's a b..." style: the first letter belongs to the sentence
            area = area[1]
        end = m.end()
        ok = area in _AREAS and begin in starts and _ends_cleanly(stream, end, starts, toks, owner)
        if ok and "@" not in m.group(4):
            out.append(Entity("POSTCODE", i, toks[owner[begin]][1], toks[owner[end - 1]][2]))
            pos = end
        else:
            pos = m.start() + 1
    return out


def _ends_cleanly(
    stream: str, end: int, starts: set[int], toks: list[tuple[str, int, int]], owner: list[int]
) -> bool:
    """Whether nothing code-like follows: "W R sixty eight E X L" is a number plate, not WR6 8EX + L."""
    if end == len(stream) or stream[end] == "|":
        return True
    if end not in starts or stream[end].isdigit() or stream[end] == "@":
        return False
    # a lone "a" or "i" after a spelled postcode is far more often the next word than a letter
    return toks[owner[end]][0] in ("a", "i")


def _postcode_piece(
    word: str, low: str, nxt: str, text: str, toks: list[tuple[str, int, int]], k: int
) -> tuple[list[str] | None, int]:
    """What token ``k`` contributes to a postcode: characters, and how many tokens it used."""
    if low in ("oh", "o"):
        return ["@"], 1
    if low in ("double", "triple") and nxt:
        inner, used = _postcode_piece(toks[k + 1][0], nxt, "", text, toks, k + 1)
        if inner is not None and len(inner) == 1:
            return inner * (2 if low == "double" else 3), 1 + used
        return None, 1
    if word.isdigit():
        return list(word), 1
    if low in UNITS:
        return [UNITS[low]], 1
    if low in TEENS:
        return list(TEENS[low]), 1
    if low in TENS:
        if nxt in UNITS and UNITS[nxt] != "0" and re.fullmatch(r"[\s-]*", text[toks[k][2] : toks[k + 1][1]]):
            return [TENS[low], UNITS[nxt]], 2
        return [TENS[low], "0"], 1
    if len(word) == 1 and word.isalpha():
        return [word.upper()], 1
    if low in _NATO:
        return [_NATO[low]], 1
    # written postcode parts: "LS6" tokenises as "LS" then "6"; "4JQ" as "4" then "JQ"
    glued = (k + 1 < len(toks) and toks[k][2] == toks[k + 1][1]) or (k > 0 and toks[k - 1][2] == toks[k][1])
    if word.isalpha() and len(word) <= 2 and (word.isupper() or glued):
        return list(word.upper()), 1
    return None, 1


# --- dates ---------------------------------------------------------------------------------------

_MONTHS = {
    m: n
    for n, names in enumerate(
        [
            ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
            ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
            ("october", "oct"), ("november", "nov"), ("december", "dec"),
        ],
        start=1,
    )
    for m in names
}  # fmt: skip
_ORDINALS = {
    "first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6, "seventh": 7, "eighth": 8,
    "ninth": 9, "tenth": 10, "eleventh": 11, "twelfth": 12, "thirteenth": 13, "fourteenth": 14,
    "fifteenth": 15, "sixteenth": 16, "seventeenth": 17, "eighteenth": 18, "nineteenth": 19,
    "twentieth": 20, "thirtieth": 30,
}  # fmt: skip
_WRITTEN_DATE = re.compile(r"\b\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})\b")
_DAY_DIGITS = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?$", re.I)


def _dates(text: str, after: int) -> list[tuple[int, int]]:
    """Character spans of dates at or after ``after``: "the 9th of November 1991", "June third, 79"."""
    out = [(m.start(), m.end()) for m in _WRITTEN_DATE.finditer(text) if m.start() >= after]
    toks = [
        (m.group(0).lower(), m.start(), m.end()) for m in re.finditer(r"[A-Za-z']+|\d+(?:st|nd|rd|th)?", text)
    ]
    toks = [t for t in toks if t[1] >= after and t[0] not in _FILLER]
    k = 0
    while k < len(toks):
        span = _date_at(toks, k)
        if span is None:
            k += 1
            continue
        out.append((toks[k][1], toks[span - 1][2]))
        k = span
    return sorted(out)


def _date_at(toks: list[tuple[str, int, int]], k: int) -> int | None:
    """Token index just past a spoken date starting at token ``k``, or None."""
    j = k + 1 if toks[k][0] == "the" else k
    day = _day(toks, j)
    if day is not None:  # the ninth of november [nineteen ninety-one] / the 23rd of the fourth
        j = day
        if j < len(toks) and toks[j][0] == "of":
            j += 1
        if j < len(toks) and toks[j][0] == "the":
            j += 1
        if j < len(toks) and toks[j][0] in _MONTHS:
            return _year(toks, j + 1)
        month = _day(toks, j)
        if month is not None and toks[j - 1][0] in ("the", "of"):
            return _year(toks, month)
        return None
    if toks[k][0] in _MONTHS and toks[k][0] != "may" or (toks[k][0] == "may" and _day(toks, k + 1)):
        j = k + 1
        if j < len(toks) and toks[j][0] == "the":
            j += 1
        day = _day(toks, j)
        if day is not None:  # june third [, nineteen seventy-nine]
            return _year(toks, day)
    return None


def _day(toks: list[tuple[str, int, int]], j: int) -> int | None:
    """Token index past a day of the month: "9th", "ninth", "twenty third", "thirty-first"."""
    if j >= len(toks):
        return None
    word = toks[j][0]
    m = _DAY_DIGITS.match(word)
    if (
        m
        and 1 <= int(m.group(1)) <= 31
        and (word[-2:].isalpha() or j + 1 < len(toks) and toks[j + 1][0] == "of")
    ):
        return j + 1
    if word in _ORDINALS:
        return j + 1
    if word in ("twenty", "thirty") and j + 1 < len(toks) and toks[j + 1][0] in _ORDINALS:
        return j + 2
    return None


def _year(toks: list[tuple[str, int, int]], j: int) -> int:
    """Extend past a year if one follows: "1991", "nineteen ninety-one", "two thousand and six"."""
    k = j
    taken = 0
    while k < len(toks) and taken < 5:
        word = toks[k][0]
        if word.isdigit() and len(word) in (2, 4):
            return k + 1
        if word in UNITS or word in TEENS or word in TENS or word in ("thousand", "hundred"):
            k += 1
            taken += 1
            continue
        # "two thousand and six", never "nineteen ninety, and one Fern Street"
        if word == "and" and toks[k - 1][0] in ("thousand", "hundred") and k + 1 < len(toks):
            k += 1
            continue
        break
    return k


def _month_years(text: str, after: int) -> list[tuple[int, int]]:
    """Month-and-year expiry dates: "August twenty twenty-eight", "March 2027"."""
    out = []
    toks = [(m.group(0).lower(), m.start(), m.end()) for m in _WORD.finditer(text) if m.start() >= after]
    for k, (word, start, _) in enumerate(toks):
        if word in _MONTHS and word != "may":
            end = _year(toks, k + 1)
            if end > k + 1:
                out.append((start, toks[end - 1][2]))
    return out
