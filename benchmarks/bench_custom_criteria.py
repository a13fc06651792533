"""Criteria in plain words, measured: per criterion F1 with 5 and with 10 examples, and the cost.

The criteria (``data/custom_criteria/criteria.yaml``) were written by one author from their own
knowledge, without seeing any call; the calls and their turn labels (``labels.json``) by another,
from the criteria's definitions, without seeing the examples. A call shows a criterion when a
labelled turn does; the matcher's call-level decision is compared with that. "5 examples" uses the
first five of each criterion's list, "10" all of them; near misses are used in both.

Lessons from reviewers: the calls are split in two (alternate calls); on one half every mistake is
corrected the way an officer would, pointing at a turn (the labelled turn of a miss becomes an
example, the matched turn of a false match a near miss), and the other half is scored with and
without those lessons; then the halves swap. F1 pools both test halves.

Cost: a 10-minute call (the labelled calls stitched to about 1,500 words) scored with the behaviours
alone (the baseline, in the same run), and with the behaviours plus the ten criteria; the difference
per criterion is what a custom criterion costs.

Run: ``.venv/bin/python benchmarks/bench_custom_criteria.py [--json OUT]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from qa_scoring.behaviours import BehaviourDetector  # noqa: E402
from qa_scoring.behaviours.phrases import PhraseLessons  # noqa: E402
from qa_scoring.rubric.rubric import load_rubric  # noqa: E402
from qa_scoring.transcript import Transcript  # noqa: E402

DATA = ROOT / "data" / "custom_criteria"
TARGET_WORDS = 1500
REPEATS = 9


def load_calls() -> tuple[dict[str, Transcript], dict[str, dict[str, list[int]]]]:
    labels = json.loads((DATA / "labels.json").read_text(encoding="utf-8"))["calls"]
    calls = {}
    for rel in labels:
        path = (DATA / rel).resolve()
        calls[rel] = Transcript.from_dict(json.loads(path.read_text(encoding="utf-8")), call_id=path.stem)
    return calls, labels


def measure(detector, rubric, calls, labels, n_examples: int | None) -> dict[str, dict]:
    out = {}
    features = {rel: detector.features(t) for rel, t in calls.items()}
    behaviours = {
        rel: detector.decide(calls[rel], cf, detector.turn_scores(cf)) for rel, cf in features.items()
    }
    for criterion in rubric.criteria:
        spec = criterion.says
        if n_examples is not None:
            spec = replace(spec, examples=spec.examples[:n_examples])
        matcher = detector.phrase_matcher(spec)
        tp = fp = fn = right_turn = 0
        for rel, cf in features.items():
            result, found = detector.match_phrase(cf, behaviours[rel], matcher)
            gold = labels[rel][criterion.id]
            truth = bool(gold)
            tp += result.present and truth
            fp += result.present and not truth
            fn += truth and not result.present
            if result.present and truth:
                right_turn += any(cf.turn_of[i] in gold for i in found.units)
        p = tp / (tp + fp) if tp + fp else 1.0
        r = tp / (tp + fn) if tp + fn else 1.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        out[criterion.id] = {
            "precision": round(p, 3), "recall": round(r, 3), "f1": round(f1, 3),
            "tp": tp, "fp": fp, "fn": fn, "evidence_on_a_labelled_turn": right_turn,
        }  # fmt: skip
    return out


def _counts(detector, matcher, features, behaviours, labels, rels, cid) -> tuple[int, int, int]:
    tp = fp = fn = 0
    for rel in rels:
        result, _ = detector.match_phrase(features[rel], behaviours[rel], matcher)
        truth = bool(labels[rel][cid])
        tp, fp, fn = (
            tp + (result.present and truth),
            fp + (result.present and not truth),
            fn + (truth and not result.present),
        )
    return tp, fp, fn


def lessons(detector, rubric, calls, labels) -> dict[str, dict[str, float]]:
    """Per criterion: F1 on held-out halves without and with the other half's corrections."""
    features = {rel: detector.features(t) for rel, t in calls.items()}
    behaviours = {
        rel: detector.decide(calls[rel], cf, detector.turn_scores(cf)) for rel, cf in features.items()
    }
    rels = sorted(calls)
    pooled: dict[str, dict[str, list[int]]] = {}
    for half in (0, 1):
        teach = rels[half::2]
        test = [r for r in rels if r not in teach]
        for criterion in rubric.criteria:
            before = detector.phrase_matcher(criterion.says)
            examples, near_misses = [], []
            for rel in teach:
                result, found = detector.match_phrase(features[rel], behaviours[rel], before)
                gold = labels[rel][criterion.id]
                if result.present and not gold:
                    near_misses.append(features[rel].units[found.units[0]].text)
                if gold and not result.present:
                    examples.append(calls[rel].turns[gold[0]].text)
            detector.lessons = {"taught": PhraseLessons(tuple(examples), tuple(near_misses))}
            after = detector.phrase_matcher(criterion.says, "taught")
            detector.lessons = {}
            for name, matcher in (("before", before), ("after", after)):
                counts = _counts(detector, matcher, features, behaviours, labels, test, criterion.id)
                row = pooled.setdefault(criterion.id, {}).setdefault(name, [0, 0, 0])
                pooled[criterion.id][name] = [a + b for a, b in zip(row, counts, strict=True)]
    return {
        cid: {name: round(2 * t[0] / max(1, 2 * t[0] + t[1] + t[2]), 3) for name, t in rows.items()}
        for cid, rows in pooled.items()
    }


