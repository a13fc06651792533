"""Where a batch run stands, read from the store so it can be asked from any machine.

``qa-scoring batch --status RUN`` prints this while the run goes on (or after): how many calls are
in each state, which hosts hold calls and how fresh their leases are, and what was reclaimed or
failed and why.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qa_scoring.batch.leases import expired
from qa_scoring.config import Settings
from qa_scoring.store.models import BatchRun, Call, Job, utcnow


class UnknownRun(LookupError):
    pass


def run_status(session: Session, run_id: int | None, settings: Settings) -> dict[str, Any]:
    """The run's state as plain data; ``run_id`` None means the newest run."""
    query = select(BatchRun).order_by(BatchRun.id.desc()).limit(1)
    if run_id is not None:
        query = select(BatchRun).where(BatchRun.id == run_id)
    run = session.scalars(query).one_or_none()
    if run is None:
        raise UnknownRun(f"no batch run {run_id}" if run_id is not None else "no batch run yet")
    mine = Job.batch_run_id == run.id
    states = Counter(
        dict(session.execute(select(Job.state, func.count()).where(mine).group_by(Job.state)).all())
    )
    now = utcnow()
    running = session.execute(
        select(Job, Call.audio_path).join(Call).where(mine, Job.state == "running")
    ).all()
    in_flight = [
        {
            "call_id": job.call_id,
            "path": path,
            "worker": job.worker,
            "attempt": job.attempts,
            "running_s": round((now - job.started_at).total_seconds(), 1) if job.started_at else None,
            "heartbeat_age_s": round((now - (job.heartbeat_at or job.started_at)).total_seconds(), 1)
            if (job.heartbeat_at or job.started_at)
            else None,
            "lease_expired": expired(job, settings.job_lease_s, now),
        }
        for job, path in running
    ]
    hosts = Counter((item["worker"] or "?").split(":", 1)[0] for item in in_flight)
    troubled = session.execute(
        select(Job, Call.audio_path).join(Call).where(mine, (Job.reclaimed > 0) | (Job.state == "failed"))
    ).all()
    return {
        "batch_run": run.id,
        "status": run.status,
        "engine": run.engine,
        "scheduler": f"{run.host}:{run.pid}",
        "started_at": run.started_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "calls": sum(states.values()),
        "states": {state: states.get(state, 0) for state in ("pending", "running", "done", "failed")},
        "hosts": dict(sorted(hosts.items())),
        "in_flight": in_flight,
        "reclaimed": [
            {"call_id": job.call_id, "path": path, "times": job.reclaimed, "state": job.state}
            for job, path in troubled
            if job.reclaimed
        ],
        "failed": [
            {"call_id": job.call_id, "path": path, "attempts": job.attempts, "reason": job.last_error}
            for job, path in troubled
            if job.state == "failed"
        ],
        "lease_s": settings.job_lease_s,
    }


def format_status(status: dict[str, Any]) -> str:
    states = status["states"]
    done = states["done"] + states["failed"]
    lines = [
        f"batch run {status['batch_run']} ({status['engine']}, scheduler {status['scheduler']}): "
        f"{status['status']}, {done} of {status['calls']} calls finished "
        f"({states['done']} scored, {states['failed']} failed), "
        f"{states['running']} running, {states['pending']} pending",
        f"  started {status['started_at']}"
        + (f", finished {status['finished_at']}" if status["finished_at"] else ""),
    ]
    if status["hosts"]:
        lines.append("  in flight: " + ", ".join(f"{host} {n}" for host, n in status["hosts"].items()))
    for item in status["in_flight"]:
        stale = "  LEASE EXPIRED: will be reclaimed" if item["lease_expired"] else ""
        lines.append(
            f"  call {item['call_id']} on {item['worker']}: attempt {item['attempt']}, "
            f"{item['running_s']} s, last heartbeat {item['heartbeat_age_s']} s ago{stale}"
        )
    for item in status["reclaimed"]:
        lines.append(
            f"  RECLAIMED call {item['call_id']} ({item['times']}x: its worker stopped renewing the "
            f"{status['lease_s']:g} s lease), now {item['state']}"
        )
    for item in status["failed"]:
        lines.append(f"  FAILED call {item['call_id']} after {item['attempts']} attempt(s): {item['reason']}")
    return "\n".join(lines)
