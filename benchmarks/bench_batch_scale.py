"""The batch at scale: 200 short distinct calls on 4 Celery worker processes (PostgreSQL + Redis),
then the scheduler's own cost as the queue grows from 200 to 5,000 calls.

Part 1 runs a night for real on this machine: ``qa-scoring worker --concurrency 4`` and the batch
driver (in this process) over 200 distinct calls cut from the sample calls. Baseline, in the same
script: the first 40 of those calls on ONE worker process. It reports throughput, the driver's CPU
per call (ingest and scheduling apart), the driver's SQL statements per call, and database
transactions per call over every process (``pg_stat_database.xact_commit``).

Part 2 fills the jobs table with N queued calls (rows only, no audio) for N = 200, 1,000, 5,000
and times what the scheduler and the workers do per step at that size: one poll of the Celery
driver, one worker's claim of a job, ``batch --status`` and the end-of-run report. Each figure is a
ratio to N = 200: a step that grows with N shows ~5 and ~25; a flat one ~1.

    .venv/bin/python benchmarks/bench_batch_scale.py [--calls 200] [--seconds 6] [--json out.json]

Needs PostgreSQL (QA_SCORING_TEST_POSTGRES_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/test)
and Redis (QA_SCORING_TEST_REDIS_URL, default redis://127.0.0.1:6379/14, flushed).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("bank-card-lost.ogg", "broadband-fault-complaint.wav")
CLI = [sys.executable, "-c", "from qa_scoring.cli import main; main()"]


def make_calls(folder: Path, count: int, seconds: float) -> list[Path]:
    """``count`` distinct stereo calls: cuts of the sample calls at varying offsets and gains."""
    from qa_scoring.redact.audio import decode_native

    folder.mkdir(parents=True, exist_ok=True)
    decoded = [decode_native(ROOT / "samples" / "calls" / name) for name in SOURCES]
    out = []
    for i in range(count):
        data, rate = decoded[i % len(decoded)]
        span = int(seconds * rate)
        start = (i * int(rate * 1.7)) % max(1, data.shape[1] - span)
        piece = data[:, start : start + span] * (0.8 + 0.002 * (i % 97))
        path = folder / f"call-{i:04d}.wav"
        sf.write(str(path), np.ascontiguousarray(piece.T), rate, subtype="PCM_16")
        out.append(path)
    return out


@contextmanager
def scratch_database(admin_url: str) -> Iterator[str]:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"qa_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        from qa_scoring.store.db import dispose_engines

        dispose_engines()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def commits(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_stat_clear_snapshot()"))
        value = conn.execute(
            text("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")
        ).scalar_one()
    engine.dispose()
    return int(value)


class StatementCounter:
    """SQL statements sent by this process's engine for ``url`` (the batch driver)."""

    def __init__(self, url: str) -> None:
        from qa_scoring.store.db import get_engine

        self.n = 0
        event.listen(get_engine(url), "before_cursor_execute", self._count)

    def _count(self, *_: Any) -> None:
        self.n += 1


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def night(url: str, redis_url: str, calls: list[Path], folder: Path, processes: int) -> dict[str, Any]:
    """Ingest ``calls``, start one worker with ``processes`` processes, run the batch; measure."""
    import redis

    from qa_scoring.batch.options import BatchOptions
    from qa_scoring.batch.runner import run_batch
    from qa_scoring.config import load_settings
    from qa_scoring.ingest import ingest_paths
    from qa_scoring.store.db import dispose_engines, open_store
    from qa_scoring.store.models import Job

    redis.Redis.from_url(redis_url).flushdb()
    settings = replace(
        load_settings(environ={}), data_dir=folder / "var", database_url=url, celery_broker_url=redis_url
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_SCORING_")}
    env.update(QA_SCORING_DATA_DIR=str(settings.data_dir), QA_SCORING_DATABASE_URL=url,
               QA_SCORING_CELERY_BROKER_URL=redis_url, HF_HUB_OFFLINE="1")  # fmt: skip
    factory = open_store(settings)
    counter = StatementCounter(settings.resolved_database_url)
    cpu = cpu_seconds()
    started = time.perf_counter()
    with factory.begin() as session:
        ingest_paths(session, [str(p) for p in calls])
    ingest_cpu, ingest_wall = cpu_seconds() - cpu, time.perf_counter() - started
    folder.mkdir(parents=True, exist_ok=True)
    log = (folder / f"worker-{processes}.log").open("w")
    command = [*CLI, "worker", "--concurrency", str(processes), "--loglevel", "warning"]
    worker = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        statements, before_commits = counter.n, commits(url)
        cpu, started = cpu_seconds(), time.perf_counter()
        result = run_batch(settings, BatchOptions(engine="celery", progress=False, wait_timeout=3600))
        wall, driver_cpu = time.perf_counter() - started, cpu_seconds() - cpu
        statements = counter.n - statements
        transactions = commits(url) - before_commits
        with factory() as session:
            first, last = session.execute(select(func.min(Job.started_at), func.max(Job.finished_at))).one()
        steady = (last - first).total_seconds()
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=60)
        dispose_engines()
    report, n = result.report, len(calls)
    audio_s = report["audio_hours"] * 3600
    return {
        "worker_processes": processes,
        "calls": n,
        "scored": report["scored"],
        "failed": len(report["failed"]),
        "audio_s": round(audio_s, 1),
        "wall_s": round(wall, 1),
        "calls_per_min": round(n / wall * 60, 2),
        # From the first claim to the last result: without the workers' model loading at start.
        "steady_s": round(steady, 1),
        "steady_calls_per_min": round(n / steady * 60, 2),
        "audio_h_per_wall_h": round(audio_s / wall, 2),
        "ingest_cpu_ms_per_call": round(ingest_cpu / n * 1000, 2),
        "ingest_wall_ms_per_call": round(ingest_wall / n * 1000, 2),
        "driver_cpu_ms_per_call": round(driver_cpu / n * 1000, 2),
        "driver_statements_per_call": round(statements / n, 2),
        "transactions_per_call_all_processes": round(transactions / n, 2),
    }


