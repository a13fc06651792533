"""Faults an overnight batch survives, for real: the broker restarted, the database's connections
cut, the scheduler killed and run again, a worker process of the local pool killed.

Each test asserts that every call ends exactly once with one stored result, and how long the run
took to recover. The Celery tests use the real PostgreSQL and a Redis server of their own (so
restarting it disturbs nothing else); the local ones use SQLite.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from batch_helpers import CLI, batch_settings, env_for, short_calls, start_worker, stop_workers
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from qa_scoring.batch.options import BatchOptions
from qa_scoring.batch.runner import BatchResult, run_batch
from qa_scoring.config import Settings
from qa_scoring.store.db import make_engine, session_factory, upgrade
from qa_scoring.store.models import BatchRun, Call, Job, Scorecard, Transcript


class RedisServer:
    """A throw-away ``redis-server`` without persistence: a restart loses every queued message."""

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            message = "redis-server is not installed (needed to restart a broker mid-run)"
            if os.environ.get("CI") == "true":
                pytest.fail(message)
            pytest.skip(message)
        self.binary, self.folder = binary, folder
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            cwd=self.folder,
            stdout=subprocess.DEVNULL,
        )
        _wait_for(lambda: _answers(self.port), 10, "redis-server did not start")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def _wait_for(condition: Callable[[], bool], seconds: float, message: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, message
        time.sleep(0.1)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.kill()


def _done(factory: sessionmaker[Session]) -> int:
    with factory() as s:
        return s.scalar(select(func.count()).where(Job.state == "done")) or 0


def _batch_in_thread(
    settings: Settings, folder: Path, engine: str, workers: int = 1
) -> tuple[threading.Thread, dict]:
    result: dict = {}

    def batch() -> None:
        options = BatchOptions(
            paths=[str(folder)], engine=engine, workers=workers, progress=False, wait_timeout=300
        )
        result["run"] = run_batch(settings, options)

    runner = threading.Thread(target=batch, daemon=True)
    runner.start()
    return runner, result


def assert_each_call_once(factory: sessionmaker[Session], calls: int) -> None:
    """Every call scored, with one transcript, one set of scorecards and one finished job."""
    with factory() as s:
        assert s.scalar(select(func.count(Call.id)).where(Call.status == "scored")) == calls
        assert s.scalar(select(func.count(Transcript.id))) == calls
        assert s.scalar(select(func.count(Transcript.id)).where(Transcript.version != 1)) == 0
        per_call = s.execute(
            select(Scorecard.call_id, Scorecard.rubric_id, func.count()).group_by(
                Scorecard.call_id, Scorecard.rubric_id
            )
        ).all()
        assert per_call and all(n == 1 for *_, n in per_call)
        done = s.scalars(select(Job.call_id).where(Job.state == "done")).all()
        assert sorted(done) == sorted(set(done)) and len(done) == calls


def _finished(runner: threading.Thread, result: dict) -> BatchResult:
    runner.join(timeout=360)
    assert not runner.is_alive(), "the batch did not finish"
    assert "run" in result, "the batch raised (see the captured log)"
    return result["run"]


def _celery_night(
    tmp_path: Path, postgres_url: str, broker_url: str, count: int
) -> tuple[Settings, list[Path], sessionmaker[Session]]:
    """Settings for a Celery night on ``broker_url``, ``count`` short calls, the store's sessions."""
    settings = replace(
        batch_settings(tmp_path, postgres_url, max_duration_s=60.0, job_lease_s=20.0),
        celery_broker_url=broker_url,
    )
    upgrade(postgres_url)
    return settings, short_calls(tmp_path / "in", count, seconds=8.0), session_factory(postgres_url)


@pytest.mark.postgres
def test_broker_restarted_mid_run_loses_nothing(postgres_url, own_redis, tmp_path):
    settings, calls, factory = _celery_night(tmp_path, postgres_url, own_redis.url, 5)
    worker = start_worker(settings, tmp_path / "worker.log")
    try:
        runner, result = _batch_in_thread(settings, tmp_path / "in", "celery")
        _wait_for(lambda: _done(factory) >= 1, 240, "no call finished before the restart")
        own_redis.kill()  # queued and unacknowledged messages are gone with it
        time.sleep(3)
        own_redis.start()
        restarted, done_then = time.monotonic(), _done(factory)
        _wait_for(lambda: _done(factory) > done_then or _done(factory) == len(calls), 120, "no progress")
        recovery = time.monotonic() - restarted
        run = _finished(runner, result)
    finally:
        stop_workers([worker])
    assert run.report["scored"] == len(calls) and run.report["failed"] == []
    assert_each_call_once(factory, len(calls))
    print(f"broker restart: next call stored {recovery:.1f} s after Redis was back")
    assert recovery < 90


