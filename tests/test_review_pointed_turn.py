"""A reviewer points at the transcript turn that shows a behaviour (issue 13 item 1): the review
rules store and check it, ``collect`` turns it into a pointed turn of a behaviour, and
``labelled_document`` tags that turn instead of the one the model would choose."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from qa_scoring.review.decisions import Decision, Edit, ReviewError, decide, submit
from qa_scoring.review.learning import ReviewedCall, collect, labelled_document
from qa_scoring.rubric.rubric import Criterion, Rubric, Section
from qa_scoring.rubric.rubric import Test as CriterionTest
from qa_scoring.store.db import session_scope
from qa_scoring.store.models import AuditEntry, Call, CriterionResult, Scorecard, Transcript, User
from qa_scoring.store.users import create_user
from qa_scoring.transcript import Transcript as Doc

TURNS = [
    {"speaker": "A", "role": "agent", "text": "Good morning, you're through to Acme, Sam speaking."},
    {"speaker": "B", "role": "customer", "text": "My parcel never came and I have waited two weeks."},
    {"speaker": "A", "role": "agent", "text": "I'm so sorry about that, let me look into it for you now."},
    {
        "speaker": "A",
        "role": "agent",
        "text": "I do apologise, the courier lost it; I'll send one today.",
    },
]
RUBRIC = Rubric(
    "care",
    "Care",
    "1",
    (
        Section(
            "s",
            "S",
            (
                Criterion("apology", "Apologised", CriterionTest(all=("apology",))),
                Criterion("greeting", "Greeted", CriterionTest(all=("greeting",))),
                Criterion("polite", "Thanked and closed", CriterionTest(all=("thanks", "closing"))),
            ),
        ),
    ),
)


def _store(url: str) -> None:
    """One call with a four-turn transcript and a scorecard the model got wrong on every criterion."""
    with session_scope(url) as s:
        create_user(s, "qa", "qa-demo-pass", "qa_officer")
        call = Call(audio_path="", content_sha256="c" * 64, size_bytes=1, status="scored")
        s.add(call)
        s.flush()
        transcript = Transcript(
            call_id=call.id, version=1, document=Doc.from_dict({"turns": TURNS}).to_dict()
        )
        s.add(transcript)
        s.flush()
        card = Scorecard(call_id=call.id, transcript_id=transcript.id, transcript_version=1, rubric_id="care")
        card.criteria = [
            CriterionResult(position=0, criterion_id="apology", name="Apologised", result="fail"),
            CriterionResult(position=1, criterion_id="greeting", name="Greeted", result="pass"),
            CriterionResult(position=2, criterion_id="polite", name="Thanked and closed", result="fail"),
        ]
        s.add(card)


NEW = Edit(None, None)  # no review yet: the first decision starts one


def _override(s, criterion: str, result: str, turn: int | None, edit: Edit = NEW):
    call, user = s.scalar(select(Call)), s.scalar(select(User))
    return decide(s, call, user, edit, Decision("care", criterion, "override", result, "heard it", turn))


def test_an_override_stores_the_pointed_turn_and_audits_it(sqlite_url):
    _store(sqlite_url)
    with session_scope(sqlite_url) as s:
        review = _override(s, "apology", "pass", 2)
        (decision,) = review.decisions
        assert decision.turn == 2
        entry = s.scalar(select(AuditEntry).where(AuditEntry.entity == "criterion_decisions"))
        assert entry.action == "override" and entry.new_value["turn"] == 2
        # Overriding again without a turn clears it (each decision is the whole choice).
        review = _override(s, "apology", "pass", None, Edit(review.id, review.version_id))
        assert review.decisions[0].turn is None


@pytest.mark.parametrize("turn", [4, -1, 99])
def test_a_turn_outside_the_transcript_is_refused(sqlite_url, turn):
    _store(sqlite_url)
    with session_scope(sqlite_url) as s:
        with pytest.raises(ReviewError, match=rf"turn {turn} is not a turn of this call's transcript"):
            _override(s, "apology", "pass", turn)


def test_an_accept_points_at_no_turn(sqlite_url):
    _store(sqlite_url)
    with session_scope(sqlite_url) as s:
        call, user = s.scalar(select(Call)), s.scalar(select(User))
        with pytest.raises(ReviewError, match="an accept points at no turn"):
            decide(s, call, user, Edit(None, None), Decision("care", "greeting", "accept", turn=0))


def test_collect_keeps_a_pointed_turn_only_for_a_single_behaviour_found_present(sqlite_url):
    _store(sqlite_url)
    with session_scope(sqlite_url) as s:
        review = _override(s, "apology", "pass", 2)  # apology present, at turn 2
        # greeting absent: turn 0 was wrongly taken to show it (the call-level False label suffices)
        review = _override(s, "greeting", "fail", 0, Edit(review.id, review.version_id))
        # both behaviours present, so the turn cannot say which one it shows
        review = _override(s, "polite", "pass", 3, Edit(review.id, review.version_id))
        submit(s, s.scalar(select(Call)), s.scalar(select(User)), Edit(review.id, review.version_id))
    with session_scope(sqlite_url) as s:
        (reviewed,) = collect(s, {"care": RUBRIC}).calls
    assert reviewed.labels == {"apology": True, "greeting": False, "thanks": True, "closing": True}
    assert reviewed.pointed == {"apology": 2}


@pytest.fixture(scope="module")
def detector():
    from qa_scoring.behaviours import BehaviourDetector

    return BehaviourDetector.load()


def _reviewed(pointed: dict[str, int]) -> ReviewedCall:
    return ReviewedCall(7, 3, Doc.from_dict({"turns": TURNS}), {"apology": True}, 1, pointed=pointed)


def test_labelled_document_tags_the_pointed_turn_instead_of_the_models_choice(detector):
    chosen = labelled_document(_reviewed({}), detector)
    model_turn = chosen["provenance"]["inferred_turns"]["apology"]
    assert model_turn in (2, 3) and chosen["provenance"]["pointed_turns"] == {}
    other = 5 - model_turn  # the other apology turn of the agent
    doc = labelled_document(_reviewed({"apology": other}), detector)
    assert [t["behaviours"] for t in doc["turns"]] == [["apology"] if i == other else [] for i in range(4)]
    assert doc["provenance"]["pointed_turns"] == {"apology": other}
    assert "apology" not in doc["provenance"]["inferred_turns"]
    assert doc["labels"]["apology"] is True


def test_a_pointed_turn_of_the_wrong_speaker_leaves_the_choice_to_the_model(detector):
    doc = labelled_document(_reviewed({"apology": 1}), detector)  # turn 1 is the customer's
    assert doc["provenance"]["pointed_turns"] == {}
    assert doc["provenance"]["inferred_turns"]["apology"] in (2, 3)
    assert not doc["turns"][1]["behaviours"]
