"""What the agent's and the team's evaluation reports share: the period, how results and scores are
counted, which calls count, and the evidence, coaching and appeal rows both reports list.

Kept in one place so the two reports can never count differently: a pass rate, a mean score or a
"reviewed call" in a team report is exactly what it is in each of its agents' reports.

* only scored calls count, by their date (start time, else registration; UTC, as in ``export``),
  and of those only the reviewed ones for scores and results: a call's results are those of its
  standing review (``decisions.standing_review``), through the dashboards' ``stats.call_facts``;
  draft reviews and blind calibration reviews never count;
* every figure carries the number of calls it rests on (:class:`Rate`, :class:`Mean`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from statistics import mean
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, selectinload

from qa_scoring.review import decisions as rv
from qa_scoring.review import stats
from qa_scoring.store.models import (
    ActionItem,
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

Key = tuple[str, str]  # (rubric id, criterion id)
RowT = TypeVar("RowT")


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
    agent: str = ""  # whose call (the team report names it; the agent report's are all the agent's)


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
class Highlight(Generic[RowT]):
    """A strongest or weakest criterion (``row``: the report's own criterion row) and its evidence."""

    row: RowT
    quotes: list[Quote] = field(default_factory=list)
    clips: list[ClipRef] = field(default_factory=list)


@dataclass
class ActionRow:
    """A SMART coaching action: what, measured how (in words or by a criterion's pass rate, with a
    target), owned by whom, due when, and where it stands."""

    text: str
    due_date: dt.date | None
    status: str
    completed_at: dt.datetime | None
    measure: str = ""
    criterion: str = ""  # "rubric/criterion" when a criterion's pass rate measures it
    target: float | None = None  # pass rate to reach, in percent
    owner: str = ""


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
    agent_id: int | None = None


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
    agent_id: int | None = None


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


def call_week(call: Call) -> dt.date:
    """The Monday of the call's week (by its date as :func:`scored_calls` counts it)."""
    day = (call.started_at or call.created_at or utcnow()).date()
    return day - dt.timedelta(days=day.weekday())


def rubric_names(session: Session, call_ids: list[int]) -> dict[str, str]:
    """{rubric id: the name the calls were scored under} (the id where no name was stored)."""
    if not call_ids:
        return {}
    rows = session.execute(
        select(Scorecard.rubric_id, Scorecard.rubric_name).where(Scorecard.call_id.in_(call_ids)).distinct()
    )
    return {rubric_id: name or rubric_id for rubric_id, name in rows}


def criterion_rates(facts: list[stats.CallFacts]) -> tuple[dict[Key, Rate], dict[Key, str]]:
    """Each criterion's results over the calls, in the rubric's order, and its name."""
    rates: dict[Key, Rate] = {}
    names: dict[Key, str] = {}
    for f in facts:
        for key, result in f.criteria.items():
            rates.setdefault(key, Rate()).add(result)
            names.setdefault(key, f.criterion_names.get(key) or key[1])
    return rates, names


def week_rows(
    calls: Sequence[Call], facts: Iterable[stats.CallFacts], rubric_ids: list[str]
) -> list[WeekRow]:
    """Per ISO week with calls: the scored calls, how many are reviewed, and the mean reviewed score
    per rubric (``facts``: those of the reviewed calls among ``calls``)."""
    weeks: dict[dt.date, list[Call]] = {}
    for call in calls:
        weeks.setdefault(call_week(call), []).append(call)
    facts_by_call = {f.call_id: f for f in facts}
    rows = []
    for monday in sorted(weeks):
        in_week = [facts_by_call[c.id] for c in weeks[monday] if c.id in facts_by_call]
        year, number, _ = monday.isocalendar()
        rows.append(
            WeekRow(
                monday,
                f"{year}-W{number:02d}",
                stats.week_label(monday),
                len(weeks[monday]),
                len(in_week),
                {r: mean_of(f.scores.get(r) for f in in_week) for r in rubric_ids},
            )
        )
    return rows


def _by_agent(row: Any) -> Rate:
    return row.agent


def rank(
    rows: list[RowT], top: int = TOP, *, by: Callable[[RowT], Rate] = _by_agent
) -> tuple[list[RowT], list[RowT], int]:
    """The strongest and the weakest criteria by the pass rate ``by`` picks from each row (the
    agent's by default; ties: more calls first), ranked among those resting on at least
    ``MIN_RANK_CALLS`` calls when there are any, else on all with a result; the two lists never
    share a criterion. Returns them and the fewest calls used."""
    with_result = [r for r in rows if by(r).calls]
    if not with_result:
        return [], [], 0
    floor = MIN_RANK_CALLS if any(by(r).calls >= MIN_RANK_CALLS for r in with_result) else 1
    eligible = [r for r in with_result if by(r).calls >= floor]
    count = min(top, len(eligible) // 2) if len(eligible) > 1 else 1

    def ident(r: RowT) -> tuple[str, str]:
        return (str(getattr(r, "rubric_id", "")), str(getattr(r, "criterion_id", "")))

    best = sorted(eligible, key=lambda r: (-(by(r).rate or 0.0), -by(r).calls, ident(r)))
    strongest = best[:count]
    worst = sorted(eligible, key=lambda r: (by(r).rate or 0.0, -by(r).calls, ident(r)))
    weakest = [r for r in worst if r not in strongest][:count]
    return strongest, weakest, min(by(r).calls for r in eligible)


class CallViews:
    """The criterion results of a reviewed call as its call page shows them (its standing review
    over the transcript version that review was made on), computed once per call."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._cache: dict[int, dict[Key, rv.CriterionView]] = {}

    def __call__(self, call: Call) -> dict[Key, rv.CriterionView]:
        if call.id not in self._cache:
            review = rv.standing_review(call)
            views: dict[Key, rv.CriterionView] = {}
            if review is not None:
                transcript = rv.transcript_ref(self.session, call, review.transcript_id)
                cards = rv.scorecards_for(self.session, transcript)
                for v in rv.criterion_views(self.session, review, cards):
                    views[(v.rubric_id, v.criterion_id)] = v
            self._cache[call.id] = views
        return self._cache[call.id]


def highlight(
    session: Session,
    row: RowT,
    key: Key,
    calls: list[Call],
    all_calls: list[Call],
    views: CallViews,
    results: tuple[str, ...],
    agent_names: dict[int, str] | None = None,
) -> Highlight[RowT]:
    """Quotes from the criterion's evidence on the reviewed ``calls`` where its result was one of
    ``results`` (the most recent calls first), and the coaching clips cut for it from any call of
    the period (``all_calls``). ``agent_names``: name each quote's agent (a team's calls)."""
    out: Highlight[RowT] = Highlight(row)
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
                        (agent_names or {}).get(call.agent_id or 0, ""),
                    )
                )
    by_id = {c.id: c for c in all_calls}
    if by_id:
        clips = session.scalars(
            select(Clip)
            .where(Clip.call_id.in_(list(by_id)), Clip.rubric_id == key[0], Clip.criterion_id == key[1])
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


def _action_row(a: ActionItem) -> ActionRow:
    criterion = f"{a.rubric_id}/{a.criterion_id}" if a.rubric_id and a.criterion_id else ""
    return ActionRow(
        a.text,
        a.due_date,
        a.status,
        a.completed_at,
        a.measure or "",
        criterion,
        a.target,
        user_label(a.owner),
    )


def coaching(session: Session, agent_ids: list[int], period: Period) -> list[CoachingRow]:
    """The agents' coaching records with a session date in the period, with their actions, oldest
    first."""
    if not agent_ids:
        return []
    records = session.scalars(
        select(CoachingSession)
        .options(
            selectinload(CoachingSession.action_items).selectinload(ActionItem.owner),
            selectinload(CoachingSession.clips),
            selectinload(CoachingSession.team_leader),
        )
        .where(
            CoachingSession.agent_id.in_(agent_ids),
            CoachingSession.session_date >= period.start,
            CoachingSession.session_date <= period.end,
        )
        .order_by(CoachingSession.session_date, CoachingSession.id)
    )
    return [
        CoachingRow(
            r.id,
            r.session_date,
            user_label(r.team_leader),
            r.goal,
            r.reality,
            r.options,
            r.will,
            r.notes,
            [_action_row(a) for a in r.action_items],
            sorted(c.id for c in r.clips),
            r.agent_id,
        )
        for r in records
    ]


def disputes(session: Session, calls: list[Call]) -> list[DisputeRow]:
    """Appeals on the period's calls, whenever raised (the call page lists them all)."""
    if not calls:
        return []
    found = session.scalars(
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
            d.call.agent_id,
        )
        for d in found
    ]


def default_period(today: dt.date | None = None, days: int = 90) -> tuple[dt.date, dt.date]:
    """The last ``days`` days up to and including today (UTC)."""
    end = today or utcnow().date()
    return end - dt.timedelta(days=days - 1), end
