"""Call-page latency under 20 concurrent users on loopback, measured with wrk, against a static-file
baseline in the same run.

The app runs as it does in production - ``qa-scoring serve`` (gunicorn, one worker process per CPU)
in its own process - over a SQLite store seeded with real documents scored by the real Scorer:

* ``short``: the sample recording's call (73 s, turn times, no word times);
* ``long``: dev calls joined into a 10-minute call with word times spread evenly over each turn
  (2.6 words a second), so the page carries ~1,500 word spans as a pipeline transcript would.

Load: Debian's ``wrk`` (a compiled load generator, so the client costs little of the shared CPU),
``--users`` threads with one keep-alive connection each and no think time (closed loop: every user
asks again as soon as a page arrives, the harshest form of "20 concurrent users"). Each user signs
in once through the real login form (``requests``), and its wrk thread sends that user's own session
cookie, so the server sees 20 distinct sessions. A Lua script counts every answer that is not 200
(a redirect to the login page would otherwise look like a fast page) and reports p50/p95/p99 from
wrk's latency histogram. Each URL gets a warm-up run, then the measured run.

The baseline is ``/static/app.css`` served by the same server in the same run (the bare HTTP + WSGI
+ session path), so the ratios say what rendering a call page costs over it. Goal: call page p95
under 100 ms. The machine's load average is printed before and after: the client and the server
share the CPUs, so other work on the machine shows up in the figures.

    apt-get install -y wrk          # Debian package; the script stops with this hint without it
    .venv/bin/python benchmarks/bench_web.py [--users 20] [--duration 10] [--serve-args "--workers 2"]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import resource
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT.parent / "shared" / "data" / "calls" / "dev"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # store_seed: stores scored calls without the speech pipeline

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
    from store_seed import agent_named, store_scored_call

    from qa_scoring.scorer import Scorer
    from qa_scoring.store.db import session_scope
    from qa_scoring.store.users import create_user

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


def login(base: str, username: str) -> str:
    """Sign in through the real form; returns the session cookie header for wrk."""
    s = requests.Session()
    page = s.get(f"{base}/login", timeout=30).text
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    r = s.post(
        f"{base}/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
        timeout=30,
    )
    assert r.status_code == 302, r.text[:300]
    # Signing in starts a fresh session without a CSRF token; the first page makes one and sets
    # the cookie again. A browser keeps that cookie; wrk cannot, so take it here (else every
    # measured request would make a new token and set a new cookie).
    s.get(f"{base}/queue/", timeout=30)
    return "; ".join(f"{c.name}={c.value}" for c in s.cookies)


# One wrk thread per user, one connection per thread: setup() hands each thread its user's cookie.
# response() counts non-200 answers; done() prints one JSON line (latencies in microseconds).
LUA = """
local cookies = {%(cookies)s}
local threads = {}
local n = 0
function setup(thread)
  n = n + 1
  thread:set("cookie", cookies[(n - 1) %% #cookies + 1])
  table.insert(threads, thread)
end
function init(args)
  bad = 0
  req = wrk.format("GET", wrk.path, {["Cookie"] = cookie})
end
function request() return req end
function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end
function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do bad = bad + t:get("bad") end
  local e = summary.errors
  io.write(string.format(
    'WRK-JSON {"requests": %%d, "duration_us": %%d, "bytes": %%d, "not_200": %%d, "errors": %%d, '
    .. '"p50": %%d, "p95": %%d, "p99": %%d, "mean": %%.1f, "max": %%d}\\n',
    summary.requests, summary.duration, summary.bytes, bad,
    e.connect + e.read + e.write + e.timeout + e.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.mean, latency.max))
end
"""


def run_wrk(url: str, script: Path, users: int, seconds: float) -> dict[str, float]:
    """One wrk run; adds the CPU seconds wrk itself used (it shares the machine with the server)."""
    command = ["wrk", f"-t{users}", f"-c{users}", f"-d{max(1, round(seconds))}s", "--timeout", "10s"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run([*command, "-s", str(script), url], capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRK-JSON ")), None)
    if done.returncode or line is None:
        raise SystemExit(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    client_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return {**json.loads(line.removeprefix("WRK-JSON ")), "client_cpu": client_cpu}


def server_cpu(pid: int) -> dict[int, float]:
    """CPU seconds used so far by the server process and each of its workers (Linux /proc)."""
    used = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if stat.parent.name == str(pid) or fields[1] == str(pid):  # the master or one of its workers
            used[int(stat.parent.name)] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return used


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20, help="concurrent users (wrk threads = connections)")
    parser.add_argument("--duration", type=int, default=10, help="seconds measured per URL")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per URL")
    parser.add_argument(
        "--serve-args",
        default="",
        help="extra arguments for qa-scoring serve, e.g. '--workers 2 --threads 4'",
    )
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install -y wrk (Debian package)")
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
        command = [str(ROOT / ".venv" / "bin" / "qa-scoring"), "serve", "--port", str(port)]
        command += shlex.split(args.serve_args)
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        results: dict[str, dict[str, float]] = {}
        try:
            for _ in range(150):
                try:
                    requests.get(f"{base}/login", timeout=1)
                    break
                except requests.ConnectionError:
                    if server.poll() is not None:
                        raise SystemExit(
                            f"the server stopped: {Path(tmp, 'serve.log').read_text()}"
                        ) from None
                    time.sleep(0.2)
            cookies = [login(base, f"qa{i}") for i in range(args.users)]
            script = Path(tmp) / "bench.lua"
            script.write_text(LUA % {"cookies": ", ".join(json.dumps(c) for c in cookies)}, encoding="utf-8")
            targets = {
                "static /static/app.css (baseline)": "/static/app.css",
                f"call page short (73 s, id {calls['short']})": f"/calls/{calls['short']}",
                f"call page long (10 min with words, id {calls['long']})": f"/calls/{calls['long']}",
                "review queue": "/queue/",
            }
            load_before = load()
            for name, path in targets.items():
                check = requests.get(base + path, headers={"Cookie": cookies[0]}, timeout=30)
                assert "Set-Cookie" not in check.headers, "the session cookie changes on every request"
                assert check.status_code == 200 and (path.startswith("/static") or "qa0" in check.text), (
                    path,
                    check.status_code,
                )
                run_wrk(base + path, script, args.users, args.warmup)
                cpu = server_cpu(server.pid)
                results[name] = {
                    **run_wrk(base + path, script, args.users, args.duration),
                    "size": len(check.content),
                }
                # Per worker too: a keep-alive connection stays with the worker that accepted it,
                # so the shares show whether the users' connections landed evenly.
                used = {p: t - cpu.get(p, 0.0) for p, t in server_cpu(server.pid).items()}
                results[name]["server_cpu"] = sum(used.values())
                results[name]["shares"] = "/".join(
                    f"{t / args.duration:.2f}" for p, t in sorted(used.items()) if p != server.pid
                )
            load_after = load()
        finally:
            server.terminate()
            server.wait(timeout=20)
            log.close()
    print(
        f"\n{args.users} concurrent users (wrk, closed loop, no think time), {args.duration:g} s per URL, "
        f"qa-scoring serve {args.serve_args or '(defaults)'}, "
        f"{os.cpu_count()} CPUs shared by client and server"
    )
    print(f"load average (1/5/15 min) before: {load_before}, after: {load_after}")
    base_p50, base_p95 = (results[next(iter(results))][k] / 1000 for k in ("p50", "p95"))
    print(
        f"{'URL':<48} {'bytes':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'req/s':>6} "
        f"{'not 200':>7} {'p50 x st':>8} {'p95 x st':>8} {'server CPU ms/req':>17} {'wrk CPU ms/req':>14}"
        "  worker CPU (cores)"
    )
    for name, r in results.items():
        p50, p95, p99 = (r[k] / 1000 for k in ("p50", "p95", "p99"))
        rps = r["requests"] / (r["duration_us"] / 1e6)
        print(
            f"{name:<48} {r['size']:>7.0f} {p50:>7.1f} {p95:>7.1f} {p99:>7.1f} {rps:>6.0f} "
            f"{r['not_200'] + r['errors']:>7.0f} {p50 / base_p50:>8.1f} {p95 / base_p95:>8.1f} "
            f"{1000 * r['server_cpu'] / r['requests']:>17.2f} "
            f"{1000 * r['client_cpu'] / r['requests']:>14.2f}  {r['shares']}"
        )
    bad = sum(r["not_200"] + r["errors"] for r in results.values())
    if bad:
        raise SystemExit(f"{bad} answers were not 200 or failed: the figures above are not valid")


if __name__ == "__main__":
    main()
