"""The figures of a team report, for the team leader, gathered from the store as plain dataclasses.

A team leader sees every call of their team in the UI, so unlike the agent's report this one names
each agent and sets their figures side by side against the team average. It counts exactly as the
agent report does (``common.py``): scored calls by their date, and of those only the reviewed ones
for scores and results, through each call's standing review; drafts and blind calibration reviews
never count. The team average is pooled over all the team's reviewed calls (each call weighs the
same, whoever took it), which is the "team" figure of every agent's own report too.

A call belongs to the team it was taken in (``Call.team_id``), so an agent who moved team mid-period
has a row in both teams' reports, each with the calls of that team. Coaching records are the rows'
agents', by session date; appeals follow the period's calls. Customer outcomes (CSAT from imported
surveys, first-contact resolution from repeat contacts; ``qa_scoring/outcomes.py``) are the
customer's verdict rather than QA's, so they cover all the period's scored calls, reviewed or not,
and appear only where the store has any for these calls.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qa_scoring import outcomes as customer_outcomes
from qa_scoring.reports.common import (
    CallViews,
    CoachingRow,
    DisputeRow,
    Highlight,
    Key,
    Mean,
    Period,
    Rate,
    ReportError,
    WeekRow,
    coaching,
    criterion_rates,
    disputes,
    highlight,
    is_reviewed,
    mean_of,
    rank,
    rubric_names,
    scored_calls,
    user_label,
    week_rows,
)
from qa_scoring.review import stats
from qa_scoring.store.models import Agent, Call, Team, utcnow
from qa_scoring.user_roles import UserRole

DEFAULT_FCR_WINDOW_DAYS = 7.0  # as the settings' default ``fcr_window_days``


@dataclass
class Share:
    """How many of the calls with an answer said yes (FCR, "resolved"); calls without one are out."""

    yes: int = 0
    calls: int = 0

    def add(self, value: bool | None) -> None:
        if value is not None:
            self.calls += 1
            self.yes += bool(value)

    @property
    def rate(self) -> float | None:
        return 100.0 * self.yes / self.calls if self.calls else None


@dataclass
class Outcomes:
    """Customer outcomes over ``calls`` scored calls: mean CSAT (1-5) of the surveyed ones, first
    contact resolution where it is known, and the survey's "resolved" where answered."""

    calls: int = 0
    csat: Mean = field(default_factory=lambda: Mean(None, 0))
    fcr: Share = field(default_factory=Share)
    resolved: Share = field(default_factory=Share)

    @property
    def has_data(self) -> bool:
        return bool(self.csat.calls or self.fcr.calls or self.resolved.calls)


@dataclass
class TeamRubricRow:
    rubric_id: str
    name: str
    team: Mean


@dataclass
class TeamCriterionRow:
    rubric_id: str
    criterion_id: str
    name: str
    team: Rate
    agents: dict[int, Rate]  # agent id -> that agent's results

    def of(self, agent_id: int) -> Rate:
        return self.agents.get(agent_id) or Rate()

    def difference(self, agent_id: int) -> float | None:
        """The agent's pass rate minus the team's, in percentage points."""
        mine = self.of(agent_id).rate
        if mine is None or self.team.rate is None:
            return None
        return mine - self.team.rate

    def lowest(self, top: int = 3) -> list[tuple[int, Rate]]:
        """The agents with the lowest pass rate on this criterion (ties: more calls first)."""
        rated = [(a, r) for a, r in self.agents.items() if r.calls]
        rated.sort(key=lambda item: (item[1].rate or 0.0, -item[1].calls, item[0]))
        return rated[:top]


