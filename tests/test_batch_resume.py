"""A batch killed with SIGKILL mid-run resumes with every call scored exactly once."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from batch_helpers import batch_settings, env_for, short_calls

CLI = [sys.executable, "-c", "from qa_scoring.cli import main; main()"]


def _count(db: Path, sql: str) -> int:
    with sqlite3.connect(db, timeout=30) as conn:
        try:
            return conn.execute(sql).fetchone()[0]
        except sqlite3.OperationalError:  # schema not created yet
            return 0


def _wait_for_a_done_call(db: Path, batch: subprocess.Popen, before: str) -> None:
    """Poll the store until the running batch has finished one call, so it is stopped mid-run."""
    deadline = time.monotonic() + 240
    while _count(db, "SELECT count(*) FROM jobs WHERE state = 'done'") < 1:
        assert batch.poll() is None, f"batch ended before {before}:\n{batch.stdout.read().decode()}"
        assert time.monotonic() < deadline, "no call stored within 240 s"
        time.sleep(0.1)


def test_sigkill_then_rerun_scores_every_call_exactly_once(tmp_path: Path) -> None:
    db = tmp_path / "store.sqlite3"
    settings = batch_settings(tmp_path, f"sqlite:///{db}", max_duration_s=30.0)
    calls = short_calls(tmp_path / "in", 4, seconds=8.0)
    command = [*CLI, "batch", str(tmp_path / "in"), "--workers", "1", "--no-progress"]
    env = env_for(settings)

    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    _wait_for_a_done_call(db, first, "it could be killed")
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    done_before = _count(db, "SELECT count(*) FROM jobs WHERE state = 'done'")
    assert done_before < len(calls), "the kill came too late to test resuming"
    assert _count(db, "SELECT count(*) FROM batch_runs WHERE status = 'running'") == 1  # died without cleanup

    report_file = tmp_path / "report.json"
    second = subprocess.run(
        [*command, "--report", str(report_file)], env=env, capture_output=True, text=True, timeout=300
    )
    assert second.returncode == 0, second.stdout + second.stderr
    assert "died; resuming" in second.stderr
    assert "batch run 1 was interrupted; resuming it" in second.stderr  # the same run goes on

    assert _count(db, "SELECT count(*) FROM calls WHERE status = 'scored'") == len(calls)
    assert _count(db, "SELECT count(*) FROM calls") == len(calls)
    # Exactly once: one transcript per call, one done job per call over both runs, no duplicate cards.
    assert _count(db, "SELECT count(*) FROM transcripts") == len(calls)
    assert _count(db, "SELECT count(*) FROM transcripts WHERE version <> 1") == 0
    assert _count(db, "SELECT count(*) FROM jobs") == len(calls)  # one job per call: one run
    assert _count(db, "SELECT count(*) FROM jobs WHERE state = 'done'") == len(calls)
    assert (
        _count(
            db,
            "SELECT count(*) FROM (SELECT call_id, rubric_id FROM scorecards "
            "GROUP BY call_id, rubric_id HAVING count(*) > 1)",
        )
        == 0
    )
    assert (
        _count(
            db,
            "SELECT count(*) FROM jobs WHERE state IN ('running', 'pending') "
            "AND batch_run_id = (SELECT max(id) FROM batch_runs)",
        )
        == 0
    )
    assert _count(db, "SELECT count(*) FROM batch_runs") == 1
    assert _count(db, "SELECT count(*) FROM batch_runs WHERE status = 'finished'") == 1
    # The report covers the whole night, not only the part after the restart.
    assert f"{len(calls)} of {len(calls)} calls scored" in second.stdout
    report = json.loads(report_file.read_text())
    assert report["scored"] == len(calls) and report["failed"] == []
    assert report["audio_hours"] == pytest.approx(len(calls) * 8.0 / 3600, rel=0.05)


def _as_in_a_terminal() -> None:
    """Ctrl-C interrupts, as in a terminal. A test run started in the background by a non-interactive
    shell (`.ci/run &`, a CI runner) inherits SIGINT ignored, and Python then installs no
    KeyboardInterrupt handler: the batch would rightly carry on and the test fail for the wrong reason."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_on_a_process_pool_stops_cleanly_and_resumes(tmp_path: Path) -> None:
    """Ctrl-C reaches the whole process group (driver and pool workers), as in a terminal."""
    from qa_scoring.batch.options import BatchOptions
    from qa_scoring.batch.runner import run_batch

    db = tmp_path / "store.sqlite3"
    settings = batch_settings(tmp_path, f"sqlite:///{db}", max_duration_s=30.0)
    # Enough work left after the first call to interrupt it even on a busy machine (a call takes ~1 s).
    calls = short_calls(tmp_path / "in", 10, seconds=12.0)
    command = [*CLI, "batch", str(tmp_path / "in"), "--workers", "2", "--no-progress"]
    first = subprocess.Popen(
        command,
        env=env_for(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        preexec_fn=_as_in_a_terminal,
    )
    _wait_for_a_done_call(db, first, "Ctrl-C")
    os.killpg(first.pid, signal.SIGINT)
    output = first.communicate(timeout=60)[0].decode()
    assert first.returncode == 130, output
    assert "interrupted" in output
    done_before = _count(db, "SELECT count(*) FROM jobs WHERE state = 'done'")
    assert done_before < len(calls), f"Ctrl-C came after the last call:\n{output}"
    assert _count(db, "SELECT count(*) FROM batch_runs WHERE status = 'interrupted'") == 1, output
    assert _count(db, "SELECT count(*) FROM jobs WHERE state = 'running'") == 0, output
    assert _count(db, "SELECT count(*) FROM calls WHERE status = 'processing'") == 0, output

    result = run_batch(settings, BatchOptions(workers=1, progress=False))
    assert result.report["scored"] == len(calls) - done_before
    assert _count(db, "SELECT count(*) FROM calls WHERE status = 'scored'") == len(calls)
    assert _count(db, "SELECT count(*) FROM transcripts") == len(calls)


def test_a_killed_run_whose_calls_all_finished_meanwhile_is_closed_not_doubled(tmp_path: Path) -> None:
    """Celery workers go on while the scheduler is down and may finish everything before it is run
    again: the re-run closes the same run (its report covers the night) instead of starting another."""
    from sqlalchemy import select, update

    from qa_scoring.batch.options import BatchOptions
    from qa_scoring.batch.runner import run_batch
    from qa_scoring.store.db import open_store
    from qa_scoring.store.models import BatchRun

    db = tmp_path / "store.sqlite3"
    settings = batch_settings(tmp_path, f"sqlite:///{db}", max_duration_s=30.0)
    short_calls(tmp_path / "in", 1, seconds=4.0)
    options = BatchOptions(paths=(str(tmp_path / "in"),), workers=1, progress=False)
    first = run_batch(settings, options, echo=lambda _line: None)
    with open_store(settings).begin() as session:  # as if its scheduler had been killed at the end
        session.execute(update(BatchRun).values(status="interrupted"))
    said: list[str] = []
    again = run_batch(settings, options, echo=said.append)
    assert again.run_id == first.run_id
    assert f"batch run {first.run_id} was interrupted; resuming it" in said
    with open_store(settings)() as session:
        runs = session.scalars(select(BatchRun)).all()
    assert [(r.id, r.status) for r in runs] == [(first.run_id, "finished")]
    assert again.report["scored"] == 1