@pytest.mark.postgres
@pytest.mark.redis
def test_database_connections_cut_mid_run_are_reopened(postgres_url, redis_url, tmp_path):
    settings, calls, factory = _celery_night(tmp_path, postgres_url, redis_url, 8)
    database = factory.kw["bind"].url.database
    admin = make_engine(postgres_url.rsplit("/", 1)[0] + "/postgres")
    worker = start_worker(settings, tmp_path / "worker.log")
    cut = 0
    try:
        runner, result = _batch_in_thread(settings, tmp_path / "in", "celery")
        _wait_for(lambda: _done(factory) >= 1, 240, "no call finished before the cut")
        first_cut = time.monotonic()
        for _ in range(3):  # as a failover or an administrator would, three times a second apart
            with admin.connect() as conn:
                cut += len(
                    conn.execute(
                        text(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = :db AND pid <> pg_backend_pid()"
                        ),
                        {"db": database},
                    ).all()
                )
                conn.commit()
            time.sleep(1)
        run = _finished(runner, result)
        recovered = time.monotonic() - first_cut
    finally:
        stop_workers([worker])
        admin.dispose()
    assert cut > 0, "no connection was open to cut"
    assert run.report["scored"] == len(calls) and run.report["failed"] == []
    assert_each_call_once(factory, len(calls))
    print(f"database cut: {cut} connections terminated; run finished {recovered:.1f} s after the first cut")


@pytest.mark.postgres
@pytest.mark.redis
def test_scheduler_killed_and_run_again_resumes_the_same_run(postgres_url, redis_url, tmp_path):
    settings, calls, factory = _celery_night(tmp_path, postgres_url, redis_url, 4)
    command = [*CLI, "batch", str(tmp_path / "in"), "--engine", "celery", "--no-progress"]
    worker = start_worker(settings, tmp_path / "worker.log")
    try:
        first = subprocess.Popen(
            command, env=env_for(settings), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        _wait_for(lambda: _done(factory) >= 1, 240, "no call finished before the scheduler was killed")
        first.kill()
        first.wait()
        killed_at = time.monotonic()
        second = subprocess.run(command, env=env_for(settings), capture_output=True, text=True, timeout=300)
        recovered = time.monotonic() - killed_at
        status = subprocess.run(
            [*CLI, "batch", "--status"], env=env_for(settings), capture_output=True, text=True, timeout=60
        )
    finally:
        stop_workers([worker])
    assert second.returncode == 0, second.stdout + second.stderr
    with factory() as s:
        runs = s.scalars(select(BatchRun)).all()
    assert len(runs) == 1 and runs[0].status == "finished"
    assert f"batch run {runs[0].id} was interrupted; resuming it" in second.stderr
    assert f"{len(calls)} of {len(calls)} calls scored" in second.stdout  # the report covers the night
    assert_each_call_once(factory, len(calls))
    assert status.returncode == 0 and f"batch run {runs[0].id} (celery" in status.stdout
    assert f"{len(calls)} of {len(calls)} calls finished" in status.stdout
    print(f"scheduler kill: run finished {recovered:.1f} s after the kill")


def test_a_pool_worker_killed_mid_call_is_replaced_and_its_call_done_once(sqlite_url, tmp_path):
    settings = batch_settings(tmp_path, sqlite_url, max_duration_s=60.0)
    calls = short_calls(tmp_path / "in", 4, seconds=8.0)
    upgrade(sqlite_url)
    factory = session_factory(sqlite_url)
    runner, result = _batch_in_thread(settings, tmp_path / "in", "local", workers=2)
    victim = None
    deadline = time.monotonic() + 240
    while victim is None:
        assert time.monotonic() < deadline and runner.is_alive(), "no call was seen running"
        with factory() as s:
            job = s.scalars(select(Job).where(Job.state == "running").limit(1)).first()
        if job is not None and job.worker:
            victim = (int(job.worker.split(":")[1]), job.call_id)
        time.sleep(0.1)
    os.kill(victim[0], signal.SIGKILL)
    killed_at = time.monotonic()
    run = _finished(runner, result)
    with factory() as s:
        lost = s.scalars(select(Job).where(Job.call_id == victim[1])).one()
        recovered = (lost.finished_at - lost.started_at).total_seconds()
    assert run.report["scored"] == len(calls) and run.report["failed"] == []
    assert lost.attempts == 2 and lost.state == "done"
    assert_each_call_once(factory, len(calls))
    print(
        f"pool worker kill: its call done {recovered:.1f} s after its second start, "
        f"run finished {time.monotonic() - killed_at:.1f} s after the kill"
    )
