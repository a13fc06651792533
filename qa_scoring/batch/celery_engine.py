"""Driving a batch on Celery workers: enqueue every job, then watch the jobs table until done,
re-sending any job whose worker stopped renewing its lease (``batch.leases``).

Each poll costs a fixed number of small queries whatever the size of the run (counts by state,
calls in flight per host, and only the jobs that came back for another try), so a night of
thousands of calls polls as cheaply as a dozen. A dropped database connection or a restarted
broker is waited out and retried, not fatal: the work itself is safe in the jobs table.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from qa_scoring.batch.leases import reclaim_expired
from qa_scoring.batch.options import BatchOptions, progress_bar
from qa_scoring.config import Settings
from qa_scoring.store.db import in_transaction
from qa_scoring.store.models import Job


@dataclass
class Poll:
    """What one look at the jobs table found."""

    by_state: Counter[str] = field(default_factory=Counter)
    in_flight: Counter[str] = field(default_factory=Counter)  # host -> calls running there
    again: dict[int, int] = field(default_factory=dict)  # call id -> attempts, pending after a try
    reclaimed: list[int] = field(default_factory=list)

    @property
    def finished(self) -> int:
        return self.by_state["done"] + self.by_state["failed"]


def poll(session: Session, run_id: int, settings: Settings) -> Poll:
    """Reclaim expired leases, then count; one transaction, repeated whole if the connection drops."""
    seen = Poll(reclaimed=reclaim_expired(session, run_id, settings))
    session.flush()
    mine = Job.batch_run_id == run_id
    seen.by_state.update(
        dict(session.execute(select(Job.state, func.count()).where(mine).group_by(Job.state)).all())
    )
    for worker, n in session.execute(
        select(Job.worker, func.count()).where(mine, Job.state == "running").group_by(Job.worker)
    ):
        seen.in_flight[host_of(worker)] += n
    seen.again = dict(
        session.execute(
            select(Job.call_id, Job.attempts).where(mine, Job.state == "pending", Job.attempts > 0)
        ).all()
    )
    return seen


def host_of(worker: str | None) -> str:
    """``host:pid:token`` -> ``host`` (a worker names itself so; see ``process.worker_name``)."""
    return (worker or "?").split(":", 1)[0]


def run_celery(
    factory: sessionmaker[Session],
    settings: Settings,
    run_id: int,
    call_ids: list[int],
    options: BatchOptions,
    poll_seconds: float = 1.0,
) -> None:
    """Enqueue ``call_ids`` and wait; a job that came back ``pending`` after an attempt is re-sent."""
    from qa_scoring.batch.celery_app import make_app

    app = make_app(settings.celery_broker_url)
    bar = progress_bar(len(call_ids), options)
    sent: dict[int, int] = {}  # call id -> attempts seen when last enqueued
    for call_id in call_ids:
        sent[call_id] = 0
        if not _send(app, call_id, run_id, bar.write):
            break  # the broker is down: the starvation check below sends them when it is back
    starved = 0  # polls in a row with calls pending and nothing queued for them
    base = len(call_ids)  # a resumed run counts only what is left
    deadline = time.monotonic() + options.wait_timeout if options.wait_timeout else None
    try:
        while True:
            seen = in_transaction(factory, lambda session: poll(session, run_id, settings), attempts=10)
            for call_id in seen.reclaimed:
                bar.write(f"call {call_id}: its worker stopped renewing the lease; sending it again")
            for call_id, attempts in seen.again.items():
                if attempts > sent.get(call_id, 0):
                    sent[call_id] = attempts
                    _send(app, call_id, run_id, bar.write)
            queued = queue_size(app)
            starved = starved + 1 if seen.by_state["pending"] and queued == 0 else 0
            if starved >= STARVED_POLLS:
                # Calls wait but the broker holds nothing for them: its messages were lost (a
                # restart without persistence). Send them again; a duplicate is skipped by the claim.
                lost = in_transaction(factory, lambda session: _pending(session, run_id))
                bar.write(
                    f"nothing queued for {len(lost)} pending call(s) (broker restarted?); sending them again"
                )
                for call_id in lost:
                    if not _send(app, call_id, run_id, bar.write):
                        break
                starved = 0
            left = seen.by_state["pending"] + seen.by_state["running"]
            bar.update(max(0, base - left - bar.n))
            bar.set_postfix(failed=seen.by_state["failed"], **_flight(seen.in_flight))
            if left == 0:
                return
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(
                    f"batch run {run_id}: {left} call(s) not finished after "
                    f"{options.wait_timeout:g} s; are workers running ('qa-scoring worker') on this broker?"
                )
            time.sleep(poll_seconds)
    finally:
        bar.close()


def _flight(in_flight: Counter[str]) -> dict[str, Any]:
    return {"running": ",".join(f"{host}:{n}" for host, n in sorted(in_flight.items())) or "0"}


STARVED_POLLS = 10


def _pending(session: Session, run_id: int) -> list[int]:
    return list(
        session.scalars(
            select(Job.call_id)
            .where(Job.batch_run_id == run_id, Job.state == "pending")
            .order_by(Job.call_id)
        )
    )


def queue_size(app: Any) -> int | None:
    """Messages waiting in the batch queue (0 when the broker no longer knows the queue, as after
    a restart without persistence), or None while the broker cannot be reached."""
    from qa_scoring.batch.celery_app import QUEUE

    try:
        with app.connection_for_read() as connection:
            try:
                return connection.default_channel.queue_declare(QUEUE, passive=True).message_count
            except connection.channel_errors:
                return 0
    except Exception:  # noqa: BLE001 - any broker error means "unknown", and is asked again next poll
        return None


def _send(app: Any, call_id: int, run_id: int, say: Any) -> bool:
    """Publish one task, retrying a restarting broker for a few seconds; False if it stays down
    (the call stays pending and is sent again once the broker answers)."""
    from qa_scoring.batch.celery_app import TASK_NAME

    try:
        app.send_task(
            TASK_NAME,
            args=[call_id, run_id],
            retry=True,
            retry_policy={"max_retries": 5, "interval_start": 0.5, "interval_step": 0.5, "interval_max": 2},
        )
    except Exception as exc:  # noqa: BLE001 - kombu raises several kinds for an unreachable broker
        say(
            f"broker unreachable ({type(exc).__name__}: {exc}); "
            "calls stay pending and are sent when it is back"
        )
        return False
    return True
