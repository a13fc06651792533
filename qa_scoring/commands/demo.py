"""``qa-scoring demo``: the main job on embedded defaults, end to end, on the bundled sample calls.

It is the batch a centre runs overnight (ingest, transcribe, diarise, redact, score, store, report)
followed by what a QA officer opens in the morning (the review UI), so a fresh machine shows the
whole product with one command. Re-running is safe: scored calls are not processed twice.
"""

from __future__ import annotations

import os
import sys

import click

from qa_scoring.config import PROJECT_ROOT

SAMPLES = PROJECT_ROOT / "samples" / "calls"


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address the UI listens on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port the UI listens on.")
@click.option("--workers", type=int, default=None, help="Batch worker processes (default: setting workers).")
@click.option("--no-serve", is_flag=True, help="Score and report only; do not start the UI.")
def demo(host: str, port: int, workers: int | None, no_serve: bool) -> None:
    """Score the bundled sample calls into the local store, print the report, then serve the UI."""
    from qa_scoring.batch.options import BatchOptions
    from qa_scoring.batch.report import format_text
    from qa_scoring.batch.runner import run_batch
    from qa_scoring.config import get_settings
    from qa_scoring.demo_users import seed_demo_users
    from qa_scoring.store.db import open_store

    settings = get_settings()
    click.echo(f"store: {settings.resolved_database_url}", err=True)
    options = BatchOptions(
        paths=[str(SAMPLES)],
        manifest=str(SAMPLES / "manifest.csv"),
        workers=workers or settings.workers,
        retry_failed=True,
    )
    result = run_batch(settings, options, echo=lambda line: click.echo(line, err=True))
    click.echo(format_text(result.report))
    if result.interrupted:
        raise SystemExit(130)

    with open_store(settings).begin() as session:
        users = seed_demo_users(session)
    click.echo("\nDemo users (local demonstration only; the passwords are public):")
    for username, password, role in users:
        click.echo(f"  {role:<12} {username:<8} password: {password}")
    if no_serve:
        return
    # The UI replaces this process (same pid, so Ctrl+C stops it): its worker processes then fork
    # from a fresh interpreter, not from one holding the speech models and their thread pools.
    sys.stdout.flush()
    sys.stderr.flush()
    serve = "from qa_scoring.cli import main; main(prog_name='qa-scoring')"
    os.execv(sys.executable, [sys.executable, "-c", serve, "serve", "--host", host, "--port", str(port)])
