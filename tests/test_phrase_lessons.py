"""Criteria in plain words learn from the reviewers (issue 14 item 4): a turn an officer points at when
overriding becomes an example (shows it) or a near miss (wrongly taken to show it); ``collect`` gathers
them, the model version keeps them, and the matcher of the version in use scores with them."""

from __future__ import annotations

import textwrap

import pytest
from rubric_texts import CALLBACK

from qa_scoring.behaviours.phrases import PhraseLessons, read_lessons, with_lessons, write_lessons
from qa_scoring.behaviours.text import canonical
from qa_scoring.review.decisions import Decision, Edit, decide, submit
from qa_scoring.review.learning import collect
from qa_scoring.rubric.rubric import load_rubric
from qa_scoring.store.db import session_scope
from qa_scoring.store.models import Call, CriterionResult, Scorecard, Transcript
from qa_scoring.store.users import create_user
from qa_scoring.transcript import Transcript as Doc

SHOWS_IT = "When the part comes in I'll buzz you on your mobile."
NOT_IT = "I'll call the depot back this afternoon and chase it."
# (the call's agent turn, what the pre-score said, what the officer decides)
CALLS = [(SHOWS_IT, "fail", "pass"), (NOT_IT, "pass", "fail")]


@pytest.fixture(scope="module")
def detector():
    from qa_scoring.behaviours import BehaviourDetector

    return BehaviourDetector.load()


@pytest.fixture
def rubric(tmp_path):
    path = tmp_path / "draft.yaml"
    path.write_text(textwrap.dedent(CALLBACK), encoding="utf-8")
    return load_rubric(path)


def _reviewed_store(url: str) -> None:
    """Two calls, each overridden on the criterion with the agent's turn pointed at, and submitted."""
    with session_scope(url) as s:
        user = create_user(s, "qa", "qa-demo-pass", "qa_officer")
        for k, (text, automatic, human) in enumerate(CALLS):
            call = Call(audio_path="", content_sha256=f"{k}" * 64, size_bytes=1, status="scored")
            s.add(call)
            s.flush()
            turns = [
                {"speaker": "B", "role": "customer", "text": "The boiler part still hasn't come."},
                {"speaker": "A", "role": "agent", "text": text},
            ]
            doc = Doc.from_dict({"turns": turns}).to_dict()
            transcript = Transcript(call_id=call.id, version=1, document=doc)
            s.add(transcript)
            s.flush()
            card = Scorecard(
                call_id=call.id, transcript_id=transcript.id, transcript_version=1, rubric_id="draft"
            )
            card.criteria = [
                CriterionResult(
                    position=0, criterion_id="callback", name="Offered a callback", result=automatic
                )
            ]
            s.add(card)
            s.flush()
            review = decide(
                s,
                call,
                user,
                Edit(None, None),
                Decision("draft", "callback", "override", human, "heard it", 1),
            )
            submit(s, call, user, Edit(review.id, review.version_id))


def test_pointed_turns_become_examples_and_near_misses(sqlite_url, rubric):
    _reviewed_store(sqlite_url)
    with session_scope(sqlite_url) as s:
        collected = collect(s, {"draft": rubric})
    assert collected.lessons == {"draft/callback": PhraseLessons((SHOWS_IT,), (NOT_IT,))}


def test_the_version_in_use_scores_with_what_the_reviewers_taught(tmp_path, rubric, detector):
    from qa_scoring.behaviours import BehaviourDetector

    lessons = {"draft/callback": PhraseLessons((SHOWS_IT,), (NOT_IT,))}
    version = tmp_path / "version"
    version.mkdir()
    write_lessons(version, lessons)
    assert read_lessons(version) == lessons
    taught = BehaviourDetector(detector.models, detector.embedder, version)
    spec = rubric.criteria[0].says
    before, after = detector.phrase_matcher(spec), taught.phrase_matcher(spec, "draft/callback")
    # a later call says it the way the officer pointed at: missed before, matched now
    later = canonical("I'll buzz you on your mobile when it arrives.")
    assert before.score_text(later)[0] < before.threshold
    assert after.score_text(later)[0] >= after.threshold and after.score_text(later)[1] == ""
    # the turn wrongly taken to show it, and one like it, no longer count
    assert before.score_text(canonical(NOT_IT))[0] >= before.threshold  # the pre-score's mistake
    assert after.score_text(canonical(NOT_IT))[1] == "near miss"
    like_it = canonical("I'll call the warehouse back and chase it up.")
    assert after.score_text(like_it)[1] == "near miss"
    # another criterion, or none named, is untouched
    assert taught.phrase_matcher(spec).threshold == before.threshold


def test_lessons_never_drown_the_managers_examples(rubric):
    spec = rubric.criteria[0].says
    many = tuple(f"turn number {k} taught by a reviewer" for k in range(50))
    merged = with_lessons(spec, PhraseLessons(many + spec.examples[:1], ()))
    assert merged.examples[: len(spec.examples)] == spec.examples
    assert len(merged.examples) == len(spec.examples) + 20  # the latest 20; a repeat of their own is dropped


def test_new_lessons_name_a_new_version():
    from qa_scoring.behaviours.phrases import lessons_digest

    one = {"draft/callback": PhraseLessons((SHOWS_IT,), ())}
    two = {"draft/callback": PhraseLessons((SHOWS_IT,), (NOT_IT,))}
    assert lessons_digest(one) == lessons_digest(dict(one)) != lessons_digest(two)
