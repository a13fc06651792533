"""Behaviour detection speed: milliseconds per call, against a rules-only baseline in the same run.

A 10-minute call is simulated by stitching dev calls together until it holds about 1,500 words
(roughly 150 words a minute of two-party speech). Three timings, each the median of several runs
after a warm-up, all with models already loaded:

- rules only: canonical text + regex cue rules with the negation window (the baseline);
- full detect: rules + static (distilled MiniLM) embedding of every turn + word n-grams + classifiers;
- embedding only: the static embedding alone, to show where the time goes;
- full detect with the word-piece cache emptied first, (worst case: load warms it with the training words).

Run: ``.venv/bin/python benchmarks/bench_behaviours.py`` (needs a trained model:
``qa-scoring train data/labelled``).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa_scoring.behaviours import (  # noqa: E402
    BehaviourDetector,  # noqa: E402
    rules,
    text,
)
from qa_scoring.behaviours.labelled import load_dir  # noqa: E402
from qa_scoring.transcript import Transcript  # noqa: E402

TARGET_WORDS = 1500
REPEATS = 7


def ten_minute_call() -> Transcript:
    shared = ROOT.parent / "shared" / "data" / "calls" / "dev"
    calls = load_dir(shared if shared.is_dir() else ROOT / "data" / "labelled")
    turns, words = [], 0
    for call in calls:
        for turn in call.transcript.turns:
            turns.append({"speaker": turn.role, "text": turn.text})
            words += len(turn.text.split())
        if words >= TARGET_WORDS:
            break
    return Transcript.from_dict({"call_id": "bench-10min", "turns": turns})


def median_ms(fn) -> float:
    fn()
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    call = ten_minute_call()
    n_words = sum(len(t.text.split()) for t in call.turns)
    detector = BehaviourDetector.load()

    def rules_only() -> None:
        rules.call_flags([text.canonical(t.text) for t in call.turns])

    def cold() -> None:
        detector.embedder._cache.clear()  # nothing seen yet, not even the training words
        detector.detect(call)

    def embed_only() -> None:
        detector.embedder.encode([text.canonical(t.text) for t in call.turns])

    base = median_ms(rules_only)
    full = median_ms(lambda: detector.detect(call))
    emb = median_ms(embed_only)
    first = median_ms(cold)
    print(f"call: {len(call.turns)} turns, {n_words} words (~10 minutes of speech); load {os.getloadavg()}")
    print(f"rules only (baseline): {base:8.1f} ms/call")
    print(f"embedding only:        {emb:8.1f} ms/call")
    print(f"full detect:           {full:8.1f} ms/call  ({full / base:.1f}x the rules-only baseline)")
    print(f"full, cold word cache: {first:8.1f} ms/call  ({first / base:.1f}x the rules-only baseline)")


if __name__ == "__main__":
    main()
