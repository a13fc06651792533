"""``qa-scoring worker``: a Celery worker for batches spread over many machines."""

from __future__ import annotations

import os

import click

from qa_scoring.commands.device_option import device_option


@click.command("worker")
@click.option(
    "--concurrency", type=int, default=1, show_default=True, help="Worker processes on this machine."
)
@click.option(
    "--threads",
    type=int,
    default=None,
    help="Threads per process (default: setting worker_threads, else cores / concurrency).",
)
@click.option("--loglevel", default="info", show_default=True)
@device_option
def worker(concurrency: int, threads: int | None, loglevel: str) -> None:
    """Take calls from the Redis broker (celery_broker_url) and store results in the database.

    Every worker machine needs the same QA_SCORING_DATABASE_URL (PostgreSQL), the broker URL, the
    installed models and the recordings at the same paths.
    """
    from qa_scoring.batch.worker_models import usable_cores
    from qa_scoring.config import get_settings
    from qa_scoring.store.db import ensure_schema

    settings = get_settings()
    ensure_schema(settings.resolved_database_url)
    per_process = threads or settings.worker_threads or max(1, usable_cores() // concurrency)
    # The pool's child processes read their settings afresh (from the environment, like the rest).
    os.environ["QA_SCORING_WORKER_THREADS"] = str(per_process)
    from qa_scoring.batch.celery_app import QUEUE, app

    app.worker_main(
        [
            "worker",
            f"--concurrency={concurrency}",
            "--pool=prefork",
            f"--loglevel={loglevel}",
            f"--queues={QUEUE}",
            "--without-gossip",
            "--without-mingle",
        ]
    )
