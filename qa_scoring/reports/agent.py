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
a call's date is its start time (else the time it was registered), in UTC. How calls, results and
scores are counted is shared with the team report (``common.py``), so the two always agree.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from types import SimpleNamespace

from sqlalchemy.orm import Session

from qa_scoring.reports.common import (
    CallViews,
    CoachingRow,
    DisputeRow,
    Highlight,
    Mean,
    Period,
    Rate,
    ReportError,
    WeekRow,
    call_label,
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
from qa_scoring.reports.common import default_period as default_period
from qa_scoring.review import decisions as rv
from qa_scoring.review import stats
from qa_scoring.store.models import Agent, Call, utcnow

# The agent never reviews, so no blind calibration review is "theirs": with this stand-in,
# ``visible_reviews`` lists exactly what the agent's call page lists (submitted, non-calibration).
_AGENT_VIEWER = SimpleNamespace(id=-1)


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
    strongest: list[Highlight[CriterionRow]]
    weakest: list[Highlight[CriterionRow]]
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

    names = rubric_names(session, [c.id for c in reviewed_calls])
    rubric_ids = sorted({r for f in mine for r in f.scores} | {r for f in team_facts or [] for r in f.scores})
    if team_facts:
        names.update(
            {
                k: v
                for k, v in rubric_names(session, [f.call_id for f in team_facts]).items()
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

    strongest, weakest, ranked_on = rank(criteria)
    views = CallViews(session)

    def evidence(row: CriterionRow, results: tuple[str, ...]) -> Highlight[CriterionRow]:
        key = (row.rubric_id, row.criterion_id)
        return highlight(session, row, key, reviewed_calls, calls, views, results)

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
        weeks=week_rows(calls, mine, rubric_ids),
        strongest=[evidence(r, ("pass",)) for r in strongest],
        weakest=[evidence(r, ("fail", "partial")) for r in weakest],
        ranked_on=ranked_on,
        coaching=coaching(session, [agent.id], period),
        disputes=disputes(session, calls),
        acknowledgements=_acknowledgements(calls),
    )
