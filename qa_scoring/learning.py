"""``qa-scoring learn``: retrain the behaviour model with the reviewers' decisions, and promote it only
if it is measurably no worse.

The reviewed calls (``review.learning``) are split once, by a hash of the call, into a training part
and a held-out part (HELD_OUT_SHARE). A candidate is trained on the project's labelled calls (always
in the training set: a centre's few hundred reviews must not wash out what the model knows) plus the
training part, then compared with the model in use:

- on the held-out reviewed calls: agreement with the reviewers over every (call, behaviour) label
  they decided; the candidate must be at least as good;
- on the project's labelled calls: macro-F1; the candidate may lose at most PROJECT_TOLERANCE. Both
  models trained on these calls, so this measures whether the centre's calls made the model forget
  them, not how it does on unseen calls (``qa-scoring eval --loso`` does that).

The candidate is kept as a version either way (``behaviours.versions``); the report says why it was
or was not promoted. What is promoted is exactly what was measured: no refit on the held-out part.

Criteria in plain words learn too, without training: the turns reviewers pointed at are kept with the
version as examples or near misses (``behaviours.phrases.LESSONS_FILE``) and join the manager's own
examples when the version is in use.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session

from qa_scoring.behaviours import BEHAVIOUR_IDS, BehaviourDetector
from qa_scoring.behaviours import measure as ev
from qa_scoring.behaviours.classifier import model_settings
from qa_scoring.behaviours.labelled import LabelledCall, load_call, load_dir
from qa_scoring.behaviours.phrases import lessons_digest, write_lessons
from qa_scoring.behaviours.versions import ModelVersions, VersionRecord
from qa_scoring.config import PROJECT_ROOT, Settings
from qa_scoring.review.learning import collect, export
from qa_scoring.rubric.rubric import load_rubrics

PROJECT_LABELLED = PROJECT_ROOT / "data" / "labelled"
HELD_OUT_SHARE = 0.3
MIN_HELD_OUT = 5  # fewer held-out reviewed calls than this measure nothing: no promotion
PROJECT_TOLERANCE = 0.005
# How much one reviewed call counts in training against one of the project's written calls: the
# centre's own calls are what the model must fit, and a few dozen of them are otherwise lost among
# hundreds of written ones. Leaving one writing batch out (benchmarks/bench_learning.py, new-styles,
# call-level reviews, all eight settings searched): 10 reviewed calls raised macro-F1 by 0.009 at
# weight 1, 0.015 at 4, 0.013 at 10.
REVIEWED_WEIGHT = 4.0


class LearnError(RuntimeError):
    """Learning cannot start (no model in use, no reviewed calls); the message says what to do."""


@dataclass
class Comparison:
    current: float
    candidate: float
    n: int  # labels (reviewed calls) or calls (project) the figure rests on
    per_behaviour: dict[str, dict[str, float]] = field(default_factory=dict)


@dataclass
class LearnReport:
    current_version: str
    candidate_version: str
    reviewed_calls: int
    trained_on_reviewed: int
    held_out_reviewed: int
    skipped: dict[str, int]
    reviewed: Comparison
    project: Comparison
    promoted: bool
    reason: str
    folder: str
    seconds: dict[str, float]
    # criteria in plain words -> how many turns reviewers pointed at, as examples and near misses
    phrase_lessons: dict[str, dict[str, int]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def held_out(call: LabelledCall) -> bool:
    """Whether a reviewed call is in the held-out part: fixed per call, so reruns compare alike."""
    digest = hashlib.sha256(call.path.stem.encode()).digest()
    return digest[0] / 256 < HELD_OUT_SHARE


def agreement(calls: list[LabelledCall], preds: list[dict]) -> tuple[float, int, dict[str, dict[str, float]]]:
    """Share of the reviewers' (call, behaviour) labels the model agrees with, pooled and per behaviour."""
    per: dict[str, list[bool]] = {}
    for call, pred in zip(calls, preds, strict=True):
        for b in BEHAVIOUR_IDS:
            if call.labels[b] is not None:
                per.setdefault(b, []).append(pred[b].present == call.labels[b])
    pooled = [x for v in per.values() for x in v]
    share = float(np.mean(pooled)) if pooled else 0.0
    return share, len(pooled), {b: {"agreement": float(np.mean(v)), "n": len(v)} for b, v in per.items()}


def _compare_reviewed(current, candidate, items: list[ev.Featurised]) -> Comparison:
    calls = [f.call for f in items]
    a, n, per_a = agreement(calls, ev.predict(current, items)) if items else (0.0, 0, {})
    b, _, per_b = agreement(calls, ev.predict(candidate, items)) if items else (0.0, 0, {})
    per = {
        k: {"current": per_a[k]["agreement"], "candidate": per_b[k]["agreement"], "n": per_a[k]["n"]}
        for k in per_a
    }
    return Comparison(round(a, 4), round(b, 4), n, per)


def _compare_project(current, candidate, items: list[ev.Featurised]) -> Comparison:
    truth = [f.call.labels for f in items]
    a = ev.scores(truth, ev.predict(current, items))
    b = ev.scores(truth, ev.predict(candidate, items))
    per = {
        k: {"current": a["behaviours"][k]["f1"], "candidate": b["behaviours"][k]["f1"]}
        for k in a["behaviours"]
    }
    return Comparison(a["macro_f1"], b["macro_f1"], len(items), per)