@dataclass
class AgentRow:
    agent_id: int
    name: str
    external_id: str
    calls: int  # the agent's scored calls of the team in the period
    reviewed: int
    scores: dict[str, Mean]  # rubric -> mean reviewed score
    weeks: dict[dt.date, dict[str, Mean]]  # Monday -> rubric -> mean reviewed score that week
    outcomes: Outcomes
    coaching_sessions: int = 0
    open_actions: int = 0

    def score(self, rubric_id: str) -> Mean:
        return self.scores.get(rubric_id) or Mean(None, 0)

    def week(self, monday: dt.date, rubric_id: str) -> Mean:
        return (self.weeks.get(monday) or {}).get(rubric_id) or Mean(None, 0)


@dataclass
class TeamReport:
    team_id: int
    team_name: str
    leaders: list[str]
    period: Period
    generated_at: dt.datetime
    calls: int  # the team's scored calls in the period
    reviewed: int  # of which have a standing review
    agents: list[AgentRow]
    unassigned_calls: int  # scored calls with no agent (in the team's figures, in no agent's row)
    rubrics: list[TeamRubricRow]
    criteria: list[TeamCriterionRow]
    weeks: list[WeekRow]
    strongest: list[Highlight[TeamCriterionRow]]
    weakest: list[Highlight[TeamCriterionRow]]
    ranked_on: int  # the fewest calls a ranked criterion rests on
    coaching: list[CoachingRow]
    disputes: list[DisputeRow]
    outcomes: Outcomes

    def agent_name(self, agent_id: int | None) -> str:
        for a in self.agents:
            if a.agent_id == agent_id:
                return a.name
        return "—"

    def coaching_of(self, agent_id: int) -> list[CoachingRow]:
        return [c for c in self.coaching if c.agent_id == agent_id]

    def score_difference(self, agent: AgentRow, rubric: TeamRubricRow) -> float | None:
        """The agent's mean reviewed score minus the team's, in points."""
        mine = agent.score(rubric.rubric_id).value
        return None if mine is None or rubric.team.value is None else mine - rubric.team.value

    @property
    def open_actions(self) -> int:
        return sum(a.status == "open" for c in self.coaching for a in c.actions)

    @property
    def actions(self) -> int:
        return sum(len(c.actions) for c in self.coaching)

    @property
    def dispute_outcomes(self) -> list[tuple[str, int]]:
        """(status, appeals) in the order an appeal goes: open, then each way it can end."""
        counts = Counter(d.status for d in self.disputes)
        order = ("open", "upheld", "partial", "rejected", "withdrawn")
        return [(s, counts[s]) for s in order if counts[s]] + [
            (s, n) for s, n in counts.items() if s not in order
        ]


def find_team(session: Session, ident: str) -> Team | None:
    """The team named ``ident``, else the one whose id it is (``#12`` or ``12``)."""
    team = session.scalar(select(Team).where(Team.name == ident))
    if team is None:
        digits = ident[1:] if ident.startswith("#") else ident
        if digits.isdigit():
            team = session.get(Team, int(digits))
    return team


def _outcomes(values: Iterable[customer_outcomes.OutcomeRow]) -> Outcomes:
    rows = list(values)
    out = Outcomes(calls=len(rows), csat=mean_of(r.csat for r in rows))
    for r in rows:
        out.fcr.add(r.fcr)
        out.resolved.add(r.resolved)
    return out


