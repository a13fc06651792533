"""Figures for the dashboards and calibration, computed from the store (no Flask).

A call's score per rubric is the human score of its standing review (the latest submitted unless
a reviewer chose another) when one exists, else the automatic one; a criterion's result likewise.
KPIs come from the ScoredCall metrics the batch stores in ``Transcript.scoring``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field
from statistics import mean
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from qa_scoring.store.models import Call, CriterionDecision, Review, Scorecard, Transcript

KPIS = {
    "duration": "Handling time (s)",
    "talk_to_listen_ratio": "Talk/listen ratio",
    "silence_total": "Silence (s)",
    "hold_time": "Hold time (s)",
    "hold_count": "Holds",
    "overtalk_count": "Overtalk",
}


@dataclass
class CallFacts:
    call_id: int
    agent_id: int | None
    team_id: int | None
    week: dt.date
    scores: dict[str, float | None] = field(default_factory=dict)
    criteria: dict[tuple[str, str], str] = field(default_factory=dict)  # (rubric, criterion) -> result
    criterion_names: dict[tuple[str, str], str] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)


def _week(when: dt.datetime | None) -> dt.date:
    day = (when or dt.datetime.now(dt.UTC)).date()
    return day - dt.timedelta(days=day.weekday())


def call_facts(session: Session, calls: list[Call]) -> list[CallFacts]:
    if not calls:
        return []
    ids = [c.id for c in calls]
    latest = (
        select(Transcript.call_id, func.max(Transcript.version).label("v"))
        .where(Transcript.call_id.in_(ids))
        .group_by(Transcript.call_id)
        .subquery()
    )
    transcripts = {
        t.call_id: t
        for t in session.scalars(
            select(Transcript).join(
                latest, and_(Transcript.call_id == latest.c.call_id, Transcript.version == latest.c.v)
            )
        )
    }
    cards: dict[int, list[Scorecard]] = defaultdict(list)
    tids = [t.id for t in transcripts.values()]
    for card in session.scalars(select(Scorecard).where(Scorecard.transcript_id.in_(tids))):
        cards[card.call_id].append(card)
    reviews: dict[int, Review] = {}
    for review in session.scalars(
        select(Review)
        .where(Review.call_id.in_(ids), Review.status == "submitted", ORDINARY)
        .order_by(Review.standing, Review.submitted_at, Review.id)
    ):
        reviews[review.call_id] = review  # the standing review (else the latest submitted) is last
    facts = []
    for call in calls:
        f = CallFacts(call.id, call.agent_id, call.team_id, _week(call.started_at or call.created_at))
        t = transcripts.get(call.id)
        f.metrics = ((t.scoring or {}).get("metrics") or {}) if t else {}
        review = reviews.get(call.id)
        human = {(d.rubric_id, d.criterion_id): d.human_result for d in review.decisions} if review else {}
        for card in cards.get(call.id, []):
            f.scores[card.rubric_id] = (
                (review.final_scores or {}).get(card.rubric_id, card.score) if review else card.score
            )
            for c in card.criteria:
                key = (card.rubric_id, c.criterion_id)
                f.criteria[key] = human.get(key, c.result)
                f.criterion_names[key] = c.name
        facts.append(f)
    return facts


def weekly(facts: list[CallFacts], value: Any) -> tuple[list[dt.date], dict[dt.date, float | None]]:
    buckets: dict[dt.date, list[float]] = defaultdict(list)
    for f in facts:
        v = value(f)
        if v is not None:
            buckets[f.week].append(v)
    weeks = sorted({f.week for f in facts})
    return weeks, {w: (mean(buckets[w]) if buckets[w] else None) for w in weeks}


def week_label(week_start: dt.date) -> str:
    """A week's label says the whole week ("16-22 Nov"), not only its Monday: a call on Friday the
    20th plotted at "16 Nov" reads as a call on the 16th."""
    end = week_start + dt.timedelta(days=6)
    if end.month == week_start.month:
        return f"{week_start.day}–{end.day} {end:%b}"
    return f"{week_start.day} {week_start:%b}–{end.day} {end:%b}"


def pass_value(result: str | None) -> float | None:
    return {"pass": 100.0, "partial": 50.0, "fail": 0.0}.get(result or "")


def kpi_means(facts: list[CallFacts]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for key in KPIS:
        values = [float(f.metrics[key]) for f in facts if isinstance(f.metrics.get(key), int | float)]
        out[key] = mean(values) if values else None
    return out


# Blind calibration reviews have their own report (``calibration_report``) and never count here.
ORDINARY = Review.calibration_session_id.is_(None)

# Below this many calls a criterion's agreement is shown as "too few calls", not as a figure: one
# call agreeing is 100% and tells nothing.
MIN_CALIBRATION_CALLS = 10


@dataclass
class Agreement:
    rubric_id: str
    criterion_id: str
    n: int  # calls (one pair of results per call)
    agreement: float
    kappa: float | None  # None when undefined (a single label on both sides)

    @property
    def enough(self) -> bool:
        return self.n >= MIN_CALIBRATION_CALLS

    @property
    def interval(self) -> tuple[float, float]:
        """The 95% Wilson interval of the agreement (sound for small n and for 0% or 100%)."""
        return wilson_interval(round(self.agreement * self.n), self.n)


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _kappa(a: list[str], b: list[str]) -> float | None:
    from sklearn.metrics import cohen_kappa_score

    if len(set(a) | set(b)) < 2:
        return None
    value = float(cohen_kappa_score(a, b))
    return None if math.isnan(value) else round(value, 3)


def _agreements(pairs: dict[tuple[str, str], list[tuple[str, str]]]) -> list[Agreement]:
    out = []
    for (rubric_id, criterion_id), items in sorted(pairs.items()):
        a, b = [x for x, _ in items], [y for _, y in items]
        same = sum(x == y for x, y in items)
        out.append(Agreement(rubric_id, criterion_id, len(items), round(same / len(items), 3), _kappa(a, b)))
    return out


def prescore_agreement(session: Session, call_ids: list[int] | None = None) -> list[Agreement]:
    """Automatic pre-score vs the human decision, per criterion, over submitted reviews."""
    stmt = select(CriterionDecision).join(Review).where(Review.status == "submitted", ORDINARY)
    if call_ids is not None:
        stmt = stmt.where(Review.call_id.in_(call_ids))
    pairs: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for d in session.scalars(stmt):
        if d.automatic_result:
            pairs[(d.rubric_id, d.criterion_id)].append((d.automatic_result, d.human_result))
    return _agreements(pairs)


def reviewer_agreement(session: Session, call_ids: list[int] | None = None) -> tuple[list[Agreement], int]:
    """Between the first two submitted reviews (by different reviewers) of each call reviewed twice."""
    stmt = (
        select(Review)
        .where(Review.status == "submitted", ORDINARY)
        .order_by(Review.call_id, Review.submitted_at)
    )
    if call_ids is not None:
        stmt = stmt.where(Review.call_id.in_(call_ids))
    by_call: dict[int, list[Review]] = defaultdict(list)
    for review in session.scalars(stmt):
        if all(r.reviewer_id != review.reviewer_id for r in by_call[review.call_id]):
            by_call[review.call_id].append(review)
    pairs: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    twice = 0
    for reviews in by_call.values():
        if len(reviews) < 2:
            continue
        twice += 1
        first = {(d.rubric_id, d.criterion_id): d.human_result for d in reviews[0].decisions}
        for d in reviews[1].decisions:
            key = (d.rubric_id, d.criterion_id)
            if key in first:
                pairs[key].append((first[key], d.human_result))
    return _agreements(pairs), twice


@dataclass
class SessionReport:
    """A blind calibration session: who has submitted how much, and - only once everyone has - the
    agreement per criterion and each officer's alignment with the reference reviewer."""

    progress: dict[str, int]  # member -> calls submitted
    calls: int
    complete: bool
    criteria: list[Agreement] = field(default_factory=list)  # pairs of members, per criterion
    alignment: list[tuple[str, Agreement]] = field(default_factory=list)  # member vs the reference


