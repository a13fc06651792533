"""The figures of an agent's evaluation report, gathered from the store as plain dataclasses.

The report is evidence for an appraisal that the agent reads, so it holds nothing the agent could not
see in the UI (``web/access.py`` and the agent's pages):

* only the agent's own calls, and of those only the reviewed ones count for scores; a call's results
  are those of its standing review (the latest submitted unless a reviewer chose another), through
  the same helpers as the agent's dashboard (``stats.call_facts``) and call page
  (``decisions.standing_review`` / ``criterion_views``). Draft reviews are an officer's work in
  progress and blind calibration reviews are practice: neither ever appears;
* the team is an aggregate (as on the agent's dashboard): its pass rates and scores, never another
  agent's name, call or result;
* clips, coaching records, appeals and acknowledgements of the agent's own calls only.

Calls count by their date; appeals, acknowledgements and clips follow the period's calls (an appeal
raised a week after the period is still about its calls); coaching records by their session date.

Every figure carries the number of calls it rests on. The period is inclusive and, as in ``export``,
a call's date is its start time (else the time it was registered), in UTC.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from statistics import mean
from types import SimpleNamespace
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, selectinload

from qa_scoring.review import decisions as rv
from qa_scoring.review import stats
from qa_scoring.store.models import (
    ActionItem,
    Agent,
    Call,
    Clip,
    CoachingSession,
    Dispute,
    Review,
    Scorecard,
    utcnow,
)

TOP = 3  # strongest and weakest criteria shown
MIN_RANK_CALLS = 3  # a criterion is ranked on at least this many calls when any criterion has them
MAX_QUOTES = 3  # evidence quotes per highlighted criterion
MAX_CLIPS = 5  # coaching clips per highlighted criterion

# The agent never reviews, so no blind calibration review is "theirs": with this stand-in,
# ``visible_reviews`` lists exactly what the agent's call page lists (submitted, non-calibration).
_AGENT_VIEWER = SimpleNamespace(id=-1)


class ReportError(LookupError):
    """No such agent or team, or a period that ends before it starts."""


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date  # inclusive

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ReportError(f"the period ends ({self.end}) before it starts ({self.start})")

    @property
    def bounds(self) -> tuple[dt.datetime, dt.datetime]:
        """[start, end + 1 day) as UTC datetimes."""
        return (
            dt.datetime.combine(self.start, dt.time(), dt.UTC),
            dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time(), dt.UTC),
        )

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def where(self, column: Any) -> ColumnElement[bool]:
        low, high = self.bounds
        return (column >= low) & (column < high)


@dataclass
class Rate:
    """Results of one criterion over calls: the pass rate is passes over the calls where the
    criterion applied (a partial is not a pass; "not applicable" calls are left out)."""

    passed: int = 0
    partial: int = 0
    failed: int = 0
    not_applicable: int = 0

    def add(self, result: str | None) -> None:
        if result == "pass":
            self.passed += 1
        elif result == "partial":
            self.partial += 1
        elif result == "fail":
            self.failed += 1
        else:
            self.not_applicable += 1

    @property
    def calls(self) -> int:
        return self.passed + self.partial + self.failed

    @property
    def rate(self) -> float | None:
        return 100.0 * self.passed / self.calls if self.calls else None


@dataclass
class Mean:
    value: float | None
    calls: int


def mean_of(values: Iterable[float | None]) -> Mean:
    present = [float(v) for v in values if v is not None]
    return Mean(mean(present) if present else None, len(present))


@dataclass
class RubricRow:
    rubric_id: str
    name: str
    agent: Mean
    team: Mean | None


@dataclass
class CriterionRow:
    rubric_id: str
    criterion_id: str
    name: str
    agent: Rate
    team: Rate | None

    @property
    def difference(self) -> float | None:
        """The agent's pass rate minus the team's, in percentage points."""
        if self.team is None or self.agent.rate is None or self.team.rate is None:
            return None
        return self.agent.rate - self.team.rate


@dataclass
class WeekRow:
    week_start: dt.date  # the Monday
    iso: str  # "2026-W45"
    span: str  # "2–8 Nov"
    calls: int  # scored calls
    reviewed: int
    scores: dict[str, Mean]  # rubric -> mean reviewed score


@dataclass
class Quote:
    call_id: int
    call_label: str
    result: str
    speaker: str
    quote: str
    start: float | None


@dataclass
class ClipRef:
    clip_id: int
    call_id: int
    call_label: str
    start: float
    end: float
    excerpt: str
    note: str


@dataclass
class Highlight:
    row: CriterionRow
    quotes: list[Quote] = field(default_factory=list)
    clips: list[ClipRef] = field(default_factory=list)


@dataclass
class ActionRow:
    text: str
    due_date: dt.date | None
    status: str
    completed_at: dt.datetime | None


@dataclass
class CoachingRow:
    record_id: int
    session_date: dt.date
    team_leader: str
    goal: str
    reality: str
    options: str
    will: str
    notes: str
    actions: list[ActionRow]
    clip_ids: list[int]


@dataclass
class DisputeRow:
    dispute_id: int
    call_id: int
    call_label: str
    rubric_id: str
    criterion_id: str
    raised_by: str
    raised_at: dt.datetime
    reason: str
    proposed_result: str | None
    status: str
    outcome_result: str | None
    resolution: str
    resolved_at: dt.datetime | None


@dataclass
class AcknowledgementRow:
    review_id: int
    call_id: int
    call_label: str
    reviewer: str
    submitted_at: dt.datetime | None
    standing: bool
    acknowledged_at: dt.datetime | None
    comment: str


@dataclass
class AgentReport:
    agent_id: int
    agent_name: str
    external_id: str
    team_name: str | None
    period: Period
    generated_at: dt.datetime
    calls: int  # the agent's scored calls in the period
    reviewed: int  # of which have a submitted review
    team_calls: int  # the team's reviewed calls in the period (this agent's included)
    team_agents: int  # the agents those calls belong to
    rubrics: list[RubricRow]
    criteria: list[CriterionRow]
    weeks: list[WeekRow]
    strongest: list[Highlight]
    weakest: list[Highlight]
    ranked_on: int  # the fewest calls a ranked criterion rests on
    coaching: list[CoachingRow]
    disputes: list[DisputeRow]
    acknowledgements: list[AcknowledgementRow]

    @property
    def acknowledged(self) -> int:
        return sum(a.acknowledged_at is not None for a in self.acknowledgements)

    @property
    def open_actions(self) -> int:
        return sum(a.status == "open" for c in self.coaching for a in c.actions)


def call_label(call: Call) -> str:
    return call.external_id or f"call {call.id}"


def user_label(user: Any) -> str:
    if user is None:
        return ""
    return user.display_name or user.username


def scored_calls(session: Session, period: Period, *where: ColumnElement[bool]) -> list[Call]:
    """Scored calls of the period (a call's date: its start, else its registration), oldest first,
    with their reviews loaded."""
    when = func.coalesce(Call.started_at, Call.created_at)
    stmt = (
        select(Call)
        .options(selectinload(Call.reviews).selectinload(Review.reviewer))
        .where(Call.status == "scored", period.where(when), *where)
        .order_by(when, Call.id)
    )
    return list(session.scalars(stmt))


def is_reviewed(call: Call) -> bool:
    return rv.standing_review(call) is not None


def _week(call: Call) -> dt.date:
    day = (call.started_at or call.created_at or utcnow()).date()
    return day - dt.timedelta(days=day.weekday())


def _rubric_names(session: Session, call_ids: list[int]) -> dict[str, str]:
    if not call_ids:
        return {}
    rows = session.execute(
        select(Scorecard.rubric_id, Scorecard.rubric_name).where(Scorecard.call_id.in_(call_ids)).distinct()
    )
    return {rubric_id: name or rubric_id for rubric_id, name in rows}


def criterion_rates(facts: list[stats.CallFacts]) -> tuple[dict[tuple[str, str], Rate], dict[Any, str]]:
    """Each criterion's results over the calls, in the rubric's order, and its name."""
    rates: dict[tuple[str, str], Rate] = {}
    names: dict[tuple[str, str], str] = {}
    for f in facts:
        for key, result in f.criteria.items():
            rates.setdefault(key, Rate()).add(result)
            names.setdefault(key, f.criterion_names.get(key) or key[1])
    return rates, names


def rank(rows: list[CriterionRow], top: int = TOP) -> tuple[list[CriterionRow], list[CriterionRow], int]:
    """The strongest and the weakest criteria by the agent's pass rate (ties: more calls first),
    ranked among those resting on at least ``MIN_RANK_CALLS`` calls when there are any, else on all
    with a result; the two lists never share a criterion. Returns them and the fewest calls used."""
    with_result = [r for r in rows if r.agent.calls]
    if not with_result:
        return [], [], 0
    floor = MIN_RANK_CALLS if any(r.agent.calls >= MIN_RANK_CALLS for r in with_result) else 1
    eligible = [r for r in with_result if r.agent.calls >= floor]
    count = min(top, len(eligible) // 2) if len(eligible) > 1 else 1
    best = sorted(
        eligible, key=lambda r: (-(r.agent.rate or 0.0), -r.agent.calls, r.rubric_id, r.criterion_id)
    )
    strongest = best[:count]
    worst = sorted(eligible, key=lambda r: (r.agent.rate or 0.0, -r.agent.calls, r.rubric_id, r.criterion_id))
    weakest = [r for r in worst if r not in strongest][:count]
    return strongest, weakest, min(r.agent.calls for r in eligible)


class _CallViews:
    """The criterion results of a reviewed call as the agent's call page shows them (its standing
    review over the transcript version that review was made on), computed once per call."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._cache: dict[int, dict[tuple[str, str], rv.CriterionView]] = {}

    def __call__(self, call: Call) -> dict[tuple[str, str], rv.CriterionView]:
        if call.id not in self._cache:
            review = rv.standing_review(call)
            views: dict[tuple[str, str], rv.CriterionView] = {}
            if review is not None:
                transcript = rv.transcript_ref(self.session, call, review.transcript_id)
                cards = rv.scorecards_for(self.session, transcript)
                for v in rv.criterion_views(self.session, review, cards):
                    views[(v.rubric_id, v.criterion_id)] = v
            self._cache[call.id] = views
        return self._cache[call.id]


