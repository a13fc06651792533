"""Transcript styles: the same labelled call rewritten the ways real transcripts differ.

The behaviour model is trained on a few hundred written calls; real transcripts come from other
tools and people. ``qa-scoring eval --styles`` rewrites the *measured* calls (never the training
calls) into each style below and reports the figures per style, so a model that only works on one
house style shows it. Every rewrite is deterministic: the random choices are seeded by the seed, the
style and the call id, so two runs measure the same text.

Tags and labels stay true to the definitions (a call label is true iff some turn of the behaviour's
speaker is tagged with it):

- a rewrite inside a turn keeps the turn's tags;
- a turn split in two (an utterance cut at a pause by the transcriber) gives **both** halves the
  turn's tags. Which half shows the behaviour is not known (the tags are per turn), and the call
  labels only need one tagged turn of the right speaker, which both halves are. The halves' tags are
  therefore an upper bound: do not train turn classifiers on split calls;
- two consecutive turns of one speaker merged into one carry the union of their tags;
- a turn dropped because nothing is left of it (a marker-only turn) carried no tags, else it is kept.

So the call labels never change, and the gold labels of the original call are reused as they are.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import replace

from qa_scoring.behaviours.labelled import LabelledCall, as_asr_style
from qa_scoring.behaviours.text import cut_off, digits_as_words
from qa_scoring.spoken_numbers import digit_runs
from qa_scoring.transcript import Event, Turn

# The styles, in report order. ``numbers_digits`` is the other direction of ``numbers_words``: the
# labelled and dev calls spell numbers out almost everywhere (3 of 4174 labelled turns carry a digit),
# so spelling digits out changes next to nothing on them, while Whisper writes "90 pounds" and "1968".
# ``asr_style`` is the existing all-in-one ASR rewrite (lower case, no punctuation, numbers as words,
# "[music]" markers), kept for comparison.
STYLES: tuple[str, ...] = (
    "lowercase",
    "fillers",
    "split_merge",
    "mishearing",
    "numbers_words",
    "numbers_digits",
    "no_markers",
    "asr_style",
)

# A bracketed non-speech marker anywhere in a turn: "[on hold]", "[music]", "(pause)", "<silence>".
MARKER = re.compile(r"\s*[\[(<]\s*[A-Za-z][A-Za-z ]{0,29}\s*[\])>]\s*")
_LEADING_MARKER = re.compile(r"^\s*[\[(<]\s*[A-Za-z][A-Za-z ]{0,29}\s*[\])>]\s*")
_WORD = re.compile(r"([A-Za-z][A-Za-z'’]*)")

# --- sound-alikes ----------------------------------------------------------------------------------
# Common English homophones and near-homophones, and the confusions speech recognisers typically
# make (teens and tens, dropped endings, run-together phrases). General English, chosen without
# reference to any measured call. Each pair swaps both ways. Negations (can/can't) are left out on
# purpose: a recogniser does drop them, but then the gold label no longer describes the text.
SOUND_ALIKES: tuple[tuple[str, str], ...] = (
    ("their", "there"), ("they're", "there"), ("your", "you're"), ("to", "too"), ("two", "to"),
    ("for", "four"), ("know", "no"), ("knew", "new"), ("write", "right"), ("hear", "here"),
    ("by", "buy"), ("bye", "by"), ("wait", "weight"), ("weather", "whether"), ("see", "sea"),
    ("meet", "meat"), ("week", "weak"), ("one", "won"), ("son", "sun"), ("hour", "our"),
    ("mail", "male"), ("sale", "sail"), ("whole", "hole"), ("peace", "piece"), ("plain", "plane"),
    ("road", "rode"), ("break", "brake"), ("fair", "fare"), ("great", "grate"), ("made", "maid"),
    ("pair", "pear"), ("threw", "through"), ("waste", "waist"), ("wear", "where"), ("which", "witch"),
    ("would", "wood"), ("allowed", "aloud"), ("board", "bored"), ("cell", "sell"), ("sent", "cent"),
    ("check", "cheque"), ("course", "coarse"), ("dear", "deer"), ("find", "fined"), ("hire", "higher"),
    ("its", "it's"), ("led", "lead"), ("missed", "mist"), ("passed", "past"), ("poor", "pour"),
    ("real", "reel"), ("role", "roll"), ("site", "sight"), ("some", "sum"), ("steal", "steel"),
    ("tale", "tail"), ("way", "weigh"), ("whose", "who's"), ("due", "dew"), ("days", "daze"),
    ("guessed", "guest"), ("band", "banned"), ("told", "tolled"), ("tide", "tied"), ("choose", "chews"),
    ("council", "counsel"), ("personal", "personnel"), ("morning", "mourning"), ("patience", "patients"),
    ("then", "than"), ("were", "where"), ("we're", "were"), ("accept", "except"), ("affect", "effect"),
    ("quite", "quiet"), ("lose", "loose"), ("advice", "advise"), ("i'll", "all"), ("we'll", "will"),
    ("he'll", "hill"), ("sure", "shore"), ("ensure", "insure"), ("later", "letter"), ("oh", "owe"),
    ("hi", "high"), ("thirteen", "thirty"), ("fourteen", "forty"), ("fifteen", "fifty"),
    ("sixteen", "sixty"), ("seventeen", "seventy"), ("eighteen", "eighty"), ("nineteen", "ninety"),
    ("asked", "ask"), ("booked", "book"), ("charged", "charge"), ("fixed", "fix"), ("helped", "help"),
    ("cancelled", "cancel"), ("used", "use"), ("and", "an"), ("aisle", "i'll"), ("flu", "flew"),
    ("going to", "gonna"), ("want to", "wanna"), ("got to", "gotta"), ("kind of", "kinda"),
    ("let me", "lemme"), ("could have", "could of"), ("would have", "would of"),
    ("should have", "should of"), ("all right", "alright"), ("any way", "anyway"), ("a lot", "alot"),
    ("may be", "maybe"), ("every day", "everyday"), ("some time", "sometime"), ("a count", "account"),
)  # fmt: skip
MISHEARING_RATE = 0.3  # chance that a word (or phrase) with a sound-alike is misheard


def _sound_alike_table() -> dict[str, list[str]]:
    table: dict[str, list[str]] = {}
    for a, b in SOUND_ALIKES:
        table.setdefault(a, []).append(b)
        table.setdefault(b, []).append(a)
    return {k: sorted(set(v)) for k, v in table.items()}


SOUND_ALIKE: dict[str, list[str]] = _sound_alike_table()

# --- fillers -------------------------------------------------------------------------------------
OPENING_FILLERS = ("um", "erm", "uh", "so um", "you know", "well um", "like")
INNER_FILLERS = ("um", "erm", "uh", "you know", "like", "i mean", "sort of")
_CLAUSE_STARTS = frozenset("and but so because if when then i we you it's that's there's which".split())
FILLER_RATES = {"opening": 0.35, "inner": 0.35, "false_start": 0.2}  # per turn

# --- split and merge -----------------------------------------------------------------------------
SPLIT_MIN_WORDS = 10
SPLIT_RATE = 0.3  # of the turns long enough to split
MERGE_RATE = 0.5  # of the pairs of consecutive turns of one speaker


def restyle(call: LabelledCall, style: str, seed: int = 0) -> LabelledCall:
    """``call`` rewritten in ``style`` (one of STYLES), deterministically for a given seed."""
    if style not in STYLES:
        raise ValueError(f"unknown style {style!r}; one of {', '.join(STYLES)}")
    if style == "asr_style":
        return as_asr_style(call)
    rng = random.Random(f"{seed}/{style}/{call.transcript.call_id}")
    if style == "split_merge":
        return _split_merge(call, rng)
    if style == "no_markers":
        return _no_markers(call)
    rewrite: Callable[[str, random.Random], str] = _TEXT_REWRITES[style]
    turns = [replace(t, text=rewrite(t.text, rng)) for t in call.transcript.turns]
    return _with(call, turns, [set(t) for t in call.tags], call.transcript.events)


def _with(call: LabelledCall, turns: list[Turn], tags: list[set[str]], events: list[Event]) -> LabelledCall:
    transcript = replace(call.transcript, turns=turns, events=events)
    return replace(call, transcript=transcript, tags=tags, labels=dict(call.labels))


def _outside_markers(text: str, rewrite: Callable[[str], str]) -> str:
    """Apply ``rewrite`` to the speech in ``text``, leaving bracketed markers as they are."""
    parts = re.split(f"({MARKER.pattern})", text)
    return "".join(p if MARKER.fullmatch(p) else rewrite(p) for p in parts)


# --- the per-turn rewrites -------------------------------------------------------------------------


def lowercase(text: str, rng: random.Random | None = None) -> str:
    """Lower case without punctuation (apostrophes inside words stay); digits and markers stay."""

    def speech(part: str) -> str:
        part = part.lower().replace("’", "'").replace("‘", "'")
        part = re.sub(r"[^\w' ]+|_", " ", part)
        part = re.sub(r"(?<!\w)'|'(?!\w)", " ", part)
        return " ".join(part.split())

    parts = [
        p.strip().lower() if MARKER.fullmatch(p) else speech(p) for p in re.split(f"({MARKER.pattern})", text)
    ]
    return " ".join(p for p in parts if p)


def numbers_as_words(text: str, rng: random.Random | None = None) -> str:
    """Digits, money, times and percentages spelled out as a speaker says them."""
    return _outside_markers(text, digits_as_words)


def numbers_as_digits(text: str, rng: random.Random | None = None) -> str:
    """Spoken numbers of two or more digits written as digits ("ninety" -> "90"), as Whisper does.

    One-digit numbers stay words ("two kids", "one thing"): recognisers write those as words too.
    """

    def speech(part: str) -> str:
        out, last = [], 0
        for run in digit_runs(part):
            if len(run.digits) >= 2:
                out += [part[last : run.start], run.digits]
                last = run.end
        return "".join(out) + part[last:]

    return _outside_markers(text, speech)


def fillers(text: str, rng: random.Random) -> str:
    """Hesitations and false starts: "um", "erm", "you know", "like", "i- i", a repeated opening.

    Nothing goes after the last word, so a turn cut off mid-sentence still ends the way it did.
    """
    lead_match = _LEADING_MARKER.match(text)
    lead = lead_match.group(0) if lead_match else ""
    words = text[len(lead) :].split()
    if not words:
        return text
    written = words[0][:1].isupper()
    if len(words) > 2 and rng.random() < FILLER_RATES["inner"]:
        # at a pause: after a punctuation mark or before a clause starts, else anywhere inside
        pauses = [
            k
            for k in range(1, len(words) - 1)
            if words[k - 1][-1] in ",.;:?!" or words[k].lower() in _CLAUSE_STARTS
        ]
        at = rng.choice(pauses) if pauses else rng.randrange(1, len(words) - 1)
        filler = rng.choice(INNER_FILLERS)
        words.insert(at, f"{filler}," if written else filler)
    if rng.random() < FILLER_RATES["false_start"]:
        k = 1 if len(words) < 4 else rng.choice((1, 2))
        head = " ".join(w.strip(",.?!;:") for w in words[:k])
        words[0] = _lower_first(words[0])
        words.insert(0, f"{head}-" if written else head.lower())
    if rng.random() < FILLER_RATES["opening"]:
        filler = rng.choice(OPENING_FILLERS)
        words[0] = _lower_first(words[0])
        words.insert(0, f"{filler.capitalize()}," if written else filler)
    return lead + " ".join(words)


def _lower_first(word: str) -> str:
    """A sentence's first word once it no longer starts the sentence ("I" stays "I")."""
    if word == "I" or word.startswith(("I'", "I’")) or word[1:2].isupper():
        return word  # "I", "I'm", acronyms
    return word[:1].lower() + word[1:]


