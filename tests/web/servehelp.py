"""``qa-scoring serve`` started as in production (gunicorn workers forked from one app) for tests
that need real processes: waits until every worker is up, stops the server with SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests


@dataclass
class Served:
    base: str
    process: subprocess.Popen
    log: Path

    def workers(self) -> list[int]:
        """The gunicorn worker processes (children of the master)."""
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                if stat.read_text().rpartition(")")[2].split()[1] == str(self.process.pid):
                    children.append(int(stat.parent.name))
            except OSError:
                continue
        return children

    def wait_for_workers(self, count: int, timeout: float = 60) -> list[int]:
        deadline = time.monotonic() + timeout
        while len(self.workers()) < count:
            assert self.process.poll() is None and time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.1)
        return self.workers()


@contextmanager
def serve(url: str, folder: Path, workers: int = 2, threads: int = 2) -> Iterator[Served]:
    """Serve the store at ``url``; ``folder`` gets the data dir and the server log."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_SCORING_")}
    # No secret key configured: the master must make one key that every worker uses.
    env |= {"QA_SCORING_DATABASE_URL": url, "QA_SCORING_DATA_DIR": str(folder / "data")}
    log_path = folder / "serve.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        [sys.executable, "-c", "from qa_scoring.cli import main; main()", "serve", "--port", str(port)]
        + ["--workers", str(workers), "--threads", str(threads)],
        env=env,
        cwd=folder,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    served = Served(f"http://127.0.0.1:{port}", process, log_path)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(f"{served.base}/login", timeout=2)
                break
            except requests.ConnectionError:
                assert process.poll() is None and time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.2)
        # The first worker can answer before the master has forked the others: wait for all.
        served.wait_for_workers(workers)
        yield served
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=30)
        log.close()
    assert code == 0, log_path.read_text()