def decide(reviewed: Comparison, project: Comparison, held: int) -> tuple[bool, str]:
    """The promotion rule, with the reason in words a QA manager can check."""
    if held < MIN_HELD_OUT:
        return False, f"only {held} held-out reviewed calls (at least {MIN_HELD_OUT} needed to measure)"
    drop = project.current - project.candidate
    if drop > PROJECT_TOLERANCE:
        return False, (
            f"worse on the project's calls: macro-F1 {project.candidate:.3f} vs {project.current:.3f} "
            f"(a drop of {drop:.3f}, more than {PROJECT_TOLERANCE})"
        )
    if reviewed.candidate < reviewed.current:
        return False, (
            f"agrees less with the reviewers on {held} held-out calls: {reviewed.candidate:.3f} vs "
            f"{reviewed.current:.3f} of {reviewed.n} decisions"
        )
    return True, (
        f"agrees with the reviewers on {reviewed.candidate:.3f} of {reviewed.n} held-out decisions "
        f"({reviewed.current:.3f} before); project macro-F1 {project.candidate:.3f} "
        f"({project.current:.3f} before)"
    )


def learn(
    session: Session,
    settings: Settings,
    labelled_dirs: list[Path] | None = None,
    promote: bool = True,
    progress: Callable[[str], None] = lambda _: None,
) -> LearnReport:
    """Export the reviewed calls, train a candidate, compare it with the model in use, keep it, and
    make it the model in use if the rule of ``decide`` allows (and ``promote``)."""
    clock: dict[str, float] = {}
    started = dt.datetime.now(dt.UTC)

    def lap(name: str, since: dt.datetime) -> dt.datetime:
        now = dt.datetime.now(dt.UTC)
        clock[name] = round((now - since).total_seconds(), 1)
        return now

    versions = ModelVersions(settings.models_dir)
    detector = BehaviourDetector.load(settings)
    current_version = versions.keep_active()
    collected = collect(session, load_rubrics(settings.rubrics_dir))
    if not collected.calls:
        raise LearnError("no reviewed call decides a behaviour yet: review some calls first")
    folder = Path(settings.data_dir) / "learning" / started.strftime("%Y%m%dT%H%M%SZ")
    progress(f"exporting {len(collected.calls)} reviewed calls to {folder / 'reviewed'}")
    reviewed = [load_call(p) for p in export(collected.calls, detector, folder / "reviewed")]
    dirs = labelled_dirs or [PROJECT_LABELLED]
    project = [c for d in dirs for c in load_dir(d)]
    t = lap("export", started)

    progress(f"reading {len(project)} project calls and {len(reviewed)} reviewed calls")
    embedder = ev.training_embedder(settings)
    project_items = ev.featurise(project, embedder)
    reviewed_items = ev.featurise(reviewed, embedder)
    train_reviewed = [f for f in reviewed_items if not held_out(f.call)]
    held = [f for f in reviewed_items if held_out(f.call)]
    t = lap("features", t)

    progress(f"training on {len(project_items)} project + {len(train_reviewed)} reviewed calls")
    meta = ev.training_metadata(project_items + train_reviewed, [*map(str, dirs), str(folder / "reviewed")])
    meta.update(source="learn", reviewed_calls=len(train_reviewed), held_out_calls=len(held))
    if collected.lessons:
        meta["version"] += f".taught-{lessons_digest(collected.lessons)}"
    weights = [1.0] * len(project_items) + [REVIEWED_WEIGHT] * len(train_reviewed)
    meta["reviewed_weight"] = REVIEWED_WEIGHT
    # The regularisation the model in use chose on the project's calls is kept; thresholds and
    # aggregates are chosen again (see classifier.train): an eighth of the training time.
    candidate = ev.fit(project_items + train_reviewed, meta, weights, model_settings(detector.models))
    t = lap("train", t)

    progress(f"measuring on {len(held)} held-out reviewed calls and the project's calls")
    reviewed_cmp = _compare_reviewed(detector.models, candidate, held)
    project_cmp = _compare_project(detector.models, candidate, project_items)
    ok, reason = decide(reviewed_cmp, project_cmp, len(held))
    t = lap("measure", t)

    model_dir = folder / "model"
    candidate.save(model_dir)
    embedder.save(model_dir)
    write_lessons(model_dir, collected.lessons)
    figures = {"reviewed": asdict(reviewed_cmp), "project": asdict(project_cmp)}
    figures["reviewed"].pop("per_behaviour")
    figures["project"].pop("per_behaviour")
    record = VersionRecord(
        meta["version"],
        dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "learn",
        {
            "project_calls": len(project_items),
            "reviewed_calls": len(train_reviewed),
            "taught_turns": sum(len(v.examples) + len(v.near_misses) for v in collected.lessons.values()),
        },
        figures,
        ok and promote,
        reason if promote or not ok else f"{reason} (not promoted: --no-promote)",
    )
    versions.keep(model_dir, record)
    if ok and promote:
        versions.use(record.version)
    lap("total", started)
    report = LearnReport(
        current_version,
        record.version,
        len(reviewed),
        len(train_reviewed),
        len(held),
        collected.skipped,
        reviewed_cmp,
        project_cmp,
        ok and promote,
        record.reason,
        str(folder),
        clock,
        {
            k: {"examples": len(v.examples), "near_misses": len(v.near_misses)}
            for k, v in collected.lessons.items()
        },
    )
    (folder / "report.json").write_text(json.dumps(report.to_dict(), indent=2), encoding="utf-8")
    return report
