"""``qa-scoring reviews``: bring past QA evaluations (spreadsheets exported as CSV) into the store."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.group()
def reviews() -> None:
    """Import past QA evaluations from a CSV file."""


@reviews.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--dry-run", is_flag=True, help="Show what would happen; write nothing.")
def import_command(file: Path, as_json: bool, dry_run: bool) -> None:
    """Import the evaluations in FILE as submitted reviews (one per call, reviewer and date).

    Columns: call, rubric (optional), criterion, result, reviewer, date, reason (optional); see the
    README, "Importing past evaluations". Rows that cannot be matched are listed with their line
    and skipped; importing the same file again adds nothing.
    """
    from qa_scoring.commands.sheet_import import import_sheet
    from qa_scoring.review.imports import ImportFileError, import_reviews

    report = import_sheet(import_reviews, ImportFileError, file, dry_run)
    if as_json:
        click.echo(json.dumps({**report.to_dict(), "dry_run": dry_run}, indent=2))
        return
    head = f"reviews import: {report.file}" + (" (dry run: nothing written)" if dry_run else "")
    click.echo(head)
    click.echo(
        f"rows {report.rows}, imported {report.imported}, updated {report.updated}, "
        f"unchanged {report.unchanged}, unmapped {len(report.unmapped)}"
    )
    click.echo(f"reviews: {report.reviews_created} new, {report.reviews_standing} made standing")
    if report.users_created:
        click.echo(f"new inactive users (no password, cannot sign in): {', '.join(report.users_created)}")
    if report.unmapped:
        click.echo("unmapped rows:")
        for row in report.unmapped:
            click.echo(f"  line {row.line}: {row.call or '-'}: {row.reason}")
