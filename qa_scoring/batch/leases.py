"""Leases on jobs, kept in the store rather than trusted to the broker.

A worker that claims a job holds it while it renews the job's heartbeat (a thread, every quarter
lease). When a machine dies nothing renews it: the batch (:func:`reclaim_expired`, each time it
polls) puts the job back to pending and sends it again, well before a broker would redeliver an
unacknowledged task (Redis waits its visibility timeout, hours). A result that arrives late from
a worker that lost its lease is discarded by the owner check in ``process._owned``.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from qa_scoring.config import Settings
from qa_scoring.store.audit import audit_row
from qa_scoring.store.models import Call, Job, utcnow

log = logging.getLogger(__name__)


def expired(job: Job, lease_s: float, now: dt.datetime | None = None) -> bool:
    """Whether a running job's lease ran out (no heartbeat for ``lease_s`` seconds)."""
    last = job.heartbeat_at or job.started_at
    return last is None or (now or utcnow()) - last > dt.timedelta(seconds=lease_s)


@contextmanager
def heartbeat(factory: sessionmaker[Session], job_id: int, token: str, lease_s: float) -> Iterator[None]:
    """Renew the job's lease every ``lease_s / 4`` seconds while the body runs."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(lease_s / 4):
            try:
                with factory.begin() as session:
                    session.execute(
                        update(Job)
                        .where(Job.id == job_id, Job.worker == token, Job.state == "running")
                        .values(heartbeat_at=utcnow())
                        .execution_options(synchronize_session=False)
                    )
            except Exception:  # noqa: BLE001 - a missed beat is retried; the lease is generous
                continue

    thread = threading.Thread(target=beat, name=f"lease-{job_id}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def reclaim_expired(session: Session, run_id: int, settings: Settings) -> list[int]:
    """Put the run's jobs whose lease expired back to pending (failed once out of attempts), audited;
    returns the calls to send again."""
    now = utcnow()
    again = []
    for job in session.scalars(select(Job).where(Job.batch_run_id == run_id, Job.state == "running")):
        if not expired(job, settings.job_lease_s, now):
            continue
        lost = job.worker
        job.reclaimed += 1
        job.worker = None
        job.last_error = (
            f"lease expired: worker {lost} stopped renewing it for {settings.job_lease_s:g} s "
            "(machine lost or process killed); call re-queued"
        )
        out_of_attempts = job.attempts >= settings.max_attempts
        job.state = "failed" if out_of_attempts else "pending"
        call = session.get(Call, job.call_id)
        if call is not None:
            call.status = "failed" if out_of_attempts else "pending"
            call.last_error = job.last_error if out_of_attempts else call.last_error
        audit_row(
            session,
            job,
            "reclaim",
            actor="system",
            old={"worker": lost, "heartbeat_at": (job.heartbeat_at or job.started_at or now).isoformat()},
            new={"state": job.state, "call_id": job.call_id, "batch_run_id": run_id},
            reason=job.last_error,
        )
        log.warning("batch run %s, call %s: %s", run_id, job.call_id, job.last_error)
        if not out_of_attempts:
            again.append(job.call_id)
    return again
