"""Which speaker is the agent and which the customer.

A stereo line with a known wiring settles it (``settings.channel_roles``). Otherwise the words
decide: agents and customers say characteristically different things - the agent greets with the
organisation's name, offers help, asks the security questions, checks "your account", closes
with "anything else"; the customer explains why *they* are calling, talks about "my bill",
says what went wrong. Each speaker gets an agent score and a customer score from weighted cue
phrases (general patterns, not sentences of any particular call); the speaker whose agent-minus-
customer balance is highest is the agent, and the gap between the two balances gives the
confidence, so a call with few cues is handed to review as uncertain rather than guessed boldly.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from qa_scoring.config import ConfigError
from qa_scoring.transcript import ROLES, Role, Turn


@dataclass(frozen=True)
class Cue:
    name: str
    pattern: re.Pattern[str]
    weight: float


def _cue(name: str, regex: str, weight: float) -> Cue:
    return Cue(name, re.compile(regex), weight)


_DETAIL = (
    r"((\w+ )?(number|reference|details)|"
    r"(full )?(name|account|reference|postcode|post code|zip code|date of birth|address|phone|number|"
    r"email|card|policy|order|customer|membership|security|password|pin|first line))"
)

AGENT_CUES: tuple[Cue, ...] = (
    _cue(
        "thanks for calling",
        r"\b(thank you|thanks) (so much |very much )?for (calling|contacting|holding|"
        r"waiting|your patience|choosing)\b",
        3.0,
    ),
    _cue("offers help", r"\bhow (can|may|could|might) (i|we) (help|assist)\b", 3.0),
    _cue("offers help", r"\bwhat can i (do|help) (for|with)\b", 2.0),
    _cue("offers help", r"\b(can|may|could) i help you\b", 2.5),
    _cue(
        "asks the reason",
        r"\bwhat (are you|is it you're|were you) (calling|ringing|phoning) (about|for)\b",
        2.5,
    ),
    _cue("names self", r"^(\w+ ){0,6}\w+ speaking\b", 1.5),
    _cue("welcome", r"\b(you('ve| have) (reached|come through to|got through to)|welcome to)\b", 3.0),
    _cue("calling from", r"\b(calling|ringing|phoning) (you )?from\b", 2.0),
    _cue(
        "introduces self",
        r"\b(my name is|this is|it's|you're speaking (to|with)) \w+ (from|at|with|"
        r"speaking)\b",
        1.5,
    ),
    _cue(
        "security check",
        r"\b(for )?(security|verification|data protection|identification)"
        r" (purposes|reasons|questions?|checks?)\b",
        2.5,
    ),
    _cue(
        "asks details",
        r"\b(can|could|may) i (just )?(take|have|get|grab|confirm|ask for) (your|the) " + _DETAIL,
        2.5,
    ),
    _cue("asks details", r"\b(confirm|verify) (your|the first line|that for me)\b", 1.5),
    _cue(
        "checks system",
        r"\blet me (just )?(check|have a look|look|pull up|see|bring up|transfer|put you|"
        r"find|go through)\b",
        1.5,
    ),
    _cue("checks system", r"\bi can see (on|that|here|your|from)\b", 1.5),
    _cue("checks system", r"\b(on|in) (our|the) (system|records|file)\b", 1.0),
    # Taking the caller's details down is the agent's side of the call ("I've written that down").
    _cue(
        "notes details",
        r"\bi('ve| have) (just )?(written|noted|jotted|taken) (that |it |this |those )?down\b",
        1.5,
    ),
    _cue(
        "your account",
        r"\byour (account|booking|order|policy|bill|payment|card|balance|details|contract|"
        r"reference|case|complaint|refund)\b",
        1.0,
    ),
    _cue(
        "hold",
        r"\b(bear with me|one moment|just a moment|please hold|put you on hold|thanks for holding)\b",
        1.5,
    ),
    _cue("anything else", r"\b(is there )?anything else (i|that i|we) (can|could)\b", 3.0),
    _cue("anything else", r"\banything else$", 1.5),
    _cue(
        "apology", r"\b(sorry (to hear|for the inconvenience|about the (wait|delay))|i apologi[sz]e)\b", 1.0
    ),
    _cue("empathy", r"\bi (completely |totally |do )?understand\b", 0.5),
    _cue(
        "process",
        r"\b(i('ll| will)|we('ll| will)) (send|raise|process|arrange|refund|escalate|log|update|"
        r"transfer|credit|cancel)\b",
        1.0,
    ),
)

CUSTOMER_CUES: tuple[Cue, ...] = (
    _cue(
        "reason for call",
        r"\b(i'm|i am|i was|i've been) (calling|ringing|phoning) (about|because|regarding|"
        r"in regards?|with regards?|to (ask|complain|cancel|report|find out|check|see|query|chase))\b",
        2.5,
    ),
    _cue(
        "wants",
        r"\bi (want|wanted|need|needed|would like|'d like|d like) to (complain|cancel|know|ask|check|"
        r"change|report|speak|talk|close|open|find out|make a complaint|get)\b",
        1.5,
    ),
    _cue(
        "my account",
        r"\bmy (account|bill|card|order|payment|bank|money|balance|booking|policy|parcel|"
        r"package|refund|broadband|internet|contract|statement|delivery|direct debit|boiler|meter)\b",
        1.0,
    ),
    _cue(
        "has a problem",
        r"\bi (have|had|got|'ve got|ve got) (a|an|this) (problem|issue|question|query|"
        r"complaint)\b",
        2.0,
    ),
    _cue("asks for help", r"\b(can|could) you (please )?help me\b", 1.5),
    _cue(
        "did not receive",
        r"\bi (never|haven't|didn't|did not|have not|still haven't) (received|got|get|"
        r"receive|had)\b",
        1.5,
    ),
    _cue("blames", r"\byou (charged|took|told|promised|said you|overcharged|cut) me\b", 1.5),
    _cue("has been waiting", r"\bi('ve| have) been (waiting|charged|trying|on hold|overcharged)\b", 1.5),
    _cue(
        "called before",
        r"\bi('ve| have) (already )?(rung|called|phoned|emailed|written(?! (\w+ )?down))\b",
        1.5,
    ),
    _cue("asks why", r"\bwhy (was|have|has|did|is|am|were) (i|my|it|this|you)\b", 1.0),
)


def normalise_text(text: str) -> str:
    text = text.lower().replace("’", "'")
    text = re.sub(r"[^a-z0-9' ]+", " ", text)
    return " ".join(text.split())


@dataclass
class SpeakerScore:
    agent: float = 0.0
    customer: float = 0.0
    cues: list[str] = field(default_factory=list)

    @property
    def balance(self) -> float:
        return self.agent - self.customer


@dataclass
class RoleDecision:
    speakers: dict[str, Role]
    method: str  # "channel-map" | "content" | "single"
    confidence: float
    cues: dict[str, list[str]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "method": self.method,
            "confidence": round(self.confidence, 3),
            "speakers": dict(self.speakers),
            "cues": {k: v for k, v in self.cues.items() if v},
        }


def score_speakers(
    turns: Sequence[Turn], organisation_names: Sequence[str] = (), opening_s: float = 60.0
) -> dict[str, SpeakerScore]:
    """Cue-phrase scores per speaker. An organisation name counts only in a speaker's opening words."""
    orgs = [normalise_text(n) for n in organisation_names if normalise_text(n)]
    scores: dict[str, SpeakerScore] = {}
    call_start = min((t.start for t in turns if t.start is not None), default=0.0)
    seen_turns: dict[str, int] = {}
    for turn in turns:
        score = scores.setdefault(turn.speaker, SpeakerScore())
        text = normalise_text(turn.text)
        index = seen_turns.get(turn.speaker, 0)
        seen_turns[turn.speaker] = index + 1
        for cue in AGENT_CUES:
            hits = len(cue.pattern.findall(text))
            if hits:
                score.agent += cue.weight * min(hits, 2)
                score.cues.append(f"agent: {cue.name}")
        for cue in CUSTOMER_CUES:
            hits = len(cue.pattern.findall(text))
            if hits:
                score.customer += cue.weight * min(hits, 2)
                score.cues.append(f"customer: {cue.name}")
        early = index < 2 or (turn.start is not None and turn.start - call_start <= opening_s)
        if early and any(re.search(rf"\b{re.escape(org)}\b", text) for org in orgs):
            score.agent += 3.0
            score.cues.append("agent: names the organisation")
    return scores


