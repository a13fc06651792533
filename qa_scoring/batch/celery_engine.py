"""Driving a batch on Celery workers: enqueue every job, then watch the jobs table until done,
re-sending any job whose worker stopped renewing its lease (``batch.leases``)."""

from __future__ import annotations

import time

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from qa_scoring.batch.leases import reclaim_expired
from qa_scoring.batch.runner import BatchOptions, _progress
from qa_scoring.config import Settings
from qa_scoring.store.models import Job


def run_celery(
    factory: sessionmaker[Session],
    settings: Settings,
    run_id: int,
    call_ids: list[int],
    options: BatchOptions,
    poll_seconds: float = 1.0,
) -> None:
    """Enqueue ``call_ids`` and wait; a job that came back ``pending`` after an attempt is re-sent."""
    from qa_scoring.batch.celery_app import TASK_NAME, make_app

    app = make_app(settings.celery_broker_url)
    rubrics = options.rubrics or None
    sent: dict[int, int] = {}  # call id -> attempts seen when last enqueued
    for call_id in call_ids:
        app.send_task(TASK_NAME, args=[call_id, run_id, rubrics])
        sent[call_id] = 0
    bar = _progress(len(call_ids), options)
    deadline = time.monotonic() + options.wait_timeout if options.wait_timeout else None
    try:
        while True:
            with factory.begin() as session:
                for call_id in reclaim_expired(session, run_id, settings):
                    # Pending again with its attempt counted: the re-send below picks it up.
                    bar.write(f"call {call_id}: its worker stopped renewing the lease; sending it again")
            with factory() as session:
                jobs = session.scalars(select(Job).where(Job.batch_run_id == run_id)).all()
                finished = sum(1 for j in jobs if j.state in ("done", "failed"))
                failed = sum(1 for j in jobs if j.state == "failed")
                again = [j.call_id for j in jobs if j.state == "pending" and j.attempts > sent[j.call_id]]
            for call_id in again:
                sent[call_id] = next(j.attempts for j in jobs if j.call_id == call_id)
                app.send_task(TASK_NAME, args=[call_id, run_id, rubrics])
            bar.update(finished - bar.n)
            bar.set_postfix(failed=failed)
            if finished == len(call_ids):
                return
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(
                    f"batch run {run_id}: {len(call_ids) - finished} call(s) not finished after "
                    f"{options.wait_timeout:g} s; are workers running ('qa-scoring worker') on this broker?"
                )
            time.sleep(poll_seconds)
    finally:
        bar.close()
