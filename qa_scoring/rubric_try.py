"""Try a draft rubric's criteria in plain words on stored calls, before anyone relies on them.

A QA manager writes example phrases, runs them over the last calls, reads what they matched (hits),
what came close (near misses) and what was left out on purpose (negated, or closer to a near miss),
adds an example or a near miss, and tries again. Nothing is written: the draft is read from its text
and the calls are only read, so a try can never change a score or a decision.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from qa_scoring.behaviours import BehaviourDetector
from qa_scoring.rubric.evaluate import phrase_key
from qa_scoring.rubric.rubric import Rubric
from qa_scoring.store.models import Call
from qa_scoring.store.queries import latest_transcript
from qa_scoring.transcript import Transcript as TranscriptDoc


@dataclass
class Line:
    """One turn a criterion matched or nearly matched."""

    call_id: int
    call: str  # the call's external id, else its number
    turn: int
    speaker: str
    quote: str
    start: float | None
    confidence: float  # the matcher's probability for this turn
    why: str = ""  # for a left-out turn: "negated" or "near miss"


@dataclass
class CriterionTry:
    criterion_id: str
    name: str
    calls: int  # calls tried
    hit_calls: int
    hits: list[Line] = field(default_factory=list)
    near: list[Line] = field(default_factory=list)
    left_out: list[Line] = field(default_factory=list)


def latest_transcripts(session: Session, calls: int) -> list[tuple[Call, TranscriptDoc]]:
    """The latest transcript of each of the last ``calls`` scored calls, newest first."""
    rows = session.scalars(
        select(Call).where(Call.transcripts.any()).order_by(Call.id.desc()).limit(calls)
    ).all()
    out = []
    for call in rows:
        latest = latest_transcript(session, call.id)
        out.append((call, TranscriptDoc.from_dict(latest.document, call_id=str(call.id))))
    return out


def try_rubric(
    rubric: Rubric, detector: BehaviourDetector, calls: list[tuple[Call, TranscriptDoc]]
) -> list[CriterionTry]:
    """Each criterion in plain words of ``rubric`` over ``calls``: hits, near misses, left-out turns."""
    said = [c for c in rubric.criteria if c.says is not None]
    matchers = {
        phrase_key(rubric.id, c.id): detector.phrase_matcher(c.says, phrase_key(rubric.id, c.id))  # type: ignore[arg-type]
        for c in said
    }
    results = {c.id: CriterionTry(c.id, c.name, len(calls), 0) for c in said}
    for call, transcript in calls:
        if not transcript.turns:
            continue
        cf = detector.features(transcript)
        behaviours = detector.decide(transcript, cf, detector.turn_scores(cf))
        label = call.external_id or str(call.id)
        for criterion in said:
            matcher = matchers[phrase_key(rubric.id, criterion.id)]
            _, found = detector.match_phrase(cf, behaviours, matcher)
            tried = results[criterion.id]

            tried.hit_calls += found.present
            tried.hits += [_line(cf, call, label, matcher, found.scores[i], i) for i in found.units]
            tried.near += [_line(cf, call, label, matcher, found.scores[i], i) for i in found.near]
            tried.left_out += [
                _line(cf, call, label, matcher, matcher.score_text(cf.canonical[i])[0], i, why)
                for i, why in found.rejected.items()
            ]
    return list(results.values())


def _line(cf, call: Call, label: str, matcher, score: float, i: int, why: str = "") -> Line:
    unit = cf.units[i]
    return Line(
        call.id,
        label,
        cf.turn_of[i],
        unit.role,
        unit.text,
        unit.start,
        round(matcher.probability(score), 3),
        why,
    )


def as_dict(tries: list[CriterionTry]) -> list[dict]:
    return [asdict(t) for t in tries]