def _highlight(
    session: Session,
    row: CriterionRow,
    calls: list[Call],
    all_calls: list[Call],
    views: _CallViews,
    results: tuple[str, ...],
) -> Highlight:
    """Quotes from the criterion's evidence on the agent's reviewed calls where its result was one
    of ``results`` (the most recent calls first), and the coaching clips cut for it from any of the
    agent's calls of the period (``all_calls``)."""
    key = (row.rubric_id, row.criterion_id)
    out = Highlight(row)
    for call in reversed(calls):
        if len(out.quotes) >= MAX_QUOTES:
            break
        view = views(call).get(key)
        if view is None or view.final not in results:
            continue
        for ev in view.evidence:
            text = str((ev or {}).get("quote") or "").strip()
            if text and len(out.quotes) < MAX_QUOTES:
                out.quotes.append(
                    Quote(
                        call.id,
                        call_label(call),
                        view.final,
                        str(ev.get("speaker") or ""),
                        text,
                        ev.get("start"),
                    )
                )
    by_id = {c.id: c for c in all_calls}
    if by_id:
        clips = session.scalars(
            select(Clip)
            .where(
                Clip.call_id.in_(list(by_id)),
                Clip.rubric_id == row.rubric_id,
                Clip.criterion_id == row.criterion_id,
            )
            .order_by(Clip.created_at.desc(), Clip.id.desc())
            .limit(MAX_CLIPS)
        )
        for clip in clips:
            out.clips.append(
                ClipRef(
                    clip.id,
                    clip.call_id,
                    call_label(by_id[clip.call_id]),
                    clip.start,
                    clip.end,
                    clip.transcript_excerpt,
                    clip.note,
                )
            )
    return out


