"""``qa-scoring export``: scorecards per call, agent and criterion as CSV or JSON."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click


@click.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("--from", "date_from", type=click.DateTime(["%Y-%m-%d"]), help="First call date (YYYY-MM-DD).")
@click.option("--to", "date_to", type=click.DateTime(["%Y-%m-%d"]), help="Last call date, inclusive.")
@click.option("--agent", help="Only this agent (external id).")
@click.option("--evidence", is_flag=True, help="Add each criterion's evidence quotes (who, when, what).")
@click.option("--out", type=click.Path(dir_okay=False), help="Write here instead of standard output.")
def export(
    fmt: str,
    date_from: dt.datetime | None,
    date_to: dt.datetime | None,
    agent: str | None,
    evidence: bool,
    out: str | None,
) -> None:
    """Export scored (and failed) calls: automatic and human results side by side, final = human when
    reviewed; each row names its recording."""
    from qa_scoring.config import get_settings
    from qa_scoring.export import ExportFilter
    from qa_scoring.export import export as run_export
    from qa_scoring.store.db import open_store

    flt = ExportFilter(
        date_from=date_from.date() if date_from else None,
        date_to=date_to.date() if date_to else None,
        agent=agent,
        evidence=evidence,
    )
    with open_store(get_settings())() as session:
        text = run_export(session, fmt, flt)
    if out:
        Path(out).write_text(text, encoding="utf-8")
        click.echo(f"exported to {out}", err=True)
    else:
        click.echo(text, nl=False)
