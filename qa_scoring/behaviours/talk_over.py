"""Agent turns that talk over the customer: from timing when the call was recorded, else explicit cues.

Talking over the customer is unprofessional whatever the agent says, so it cannot be learned from
the words of the agent's turn. What shows it:

- in a recorded call, timing: the agent starts while the customer is still speaking, and the
  customer stops within a moment of it (they were cut off, not finishing), while the agent goes on;
- in a text-only transcript, only what the transcriber or the customer says explicitly: a note such
  as "[crosstalk]", a customer turn broken off with a dash straight into the agent's, or the customer
  protesting ("let me finish", "you're not listening").

A turn that merely ends without punctuation, or a short acknowledgement ("yeah", "sorry", "right"),
is never evidence by itself: machine transcripts end turns anywhere, and a back-channel over the
customer is listening, not rudeness.
"""

from __future__ import annotations

import re

import numpy as np

from qa_scoring.transcript import Transcript

# The agent must overlap the customer by this much to have started while they spoke...
MIN_OVERLAP_SECONDS = 0.3
# ...and the customer must stop within this long of the agent starting (they were cut off)...
CUT_WITHIN_SECONDS = 1.5
# ...while the agent keeps talking at least this long after the customer stopped.
AGENT_GOES_ON_SECONDS = 1.0
# A turn of this many words or fewer is an acknowledgement or back-channel, never talking over.
SHORT_TURN_WORDS = 3

_NOTE = re.compile(
    r"[\[(<*]\s*(?:cross ?talk|overlapping(?: speech)?|over ?talk|talk(?:s|ing)? over|speaking over"
    r"|interrupt(?:s|ing|ed|ion)?|talking at (?:the same time|once)|both (?:speaking|talking)"
    r"|simultaneous speech|cuts? (?:in|off))[^\])>*]{0,30}[\])>*]",
    re.IGNORECASE,
)
_PROTESTS = (
    r"let me (?:finish|speak|talk|get a word in)",
    r"(?:can|could|may) i (?:just )?finish",
    r"i (?:hadn't|haven't|hadnt|havent|wasn't|wasnt) finished",
    r"(?:you're|you are|youre) not (?:listening|letting me)",
    r"stop (?:interrupting|cutting me off|talking over)",
    r"you (?:keep |just |always )?(?:interrupting|interrupted|talk(?:ing)? over me)",
    r"(?:you )?(?:cut|cutting) me off",
    r"(?:i was|i'm|im) (?:still )?(?:talking|speaking|in the middle)",
    r"will you let me",
    r"if you'd let me",
)
_PROTEST = re.compile(r"\b(?:" + "|".join(_PROTESTS) + r")\b")
# A written customer turn broken off into the agent's: an em or en dash, "--", or a word ending in "-".
_BROKEN_OFF = re.compile(r"(?:—|–|--|\w-)\s*$")


def talk_over_turns(transcript: Transcript, canonical: list[str]) -> np.ndarray:
    """Per turn: whether it is an agent turn that talks over the customer."""
    n = len(transcript.turns)
    out = np.zeros(n, dtype=bool)
    if transcript.timed and transcript.diarisation.get("method") != "given":
        for i in _by_timing(transcript, canonical):
            out[i] = True
    for i in _by_explicit_cues(transcript, canonical):
        out[i] = True
    return out


def _substantive(canonical: str) -> bool:
    return len(canonical.split()) > SHORT_TURN_WORDS


def _by_timing(transcript: Transcript, canonical: list[str]) -> list[int]:
    turns = transcript.turns
    found = []
    for i, agent in enumerate(turns):
        if agent.role != "agent" or not _substantive(canonical[i]):
            continue
        assert agent.start is not None and agent.end is not None  # timed
        # turns are in order of start: the customer turn it cuts into is one of the few before it
        for j in range(i - 1, max(-1, i - 4), -1):
            customer = turns[j]
            if customer.role != "customer" or customer.overlap:
                continue
            assert customer.start is not None and customer.end is not None
            overlap = customer.end - agent.start
            if (
                customer.start < agent.start
                and MIN_OVERLAP_SECONDS <= overlap <= CUT_WITHIN_SECONDS
                and agent.end - customer.end >= AGENT_GOES_ON_SECONDS
            ):
                found.append(i)
                break
    return found


def _by_explicit_cues(transcript: Transcript, canonical: list[str]) -> list[int]:
    turns = transcript.turns
    timed = transcript.timed and transcript.diarisation.get("method") != "given"
    found = []
    for i, turn in enumerate(turns):
        if turn.role != "agent":
            continue
        prev = turns[i - 1] if i else None
        after = turns[i + 1] if i + 1 < len(turns) else None
        noted_before = prev is not None and prev.role == "customer" and _NOTE.search(prev.text)
        noted = _substantive(canonical[i]) and (_NOTE.search(turn.text) or noted_before)
        protested = after is not None and after.role == "customer" and _PROTEST.search(canonical[i + 1])
        # A dash is the written transcript's mark; machine transcripts put dashes anywhere.
        broken_off = (
            not timed
            and prev is not None
            and prev.role == "customer"
            and _BROKEN_OFF.search(prev.text.strip())
            and _substantive(canonical[i])
        )
        if noted or protested or broken_off:
            found.append(i)
    return found
