"""Check labelled call transcripts (dev format) and print how often each behaviour is present.

The behaviour classifiers are trained on ``data/labelled/`` alone, so a single inconsistent file
(a label that disagrees with its turn tags, a misspelt behaviour id, a tag on the wrong speaker)
silently teaches them the wrong thing. This script catches those mistakes before training.

Usage::

    python scripts/check_labelled.py [DATA_DIR] [--spec behaviours.yaml]

DATA_DIR defaults to ``data/labelled``; the spec defaults to the first of
``qa_scoring/behaviours/behaviours.yaml`` and ``../shared/spec/behaviours.yaml`` that exists.
Exit status 0 when every file is valid, 1 otherwise (each problem is printed with its file).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = PROJECT_ROOT / "data" / "labelled"
SPEC_CANDIDATES = (
    PROJECT_ROOT / "qa_scoring" / "behaviours" / "behaviours.yaml",
    PROJECT_ROOT.parent / "shared" / "spec" / "behaviours.yaml",
)
SPEAKERS = ("agent", "customer")
HOLD_MARKERS = ("[on hold]", "[music]")
REQUIRED_KEYS = ("call_id", "industry", "summary", "turns", "labels")
TURN_KEYS = {"speaker", "text", "behaviours"}
# Labelled real recordings (data/recordings/) keep the pipeline's times and overtalk flags.
OPTIONAL_TURN_KEYS = {"start", "end", "overlap"}


@dataclass
class Report:
    """What a check found: problems (each names its file) and label counts over the valid calls."""

    problems: list[str] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)
    calls: int = 0
    turns: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def load_spec(path: Path | None = None) -> dict[str, str]:
    """Behaviour id -> whose turns show it (``agent`` or ``customer``), from behaviours.yaml."""
    if path is None:
        path = next((p for p in SPEC_CANDIDATES if p.exists()), None)
        if path is None:
            raise FileNotFoundError(
                "behaviours.yaml not found; looked in " + ", ".join(str(p) for p in SPEC_CANDIDATES)
            )
    try:
        behaviours = yaml.safe_load(path.read_text(encoding="utf-8"))["behaviours"]
        return {name: spec["who"] for name, spec in behaviours.items()}
    except (OSError, KeyError, TypeError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: not a behaviours spec ({exc})") from exc


def check_call(path: Path, data: object, spec: dict[str, str]) -> list[str]:
    """Problems in one call document; an empty list means it is consistent."""
    where = path.name
    if not isinstance(data, dict):
        return [f"{where}: top level is not an object"]
    problems = [f"{where}: missing key {k!r}" for k in REQUIRED_KEYS if k not in data]
    if problems:
        return problems
    for key in ("call_id", "industry", "summary"):
        if not isinstance(data[key], str) or not data[key].strip():
            problems.append(f"{where}: {key} must be a non-empty string")
    if isinstance(data["call_id"], str) and data["call_id"] != path.stem:
        problems.append(f"{where}: call_id {data['call_id']!r} does not match the file name")
    turns = data["turns"]
    if not isinstance(turns, list) or not turns:
        return problems + [f"{where}: turns must be a non-empty list"]
    tagged: dict[str, list[int]] = {b: [] for b in spec}
    for i, turn in enumerate(turns):
        at = f"{where}: turn {i}"
        if not isinstance(turn, dict) or not TURN_KEYS <= set(turn) <= TURN_KEYS | OPTIONAL_TURN_KEYS:
            problems.append(f"{at}: needs speaker, text and behaviours (and optionally start, end, overlap)")
            continue
        if turn["speaker"] not in SPEAKERS:
            problems.append(f"{at}: unknown speaker {turn['speaker']!r}")
        if not isinstance(turn["text"], str) or not turn["text"].strip():
            problems.append(f"{at}: empty text")
        tags = turn["behaviours"]
        if not isinstance(tags, list):
            problems.append(f"{at}: behaviours must be a list")
            continue
        if len(tags) != len(set(tags)):
            problems.append(f"{at}: duplicated behaviour tag")
        for tag in tags:
            if tag not in spec:
                problems.append(f"{at}: unknown behaviour {tag!r}")
            elif spec[tag] != turn["speaker"]:
                problems.append(
                    f"{at}: {tag!r} is a {spec[tag]} behaviour but the turn is the {turn['speaker']}'s"
                )
            else:
                tagged[tag].append(i)
    labels = data["labels"]
    if not isinstance(labels, dict):
        return problems + [f"{where}: labels must be an object"]
    for name in sorted(set(labels) - set(spec)):
        problems.append(f"{where}: label for unknown behaviour {name!r}")
    for name in spec:
        if name not in labels:
            problems.append(f"{where}: no label for {name!r}")
        elif not isinstance(labels[name], bool):
            problems.append(f"{where}: label {name!r} is not a boolean")
        elif labels[name] != bool(tagged[name]):
            state = "tagged in turns " + str(tagged[name]) if tagged[name] else "tagged in no turn"
            problems.append(f"{where}: label {name}={labels[name]} but it is {state}")
    hold = tagged.get("hold_etiquette", [])
    marked = any(str(t.get("text", "")).startswith(HOLD_MARKERS) for t in turns if isinstance(t, dict))
    if hold and marked and not any(str(turns[i].get("text", "")).startswith(HOLD_MARKERS) for i in hold):
        # Both halves are needed: where the hold is marked, the marked return must be a tagged turn.
        # A hold shown only through the agent's words (lab-241 on) has no marker to check against.
        problems.append(f"{where}: hold_etiquette tagged but no tagged turn resumes from hold")
    if len(hold) == 1:
        problems.append(f"{where}: hold_etiquette needs both halves (ask and thank), only one turn tagged")
    return problems


def check_dir(data_dir: Path, spec: dict[str, str]) -> Report:
    """Check every ``*.json`` call in data_dir, including that call ids are unique."""
    report = Report()
    files = sorted(data_dir.glob("*.json"))
    if not files:
        report.problems.append(f"{data_dir}: no .json calls found")
    seen: dict[str, str] = {}
    for path in files:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            report.problems.append(f"{path.name}: not valid JSON ({exc})")
            continue
        problems = check_call(path, data, spec)
        report.problems.extend(problems)
        call_id = data.get("call_id") if isinstance(data, dict) else None
        if isinstance(call_id, str):
            if call_id in seen:
                report.problems.append(f"{path.name}: call_id {call_id!r} already used by {seen[call_id]}")
            seen[call_id] = path.name
        if not problems:
            report.calls += 1
            report.turns += len(data["turns"])
            report.counts.update(k for k, v in data["labels"].items() if v)
    return report


def format_counts(report: Report, spec: dict[str, str]) -> str:
    """A Markdown table of label counts, the same shape as the dev README's."""
    lines = ["| behaviour | who | present | absent | % present |", "|---|---|---:|---:|---:|"]
    for name, who in spec.items():
        present = report.counts[name]
        pct = round(100 * present / report.calls) if report.calls else 0
        lines.append(f"| {name} | {who} | {present} | {report.calls - present} | {pct}% |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--spec", type=Path, default=None, help="behaviours.yaml to check against")
    args = parser.parse_args(argv)
    try:
        spec = load_spec(args.spec)
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if not args.data_dir.is_dir():
        print(f"error: {args.data_dir}: not a directory", file=sys.stderr)
        return 1
    report = check_dir(args.data_dir, spec)
    for problem in report.problems:
        print(f"error: {problem}", file=sys.stderr)
    print(f"{report.calls} valid calls, {report.turns} turns in {args.data_dir}")
    print(format_counts(report, spec))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