def mishear(text: str, rng: random.Random) -> str:
    """Swap a share of the words that have a sound-alike (SOUND_ALIKES) for it."""
    return _outside_markers(text, lambda part: _mishear_part(part, rng))


def _mishear_part(part: str, rng: random.Random) -> str:
    pieces = _WORD.split(part)  # [sep, word, sep, word, ..., sep]
    i = 1
    while i < len(pieces):
        word = pieces[i].replace("’", "'")
        pair = None
        if i + 2 < len(pieces) and pieces[i + 1] == " ":
            pair = f"{word} {pieces[i + 2]}".lower()
        if pair in SOUND_ALIKE:
            if rng.random() < MISHEARING_RATE:
                pieces[i] = _like_case(rng.choice(SOUND_ALIKE[pair]), word)
                pieces[i + 1] = pieces[i + 2] = ""
            i += 4
            continue
        if word.lower() in SOUND_ALIKE and rng.random() < MISHEARING_RATE:
            pieces[i] = _like_case(rng.choice(SOUND_ALIKE[word.lower()]), word)
        i += 2
    return "".join(pieces)


def _like_case(new: str, old: str) -> str:
    return new[:1].upper() + new[1:] if old[:1].isupper() else new


_TEXT_REWRITES: dict[str, Callable[[str, random.Random], str]] = {
    "lowercase": lowercase,
    "fillers": fillers,
    "mishearing": mishear,
    "numbers_words": numbers_as_words,
    "numbers_digits": numbers_as_digits,
}