def confidence_from_margin(margin: float, scale: float = 3.0) -> float:
    """0.5 with no evidence either way, approaching 1 as the cue balance between speakers grows."""
    return 0.5 + 0.5 * (1.0 - math.exp(-abs(margin) / scale))


def decide_from_content(turns: Sequence[Turn], organisation_names: Sequence[str] = ()) -> RoleDecision:
    speakers = list(dict.fromkeys(t.speaker for t in turns))
    scores = score_speakers(turns, organisation_names)
    cues = {s: scores[s].cues for s in speakers}
    if not speakers:
        return RoleDecision({}, "content", 0.0)
    if len(speakers) == 1:
        only = speakers[0]
        balance = scores[only].balance
        role: Role = "agent" if balance > 0 else "customer" if balance < 0 else "unknown"
        return RoleDecision({only: role}, "single", confidence_from_margin(balance) if balance else 0.0, cues)
    # Weak priors for calls without cues: the agent usually speaks first on an inbound call and
    # talks more (explaining, reading out). Small enough that any real cue outweighs them.
    talk = {s: sum((t.end or 0) - (t.start or 0) for t in turns if t.speaker == s) for s in speakers}
    most_talk = max(talk, key=lambda s: talk[s])
    net = {
        s: scores[s].balance + (0.3 if s == speakers[0] else 0.0) + (0.3 if s == most_talk else 0.0)
        for s in speakers
    }
    ranked = sorted(speakers, key=lambda s: net[s], reverse=True)
    agent = ranked[0]
    margin = net[agent] - net[ranked[1]]
    roles: dict[str, Role] = {s: ("agent" if s == agent else "customer") for s in speakers}
    return RoleDecision(roles, "content", confidence_from_margin(margin), cues)


