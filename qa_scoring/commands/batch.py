"""``qa-scoring batch``: the overnight job - ingest, transcribe, redact, score, store, report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from qa_scoring.commands.device_option import device_option

if TYPE_CHECKING:
    from qa_scoring.config import Settings


@click.command("batch")
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option(
    "--pending",
    is_flag=True,
    help="Process every pending call in the store (the default without PATHs).",
)
@click.option("--workers", type=int, default=None, help="Worker processes (default: setting workers).")
@click.option("--rubric", "rubrics", multiple=True, help="Score only this rubric id (repeatable).")
@click.option(
    "--engine",
    type=click.Choice(["local", "celery"]),
    default="local",
    show_default=True,
    help="local: process pool on this machine; celery: workers started with 'qa-scoring worker'.",
)
@click.option(
    "--report", "report_path", type=click.Path(dir_okay=False), help="Write the report as JSON here."
)
@click.option(
    "--manifest", type=click.Path(exists=True, dir_okay=False), help="CSV or JSON metadata manifest."
)
@click.option("--pattern", help='File name pattern for metadata, e.g. "{agent}_{date}_{callid}.wav".')
@click.option("--retry-failed", is_flag=True, help="Also retry calls that failed in earlier runs.")
@click.option("--rescore", is_flag=True, help="Also re-process scored calls (adds a new transcript version).")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@click.option(
    "--status",
    "status_of",
    type=int,
    default=None,
    is_flag=False,
    flag_value=0,
    metavar="RUN",
    help="Show where batch run RUN stands (the newest without RUN), from any machine; processes nothing.",
)
@device_option
def batch(
    paths: tuple[str, ...],
    pending: bool,
    workers: int | None,
    rubrics: tuple[str, ...],
    engine: str,
    report_path: str | None,
    manifest: str | None,
    pattern: str | None,
    retry_failed: bool,
    rescore: bool,
    no_progress: bool,
    status_of: int | None,
) -> None:
    """Ingest PATHs (if given), then transcribe, redact, score and store every pending call.

    Safe to interrupt: a re-run resumes where the last one stopped. Failed calls are reported
    with their reason and never stop the batch.
    """
    from qa_scoring.batch.options import BatchOptions
    from qa_scoring.batch.report import format_text
    from qa_scoring.batch.runner import run_batch
    from qa_scoring.config import get_settings
    from qa_scoring.ingest.metadata import MetadataError
    from qa_scoring.store.db import StoreError

    if paths and pending:
        raise click.UsageError("give PATHs or --pending, not both")
    settings = get_settings()
    if status_of is not None:
        if paths or pending:
            raise click.UsageError("--status only reports; give no PATHs or --pending with it")
        show_status(settings, status_of or None, report_path)
        return
    if rubrics:
        from qa_scoring.rubric.rubric import RubricError, load_rubrics

        try:  # fail now, not in every worker after minutes of model loading
            load_rubrics(settings.rubrics_dir, rubrics)
        except RubricError as exc:
            raise click.ClickException(f"--rubric: {exc}") from None
    options = BatchOptions(
        paths=paths,
        workers=workers or settings.workers,
        rubrics=list(rubrics),
        engine=engine,
        rescore=rescore,
        retry_failed=retry_failed,
        manifest=manifest,
        pattern=pattern,
        progress=not no_progress,
    )
    try:
        result = run_batch(settings, options, echo=lambda line: click.echo(line, err=True))
    except (MetadataError, StoreError, RuntimeError, TimeoutError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(format_text(result.report))
    if report_path:
        Path(report_path).write_text(json.dumps(result.report, indent=2), encoding="utf-8")
        click.echo(f"report written to {report_path}", err=True)
    if result.interrupted:
        raise SystemExit(130)


def show_status(settings: Settings, run_id: int | None, report_path: str | None) -> None:
    from qa_scoring.batch.status import UnknownRun, format_status, run_status
    from qa_scoring.store.db import open_store

    with open_store(settings)() as session:
        try:
            status = run_status(session, run_id, settings)
        except UnknownRun as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(format_status(status))
    if report_path:
        Path(report_path).write_text(json.dumps(status, indent=2), encoding="utf-8")
