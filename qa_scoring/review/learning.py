"""Reviewers' decisions as labelled calls: what ``qa-scoring learn`` trains and measures on.

A criterion that rests on behaviours turns the human result into behaviour labels, but only what
follows for certain: "pass" on ``all: [apology]`` says the apology is there; "fail" on
``any: [confirmation, follow_up]`` says neither is; "fail" on ``all: [a, b]`` says one of them is
missing but not which, so it labels nothing. Accepts count as much as overrides (they confirm the
pre-score). Only a call's standing review counts, and a criterion under an open dispute is left
out until the dispute is decided. Two criteria that disagree about one behaviour leave it unlabelled.

The export is the ``data/labelled`` JSON form over the stored transcript, which is the redacted one,
so no card number or other redacted text leaves the store. A behaviour nobody decided is ``null``.
A "present" label needs a turn to learn from. An officer who overrides a criterion may point at
the transcript turn that shows the behaviour: where the criterion rests on exactly one behaviour
and the result says it is there, that turn is tagged (``pointed_turns`` in the provenance). With
no turn pointed at, the model in use picks the turn it finds most likely (one step of
multiple-instance learning); where it finds none of the right speaker's turns possible at all
(say, no apology word anywhere), the label is written as null, since a call labelled "present"
with no tagged turn would teach every turn as a negative. A turn pointed at for a behaviour
labelled absent (the turn wrongly taken to show it) needs nothing: the call-level "absent" label
already makes every turn a negative.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from qa_scoring.behaviours import BEHAVIOUR_IDS, WHO, BehaviourDetector
from qa_scoring.behaviours.phrases import PhraseLessons
from qa_scoring.review.decisions import standing_review
from qa_scoring.rubric.evaluate import phrase_key
from qa_scoring.rubric.rubric import Rubric, Test
from qa_scoring.store.models import Call, Dispute, Review
from qa_scoring.store.queries import latest_transcript
from qa_scoring.transcript import Transcript

FILE_PREFIX = "reviewed-"


def behaviour_labels(test: Test, result: str) -> dict[str, bool]:
    """The behaviour labels that follow for certain from a human ``result`` on a criterion's test."""
    out: dict[str, bool] = {}
    if result == "pass":
        out.update(dict.fromkeys(test.all, True))
        if len(test.any) == 1:
            out[test.any[0]] = True
        out.update(dict.fromkeys(test.absent, False))
    elif result in ("fail", "partial"):  # partial: the main test failed, its partial test held
        parts = len(test.all) + bool(test.any) + len(test.absent) + (test.metric is not None)
        if parts == 1 and test.all:
            out[test.all[0]] = False
        elif parts == 1 and test.any:
            out.update(dict.fromkeys(test.any, False))
        elif parts == 1 and test.absent:
            out[test.absent[0]] = True
    return out


@dataclass
class ReviewedCall:
    """One call's labels from its standing review, ready to write as a labelled call."""

    call_id: int
    review_id: int
    transcript: Transcript
    labels: dict[str, bool]
    decisions: int
    conflicts: list[str] = field(default_factory=list)  # behaviours two criteria disagreed on
    # behaviour -> the transcript turn a reviewer pointed at as showing it (overrides only)
    pointed: dict[str, int] = field(default_factory=dict)


@dataclass
class Collected:
    calls: list[ReviewedCall]
    skipped: dict[str, int]  # why reviewed calls or decisions were left out -> how many
    # criteria in plain words (by ``phrase_key``): the turns reviewers pointed at, in call order
    lessons: dict[str, PhraseLessons] = field(default_factory=dict)


