"""Agent and team dashboards (score trends, KPIs against the team), calibration and customer outcomes."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from sqlalchemy import select

from qa_scoring import outcomes as customer_outcomes
from qa_scoring.reports import agent as agent_reports
from qa_scoring.review import stats
from qa_scoring.store.models import Agent, Call, Team
from qa_scoring.user_roles import UserRole
from web.access import can_see_agent, scope_calls
from web.auth import current_user, roles
from web.charts import line_chart, paired_bars
from web.db import get_db
from web.queue import scope_agents

bp = Blueprint("dashboards", __name__, url_prefix="/dashboards")

MAX_CALLS = 5000  # dashboards look at the most recent calls; older ones belong in an export


def _calls(**where: Any) -> list[Call]:
    stmt = scope_calls(select(Call), current_user()).where(Call.status == "scored")
    for key, value in where.items():
        stmt = stmt.where(getattr(Call, key) == value)
    return list(get_db().scalars(stmt.order_by(Call.started_at.desc()).limit(MAX_CALLS)))


def _trend_charts(facts: list[stats.CallFacts], team: list[stats.CallFacts], rubric: str) -> list[Any]:
    keys = sorted({k for f in facts for k in f.criteria if k[0] == rubric})
    names = {k: n for f in facts for k, n in f.criterion_names.items()}
    charts = []
    for key in keys:
        weeks, mine = stats.weekly(facts, lambda f, key=key: stats.pass_value(f.criteria.get(key)))
        _, theirs = stats.weekly(
            [f for f in team if f.week in set(weeks)],
            lambda f, key=key: stats.pass_value(f.criteria.get(key)),
        )
        labels = [stats.week_label(w) for w in weeks]
        charts.append(
            (
                names.get(key, key[1]),
                line_chart(
                    f"{names.get(key, key[1])}: % met per week",
                    labels,
                    {"Agent": [mine[w] for w in weeks], "Team average": [theirs.get(w) for w in weeks]},
                    unit="%",
                ),
            )
        )
    return charts


def _rubric_scores_chart(facts: list[stats.CallFacts], title: str) -> tuple[list[str], Any]:
    """The rubrics the calls were scored on, and a chart of each one's score per week (None when
    there are no weeks to draw): the agent and the team dashboards open with it."""
    rubrics = sorted({r for f in facts for r in f.scores})
    weeks, _ = stats.weekly(facts, lambda f: 0.0)
    series = {}
    for r in rubrics:
        _, values = stats.weekly(facts, lambda f, r=r: f.scores.get(r))
        series[r] = [values[w] for w in weeks]
    return rubrics, line_chart(title, [stats.week_label(w) for w in weeks], series) if weeks else None


@bp.route("/")
@roles(UserRole.QA_OFFICER, UserRole.TEAM_LEADER, UserRole.ADMIN, UserRole.AGENT)
def index() -> Any:
    user = current_user()
    if user.role == UserRole.AGENT:
        if not user.agent_id:
            abort(403)
        return redirect(url_for("dashboards.agent", agent_id=user.agent_id))
    db = get_db()
    teams = list(db.scalars(select(Team).order_by(Team.name)))
    if user.role == UserRole.TEAM_LEADER and user.team_id is not None:
        teams = [t for t in teams if t.id == user.team_id]
    return render_template("dashboards/index.html", teams=teams, agents=scope_agents(db, user))


@bp.route("/agent/<int:agent_id>")
@roles(UserRole.QA_OFFICER, UserRole.TEAM_LEADER, UserRole.ADMIN, UserRole.AGENT)
def agent(agent_id: int) -> Any:
    db = get_db()
    agent = db.get(Agent, agent_id)
    if agent is None:
        abort(404)
    if not can_see_agent(current_user(), agent.id, agent.team_id):
        abort(403)
    facts = stats.call_facts(db, _calls(agent_id=agent.id))
    # The team average is an aggregate, so it covers the whole team even for a viewer (an agent)
    # who may not open the other agents' calls.
    team_stmt = select(Call).where(Call.status == "scored")
    if agent.team_id is not None:
        team_stmt = team_stmt.where(Call.team_id == agent.team_id)
    team_calls = list(db.scalars(team_stmt.order_by(Call.started_at.desc()).limit(MAX_CALLS)))
    team = stats.call_facts(db, team_calls)
    rubrics, score_chart = _rubric_scores_chart(facts, "Score per rubric per week")
    rubric = request.args.get("rubric") or (rubrics[0] if rubrics else "")
    mine, theirs = stats.kpi_means(facts), stats.kpi_means(team)
    kpi_rows = [(label, mine[k], theirs[k]) for k, label in stats.KPIS.items()]
    return render_template(
        "dashboards/agent.html",
        agent=agent,
        n_calls=len(facts),
        rubrics=rubrics,
        rubric=rubric,
        score_chart=score_chart,
        criterion_charts=_trend_charts(facts, team, rubric),
        kpi_chart=paired_bars("KPIs against the team", kpi_rows),
        kpi_rows=kpi_rows,
        report_from=agent_reports.default_period()[0],
        report_to=agent_reports.default_period()[1],
    )


def _report_day(name: str, default: dt.date) -> dt.date:
    value = request.args.get(name)
    if not value:
        return default
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        abort(400, f"{name}: not a date (YYYY-MM-DD): {value!r}")


@bp.route("/agent/<int:agent_id>/report")
@roles(UserRole.QA_OFFICER, UserRole.TEAM_LEADER, UserRole.ADMIN, UserRole.AGENT)
def agent_report(agent_id: int) -> Any:
    """The agent's evaluation report for ``from``..``to`` (default: the last 90 days) as one HTML
    page, or ``format=pdf`` as a PDF download; the same people as the dashboard may have it, and it
    shows only what the agent could see (``qa_scoring/reports/agent.py``)."""
    from qa_scoring.reports.render import render_agent_report

    db = get_db()
    agent = db.get(Agent, agent_id)
    if agent is None:
        abort(404)
    if not can_see_agent(current_user(), agent.id, agent.team_id):
        abort(403)
    start, end = agent_reports.default_period()
    start, end = _report_day("from", start), _report_day("to", end)
    try:
        figures = agent_reports.agent_report(db, agent.id, start, end)
    except agent_reports.ReportError as exc:
        abort(400, str(exc))
    html = render_agent_report(figures, base_url=request.host_url)
    return _report_response(html, f"evaluation-report-{agent.external_id}-{start}-{end}.pdf")


def _report_response(html: str, pdf_name: str) -> Response:
    """A report as its HTML page, or with ``format=pdf`` as a PDF download named ``pdf_name``
    (503 when this server has no Chromium to print it: the HTML still works)."""
    from qa_scoring.reports.pdf import BrowserMissing, PdfError, html_to_pdf

    if request.args.get("format", "html") != "pdf":
        return Response(html, mimetype="text/html")
    try:
        pdf = html_to_pdf(html)
    except (BrowserMissing, PdfError) as exc:
        abort(503, str(exc))
    name = re.sub(r"[^A-Za-z0-9._-]", "_", pdf_name)
    return Response(
        pdf, mimetype="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


def _team_or_abort(team_id: int) -> Team:
    """The team, when the signed-in user may see it: team leaders their own (any when they lead no
    team, as ``web/access.py`` has it), QA officers and admins any; else 404 or 403."""
    team = get_db().get(Team, team_id)
    if team is None:
        abort(404)
    user = current_user()
    if user.role == UserRole.TEAM_LEADER and user.team_id not in (None, team.id):
        abort(403)
    return team


@bp.route("/team/<int:team_id>")
@roles(UserRole.QA_OFFICER, UserRole.TEAM_LEADER, UserRole.ADMIN)
def team(team_id: int) -> Any:
    db = get_db()
    team = _team_or_abort(team_id)
    facts = stats.call_facts(db, _calls(team_id=team.id))
    rubrics, score_chart = _rubric_scores_chart(facts, "Team score per rubric per week")
    team_kpis = stats.kpi_means(facts)
    rows = []
    for agent in sorted(team.agents, key=lambda a: a.name or a.external_id):
        mine = [f for f in facts if f.agent_id == agent.id]
        scores = {r: stats.weekly(mine, lambda f, r=r: f.scores.get(r)) for r in rubrics}
        rows.append(
            (
                agent,
                len(mine),
                stats.kpi_means(mine),
                {r: _mean([f.scores.get(r) for f in mine]) for r in rubrics},
                scores,
            )
        )
    return render_template(
        "dashboards/team.html",
        team=team,
        n_calls=len(facts),
        rubrics=rubrics,
        rows=rows,
        team_kpis=team_kpis,
        team_scores={r: _mean([f.scores.get(r) for f in facts]) for r in rubrics},
        kpis=stats.KPIS,
        score_chart=score_chart,
        report_from=agent_reports.default_period()[0],
        report_to=agent_reports.default_period()[1],
    )


@bp.route("/team/<int:team_id>/report")
@roles(UserRole.QA_OFFICER, UserRole.TEAM_LEADER, UserRole.ADMIN)
def team_report(team_id: int) -> Any:
    """The team report for ``from``..``to`` (default: the last 90 days) as one HTML page, or
    ``format=pdf`` as a PDF download; the same people as the team dashboard may have it (its team
    leader, QA officers, admins), as it names every agent of the team
    (``qa_scoring/reports/team.py``)."""
    from qa_scoring.reports.render import render_team_report
    from qa_scoring.reports.team import team_report as build_team_report

    team = _team_or_abort(team_id)
    start, end = agent_reports.default_period()
    start, end = _report_day("from", start), _report_day("to", end)
    window = current_app.config["QA_SETTINGS"].fcr_window_days
    try:
        figures = build_team_report(get_db(), team.id, start, end, fcr_window_days=window)
    except agent_reports.ReportError as exc:
        abort(400, str(exc))
    html = render_team_report(figures, base_url=request.host_url)
    return _report_response(html, f"team-report-{team.name}-{start}-{end}.pdf")


def _mean(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


@bp.route("/calibration")
@roles(UserRole.QA_OFFICER, UserRole.TEAM_LEADER, UserRole.ADMIN)
def calibration() -> Any:
    db = get_db()
    user = current_user()
    call_ids = None
    if user.role == UserRole.TEAM_LEADER and user.team_id is not None:
        call_ids = [c.id for c in _calls()]
    prescore = stats.prescore_agreement(db, call_ids)
    reviewers, twice = stats.reviewer_agreement(db, call_ids)
    return render_template(
        "dashboards/calibration.html",
        prescore=prescore,
        reviewers=reviewers,
        twice=twice,
        min_calls=stats.MIN_CALIBRATION_CALLS,
    )


@bp.route("/outcomes")
@roles(UserRole.QA_OFFICER, UserRole.TEAM_LEADER, UserRole.ADMIN)
def outcomes() -> Any:
    """Each criterion's passing against failing calls on CSAT, FCR and the survey's resolved rate,
    and what customers complain about week by week (``qa_scoring/outcomes.py``)."""
    user = current_user()
    window = current_app.config["QA_SETTINGS"].fcr_window_days
    rows = customer_outcomes.outcome_rows(
        get_db(), window_days=window, scope=lambda stmt: scope_calls(stmt, user), limit=MAX_CALLS * 4
    )
    return render_template(
        "dashboards/outcomes.html",
        table=customer_outcomes.criterion_outcomes(rows),
        complaints=customer_outcomes.complaint_reasons(rows),
        n_calls=len(rows),
        n_surveyed=sum(r.csat is not None or r.nps is not None or r.resolved is not None for r in rows),
        n_fcr=sum(r.fcr is not None for r in rows),
        window=window,
    )
