"""Batch throughput with 1 against 2 workers on the same calls, and peak memory per worker.

Each configuration runs ``qa-scoring batch`` as a subprocess on a fresh store and copies of the
same recordings, so the comparison includes everything a night's run pays (model loading in each
worker, decoding, ASR, diarisation, redaction, scoring, database writes). Peak memory is the
high-water mark (VmHWM) of each process doing the work: the batch process itself with one worker,
the pool's worker processes with more.

    .venv/bin/python benchmarks/bench_batch.py [--calls samples/calls] [--only a.ogg b.wav] [--repeat 2]
        [--json out.json]

Goals: 2 workers >= 1.8x the throughput of 1 (needs >= 2 free cores); <= 2 GB peak per worker.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AUDIO = {".wav", ".mp3", ".flac", ".ogg", ".opus"}


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def _hwm_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _watch(pid: int, peaks: dict[int, int], stop: threading.Event) -> None:
    while not stop.is_set():
        for proc in [pid, *_children(pid)]:
            peaks[proc] = max(peaks.get(proc, 0), _hwm_kb(proc))
        time.sleep(0.2)


def run(workers: int, calls: list[Path], workdir: Path, threads: int = 0) -> dict:
    folder = workdir / f"w{workers}t{threads}"
    (folder / "in").mkdir(parents=True)
    for call in calls:
        shutil.copy(call, folder / "in" / call.name)
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_SCORING_")}
    env.update(QA_SCORING_DATA_DIR=str(folder / "var"), HF_HUB_OFFLINE="1")
    if threads:  # pin the single in-process worker (a pool divides the cores between its workers itself)
        env.update(QA_SCORING_ASR_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    report = folder / "report.json"
    command = [sys.executable, "-c", "from qa_scoring.cli import main; main()", "batch", str(folder / "in"),
               "--workers", str(workers), "--no-progress", "--report", str(report)]  # fmt: skip
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peaks: dict[int, int] = {}
    stop = threading.Event()
    watcher = threading.Thread(target=_watch, args=(proc.pid, peaks, stop), daemon=True)
    watcher.start()
    _, stderr = proc.communicate()
    wall = time.perf_counter() - started
    stop.set()
    watcher.join()
    if proc.returncode != 0:
        raise SystemExit(f"batch with {workers} worker(s) failed:\n{stderr[-3000:]}")
    data = json.loads(report.read_text())
    # With one worker the batch process does the work; with a pool, its children do.
    worker_peaks = [kb for pid, kb in peaks.items() if (pid == proc.pid) == (workers == 1) and kb > 0]
    worker_peaks = sorted(worker_peaks, reverse=True)[:workers]
    audio_s = data["audio_hours"] * 3600
    return {
        "workers": workers,
        "threads_per_worker": threads or ("all" if workers == 1 else "cores/workers"),
        "calls": data["calls"],
        "scored": data["scored"],
        "failed": len(data["failed"]),
        "audio_s": round(audio_s, 1),
        "wall_s": round(wall, 1),
        "audio_s_per_wall_s": round(audio_s / wall, 3),
        "peak_rss_mb_per_worker": [round(kb / 1024) for kb in worker_peaks],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=Path, default=ROOT / "samples" / "calls", help="folder of recordings")
    parser.add_argument("--only", nargs="*", help="file names within --calls to use (default: all)")
    parser.add_argument("--repeat", type=int, default=1, help="copies of each call (distinct content each)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    wanted = set(args.only or [])
    sources = sorted(
        p for p in args.calls.iterdir() if p.suffix.lower() in AUDIO and (not wanted or p.name in wanted)
    )
    if not sources:
        raise SystemExit(f"{args.calls}: no recordings")
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        work = Path(tmp)
        calls = []
        for i in range(args.repeat):
            for src in sources:
                dst = work / "src" / f"{src.stem}-{i}{src.suffix}"
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(src, dst)
                if i:  # a distinct content hash per copy, or ingest would treat it as a duplicate
                    with dst.open("ab") as handle:
                        handle.write(b"\0" * i)
                calls.append(dst)
        load_before = os.getloadavg()
        results = [run(1, calls, work, threads=1), run(1, calls, work), run(2, calls, work)]
    single, base, pool = results
    summary = {
        "machine_cpus": os.cpu_count(),
        "load_average_before": load_before,
        "load_average_at_end": os.getloadavg(),
        "runs": results,
        # Process scaling: 2 workers x 1 thread against 1 worker x 1 thread.
        "speedup_2_vs_1_single_thread": round(pool["audio_s_per_wall_s"] / single["audio_s_per_wall_s"], 2),
        # What an operator sees: 2 workers against the default single worker using every core.
        "speedup_2_vs_1": round(pool["audio_s_per_wall_s"] / base["audio_s_per_wall_s"], 2),
        "max_peak_rss_mb_per_worker": max(base["peak_rss_mb_per_worker"] + pool["peak_rss_mb_per_worker"]),
    }
    for r in results:
        print(f"{r['workers']} worker(s) x {r['threads_per_worker']} thread(s): "
              f"{r['scored']}/{r['calls']} calls, {r['audio_s']} s audio in "
              f"{r['wall_s']} s wall = {r['audio_s_per_wall_s']} audio s per wall s; "
              f"peak RSS per worker {r['peak_rss_mb_per_worker']} MB")  # fmt: skip
    print(f"speedup 2 workers vs 1 single-threaded worker: {summary['speedup_2_vs_1_single_thread']}x "
          f"(goal >= 1.8x); vs 1 worker on all cores: {summary['speedup_2_vs_1']}x; "
          f"max peak per worker {summary['max_peak_rss_mb_per_worker']} MB (goal <= 2048 MB); "
          f"{summary['machine_cpus']} CPUs, load average before/after {summary['load_average_before']} / "
          f"{summary['load_average_at_end']}")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