def team_report(
    session: Session,
    team_id: int,
    start: dt.date,
    end: dt.date,
    *,
    now: dt.datetime | None = None,
    fcr_window_days: float = DEFAULT_FCR_WINDOW_DAYS,
) -> TeamReport:
    """Everything the team report shows for ``start``..``end`` (inclusive). ``fcr_window_days``:
    a call is resolved at first contact when its customer does not call again within it."""
    period = Period(start, end)
    team = session.get(Team, team_id)
    if team is None:
        raise ReportError(f"no team with id {team_id}")
    calls = scored_calls(session, period, Call.team_id == team.id)
    reviewed_calls = [c for c in calls if is_reviewed(c)]
    facts = stats.call_facts(session, reviewed_calls)

    names = rubric_names(session, [c.id for c in reviewed_calls])
    rubric_ids = sorted({r for f in facts for r in f.scores})
    rubrics = [TeamRubricRow(r, names.get(r, r), mean_of(f.scores.get(r) for f in facts)) for r in rubric_ids]

    # Rows: the team's agents now, and anyone who took one of the team's calls in the period.
    agent_ids = {a.id for a in team.agents if a.active} | {c.agent_id for c in calls if c.agent_id}
    agents = sorted(
        (a for a in (session.get(Agent, i) for i in agent_ids) if a is not None),
        key=lambda a: ((a.name or a.external_id).lower(), a.id),
    )
    names_by_agent = {a.id: a.name or a.external_id for a in agents}

    team_rates, crit_names = criterion_rates(facts)
    per_agent = {a.id: criterion_rates([f for f in facts if f.agent_id == a.id])[0] for a in agents}
    order = {r: i for i, r in enumerate(rubric_ids)}
    keys: list[Key] = sorted(team_rates, key=lambda k: order.get(k[0], len(order)))  # stable within
    criteria = [
        TeamCriterionRow(
            k[0],
            k[1],
            crit_names.get(k) or k[1],
            team_rates[k],
            {a: rates[k] for a, rates in per_agent.items() if k in rates},
        )
        for k in keys
        if team_rates[k].calls
    ]

    # The same calls as ``calls`` (the team's, scored, in the period), as the outcome figures read them.
    when = func.coalesce(Call.started_at, Call.created_at)
    rows = customer_outcomes.outcome_rows(
        session,
        window_days=fcr_window_days,
        scope=lambda stmt: stmt.where(Call.team_id == team.id, period.where(when)),
        limit=len(calls) + 1,
    )
    agent_of_call = {c.id: c.agent_id for c in calls}
    records = coaching(session, [a.id for a in agents], period)
    agent_rows = []
    for a in agents:
        theirs = [c for c in calls if c.agent_id == a.id]
        mine = [f for f in facts if f.agent_id == a.id]
        by_week: dict[dt.date, dict[str, Mean]] = {}
        for w in week_rows(theirs, mine, rubric_ids):
            by_week[w.week_start] = w.scores
        own_records = [r for r in records if r.agent_id == a.id]
        agent_rows.append(
            AgentRow(
                a.id,
                names_by_agent[a.id],
                a.external_id,
                len(theirs),
                len(mine),
                {r: mean_of(f.scores.get(r) for f in mine) for r in rubric_ids},
                by_week,
                _outcomes(r for r in rows if agent_of_call.get(r.call_id) == a.id),
                len(own_records),
                sum(x.status == "open" for r in own_records for x in r.actions),
            )
        )

    strongest, weakest, ranked_on = rank(criteria, by=lambda r: r.team)
    views = CallViews(session)

    def evidence(row: TeamCriterionRow, results: tuple[str, ...]) -> Highlight[TeamCriterionRow]:
        key = (row.rubric_id, row.criterion_id)
        return highlight(session, row, key, reviewed_calls, calls, views, results, names_by_agent)

    leaders = sorted(user_label(u) for u in team.members if u.role == UserRole.TEAM_LEADER and u.active)
    return TeamReport(
        team_id=team.id,
        team_name=team.name,
        leaders=leaders,
        period=period,
        generated_at=now or utcnow(),
        calls=len(calls),
        reviewed=len(reviewed_calls),
        agents=agent_rows,
        unassigned_calls=sum(c.agent_id is None for c in calls),
        rubrics=rubrics,
        criteria=criteria,
        weeks=week_rows(calls, facts, rubric_ids),
        strongest=[evidence(r, ("pass",)) for r in strongest],
        weakest=[evidence(r, ("fail", "partial")) for r in weakest],
        ranked_on=ranked_on,
        coaching=records,
        disputes=disputes(session, calls),
        outcomes=_outcomes(rows),
    )
