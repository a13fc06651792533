"""Call-page latency under 20 concurrent users on loopback, against a static-file baseline.

The app runs as it does in production - ``qa-scoring serve`` (waitress) in its own process - over a
SQLite store seeded with real documents scored by the real Scorer:

* ``short``: the sample recording's call (73 s, turn times, no word times);
* ``long``: dev calls joined into a 10-minute call with word times spread evenly over each turn
  (2.6 words a second), so the page carries ~1,500 word spans as a pipeline transcript would.

Each of 20 client threads signs in with its own session, then requests its URL in a bounded loop;
p50/p95 are over all requests after a warm-up. The baseline is ``/static/app.css`` served by the
same server in the same run, so the ratio says what rendering a call page costs over the bare
HTTP + WSGI path. Goal: call page p95 under 100 ms.

    .venv/bin/python benchmarks/bench_web.py [--users 20] [--requests 40]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT.parent / "shared" / "data" / "calls" / "dev"
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from qa_scoring.transcript import Transcript  # noqa: E402

PASSWORD = "bench-password-1"


def long_call() -> Transcript:
    turns, t = [], 0.5
    for path in sorted(DEV.glob("dev-*.json")):
        for turn in json.loads(path.read_text(encoding="utf-8"))["turns"]:
            words = turn["text"].split()
            length = max(0.6, len(words) / 2.6)
            step = length / max(1, len(words))
            turn = {
                **turn,
                "start": round(t, 2),
                "end": round(t + length, 2),
                "words": [
                    {"text": w, "start": round(t + i * step, 2), "end": round(t + (i + 1) * step, 2)}
                    for i, w in enumerate(words)
                ],
            }
            turns.append(turn)
            t += length + 0.4
            if t > 600:
                return Transcript.from_dict(
                    {"call_id": "bench-long", "turns": turns, "duration": round(t, 2)}
                )
    return Transcript.from_dict({"call_id": "bench-long", "turns": turns, "duration": round(t, 2)})


def seed(url: str, users: int) -> dict[str, int]:
    from qa_scoring.rubric.scorer import Scorer
    from qa_scoring.store.db import session_scope
    from web.auth import create_user
    from web.seed import agent_named, store_scored_call

    scorer = Scorer.load()
    truth_path = ROOT / "samples" / "calls" / "bank-card-lost.truth.json"
    truth = json.loads(truth_path.read_text(encoding="utf-8"))
    short = Transcript.from_dict(truth)
    short.duration = truth["duration"]
    long = long_call()
    with session_scope(url) as s:
        agent = agent_named(s, "B1", "Bench Agent", "Bench team")
        when = dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)
        a = store_scored_call(
            s,
            document=short.to_dict(),
            scored=scorer.score(short),
            agent=agent,
            audio_path=truth_path.parent / truth["audio"],
            started_at=when,
        )
        b = store_scored_call(
            s, document=long.to_dict(), scored=scorer.score(long), agent=agent, started_at=when
        )
        for i in range(users):
            create_user(s, f"qa{i}", PASSWORD, "qa_officer")
        return {"short": a.id, "long": b.id}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def login(base: str, username: str) -> requests.Session:
    s = requests.Session()
    page = s.get(f"{base}/login", timeout=30).text
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    r = s.post(
        f"{base}/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
    )
    assert r.status_code == 302, r.text[:300]
    return s


def drive(sessions: list[requests.Session], url: str, per_user: int, warmup: int = 3) -> list[float]:
    def one(s: requests.Session) -> list[float]:
        times = []
        for i in range(per_user + warmup):
            t0 = time.perf_counter()
            r = s.get(url, timeout=60)
            elapsed = time.perf_counter() - t0
            assert r.status_code == 200, (url, r.status_code)
            if i >= warmup:
                times.append(elapsed * 1000)
        return times

    with ThreadPoolExecutor(len(sessions)) as pool:
        return [t for ts in pool.map(one, sessions) for t in ts]


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--requests", type=int, default=40, help="requests per user per URL")
    parser.add_argument("--threads", type=int, default=8, help="waitress threads")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.sqlite3"
        print("seeding (loads the scorer)...", flush=True)
        calls = seed(url, args.users)
        from qa_scoring.store.db import dispose_engines

        dispose_engines()
        port = free_port()
        env = {
            **os.environ,
            "QA_SCORING_DATABASE_URL": url,
            "QA_SCORING_DATA_DIR": tmp,
            "QA_SCORING_SECRET_KEY": "bench",
        }
        # The server's log goes to a file: an unread pipe fills up under load and stalls the server.
        log = open(Path(tmp) / "serve.log", "w")  # noqa: SIM115 - closed in finally
        server = subprocess.Popen(
            [
                str(ROOT / ".venv" / "bin" / "qa-scoring"),
                "serve",
                "--port",
                str(port),
                "--threads",
                str(args.threads),
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(100):
                try:
                    requests.get(f"{base}/login", timeout=1)
                    break
                except requests.ConnectionError:
                    time.sleep(0.2)
            sessions = [login(base, f"qa{i}") for i in range(args.users)]
            results = {}
            targets = {
                "static /static/app.css (baseline)": "/static/app.css",
                f"call page short (73 s, id {calls['short']})": f"/calls/{calls['short']}",
                f"call page long (10 min with words, id {calls['long']})": f"/calls/{calls['long']}",
                "review queue": "/queue/",
            }
            for name, path in targets.items():
                size = len(sessions[0].get(base + path).content)
                t0 = time.perf_counter()
                times = drive(sessions, base + path, args.requests)
                wall = time.perf_counter() - t0
                results[name] = (pct(times, 50), pct(times, 95), len(times) / wall, size)
        finally:
            server.terminate()
            server.wait(timeout=10)
            log.close()
    print(
        f"\n{args.users} concurrent users, {args.requests} requests each per URL, "
        f"waitress {args.threads} threads, "
        f"{os.cpu_count()} CPUs"
    )
    base_p50, base_p95 = list(results.values())[0][:2]
    print(f"{'URL':<48} {'bytes':>8} {'p50 ms':>8} {'p95 ms':>8} {'req/s':>7} {'p95 x static':>12}")
    for name, (p50, p95, rps, size) in results.items():
        print(f"{name:<48} {size:>8} {p50:>8.1f} {p95:>8.1f} {rps:>7.0f} {p95 / base_p95:>12.1f}")


if __name__ == "__main__":
    main()