def ten_minute_call(calls: dict[str, Transcript]) -> Transcript:
    turns, words = [], 0
    for t in calls.values():
        for turn in t.turns:
            turns.append(turn)
            words += len(turn.text.split())
        if words >= TARGET_WORDS:
            break
    return Transcript(call_id="ten-minutes", turns=turns)


def timing(detector, rubric, call: Transcript) -> dict:
    matchers = {c.id: detector.phrase_matcher(c.says) for c in rubric.criteria}

    def median_ms(work) -> float:
        work()
        runs = []
        for _ in range(REPEATS):
            started = time.perf_counter()
            work()
            runs.append((time.perf_counter() - started) * 1000)
        return statistics.median(runs)

    base = median_ms(lambda: detector.detect(call))
    full = median_ms(lambda: detector.detect_with_phrases(call, matchers))
    return {
        "turns": len(call.turns),
        "words": sum(len(t.text.split()) for t in call.turns),
        "behaviours_only_ms": round(base, 1),
        "with_criteria_ms": round(full, 1),
        "ratio": round(full / base, 2),
        "per_criterion_ms": round((full - base) / len(matchers), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()
    detector = BehaviourDetector.load()
    rubric = load_rubric(DATA / "criteria.yaml")
    calls, labels = load_calls()
    figures = {"calls": len(calls), "five": measure(detector, rubric, calls, labels, 5)}
    figures["ten"] = measure(detector, rubric, calls, labels, None)
    print(f"{len(calls)} calls; criterion: F1 with 5 examples | with 10: P R F1 (tp fp fn)")
    for cid, ten in figures["ten"].items():
        five = figures["five"][cid]
        print(f"  {cid:30} {five['f1']:.3f} | {ten['precision']:.3f} {ten['recall']:.3f} {ten['f1']:.3f} "
              f"({ten['tp']} {ten['fp']} {ten['fn']})")  # fmt: skip
    for k in ("five", "ten"):
        f1s = [v["f1"] for v in figures[k].values()]
        figures[f"{k}_mean_f1"] = round(sum(f1s) / len(f1s), 3)
        print(f"mean F1 ({k} examples): {figures[f'{k}_mean_f1']:.3f}, lowest {min(f1s):.3f}")
    figures["lessons"] = lessons(detector, rubric, calls, labels)
    print("lessons from reviewers, F1 on the other half without -> with them:")
    for cid, row in figures["lessons"].items():
        print(f"  {cid:30} {row['before']:.3f} -> {row['after']:.3f}")
    means = {
        k: sum(r[k] for r in figures["lessons"].values()) / len(figures["lessons"])
        for k in ("before", "after")
    }
    print(f"mean F1: {means['before']:.3f} -> {means['after']:.3f}")
    figures["timing"] = timing(detector, rubric, ten_minute_call(calls))
    t = figures["timing"]
    print(
        f"10-minute call ({t['turns']} turns, {t['words']} words): behaviours {t['behaviours_only_ms']} ms, "
        f"with 10 criteria {t['with_criteria_ms']} ms ({t['ratio']}x); "
        f"{t['per_criterion_ms']} ms per criterion"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