def _coaching(session: Session, agent: Agent, period: Period) -> list[CoachingRow]:
    records = session.scalars(
        select(CoachingSession)
        .options(
            selectinload(CoachingSession.action_items),
            selectinload(CoachingSession.clips),
            selectinload(CoachingSession.team_leader),
        )
        .where(
            CoachingSession.agent_id == agent.id,
            CoachingSession.session_date >= period.start,
            CoachingSession.session_date <= period.end,
        )
        .order_by(CoachingSession.session_date, CoachingSession.id)
    )
    rows = []
    for r in records:
        actions: list[ActionItem] = list(r.action_items)
        rows.append(
            CoachingRow(
                r.id,
                r.session_date,
                user_label(r.team_leader),
                r.goal,
                r.reality,
                r.options,
                r.will,
                r.notes,
                [ActionRow(a.text, a.due_date, a.status, a.completed_at) for a in actions],
                sorted(c.id for c in r.clips),
            )
        )
    return rows


def _disputes(session: Session, calls: list[Call]) -> list[DisputeRow]:
    """Appeals on the period's calls, whenever raised (the call page lists them all to the agent)."""
    if not calls:
        return []
    disputes = session.scalars(
        select(Dispute)
        .options(
            selectinload(Dispute.call), selectinload(Dispute.raised_by), selectinload(Dispute.resolved_by)
        )
        .where(Dispute.call_id.in_([c.id for c in calls]))
        .order_by(Dispute.created_at, Dispute.id)
    )
    return [
        DisputeRow(
            d.id,
            d.call_id,
            call_label(d.call),
            d.rubric_id or "",
            d.criterion_id or "",
            user_label(d.raised_by),
            d.created_at,
            d.reason,
            d.proposed_result,
            d.status,
            d.outcome_result,
            d.resolution,
            d.resolved_at,
        )
        for d in disputes
    ]