def calibration_report(session: Session, calibration: Any) -> SessionReport:
    """Agreement within a calibration session (``calibration``: a CalibrationSession)."""
    reviews = list(
        session.scalars(
            select(Review).where(
                Review.calibration_session_id == calibration.id, Review.status == "submitted"
            )
        )
    )
    results: dict[int, dict[int, dict[tuple[str, str], str]]] = defaultdict(dict)  # user -> call -> criterion
    for review in reviews:
        results[review.reviewer_id][review.call_id] = {
            (d.rubric_id, d.criterion_id): d.human_result for d in review.decisions
        }
    call_ids = [c.id for c in calibration.calls]
    progress = {
        m.username: len([c for c in call_ids if c in results.get(m.id, {})]) for m in calibration.members
    }
    complete = bool(call_ids) and all(n == len(call_ids) for n in progress.values())
    report = SessionReport(progress, len(call_ids), complete)
    if not complete:
        return report
    members = calibration.members
    pairs: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for cid in call_ids:
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                mine, theirs = results[a.id][cid], results[b.id][cid]
                for key in mine.keys() & theirs.keys():
                    pairs[key].append((mine[key], theirs[key]))
    report.criteria = _agreements(pairs)
    reference = calibration.reference
    if reference is not None and reference.id in results:
        for member in members:
            if member.id == reference.id:
                continue
            together = [
                (results[reference.id][cid][key], results[member.id][cid][key])
                for cid in call_ids
                for key in results[reference.id][cid].keys() & results[member.id][cid].keys()
            ]
            if together:
                row = _agreements({("all criteria", member.username): together})[0]
                report.alignment.append((member.username, row))
    return report