def parse_channel_roles(value: str, labels: Sequence[str]) -> dict[str, Role]:
    """``"agent,customer"`` -> ``{"left": "agent", "right": "customer"}``; raises ConfigError if malformed."""
    parts = [p.strip().lower() for p in value.split(",")]
    if len(parts) != len(labels) or any(p not in ROLES for p in parts):
        raise ConfigError(
            f"channel_roles: {value!r} should name one role per channel ({len(labels)}), each one of "
            f"{', '.join(ROLES)}, e.g. 'agent,customer'"
        )
    return dict(zip(labels, parts, strict=True))  # type: ignore[arg-type]


def decide_roles(
    turns: Sequence[Turn],
    channel_labels: Sequence[str] | None,
    channel_roles: str = "",
    organisation_names: Sequence[str] = (),
) -> RoleDecision:
    """Channel mapping when configured for a by-channel call, else content cues."""
    content = decide_from_content(turns, organisation_names)
    if channel_labels and channel_roles.strip():
        mapping = parse_channel_roles(channel_roles, channel_labels)
        decision = RoleDecision(mapping, "channel-map", 1.0, content.cues)
        return decision
    return content


def apply_roles(turns: Sequence[Turn], decision: RoleDecision) -> None:
    for turn in turns:
        turn.role = decision.speakers.get(turn.speaker, "unknown")


def split_names(value: str) -> list[str]:
    return [n.strip() for n in value.split(",") if n.strip()]
