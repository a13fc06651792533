"""Learning (``qa-scoring learn``, :mod:`qa_scoring.learning`) as a background job that the admin
"Model" page starts and watches.

The job is the command itself in a subprocess, with the caller's settings passed as ``QA_SCORING_*``
variables, so it trains exactly what the command line would and its report lands where the command
line puts it (``<data_dir>/learning/<timestamp>/report.json``). Its files are in
``<data_dir>/learning/job/``:

- ``job.json``: the job's pid, when it started and who started it. It stays after the job ends, as
  the record of the last job; a job whose process is gone (finished, killed, the machine restarted)
  never blocks the next one.
- ``stderr.txt`` / ``stdout.txt``: what the command printed: its progress lines on stderr (it is run
  without ``--json``), its summary on stdout.
- ``start.lock``: held (created exclusively) only while a job is being started, so two requests,
  in one process or in two web workers, cannot both start one.

Only one job runs per data folder. Nothing here knows the web layer.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from qa_scoring.config import ENV_PREFIX, Settings

JOB_DIR = Path("learning") / "job"
JOB_FILE = "job.json"
LOCK_FILE = "start.lock"
STDOUT = "stdout.txt"
STDERR = "stderr.txt"
REPORT_STAMP = "%Y%m%dT%H%M%SZ"  # the name qa_scoring.learning gives a run's folder
STALE_LOCK_S = 60.0  # a start lock older than this was left by a process that died mid-start
TAIL_LINES = 20
# Not python -m qa_scoring.cli: the module has no __main__ guard.
COMMAND = ("-c", "from qa_scoring.cli import main; main()", "learn")
# Settings a learning run has no use for (and that should not sit in a process environment).
NOT_PASSED = {"secret_key"}

# Jobs this process started: polled so that a finished one is reaped (not left a zombie) and its
# exit status known. Other processes see a job only through job.json and the process table.
_children: dict[int, subprocess.Popen[bytes]] = {}


class JobRunning(RuntimeError):
    """A learning job is already running (or being started); the message says since when."""


@dataclass
class Job:
    """The current or last learning job."""

    pid: int
    started_at: str  # ISO 8601, UTC, seconds
    started_by: str
    running: bool
    progress: list[str]  # the last lines it printed on stderr
    output: list[str]  # the last lines it printed on stdout
    exit_code: int | None  # known only to the process that started it, once it ended
    report: dict[str, Any] | None  # the report of the run it started, once written

    @property
    def started(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.started_at)


def job_dir(settings: Settings) -> Path:
    return Path(settings.data_dir) / JOB_DIR


def child_environment(settings: Settings, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of the job: this one, with every setting (but the secret key) as a variable,
    so the command's ``get_settings`` reads the same settings the caller has."""
    env = dict(os.environ if base is None else base)
    for f in fields(Settings):
        if f.name in NOT_PASSED:
            env.pop(ENV_PREFIX + f.name.upper(), None)
        else:
            env[ENV_PREFIX + f.name.upper()] = str(getattr(settings, f.name))
    env[ENV_PREFIX + "DATABASE_URL"] = settings.resolved_database_url
    return env


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _read_record(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / JOB_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("pid"), int) else None


def _alive(pid: int) -> bool:
    """Whether the job process ``pid`` still runs: not gone, not a zombie, and still a qa_scoring
    process (a pid the system gave to another program after the job ended does not count)."""
    child = _children.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False  # another user's process: the pid was reused
    proc = Path("/proc") / str(pid)
    try:
        state = (proc / "stat").read_text(encoding="utf-8", errors="replace").rsplit(")", 1)[1].split()[0]
        cmdline = (proc / "cmdline").read_bytes()
    except (OSError, IndexError):
        return True  # no /proc (not Linux): the signal check is all there is
    return state not in ("Z", "X") and b"qa_scoring" in cmdline


def _tail(path: Path, lines: int = TAIL_LINES) -> list[str]:
    try:
        with path.open(encoding="utf-8", errors="replace") as fh:
            return [line.rstrip("\n") for line in deque(fh, maxlen=lines)]
    except OSError:
        return []


def latest_report(settings: Settings, since: dt.datetime | None = None) -> dict[str, Any] | None:
    """The newest ``<data_dir>/learning/<timestamp>/report.json`` (one started at or after ``since``
    when given), with ``finished_at`` (when it was written) added; None when there is none."""
    root = Path(settings.data_dir) / "learning"
    found = []
    for path in root.glob("*/report.json"):
        try:
            stamp = dt.datetime.strptime(path.parent.name, REPORT_STAMP).replace(tzinfo=dt.UTC)
        except ValueError:
            continue
        if since is None or stamp >= since.replace(microsecond=0):
            found.append((stamp, path))
    for _, path in sorted(found, reverse=True):
        try:
            report = json.loads(path.read_text(encoding="utf-8"))
            mtime = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
        except (OSError, ValueError):
            continue
        report["finished_at"] = mtime.isoformat(timespec="seconds")
        return report
    return None


def current(settings: Settings) -> Job | None:
    """The running job, or else the last one; None when no job was ever started here."""
    folder = job_dir(settings)
    record = _read_record(folder)
    if record is None:
        return None
    pid = record["pid"]
    running = _alive(pid)
    child = _children.get(pid)
    exit_code = child.returncode if child is not None else None
    started_at = str(record.get("started_at") or "")
    try:
        dt.datetime.fromisoformat(started_at)
    except ValueError:
        started_at = _now()
    job = Job(
        pid,
        started_at,
        str(record.get("started_by") or ""),
        running,
        _tail(folder / STDERR),
        _tail(folder / STDOUT),
        exit_code,
        None,
    )
    if not running:
        job.report = latest_report(settings, job.started)
    return job


def _take_lock(folder: Path) -> int:
    lock = folder / LOCK_FILE
    for _ in range(2):
        try:
            return os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                age = time.time() - lock.stat().st_mtime
            except FileNotFoundError:
                continue
            if age < STALE_LOCK_S:
                raise JobRunning("a learning job is being started") from None
            lock.unlink(missing_ok=True)
    raise JobRunning("a learning job is being started")


def start(settings: Settings, started_by: str) -> Job:
    """Start learning in the background; JobRunning when a job already runs."""
    folder = job_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    fd = _take_lock(folder)
    try:
        running = current(settings)
        if running is not None and running.running:
            raise JobRunning(f"learning is already running (since {running.started_at}, pid {running.pid})")
        started_at = _now()
        with (folder / STDOUT).open("wb") as out, (folder / STDERR).open("wb") as err:
            child = subprocess.Popen(
                [sys.executable, *COMMAND],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=child_environment(settings),
                start_new_session=True,  # its own process group: stop() ends it and what it started
            )
        _children[child.pid] = child
        record = {"pid": child.pid, "started_at": started_at, "started_by": started_by}
        tmp = folder / f"{JOB_FILE}.tmp"
        tmp.write_text(json.dumps(record), encoding="utf-8")
        os.replace(tmp, folder / JOB_FILE)
    finally:
        os.close(fd)
        (folder / LOCK_FILE).unlink(missing_ok=True)
    job = current(settings)
    assert job is not None
    return job


def stop(settings: Settings, timeout: float = 10.0) -> bool:
    """End the running job (its whole process group); False when none was running."""
    job = current(settings)
    if job is None or not job.running:
        return False
    try:
        os.killpg(job.pid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while _alive(job.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if _alive(job.pid):
        os.killpg(job.pid, signal.SIGKILL)
    return True
