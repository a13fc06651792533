"""Call metrics from a transcript: handling time, talk and silence, holds, overtalk, speech rate,
customer sentiment, card numbers read out by the agent.

Rubric criteria refer to these by id (``METRICS`` is the registry the rubric validator checks).
Time metrics need turn times; on an untimed transcript they are ``None`` and criteria built on them
are not applicable, while text metrics (holds from markers, sentiment, card numbers...) still count.

Definitions (also in ``rubrics/README.md``):

- speech = the union of timed turns, except marker-only turns (``[music]``, ``[on hold]``);
- silence = a gap between speech stretches, after the first and before the last word. A gap that
  ends at a hold is hold time, not silence;
- a hold = what ``holds.find_holds`` finds: music or a long silence in the audio (the transcript's
  ``events``), a hold marker, the agent's words around a hold, or a gap of ``hold_min_silence``
  seconds or more (a silent hold is also dead air, so it stays in the silence figures too);
- agent interruptions = agent turns that talk over the customer (``talk_over``: timing, or explicit
  cues in a text-only transcript);
- overtalk = the transcript's ``overlaps`` when the pipeline gave them, else overlapping turn times
  of different roles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from qa_scoring.behaviours import text
from qa_scoring.behaviours.holds import find_holds
from qa_scoring.behaviours.talk_over import talk_over_turns
from qa_scoring.rubric import sentiment
from qa_scoring.rubric.cards import find_card_numbers
from qa_scoring.scored_call import Evidence
from qa_scoring.transcript import Event, Transcript, Turn

HOLD_MARKER = re.compile(r"\[\s*(?:on hold|hold music|hold|music)\s*\]", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z0-9]+(?:['’][A-Za-z]+)?")


@dataclass(frozen=True)
class MetricInfo:
    unit: str
    description: str
    timed: bool  # needs turn times (None on untimed transcripts)


METRICS: dict[str, MetricInfo] = {
    "duration": MetricInfo(
        "s", "Handling time: the transcript's duration, else the end of the last turn.", True
    ),
    "agent_talk_time": MetricInfo("s", "Seconds the agent speaks.", True),
    "customer_talk_time": MetricInfo("s", "Seconds the customer speaks.", True),
    "talk_to_listen_ratio": MetricInfo("ratio", "Agent talk time divided by customer talk time.", True),
    "silence_total": MetricInfo("s", "Seconds of silence between speech (hold time excluded).", True),
    "longest_silence": MetricInfo("s", "The longest single silence (hold time excluded).", True),
    "hold_time": MetricInfo("s", "Seconds on hold (marked holds and unmarked long silences).", True),
    "overtalk_count": MetricInfo("count", "Stretches where both parties speak at once.", True),
    "overtalk_time": MetricInfo("s", "Seconds where both parties speak at once.", True),
    "agent_first_response": MetricInfo(
        "s", "Seconds from the start of the recording to the agent's first words.", True
    ),
    "agent_words_per_minute": MetricInfo("wpm", "Agent speech rate.", True),
    "customer_words_per_minute": MetricInfo("wpm", "Customer speech rate.", True),
    "hold_count": MetricInfo(
        "count", "Holds: turns with a hold marker, plus unmarked long silences when timed.", False
    ),
    "turn_count": MetricInfo("count", "Turns in the call.", False),
    "agent_turns": MetricInfo("count", "Agent turns.", False),
    "customer_turns": MetricInfo("count", "Customer turns.", False),
    "agent_words": MetricInfo("count", "Words the agent says.", False),
    "customer_words": MetricInfo("count", "Words the customer says.", False),
    "agent_interruptions": MetricInfo(
        "count", "Customer turns cut off (ending in a dash) by an agent turn.", False
    ),
    "customer_sentiment_start": MetricInfo(
        "score", "Customer sentiment (-1..1) over the first customer turns.", False
    ),
    "customer_sentiment_end": MetricInfo(
        "score", "Customer sentiment (-1..1) over the last customer turns.", False
    ),
    "customer_sentiment_change": MetricInfo("score", "End sentiment minus start sentiment.", False),
    "agent_card_numbers": MetricInfo(
        "count", "Luhn-valid card numbers said in agent turns (PCI DSS).", False
    ),
}  # fmt: skip

# How many customer turns make up "the start" and "the end" for sentiment (at most).
SENTIMENT_TURNS = 3


@dataclass
class CallMetrics:
    """Metric values by id (numbers or None) and, where a metric points at a moment, its evidence."""

    values: dict[str, float | int | None]
    evidence: dict[str, list[Evidence]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.values)


def compute_metrics(transcript: Transcript, hold_min_silence: float = 45.0) -> CallMetrics:
    values: dict[str, float | int | None] = dict.fromkeys(METRICS)
    evidence: dict[str, list[Evidence]] = {}
    canonical = [text.canonical(t.text) for t in transcript.turns]
    holds = find_holds(transcript, canonical, min_gap=hold_min_silence)

    _text_metrics(transcript, canonical, values, evidence)
    values["hold_count"] = len(holds)
    if holds:
        evidence["hold_count"] = [_hold_evidence(transcript, e) for e in holds]
    if transcript.timed:
        _time_metrics(transcript, holds, values, evidence)
    return CallMetrics(values, evidence)


def _hold_evidence(transcript: Transcript, hold: Event) -> Evidence:
    """The turn that resumes after the hold, quoted with how the hold was found."""
    i = (
        hold.turn
        if hold.turn is not None and hold.turn < len(transcript.turns)
        else len(transcript.turns) - 1
    )
    turn = transcript.turns[i]
    length = f", {hold.duration:.0f} s" if hold.duration is not None else ""
    quote = f"[hold ({hold.source}{length})] {turn.text}"
    return Evidence(i, turn.role, quote, hold.start, hold.end)


def _words(text: str) -> int:
    return len(_WORD.findall(HOLD_MARKER.sub(" ", text)))


def _evidence(index: int, turn: Turn, quote: str | None = None) -> Evidence:
    return Evidence(index, turn.role, turn.text if quote is None else quote, turn.start, turn.end)


def _text_metrics(
    transcript: Transcript,
    canonical: list[str],
    values: dict[str, float | int | None],
    evidence: dict[str, list[Evidence]],
) -> None:
    turns = transcript.turns
    agent = transcript.turns_of("agent")
    customer = transcript.turns_of("customer")
    values["turn_count"] = len(turns)
    values["agent_turns"] = len(agent)
    values["customer_turns"] = len(customer)
    values["agent_words"] = sum(_words(t.text) for _, t in agent)
    values["customer_words"] = sum(_words(t.text) for _, t in customer)

    interruptions = [int(i) for i in talk_over_turns(transcript, canonical).nonzero()[0]]
    values["agent_interruptions"] = len(interruptions)
    if interruptions:
        evidence["agent_interruptions"] = [_evidence(i, turns[i]) for i in interruptions]

    if len(customer) >= 2:
        k = max(1, min(SENTIMENT_TURNS, len(customer) // 3))
        start = sentiment.score(" ".join(t.text for _, t in customer[:k]))
        end = sentiment.score(" ".join(t.text for _, t in customer[-k:]))
        values["customer_sentiment_start"] = start
        values["customer_sentiment_end"] = end
        values["customer_sentiment_change"] = round(end - start, 3)
        evidence["customer_sentiment_start"] = [_evidence(i, t) for i, t in customer[:k]]
        evidence["customer_sentiment_end"] = [_evidence(i, t) for i, t in customer[-k:]]

    cards: list[Evidence] = []
    for i, turn in agent:
        for match in find_card_numbers(turn.text):
            # Never repeat the number itself in the evidence: the quote is masked.
            quote = turn.text[: match.start] + f"[card number {match.masked}]" + turn.text[match.end :]
            cards.append(_evidence(i, turn, quote))
    values["agent_card_numbers"] = len(cards)
    if cards:
        evidence["agent_card_numbers"] = cards


def _time_metrics(
    transcript: Transcript,
    holds: list[Event],
    values: dict[str, float | int | None],
    evidence: dict[str, list[Evidence]],
) -> None:
    turns = transcript.turns
    marker_only = {i for i, t in enumerate(turns) if text.hold_marker(t.text) and not text.canonical(t.text)}
    speech = sorted(
        ((t.start, t.end, i) for i, t in enumerate(turns) if i not in marker_only and t.end > t.start),
        key=lambda s: (s[0], s[1]),
    )
    last_end = max((t.end for t in turns), default=0.0)
    values["duration"] = _r(transcript.duration if transcript.duration is not None else last_end)

    talk = {"agent": 0.0, "customer": 0.0}
    for i, t in enumerate(turns):
        if i not in marker_only and t.role in talk:
            talk[t.role] += max(0.0, t.end - t.start)
    values["agent_talk_time"] = _r(talk["agent"])
    values["customer_talk_time"] = _r(talk["customer"])
    values["talk_to_listen_ratio"] = _r(talk["agent"] / talk["customer"]) if talk["customer"] > 0 else None
    for role in ("agent", "customer"):
        words = values[f"{role}_words"] or 0
        values[f"{role}_words_per_minute"] = _r(words / (talk[role] / 60.0)) if talk[role] > 0 else None

    first_agent = next((t.start for t in turns if t.role == "agent"), None)
    values["agent_first_response"] = _r(first_agent) if first_agent is not None else None
    if first_agent is not None:
        i = next(i for i, t in enumerate(turns) if t.role == "agent")
        evidence["agent_first_response"] = [_evidence(i, turns[i])]

    # Gaps between merged speech stretches; each gap is attributed to the turn that ends it.
    hold_at = {e.turn: e for e in holds if e.turn is not None}
    silence_total = hold_time = 0.0
    longest: tuple[float, float, float, int] | None = None
    covered_end = speech[0][1] if speech else 0.0
    for start, end, i in speech[1:]:
        if start > covered_end:
            gap = start - covered_end
            hold = hold_at.get(i) or next(
                (hold_at[m] for m in marker_only if covered_end <= turns[m].start <= start), None
            )
            if hold is not None:
                hold_time += gap
            if hold is None or hold.source == "silence":  # a silent hold is dead air as well
                silence_total += gap
                if longest is None or gap > longest[0]:
                    longest = (gap, covered_end, start, i)
        covered_end = max(covered_end, end)
    values["silence_total"] = _r(silence_total)
    values["longest_silence"] = _r(longest[0]) if longest else 0.0
    if longest:
        gap, gap_start, gap_end, i = longest
        evidence["longest_silence"] = [_gap_evidence(i, turns[i], gap, gap_start, gap_end)]
    values["hold_time"] = _r(hold_time)

    _overtalk(transcript, values, evidence)


def _gap_evidence(index: int, turn: Turn, gap: float, start: float, end: float) -> Evidence:
    return Evidence(index, turn.role, f"[{gap:.1f} s silence before this turn]", _r(start), _r(end))


def _overtalk(
    transcript: Transcript, values: dict[str, float | int | None], evidence: dict[str, list[Evidence]]
) -> None:
    turns = transcript.turns
    spans: list[tuple[float, float, int]] = []  # (start, end, index of the turn that started talking over)
    if transcript.overlaps:
        for o in transcript.overlaps:
            i = min(
                range(len(turns)),
                key=lambda j: abs((turns[j].start or 0.0) - o.start),
            )
            spans.append((o.start, o.end, i))
    else:
        order = sorted(range(len(turns)), key=lambda j: turns[j].start)
        active: dict[str, float] = {}  # role -> latest end so far
        for j in order:
            t = turns[j]
            if t.role == "unknown" or HOLD_MARKER.fullmatch(t.text.strip()):
                continue
            for role, role_end in active.items():
                if role != t.role and role_end > t.start:
                    spans.append((t.start, min(role_end, t.end), j))
            active[t.role] = max(active.get(t.role, 0.0), t.end)
    values["overtalk_count"] = len(spans)
    values["overtalk_time"] = _r(sum(max(0.0, e - s) for s, e, _ in spans))
    if spans:
        evidence["overtalk_count"] = [
            Evidence(i, turns[i].role, turns[i].text, _r(s), _r(e)) for s, e, i in spans
        ]
        evidence["overtalk_time"] = evidence["overtalk_count"]


def _r(value: float) -> float:
    return round(float(value), 2)
