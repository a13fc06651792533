"""``qa-scoring outcomes``: post-call survey outcomes (CSAT, NPS, resolved) beside the QA results."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.group()
def outcomes() -> None:
    """Import post-call survey outcomes (CSAT, NPS, resolved) and compare them with QA results."""


@outcomes.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--dry-run", is_flag=True, help="Show what would happen; write nothing.")
def import_command(file: Path, as_json: bool, dry_run: bool) -> None:
    """Import the survey outcomes in FILE, one row per call.

    Columns: call (external id, else recording file name), csat (1-5), nps (0-10), resolved
    (yes/no, true/false, 1/0); at least one of the last three. Rows that match no call or hold a bad
    value are listed with their line and skipped; importing the same file again changes nothing.
    """
    from qa_scoring.commands.sheet_import import import_sheet
    from qa_scoring.outcomes import OutcomeFileError, import_outcomes

    report = import_sheet(import_outcomes, OutcomeFileError, file, dry_run)
    if as_json:
        click.echo(json.dumps({**report.to_dict(), "dry_run": dry_run}, indent=2))
        return
    click.echo(f"outcomes import: {report.file}" + (" (dry run: nothing written)" if dry_run else ""))
    click.echo(f"columns: {', '.join(report.columns)}")
    click.echo(
        f"rows {report.rows}, added {report.added}, updated {report.updated}, "
        f"unchanged {report.unchanged}, unmatched {len(report.unmatched)}"
    )
    if report.unmatched:
        click.echo("unmatched rows:")
        for row in report.unmatched:
            click.echo(f"  line {row.line}: {row.call or '-'}: {row.reason}")


@outcomes.command("report")
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
def report_command(as_json: bool) -> None:
    """Per criterion: CSAT, first-contact resolution and survey-resolved of the calls that pass it
    against those that fail it, with 95% intervals (largest CSAT difference first)."""
    from dataclasses import asdict

    from qa_scoring.config import get_settings
    from qa_scoring.outcomes import criterion_outcomes, outcome_rows
    from qa_scoring.store.db import open_store

    settings = get_settings()
    with open_store(settings)() as session:
        table = criterion_outcomes(outcome_rows(session, window_days=settings.fcr_window_days))
    if as_json:
        click.echo(json.dumps([asdict(c) for c in table], indent=2))
        return
    if not table:
        click.echo("no scored call with an outcome yet")
        return

    def fmt(d, scale: float = 1.0, digits: int = 2) -> str:
        if d.difference is None:
            return f"n {d.n_pass}/{d.n_fail}, -"
        text = (
            f"n {d.n_pass}/{d.n_fail}, {d.pass_value * scale:.{digits}f} vs {d.fail_value * scale:.{digits}f}"
        )
        text += f", diff {d.difference * scale:+.{digits}f}"
        if d.low is not None:
            text += f" ({d.low * scale:+.{digits}f} to {d.high * scale:+.{digits}f})"
        return text

    click.echo(f"pass vs fail per criterion (FCR window {settings.fcr_window_days} days; 95% intervals)")
    for c in table:
        click.echo(f"{c.rubric_id} / {c.criterion_id} ({c.calls} calls, {c.human} on a reviewer's result)")
        click.echo(f"  CSAT      {fmt(c.csat)}")
        click.echo(f"  FCR %     {fmt(c.fcr, 100, 0)}")
        click.echo(f"  resolved% {fmt(c.resolved, 100, 0)}")
