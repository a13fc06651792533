"""``qa-scoring report``: evaluation reports for appraisals, as HTML or PDF."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click


def _period(date_from: dt.datetime | None, date_to: dt.datetime | None) -> tuple[dt.date, dt.date]:
    from qa_scoring.reports.agent import default_period

    start, end = default_period(date_to.date() if date_to else None)
    return (date_from.date() if date_from else start), end


def _write(data: bytes, out: str | None, default_name: str) -> None:
    path = Path(out or default_name)
    path.write_bytes(data)
    click.echo(f"report written to {path}", err=True)


@click.group("report")
def report() -> None:
    """Agent and team evaluation reports (HTML or PDF) for appraisals.

    A report shows only what its subject could see in the review UI: reviewed results (standing
    reviews; never drafts or calibration reviews) against the team's, each with the number of calls
    it rests on."""


@report.command("agent")
@click.argument("agent")
@click.option(
    "--from", "date_from", type=click.DateTime(["%Y-%m-%d"]), help="First day (default: 90 days back)."
)
@click.option(
    "--to", "date_to", type=click.DateTime(["%Y-%m-%d"]), help="Last day, inclusive (default: today)."
)
@click.option("--format", "fmt", type=click.Choice(["html", "pdf"]), default="html", show_default=True)
@click.option(
    "--out", type=click.Path(dir_okay=False), help="Output file (default: report-AGENT-FROM-TO.FORMAT)."
)
@click.option(
    "--base-url",
    default="",
    help="The review UI's address, to link calls and clips (e.g. https://qa.example).",
)
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


def _output(html: str, fmt: str) -> bytes:
    if fmt == "html":
        return html.encode("utf-8")
    from qa_scoring.reports.pdf import BrowserMissing, PdfError, html_to_pdf

    try:
        return html_to_pdf(html)
    except (BrowserMissing, PdfError) as exc:
        raise click.ClickException(str(exc)) from exc
