"""``qa-scoring report``: evaluation reports for appraisals, as HTML or PDF."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import click


def _period(date_from: dt.datetime | None, date_to: dt.datetime | None) -> tuple[dt.date, dt.date]:
    from qa_scoring.reports.common import default_period

    start, end = default_period(date_to.date() if date_to else None)
    return (date_from.date() if date_from else start), end


def _write(data: bytes, out: str | None, default_name: str) -> None:
    path = Path(out or default_name)
    path.write_bytes(data)
    click.echo(f"report written to {path}", err=True)


@click.group("report")
def report() -> None:
    """Agent and team evaluation reports (HTML or PDF) for appraisals.

    A report shows only what its reader could see in the review UI: reviewed results (standing
    reviews; never drafts or calibration reviews), each with the number of calls it rests on. An
    agent's report sets the agent against the team's aggregate; a team's, for its team leader, sets
    each agent against the team average."""


def _options(subject: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """The period, format, output and link options every report takes, defined once so the agent
    and team commands cannot drift apart (``subject`` names the default output file)."""

    def wrap(command: Callable[..., None]) -> Callable[..., None]:
        for option in reversed(
            [
                click.option(
                    "--from",
                    "date_from",
                    type=click.DateTime(["%Y-%m-%d"]),
                    help="First day (default: 90 days back).",
                ),
                click.option(
                    "--to",
                    "date_to",
                    type=click.DateTime(["%Y-%m-%d"]),
                    help="Last day, inclusive (default: today).",
                ),
                click.option(
                    "--format", "fmt", type=click.Choice(["html", "pdf"]), default="html", show_default=True
                ),
                click.option(
                    "--out",
                    type=click.Path(dir_okay=False),
                    help=f"Output file (default: report-{subject}-FROM-TO.FORMAT).",
                ),
                click.option(
                    "--base-url",
                    default="",
                    help="The review UI's address, to link calls and clips (e.g. https://qa.example).",
                ),
            ]
        ):
            command = option(command)
        return command

    return wrap


@report.command("agent")
@click.argument("agent")
@_options("AGENT")
def agent(
    agent: str,
    date_from: dt.datetime | None,
    date_to: dt.datetime | None,
    fmt: str,
    out: str | None,
    base_url: str,
) -> None:
    """The evaluation report of AGENT (external id, or the numeric id with a leading #)."""
    from sqlalchemy import select

    from qa_scoring.config import get_settings
    from qa_scoring.reports.agent import ReportError, agent_report
    from qa_scoring.reports.render import render_agent_report
    from qa_scoring.store.db import open_store
    from qa_scoring.store.models import Agent

    start, end = _period(date_from, date_to)
    with open_store(get_settings())() as session:
        if agent.startswith("#") and agent[1:].isdigit():
            row = session.get(Agent, int(agent[1:]))
        else:
            row = session.scalar(select(Agent).where(Agent.external_id == agent))
        if row is None:
            raise click.ClickException(f"no agent {agent!r} (give the external id, or #ID)")
        try:
            figures = agent_report(session, row.id, start, end)
        except ReportError as exc:
            raise click.ClickException(str(exc)) from exc
        html = render_agent_report(figures, base_url=base_url)
        name = f"report-{row.external_id}-{start}-{end}.{fmt}"
    _write(_output(html, fmt), out, name)


@report.command("team")
@click.argument("team")
@_options("TEAM")
def team(
    team: str,
    date_from: dt.datetime | None,
    date_to: dt.datetime | None,
    fmt: str,
    out: str | None,
    base_url: str,
) -> None:
    """The team report of TEAM (its name, or its id, optionally with a leading #) for the team
    leader: each agent against the team average, trend, evidence, coaching, appeals, outcomes."""
    import re

    from qa_scoring.config import get_settings
    from qa_scoring.reports.common import ReportError
    from qa_scoring.reports.render import render_team_report
    from qa_scoring.reports.team import find_team, team_report
    from qa_scoring.store.db import open_store

    settings = get_settings()
    start, end = _period(date_from, date_to)
    with open_store(settings)() as session:
        row = find_team(session, team)
        if row is None:
            raise click.ClickException(f"no team {team!r} (give its name, or its id)")
        try:
            figures = team_report(session, row.id, start, end, fcr_window_days=settings.fcr_window_days)
        except ReportError as exc:
            raise click.ClickException(str(exc)) from exc
        html = render_team_report(figures, base_url=base_url)
        name = re.sub(r"[^A-Za-z0-9._-]", "_", f"report-team-{row.name}-{start}-{end}.{fmt}")
    _write(_output(html, fmt), out, name)


def _output(html: str, fmt: str) -> bytes:
    if fmt == "html":
        return html.encode("utf-8")
    from qa_scoring.reports.pdf import BrowserMissing, PdfError, html_to_pdf

    try:
        return html_to_pdf(html)
    except (BrowserMissing, PdfError) as exc:
        raise click.ClickException(str(exc)) from exc
