"""Text normalisation shared by training and scoring.

Every turn is brought to one canonical form - lower case, no punctuation, numbers as words, the
way speech recognition writes it - before the rules and the embedding model see it. Training on
that form is why a detector trained on tidy written transcripts still works on raw ASR output:
the two look the same to it. Signals that only punctuation carries (a turn cut off with a dash,
a hold marker) are read from the raw text first and kept as separate flags.
"""

from __future__ import annotations

import re

from qa_scoring.spoken_numbers import number_words

# Markers for non-speech at the start of a turn: "[on hold]" in written transcripts, "[music]" in
# ASR-style ones; a few common variants from other transcription tools.
_HOLD_MARKER = re.compile(
    r"^\s*[\[(<*]\s*(?:[a-z]+ ){0,2}(?:on hold|hold|holding|music|hold music|music on hold|silence)"
    r"(?: [a-z]+){0,2}\s*[\])>*]\s*",
    re.I,
)
_ANY_MARKER = re.compile(r"[\[(<*]\s*[a-z ]{1,30}\s*[\])>*]", re.I)
# A turn cut off by the other speaker: ends in a dash (written) or an ellipsis.
_CUT_OFF = re.compile(r"(—|–|--|-|\.\.\.|…)\s*$")


def _digits_to_words(match: re.Match[str]) -> str:
    token = match.group(0)
    if len(token) > 4 and token.isdigit():  # long numbers (accounts, phones) are read digit by digit
        return " ".join("oh" if d == "0" else number_words(int(d)) for d in token)
    return number_words(int(token))


_CURRENCY = {"£": "pounds", "$": "dollars", "€": "euros"}


def _money(match: re.Match[str]) -> str:
    cents = f" {match.group(3)}" if match.group(3) else ""
    return f"{match.group(2)} {_CURRENCY[match.group(1)]}{cents}"


def digits_as_words(text: str) -> str:
    text = re.sub(r"([£$€])(\d+)(?:\.(\d\d))?", _money, text)
    text = re.sub(r"(\d+)%", r"\1 percent", text)
    text = re.sub(r"(\d+)(st|nd|rd|th)\b", r"\1", text)
    text = re.sub(r"(\d+):(\d\d)", r"\1 \2", text)
    return re.sub(r"\d+", _digits_to_words, text)


def hold_marker(text: str) -> bool:
    """Whether the turn starts with a hold/music marker (the turn that resumes after a hold)."""
    return bool(_HOLD_MARKER.match(text))


def cut_off(text: str) -> bool:
    """Whether the turn was cut off mid-sentence by the other speaker (written-transcript marker)."""
    return bool(_CUT_OFF.search(text.strip()))


# Words a finished English sentence almost never ends on: a turn stopping on one was cut off. This is
# how an interruption shows in ASR output, which has no dash.
# Left out on purpose: words speech often ends on ("not good enough really", "what I pay for", "who
# am I speaking with", "I told her", a question trailing off in "or").
_DANGLING = frozenset(
    "and but because the a an to of my your our their his its i we they he she "
    "if from when which it's i'm i've i'd we're they're you're just very".split()
)
_ENDS_SENTENCE = re.compile(r"[.?!][\"')\]]*$")


UNFINISHED_MIN_WORDS = 3


def unfinished(canonical_text: str) -> bool:
    """Whether a canonical (ASR-style) turn stops on a word no finished sentence ends on."""
    words = canonical_text.split()
    # a one- or two-word turn ("when", "and the") is a complete question or a filler, not a cut-off
    return len(words) >= UNFINISHED_MIN_WORDS and words[-1] in _DANGLING


def ends_sentence(text: str) -> bool:
    """Whether a written turn ends with sentence punctuation (machine transcripts often do not)."""
    return bool(_ENDS_SENTENCE.search(text.strip()))


def interrupted(text: str) -> bool:
    """Whether a turn was cut off by the other speaker, in a written or an ASR-style transcript.

    A written transcript marks it with a dash; a turn there that ends a sentence with punctuation was
    finished, whatever its last word. Without punctuation (ASR output) the last word has to tell.
    """
    stripped = text.strip()
    if cut_off(stripped):
        return True
    return not ends_sentence(stripped) and unfinished(canonical(stripped))


def asr_style(text: str) -> str:
    """The text as raw speech recognition would give it: lower case, no punctuation, numbers as words.

    Bracketed non-speech markers are kept but written the ASR way ("[on hold]" -> "[music]"), since
    that is what an ASR-style transcript would carry.
    """
    text = _HOLD_MARKER.sub("[music] ", text)
    marker = "[music] " if text.startswith("[music] ") else ""
    body = text[len(marker) :]
    body = digits_as_words(body).lower()
    body = body.replace("’", "'").replace("‘", "'")
    body = re.sub(r"[^a-z' ]+", " ", body)
    body = re.sub(r"(?<![a-z])'|'(?![a-z])", " ", body)
    return marker + " ".join(body.split())


def canonical(text: str) -> str:
    """The form rules and embeddings see: ASR style with non-speech markers removed."""
    return " ".join(asr_style(_ANY_MARKER.sub(" ", text)).split())