def collect(session: Session, rubrics: dict[str, Rubric]) -> Collected:
    """Every call with a standing review, as behaviour labels from its decisions."""
    skipped: dict[str, int] = {}

    def skip(why: str, n: int = 1) -> None:
        skipped[why] = skipped.get(why, 0) + n

    disputes: dict[int, set[tuple[str | None, str | None]]] = {}
    for d in session.scalars(select(Dispute).where(Dispute.status == "open")):
        disputes.setdefault(d.call_id, set()).add((d.rubric_id, d.criterion_id))
    calls = session.scalars(
        select(Call)
        .where(Call.reviews.any(Review.status == "submitted"))
        .options(selectinload(Call.reviews).selectinload(Review.decisions))
        .order_by(Call.id)
    ).all()
    out = []
    lessons: dict[str, dict[bool, list[str]]] = {}
    for call in calls:
        review = standing_review(call)
        if review is None:
            continue
        if (None, None) in disputes.get(call.id, set()):
            skip("call under an open dispute")
            continue
        votes: dict[str, set[bool]] = {}
        pointed: dict[str, set[int]] = {}
        taught: list[tuple[str, bool, int]] = []  # (phrase key, shows it, turn) of criteria in plain words
        used = 0
        for decision in review.decisions:
            rubric = rubrics.get(decision.rubric_id)
            criterion = (
                next((c for c in rubric.criteria if c.id == decision.criterion_id), None) if rubric else None
            )
            if criterion is None:
                skip("criterion no longer in the rubrics")
                continue
            if (decision.rubric_id, decision.criterion_id) in disputes.get(call.id, set()):
                skip("criterion under an open dispute")
                continue
            if criterion.says is not None and decision.turn is not None:
                shows = decision.human_result == "pass"
                taught.append((phrase_key(decision.rubric_id, decision.criterion_id), shows, decision.turn))
            labels = behaviour_labels(criterion.test, decision.human_result)
            used += bool(labels)
            for b, present in labels.items():
                votes.setdefault(b, set()).add(present)
            if decision.turn is not None and len(labels) == 1:
                ((b, present),) = labels.items()
                if present:
                    pointed.setdefault(b, set()).add(decision.turn)
        labels = {b: v.pop() for b, v in votes.items() if len(v) == 1}
        conflicts = sorted(b for b, v in votes.items() if len(v) > 1)
        transcript_row = review.transcript or latest_transcript(session, call.id)
        if transcript_row is not None:
            _learn_phrases(lessons, taught, transcript_row.document)
        if not labels or transcript_row is None:
            skip("review decides no behaviour")
            continue
        transcript = Transcript.from_dict(transcript_row.document, call_id=f"call-{call.id}")
        # Two criteria pointing at different turns for one behaviour: the model chooses between them.
        turns = {
            b: t.pop()
            for b, t in pointed.items()
            if len(t) == 1 and labels.get(b) and 0 <= next(iter(t)) < len(transcript.turns)
        }
        out.append(ReviewedCall(call.id, review.id, transcript, labels, used, conflicts, turns))
    return Collected(
        out, skipped, {k: PhraseLessons(tuple(v[True]), tuple(v[False])) for k, v in lessons.items()}
    )


def _learn_phrases(
    lessons: dict[str, dict[bool, list[str]]], taught: list[tuple[str, bool, int]], document: dict
) -> None:
    """The text of each pointed turn (the stored, redacted transcript) as an example or a near miss."""
    turns = document.get("turns", [])
    for key, shows, turn in taught:
        if 0 <= turn < len(turns) and str(turns[turn].get("text", "")).strip():
            lessons.setdefault(key, {True: [], False: []})[shows].append(str(turns[turn]["text"]).strip())


def labelled_document(reviewed: ReviewedCall, detector: BehaviourDetector) -> dict[str, Any]:
    """The call in the ``data/labelled`` form, each "present" label tagged on the turn a reviewer
    pointed at, else on the turn the model finds likeliest."""
    transcript = reviewed.transcript
    tags: list[list[str]] = [[] for _ in transcript.turns]
    labels: dict[str, bool | None] = {b: reviewed.labels.get(b) for b in BEHAVIOUR_IDS}
    inferred: dict[str, int] = {}
    pointed: dict[str, int] = {}
    present = [b for b, v in reviewed.labels.items() if v]
    if present:
        cf = detector.features(transcript)
        scores = detector.turn_scores(cf)
        for b in present:
            if b not in scores:  # decided by rule (hold etiquette): the label is for measuring only
                continue
            # The reviewer's turn, not the model's; one of the wrong speaker teaches nothing (training
            # reads only the right speaker's turns), so the model chooses then.
            turn = reviewed.pointed.get(b)
            if turn is not None and 0 <= turn < len(tags) and transcript.turns[turn].role == WHO[b]:
                tags[turn].append(b)
                pointed[b] = turn
                continue
            right = np.array([r == WHO[b] for r in cf.roles], dtype=bool)
            s = np.where(right, scores[b], 0.0)
            if not right.any() or s.max() <= 0:  # no turn to learn from: not a training label
                inferred[b] = -1
                labels[b] = None
                continue
            turn = cf.turn_of[int(np.argmax(s))]
            tags[turn].append(b)
            inferred[b] = turn
    document = transcript.to_dict()
    turns = [{**turn, "behaviours": tagged} for turn, tagged in zip(document["turns"], tags, strict=True)]
    return {
        **document,
        "call_id": f"{FILE_PREFIX}{reviewed.call_id}",
        "industry": "reviewed",
        "summary": f"call {reviewed.call_id}, standing review {reviewed.review_id}: "
        f"{reviewed.decisions} decisions",
        "provenance": {
            "review_id": reviewed.review_id,
            # behaviour -> the turn the model in use chose (-1: none possible, so the label is null)
            "inferred_turns": inferred,
            # behaviour -> the turn a reviewer pointed at, tagged instead of the model's choice
            "pointed_turns": pointed,
            "conflicts": reviewed.conflicts,
        },
        "turns": turns,
        "labels": labels,
    }


def export(reviewed: list[ReviewedCall], detector: BehaviourDetector, folder: Path) -> list[Path]:
    """Write the reviewed calls as labelled calls (one JSON file each) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for r in reviewed:
        path = folder / f"{FILE_PREFIX}{r.call_id:06d}.json"
        doc = labelled_document(r, detector)
        path.write_text(json.dumps(doc, indent=1, ensure_ascii=False), encoding="utf-8")
        paths.append(path)
    return paths
