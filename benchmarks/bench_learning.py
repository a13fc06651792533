"""Learning from reviewers: how much k reviewed calls of a new source improve the pre-scores there.

The setting of ``qa-scoring learn`` replayed on the project's labelled calls, where the truth is
known. One source (a writing batch of ``data/labelled/sources.yaml``) plays the new contact centre:

1. baseline: the model trained on every other source;
2. k = 5, 10, 20 calls of the held-out source come back as reviewer decisions and join the training
   set with the weight ``learn`` gives them (``learning.REVIEWED_WEIGHT``), keeping the baseline's
   regularisation as ``learn`` does, in two forms:
   - "call-level": only the call labels, as a review gives them; the baseline model picks each
     "present" label's turn (``review.learning.labelled_document``, the product's own code);
   - "pointed": the reviewer also pointed at the turns (the calls' own turn tags);
3. every model is measured on the same calls of that source (the ones never fed back), and on the
   dev calls in ../shared (another source again: learning one centre must not cost the others).

Also timed: one retraining with 200 reviewed calls added to the project's calls.

Run: ``.venv/bin/python benchmarks/bench_learning.py [--source BATCH ...] [--json OUT]``.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa_scoring.behaviours import BEHAVIOUR_IDS, BehaviourDetector  # noqa: E402
from qa_scoring.behaviours import measure as ev  # noqa: E402
from qa_scoring.behaviours.classifier import model_settings  # noqa: E402
from qa_scoring.behaviours.labelled import LabelledCall, load_dir  # noqa: E402
from qa_scoring.behaviours.sources import load_sources  # noqa: E402
from qa_scoring.learning import REVIEWED_WEIGHT  # noqa: E402
from qa_scoring.review.learning import ReviewedCall, labelled_document  # noqa: E402

KS = (5, 10, 20)
POOL = max(KS)
DEFAULT_SOURCES = ("new-styles-241-280", "hard-081-140")
DEV = ROOT.parent / "shared" / "data" / "calls" / "dev"


def as_reviewed(item: ev.Featurised, detector: BehaviourDetector) -> ev.Featurised:
    """The call as ``learn`` would export it from a review: call labels only, turns picked by the model."""
    call = item.call
    labels = {b: v for b, v in call.labels.items() if v is not None}
    doc = labelled_document(ReviewedCall(0, 0, call.transcript, labels, len(labels)), detector)
    tags = [set(t["behaviours"]) for t in doc["turns"]]
    return ev.Featurised(replace(call, tags=tags, labels=doc["labels"]), item.features)


def measure(models, items: list[ev.Featurised]) -> dict:
    return ev.scores([f.call.labels for f in items], ev.predict(models, items))


def run_source(
    source: str, items: list[ev.Featurised], groups: list[str], dev: list[ev.Featurised], embedder
):
    others = [f for f, g in zip(items, groups, strict=True) if g != source]
    mine = [f for f, g in zip(items, groups, strict=True) if g == source]
    random.Random(f"bench-learning/{source}").shuffle(mine)
    pool, test = mine[:POOL], mine[POOL:]
    started = time.perf_counter()
    baseline = ev.fit(others)
    fit_s = time.perf_counter() - started
    detector = BehaviourDetector(baseline, embedder)
    base_test, base_dev = measure(baseline, test), measure(baseline, dev)
    rows = [{"k": 0, "mode": "baseline", "test": base_test, "dev": base_dev}]
    print(
        f"{source}: {len(others)} training calls, {len(test)} test calls; baseline macro-F1 "
        f"{base_test['macro_f1']:.3f} (dev {base_dev['macro_f1']:.3f}); fit {fit_s:.0f} s",
        flush=True,
    )
    for k in KS:
        for mode in ("call-level", "pointed"):
            fed = pool[:k] if mode == "pointed" else [as_reviewed(f, detector) for f in pool[:k]]
            weights = [1.0] * len(others) + [REVIEWED_WEIGHT] * k
            model = ev.fit(others + fed, weights=weights, settings=model_settings(baseline))
            row = {"k": k, "mode": mode, "test": measure(model, test), "dev": measure(model, dev)}
            rows.append(row)
            worst = min(
                BEHAVIOUR_IDS,
                key=lambda b: row["test"]["behaviours"][b]["f1"] - base_test["behaviours"][b]["f1"],
            )
            delta = row["test"]["behaviours"][worst]["f1"] - base_test["behaviours"][worst]["f1"]
            print(
                f"  k={k:2} {mode:10} macro-F1 {row['test']['macro_f1']:.3f} "
                f"({row['test']['macro_f1'] - base_test['macro_f1']:+.3f}); worst behaviour {worst} "
                f"{delta:+.3f}; dev {row['dev']['macro_f1']:.3f} "
                f"({row['dev']['macro_f1'] - base_dev['macro_f1']:+.3f})",
                flush=True,
            )
    return {"source": source, "train_calls": len(others), "test_calls": len(test), "rows": rows}


def time_retraining(items: list[ev.Featurised], embedder, reviewed: int = 200) -> dict:
    """One ``learn``-sized fit: the project's calls plus ``reviewed`` call-level reviewed calls."""
    base = ev.fit(items)
    detector = BehaviourDetector(base, embedder)
    fed = [as_reviewed(items[i % len(items)], detector) for i in range(reviewed)]
    fed = [
        ev.Featurised(replace(f.call, path=f.call.path.with_name(f"reviewed-{i}.json")), f.features)
        for i, f in enumerate(fed)
    ]
    started = time.perf_counter()
    ev.fit(
        items + fed, weights=[1.0] * len(items) + [REVIEWED_WEIGHT] * reviewed, settings=model_settings(base)
    )
    seconds = time.perf_counter() - started
    print(f"retraining on {len(items)} project + {reviewed} reviewed calls: {seconds:.0f} s", flush=True)
    return {"project_calls": len(items), "reviewed_calls": reviewed, "seconds": round(seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", action="append", help="writing batch to hold out (repeatable)")
    parser.add_argument("--no-timing", action="store_true", help="skip the 200-reviewed-call timing")
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    calls: list[LabelledCall] = load_dir(ROOT / "data" / "labelled")
    groups = load_sources(ROOT / "data" / "labelled").groups(calls, "batch")
    embedder = ev.training_embedder()
    items = ev.featurise(calls, embedder)
    dev = ev.featurise(load_dir(DEV), embedder) if DEV.is_dir() else []
    out = {"sources": [run_source(s, items, groups, dev, embedder) for s in args.source or DEFAULT_SOURCES]}
    if not args.no_timing:
        out["retraining"] = time_retraining(items, embedder)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
