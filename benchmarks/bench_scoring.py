"""Milliseconds to pre-score a 10-minute call once the scorer is loaded: full scorer vs metrics only.

The call is built by concatenating dev call turns with plausible times (2.6 words a second, short
gaps, the hold markers' gaps as holds) until it reaches 10 minutes. The baseline is the call
metrics alone, the cheapest part; the ratio says what behaviour detection and rubric evaluation
add. Goal: 50 ms or less per 10-minute call.

    .venv/bin/python benchmarks/bench_scoring.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
DEV = ROOT.parent / "shared" / "data" / "calls" / "dev"
sys.path.insert(0, str(ROOT))

from qa_scoring.config import load_settings  # noqa: E402
from qa_scoring.rubric.evaluate import evaluate  # noqa: E402
from qa_scoring.rubric.metrics import HOLD_MARKER, compute_metrics  # noqa: E402
from qa_scoring.scorer import Scorer  # noqa: E402
from qa_scoring.transcript import Transcript  # noqa: E402

WORDS_PER_SECOND = 2.6
TARGET_SECONDS = 600.0


def ten_minute_call() -> Transcript:
    if not DEV.is_dir():
        sys.exit(f"{DEV}: dev calls missing (the ../shared checkout is needed)")
    turns, clock = [], 0.5
    for path in sorted(DEV.glob("dev-*.json")):
        for turn in json.loads(path.read_text(encoding="utf-8"))["turns"]:
            if HOLD_MARKER.search(turn["text"]):
                clock += 40.0
            length = max(0.6, len(turn["text"].split()) / WORDS_PER_SECOND)
            end = clock + length
            turns.append({"speaker": turn["speaker"], "text": turn["text"], "start": clock, "end": end})
            clock += length + 0.4
            if clock >= TARGET_SECONDS:
                return Transcript.from_dict({"turns": turns, "duration": clock}, call_id="bench-10min")
    sys.exit("not enough dev turns for 10 minutes")


def timed(fn, repeat: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000.0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    call = ten_minute_call()
    settings = load_settings()
    start = time.perf_counter()
    scorer = Scorer.load(settings)
    load_s = time.perf_counter() - start
    words = sum(len(t.text.split()) for t in call.turns)
    print(f"call: {len(call.turns)} turns, {words} words, {call.turns[-1].end:.0f} s; "
          f"{len(scorer.rubrics)} rubrics; scorer load {load_s:.1f} s")  # fmt: skip
    baseline = timed(lambda: compute_metrics(call), args.repeat)
    behaviours, metrics = scorer.detector.detect(call), compute_metrics(call)
    rubrics = timed(lambda: [evaluate(r, behaviours, metrics) for r in scorer.rubrics.values()], args.repeat)
    detect = timed(lambda: scorer.detector.detect(call), args.repeat)
    full = timed(lambda: scorer.score(call), args.repeat)
    base_ms, full_ms = statistics.median(baseline), statistics.median(full)
    print(f"metrics only (baseline): median {base_ms:8.2f} ms  (min {min(baseline):.2f})")
    print(f"rubric evaluation only:  median {statistics.median(rubrics):8.2f} ms  (min {min(rubrics):.2f})")
    print(f"behaviour detection:     median {statistics.median(detect):8.2f} ms  (min {min(detect):.2f})")
    print(f"full scorer:             median {full_ms:8.2f} ms  (min {min(full):.2f})")
    verdict = "met" if full_ms <= 50 else "NOT met"
    print(f"ratio full/baseline: {full_ms / base_ms:.1f}x; goal <= 50 ms: {verdict}")


if __name__ == "__main__":
    main()