def _acknowledgements(calls: list[Call]) -> list[AcknowledgementRow]:
    rows = []
    for call in calls:
        for review in rv.visible_reviews(call, _AGENT_VIEWER, reviewer=False):  # type: ignore[arg-type]
            rows.append(
                AcknowledgementRow(
                    review.id,
                    call.id,
                    call_label(call),
                    user_label(review.reviewer),
                    review.submitted_at,
                    review.standing,
                    review.acknowledged_at,
                    review.acknowledgement,
                )
            )
    return rows


def agent_report(
    session: Session,
    agent_id: int,
    start: dt.date,
    end: dt.date,
    *,
    now: dt.datetime | None = None,
) -> AgentReport:
    """Everything the agent's evaluation report shows for ``start``..``end`` (inclusive)."""
    period = Period(start, end)
    agent = session.get(Agent, agent_id)
    if agent is None:
        raise ReportError(f"no agent with id {agent_id}")
    calls = scored_calls(session, period, Call.agent_id == agent.id)
    reviewed_calls = [c for c in calls if is_reviewed(c)]
    mine = stats.call_facts(session, reviewed_calls)

    team_facts: list[stats.CallFacts] | None = None
    if agent.team_id is not None:
        team_calls = [
            c for c in scored_calls(session, period, Call.team_id == agent.team_id) if is_reviewed(c)
        ]
        team_facts = stats.call_facts(session, team_calls)

    names = _rubric_names(session, [c.id for c in reviewed_calls])
    rubric_ids = sorted({r for f in mine for r in f.scores} | {r for f in team_facts or [] for r in f.scores})
    if team_facts:
        names.update(
            {
                k: v
                for k, v in _rubric_names(session, [f.call_id for f in team_facts]).items()
                if k not in names
            }
        )
    rubrics = [
        RubricRow(
            r,
            names.get(r, r),
            mean_of(f.scores.get(r) for f in mine),
            mean_of(f.scores.get(r) for f in team_facts) if team_facts is not None else None,
        )
        for r in rubric_ids
    ]

    agent_rates, crit_names = criterion_rates(mine)
    team_rates, team_names = criterion_rates(team_facts or [])
    keys = list(agent_rates) + [k for k in team_rates if k not in agent_rates]
    order = {r: i for i, r in enumerate(rubric_ids)}
    keys.sort(key=lambda k: order.get(k[0], len(order)))  # stable: the rubric's own order within
    criteria = [
        CriterionRow(
            k[0],
            k[1],
            crit_names.get(k) or team_names.get(k) or k[1],
            agent_rates.get(k, Rate()),
            team_rates.get(k, Rate()) if team_facts is not None else None,
        )
        for k in keys
        if agent_rates.get(k, Rate()).calls or team_rates.get(k, Rate()).calls
    ]

    weeks: dict[dt.date, list[Call]] = {}
    for call in calls:
        weeks.setdefault(_week(call), []).append(call)
    facts_by_call = {f.call_id: f for f in mine}
    week_rows = []
    for monday in sorted(weeks):
        in_week = [facts_by_call[c.id] for c in weeks[monday] if c.id in facts_by_call]
        year, number, _ = monday.isocalendar()
        week_rows.append(
            WeekRow(
                monday,
                f"{year}-W{number:02d}",
                stats.week_label(monday),
                len(weeks[monday]),
                len(in_week),
                {r: mean_of(f.scores.get(r) for f in in_week) for r in rubric_ids},
            )
        )

    strongest, weakest, ranked_on = rank(criteria)
    views = _CallViews(session)
    team = agent.team
    return AgentReport(
        agent_id=agent.id,
        agent_name=agent.name or agent.external_id,
        external_id=agent.external_id,
        team_name=team.name if team is not None else None,
        period=period,
        generated_at=now or utcnow(),
        calls=len(calls),
        reviewed=len(reviewed_calls),
        team_calls=len(team_facts) if team_facts is not None else 0,
        team_agents=len({f.agent_id for f in team_facts or []}),
        rubrics=rubrics,
        criteria=criteria,
        weeks=week_rows,
        strongest=[_highlight(session, r, reviewed_calls, calls, views, ("pass",)) for r in strongest],
        weakest=[_highlight(session, r, reviewed_calls, calls, views, ("fail", "partial")) for r in weakest],
        ranked_on=ranked_on,
        coaching=_coaching(session, agent, period),
        disputes=_disputes(session, calls),
        acknowledgements=_acknowledgements(calls),
    )


def default_period(today: dt.date | None = None, days: int = 90) -> tuple[dt.date, dt.date]:
    """The last ``days`` days up to and including today (UTC)."""
    end = today or utcnow().date()
    return end - dt.timedelta(days=days - 1), end
