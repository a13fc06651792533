"""Leases on batch jobs: a lost worker machine costs one call's retry, not the night.

The unit tests drive the lease rules on a real store; the Celery test kills a whole worker
(its process group, as when a machine dies) mid-call on the real Redis and PostgreSQL and checks
that the call is reclaimed within the lease and every call ends exactly once.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import threading
import time
from dataclasses import replace

import pytest
from batch_helpers import batch_settings, in_group, short_calls, start_worker, stop_workers
from sqlalchemy import func, select

from qa_scoring.batch.leases import expired, reclaim_expired
from qa_scoring.batch.options import BatchOptions
from qa_scoring.batch.process import Claim, _claim, _owned
from qa_scoring.batch.runner import run_batch
from qa_scoring.store.db import session_factory, upgrade
from qa_scoring.store.models import AuditEntry, BatchRun, Call, Job, Transcript, utcnow


def _one_job(url: str) -> tuple[int, int]:
    upgrade(url)
    with session_factory(url).begin() as s:
        call = Call(audio_path="/nowhere.wav", content_sha256="a" * 64, size_bytes=1, status="pending")
        run = BatchRun(status="running")
        s.add_all([call, run])
        s.flush()
        s.add(Job(batch_run_id=run.id, call_id=call.id))
        return run.id, call.id


def test_a_live_lease_is_respected_an_expired_one_is_reclaimed_and_the_late_result_discarded(
    sqlite_url, tmp_path
):
    settings = batch_settings(tmp_path, sqlite_url, job_lease_s=60.0, max_attempts=3)
    run_id, call_id = _one_job(sqlite_url)
    factory = session_factory(sqlite_url)
    with factory.begin() as s:
        first = _claim(s, call_id, run_id, "machine-a:1:x", settings.job_lease_s)
    assert isinstance(first, Claim)
    job_id = first.job_id
    # A redelivered task while machine A renews its lease: left alone.
    with factory.begin() as s:
        again = _claim(s, call_id, run_id, "machine-b:2:y", settings.job_lease_s)
        assert not isinstance(again, Claim) and "held by machine-a" in (again.error or "")
        assert reclaim_expired(s, run_id, settings) == []
    # Machine A dies: its heartbeat stops. Once the lease is over, the batch reclaims the job.
    with factory.begin() as s:
        s.get(Job, job_id).heartbeat_at = utcnow() - dt.timedelta(seconds=61)
    with factory.begin() as s:
        assert expired(s.get(Job, job_id), settings.job_lease_s)
        assert reclaim_expired(s, run_id, settings) == [call_id]
    with factory() as s:
        job = s.get(Job, job_id)
        assert (job.state, job.reclaimed, job.worker) == ("pending", 1, None)
        assert "lease expired" in job.last_error
        assert s.scalars(select(AuditEntry.action).where(AuditEntry.entity == "jobs")).all() == ["reclaim"]
    # Machine B takes it; machine A's late result (it was only partitioned, say) is discarded.
    with factory.begin() as s:
        assert isinstance(_claim(s, call_id, run_id, "machine-b:2:y", settings.job_lease_s), Claim)
    with factory.begin() as s:
        assert not _owned(s, job_id, "machine-a:1:x", state="done")
        assert _owned(s, job_id, "machine-b:2:y", state="done")


def test_a_job_lost_on_its_last_attempt_fails_with_the_reason(sqlite_url, tmp_path):
    settings = batch_settings(tmp_path, sqlite_url, job_lease_s=30.0, max_attempts=1)
    run_id, call_id = _one_job(sqlite_url)
    factory = session_factory(sqlite_url)
    with factory.begin() as s:
        job_id = _claim(s, call_id, run_id, "machine-a:1:x", settings.job_lease_s).job_id
        s.get(Job, job_id).heartbeat_at = utcnow() - dt.timedelta(seconds=31)
    with factory.begin() as s:
        assert reclaim_expired(s, run_id, settings) == []
    with factory() as s:
        assert s.get(Job, job_id).state == "failed" and s.get(Call, call_id).status == "failed"
        assert "lease expired" in s.get(Call, call_id).last_error


@pytest.mark.postgres
@pytest.mark.redis
def test_a_worker_killed_mid_call_costs_one_retry_not_the_night(postgres_url, redis_url, tmp_path):
    lease = 8.0
    settings = replace(
        batch_settings(tmp_path, postgres_url, max_duration_s=60.0, job_lease_s=lease),
        celery_broker_url=redis_url,
    )
    calls = short_calls(tmp_path / "in", 4, seconds=10.0)
    upgrade(postgres_url)
    workers = [start_worker(settings, tmp_path / f"worker-{k}.log") for k in range(2)]
    result: dict = {}

    def batch() -> None:
        options = BatchOptions(
            paths=[str(tmp_path / "in")], engine="celery", progress=False, wait_timeout=300
        )
        result["run"] = run_batch(settings, options)

    runner = threading.Thread(target=batch)
    runner.start()
    factory = session_factory(postgres_url)
    victim, killed_at, lost_call = None, 0.0, None
    try:
        deadline = time.monotonic() + 240
        while victim is None and time.monotonic() < deadline and runner.is_alive():
            with factory() as s:
                running = s.scalars(select(Job).where(Job.state == "running")).all()
            for job in running:
                pid = int(job.worker.split(":")[1])
                owner = next((w for w in workers if w.poll() is None and in_group(pid, w.pid)), None)
                if owner is not None:
                    victim, lost_call = owner, job.call_id
                    break
            time.sleep(0.2)
        assert victim is not None, "no call was seen running on a worker"
        os.killpg(victim.pid, signal.SIGKILL)
        killed_at = time.monotonic()
        runner.join(timeout=300)
    finally:
        stop_workers(workers)
    assert not runner.is_alive() and "run" in result
    report = result["run"].report
    assert report["scored"] == len(calls) and report["failed"] == []
    assert [r["call_id"] for r in report["reclaimed"]] == [lost_call]
    with factory() as s:
        # Every call ended exactly once: one transcript each, every job done.
        assert s.scalar(select(func.count(Transcript.id))) == len(calls)
        assert {j.state for j in s.scalars(select(Job))} == {"done"}
        reclaimed_at = s.scalars(select(AuditEntry.at).where(AuditEntry.action == "reclaim")).one()
        finished = s.scalar(select(Job.finished_at).where(Job.call_id == lost_call))
    # Reclaimed within the lease plus one heartbeat and the batch's polling (wall clock, roughly).
    recovery = (reclaimed_at - utcnow()).total_seconds() + (time.monotonic() - killed_at)
    assert recovery <= lease + lease / 4 + 3, f"reclaimed {recovery:.1f} s after the kill"
    assert finished is not None
