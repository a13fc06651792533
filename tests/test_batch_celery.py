"""The Celery engine: a real worker process on the real Redis broker and PostgreSQL."""

from __future__ import annotations

import os
import socket
from dataclasses import replace
from pathlib import Path

import pytest
from batch_helpers import batch_settings, short_calls, start_worker, stop_workers
from sqlalchemy import func, select

from qa_scoring.batch.options import BatchOptions
from qa_scoring.batch.runner import run_batch
from qa_scoring.store.db import session_factory, upgrade
from qa_scoring.store.models import Call, Job, Scorecard, Transcript


@pytest.mark.postgres
@pytest.mark.redis
def test_celery_worker_processes_calls(postgres_url: str, redis_url: str, tmp_path: Path) -> None:
    settings = replace(
        batch_settings(tmp_path, postgres_url, max_duration_s=30.0), celery_broker_url=redis_url
    )
    calls = short_calls(tmp_path / "in", 2, seconds=8.0)
    upgrade(postgres_url)
    worker = start_worker(settings, tmp_path / "worker.log")
    try:
        options = BatchOptions(
            paths=[str(tmp_path / "in")],
            engine="celery",
            progress=False,
            wait_timeout=240,
            rubrics=["rater", "later"],  # the worker reads them from the run's row
        )
        result = run_batch(settings, options)
    finally:
        stop_workers([worker])
    output = (tmp_path / "worker.log").read_text()
    assert result.report["scored"] == len(calls), output[-3000:]
    assert result.report["failed"] == []
    with session_factory(postgres_url)() as s:
        assert s.scalar(select(func.count(Transcript.id))) == len(calls)
        assert all(c.status == "scored" for c in s.scalars(select(Call)))
        workers = {j.worker.rsplit(":", 1)[0] for j in s.scalars(select(Job))}
        assert set(s.scalars(select(Scorecard.rubric_id))) == {"rater", "later"}
    # Done by the Celery worker's child process, not by this (the enqueuing) process.
    assert len(workers) == 1 and workers != {f"{socket.gethostname()}:{os.getpid()}"}
    assert "qa_scoring.process_call" in output