def timed(step: Callable[[], Any], repeat: int = 5) -> float:
    """Median milliseconds of ``step``."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        step()
        times.append((time.perf_counter() - started) * 1000)
    return sorted(times)[len(times) // 2]


def queue_costs(url: str, sizes: list[int]) -> list[dict[str, Any]]:
    """Per-step cost of the scheduler and the worker at each queue size (rows only, no audio)."""
    from qa_scoring.config import load_settings
    from qa_scoring.store.db import session_factory

    settings = replace(load_settings(environ={}), database_url=url)
    factory = session_factory(url)
    rows = [{"queued": size, **step_costs(factory, *fill(factory, size), settings)} for size in sizes]
    base = rows[0]
    for row in rows:
        for key in ("poll_ms", "claim_ms", "status_ms", "report_ms"):
            row[key.replace("_ms", "_x")] = round(row[key] / base[key], 2)
    return rows


def fill(factory: Any, size: int) -> tuple[int, int]:
    """A running batch run with ``size`` queued calls; returns its id and a call in the middle."""
    from qa_scoring.store.models import BatchRun, Call, Job

    with factory.begin() as s:
        run = BatchRun(engine="celery", status="running")
        s.add(run)
        s.flush()
        calls = [
            Call(audio_path=f"/night/{run.id}/{i}.wav", content_sha256=uuid.uuid4().hex * 2, size_bytes=1)
            for i in range(size)
        ]
        s.add_all(calls)
        s.flush()
        s.add_all(Job(batch_run_id=run.id, call_id=c.id) for c in calls)
        return run.id, calls[size // 2].id


def step_costs(factory: Any, run_id: int, call_id: int, settings: Any) -> dict[str, float]:
    from qa_scoring.batch.celery_engine import poll
    from qa_scoring.batch.process import _claim
    from qa_scoring.batch.report import build_report
    from qa_scoring.batch.status import run_status

    tokens = iter(range(10**6))

    def claim_one() -> None:
        with factory() as s:
            _claim(s, call_id, run_id, f"bench:1:{next(tokens)}", settings.job_lease_s)
            s.rollback()  # leave it queued, so every repeat claims the same job

    def poll_once() -> None:
        with factory.begin() as s:
            poll(s, run_id, settings)

    def status_once() -> None:
        with factory() as s:
            run_status(s, run_id, settings)

    def report_once() -> None:
        with factory() as s:
            build_report(s, run_id, 1.0)

    return {
        "poll_ms": round(timed(poll_once), 2),
        "claim_ms": round(timed(claim_one), 2),
        "status_ms": round(timed(status_once), 2),
        "report_ms": round(timed(report_once, repeat=3), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--baseline-calls", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=6.0, help="length of each call")
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--sizes", type=int, nargs="*", default=[200, 1000, 5000])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    pg = os.environ.get("QA_SCORING_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    redis_url = os.environ.get("QA_SCORING_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
    summary: dict[str, Any] = {"machine_cpus": os.cpu_count(), "load_average_before": os.getloadavg()}
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        work = Path(tmp)
        calls = make_calls(work / "in", args.calls, args.seconds)
        with scratch_database(pg) as url:
            baseline = night(url, redis_url, calls[: args.baseline_calls], work / "one", 1)
        with scratch_database(pg) as url:
            scaled = night(url, redis_url, calls, work / "many", args.processes)
        with scratch_database(pg) as url:
            summary["queue"] = queue_costs(url, args.sizes)
    summary["nights"] = [baseline, scaled]
    summary["throughput_x"] = round(scaled["calls_per_min"] / baseline["calls_per_min"], 2)
    steady = scaled["steady_calls_per_min"] / baseline["steady_calls_per_min"]
    summary["steady_throughput_x"] = round(steady, 2)
    summary["load_average_at_end"] = os.getloadavg()
    for r in summary["nights"]:
        print(f"{r['worker_processes']} worker process(es): {r['scored']}/{r['calls']} calls "
              f"({r['audio_s']} s audio) in {r['wall_s']} s = {r['calls_per_min']} calls/min "
              f"({r['steady_calls_per_min']} from first claim to last result), "
              f"{r['audio_h_per_wall_h']} audio h per wall h; driver {r['driver_cpu_ms_per_call']} ms CPU "
              f"and {r['driver_statements_per_call']} statements per call, ingest "
              f"{r['ingest_cpu_ms_per_call']} ms CPU per call; {r['transactions_per_call_all_processes']} "
              "transactions per call over all processes")  # fmt: skip
    print(f"throughput {args.processes} processes vs 1: {summary['throughput_x']}x, "
          f"steady {summary['steady_throughput_x']}x "
          f"({summary['machine_cpus']} CPUs)")  # fmt: skip
    for row in summary["queue"]:
        print(f"{row['queued']:>6} queued: poll {row['poll_ms']} ms ({row['poll_x']}x), "
              f"claim {row['claim_ms']} ms ({row['claim_x']}x), status {row['status_ms']} ms "
              f"({row['status_x']}x), report {row['report_ms']} ms ({row['report_x']}x)")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