# --- rewrites that change the turns ----------------------------------------------------------------

_DASHES = re.compile(r"\s*(?:—|–|--|\.\.\.|…)\s*|\s+-\s+|(?<=\w)-(?=\s|$)")


def strip_markers(text: str) -> str:
    """The turn without bracketed markers, dashes (cut-offs, asides) and ellipses."""
    text = MARKER.sub(" ", text)
    text = _DASHES.sub(" ", text)
    return " ".join(text.split())


def _no_markers(call: LabelledCall) -> LabelledCall:
    turns, tags, index = [], [], []
    for i, (turn, tagged) in enumerate(zip(call.transcript.turns, call.tags, strict=True)):
        text = strip_markers(turn.text)
        if not text and not tagged:
            continue  # a marker-only turn: nothing was said
        index.append(i)
        turns.append(replace(turn, text=text))
        tags.append(set(tagged))
    # Holds found from the markers go with them; holds found in the audio stay.
    events = [e for e in call.transcript.events if e.source != "marker"]
    return _with(call, turns, tags, _remap_events(events, _new_index(index, len(call.transcript.turns))))


def _split_merge(call: LabelledCall, rng: random.Random) -> LabelledCall:
    """Consecutive turns of one speaker merged, and long turns split in two at a pause."""
    old = call.transcript.turns
    groups: list[list[int]] = []
    i = 0
    while i < len(old):
        if (
            i + 1 < len(old)
            and old[i].speaker == old[i + 1].speaker
            and not cut_off(old[i].text)
            and not _LEADING_MARKER.match(old[i + 1].text)  # a hold between them keeps them apart
            and rng.random() < MERGE_RATE
        ):
            groups.append([i, i + 1])
            i += 2
        else:
            groups.append([i])
            i += 1
    turns: list[Turn] = []
    tags: list[set[str]] = []
    first_new: dict[int, int] = {}  # old turn index -> new index of the turn that starts with it
    for group in groups:
        for j in group:
            first_new[j] = len(turns)
        merged_tags = set().union(*(call.tags[j] for j in group))
        if len(group) == 2:
            turns.append(_merge(old[group[0]], old[group[1]]))
            tags.append(merged_tags)
            continue
        turn = old[group[0]]
        halves = (
            _split(turn, rng)
            if len(turn.text.split()) >= SPLIT_MIN_WORDS and rng.random() < SPLIT_RATE
            else None
        )
        for half in halves or [turn]:
            turns.append(half)
            tags.append(set(merged_tags))
    first_new[len(old)] = len(turns)
    return _with(call, turns, tags, _remap_events(call.transcript.events, first_new))


def _merge(a: Turn, b: Turn) -> Turn:
    words = a.words + b.words
    return replace(
        a, text=f"{a.text.rstrip()} {b.text.lstrip()}", end=b.end, words=words, overlap=a.overlap or b.overlap
    )


def _split(turn: Turn, rng: random.Random) -> list[Turn] | None:
    """The turn cut at a pause: a sentence end near the middle, else a comma, else a word boundary."""
    lead_match = _LEADING_MARKER.match(turn.text)
    lead = len(lead_match.group(0)) if lead_match else 0
    text = turn.text
    spaces = [m.start() for m in re.finditer(r" ", text) if m.start() > lead]
    # keep at least three words on each side
    cuts = [s for s in spaces if len(text[lead:s].split()) >= 3 and len(text[s:].split()) >= 3]
    if not cuts:
        return None
    middle = len(text) / 2
    for ends in (".?!", ",;:"):
        at = [s for s in cuts if text[s - 1] in ends]
        if at:
            cut = min(at, key=lambda s: (abs(s - middle), s))
            break
    else:
        cut = min(cuts, key=lambda s: (abs(s - middle) + rng.random() * 8, s))
    first, second = text[:cut].rstrip(), text[cut:].lstrip()
    share = len(first.split()) / len(text.split())
    mid = None if turn.start is None or turn.end is None else turn.start + share * (turn.end - turn.start)
    words_a = [w for w in turn.words if mid is None or w.end <= mid]
    words_b = [w for w in turn.words if mid is not None and w.end > mid]
    return [
        replace(turn, text=first, end=mid if mid is not None else turn.end, words=words_a),
        replace(turn, text=second, start=mid if mid is not None else turn.start, words=words_b),
    ]


def _new_index(kept: list[int], n_old: int) -> dict[int, int]:
    """Old turn index -> new index after dropping turns (a dropped turn maps to the next kept one)."""
    out, k = {}, 0
    for i in range(n_old + 1):
        while k < len(kept) and kept[k] < i:
            k += 1
        out[i] = k
    return out


def _remap_events(events: list[Event], first_new: dict[int, int]) -> list[Event]:
    """Events point at the first turn after them; keep them pointing at the same words."""
    return [
        replace(e) if e.turn is None else replace(e, turn=first_new[min(e.turn, len(first_new) - 1)])
        for e in events
    ]


def restyled(calls: list[LabelledCall], style: str, seed: int = 0) -> list[LabelledCall]:
    """Every call in ``style`` ("original" gives the calls unchanged)."""
    return list(calls) if style == "original" else [restyle(c, style, seed) for c in calls]
