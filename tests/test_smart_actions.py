"""SMART coaching actions: the rules an action must meet, the pass-rate progress against a hand
calculation, and the query over a seeded store (SQLite, and PostgreSQL through ``db_url``)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from store_seed import agent_named, store_scored_call

from qa_scoring.config import PROJECT_ROOT
from qa_scoring.review.actions import (
    BEHIND,
    ON_TRACK,
    TOO_FEW_CALLS,
    ActionError,
    ActionForm,
    action_progress,
    add_action,
    edit_action,
    pass_rate,
    progress,
    progress_status,
    results_since,
    validate,
)
from qa_scoring.rubric.rubric import load_rubrics
from qa_scoring.scored_call import CriterionResult, ReviewPriority, ScorecardResult, ScoredCall
from qa_scoring.store.db import session_scope
from qa_scoring.store.models import (
    ActionItem,
    AuditEntry,
    CoachingSession,
    CriterionDecision,
    Review,
    Transcript,
    User,
)
from qa_scoring.store.scorecards import scorecard_rows

RUBRICS = load_rubrics(PROJECT_ROOT / "rubrics")
COACH = User(id=1, username="leader", role="team_leader")
AGENT_USER = User(id=2, username="sarah", role="agent")
DUE = dt.date(2026, 4, 30)
GOOD = ActionForm(
    text="Acknowledge the customer's problem before solving it",
    due_date=DUE,
    criterion="rater/empathised",
    target="80",
)


def _problems(form: ActionForm) -> list[str]:
    with pytest.raises(ActionError) as err:
        validate(form, RUBRICS, coach=COACH, owners=[COACH, AGENT_USER])
    return err.value.problems


# --------------------------------------------------------------------------- rules


def test_a_criterion_and_target_make_a_smart_action_owned_by_the_coach() -> None:
    action = validate(GOOD, RUBRICS, coach=COACH, owners=[COACH, AGENT_USER])
    assert (action.rubric_id, action.criterion_id, action.target) == ("rater", "empathised", 80.0)
    assert action.owner_id == COACH.id  # no owner given: the coach
    assert action.measure == f"{RUBRICS['rater'].criteria[9].name} pass rate (RATER)"
    assert RUBRICS["rater"].criteria[9].id == "empathised"


def test_a_measure_in_words_with_a_target_and_another_owner() -> None:
    form = ActionForm(
        text="Offer a call-back when the answer needs research",
        due_date=DUE,
        measure="  calls  with a call-back offered ",
        target="90%",
        owner_id=AGENT_USER.id,
    )
    action = validate(form, RUBRICS, coach=COACH, owners=[COACH, AGENT_USER])
    assert (action.measure, action.rubric_id, action.target, action.owner_id) == (
        "calls with a call-back offered",
        None,
        90.0,
        AGENT_USER.id,
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"text": "   "}, "An action needs what will be done."),
        ({"text": "Empathy"}, "'Empathy' is too vague"),
        ({"text": "be nicer"}, "in at least 3 words"),
        ({"due_date": None}, "An action needs a due date."),
        ({"target": ""}, "An action needs a target"),
        ({"target": "lots"}, "must be a percentage from 0 to 100, not 'lots'"),
        ({"target": "150"}, "must be a percentage from 0 to 100, not 150"),
        ({"criterion": "rater/mind_reading"}, "Unknown rubric criterion 'rater/mind_reading'"),
        ({"criterion": "", "measure": ""}, "Say how progress is measured"),
        ({"owner_id": 99}, "The owner must be you, the agent, or a colleague"),
    ],
)
def test_each_rule_is_refused_with_a_clear_message(change: dict, message: str) -> None:
    problems = _problems(ActionForm(**{**GOOD.__dict__, **change}))
    assert len(problems) == 1 and message in problems[0], problems


def test_every_problem_is_reported_at_once() -> None:
    problems = _problems(ActionForm(text="Empathy"))
    assert len(problems) == 4  # vague, no due date, no measure, no target


# --------------------------------------------------------------------------- progress (pure)


def test_pass_rate_by_hand() -> None:
    # 3 passes, 1 partial, 1 fail over 5 calls: (3 + 0.5) / 5 = 70%; "na" and no result not counted.
    assert pass_rate(["pass", "fail", "pass", "partial", "pass"]) == (70.0, 5)
    assert pass_rate(["pass", "na", "fail", "partial", "pass", None, "pass"]) == (70.0, 5)
    assert pass_rate(["na"]) == (None, 0)
    assert pass_rate([]) == (None, 0)


def test_status_against_the_target() -> None:
    assert progress_status(70.0, 5, 70.0) == ON_TRACK  # reaching the target is on track
    assert progress_status(70.0, 5, 80.0) == BEHIND
    assert progress_status(100.0, 4, 80.0) == TOO_FEW_CALLS
    assert progress_status(None, 0, 80.0) == TOO_FEW_CALLS
    since = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
    result = progress(["pass", "pass", "pass", "partial", "fail"], 75.0, since)
    assert (result.rate, result.n, result.target, result.since, result.status) == (
        70.0,
        5,
        75.0,
        since,
        BEHIND,
    )


# --------------------------------------------------------------------------- the query on a store

DAY0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
SET_AT = DAY0 + dt.timedelta(days=1)  # the action is agreed the day after the first call


def _scored(name: str, result: str) -> ScoredCall:
    crit = CriterionResult("empathised", "Empathised", result, 1.0, 0.9)  # type: ignore[arg-type]
    card = ScorecardResult("rater", "RATER", "1", True, None, criteria=[crit])
    return ScoredCall(name, {}, {}, {"rater": card}, ReviewPriority(False, 0.0))


def _review(call_id: int, officer: User, human: str, *, status: str, at: dt.datetime) -> Review:
    review = Review(call_id=call_id, reviewer_id=officer.id, status=status)
    review.submitted_at = at if status == "submitted" else None
    review.decisions.append(
        CriterionDecision(
            rubric_id="rater",
            criterion_id="empathised",
            decision="override",
            automatic_result="fail",
            human_result=human,
            decided_by_id=officer.id,
        )
    )
    return review


def _seed(url: str) -> dict[str, int]:
    """Sarah's calls (automatic result, day): one before the action, seven after; Tom's one after."""
    ids = {}
    with session_scope(url) as s:
        sarah = agent_named(s, "A1", "Sarah Jones", "Team A")
        tom = agent_named(s, "A2", "Tom Patel", "Team A")
        officer = User(username="qa", role="qa_officer")
        leader = User(username="leader", role="team_leader", team_id=sarah.team_id)
        s.add_all([officer, leader])
        s.flush()
        calls = [
            ("C-0", sarah, "pass", 0),  # before the action: not counted
            ("C-1", sarah, "pass", 2),
            ("C-2", sarah, "pass", 3),
            ("C-3", sarah, "partial", 4),
            ("C-4", sarah, "fail", 5),  # the standing review says pass
            ("C-5", sarah, "pass", 6),  # re-scored: version 2 says fail
            ("C-6", sarah, "na", 7),  # not counted
            ("C-7", sarah, "fail", 8),  # a draft says pass: drafts do not count
            ("T-1", tom, "pass", 3),  # another agent
        ]
        for name, agent, result, day in calls:
            call = store_scored_call(
                s,
                document={"call_id": name, "turns": []},
                scored=_scored(name, result),
                agent=agent,
                external_id=name,
                started_at=DAY0 + dt.timedelta(days=day),
            )
            ids[name] = call.id
        s.add(_review(ids["C-4"], officer, "pass", status="submitted", at=DAY0 + dt.timedelta(days=9)))
        s.add(_review(ids["C-7"], officer, "pass", status="draft", at=DAY0))
        v2 = Transcript(call_id=ids["C-5"], version=2, document={"turns": []})
        s.add(v2)
        s.flush()
        s.add_all(
            scorecard_rows(
                _scored("C-5", "fail"), call_id=ids["C-5"], transcript_id=v2.id, transcript_version=2
            )
        )
        record = CoachingSession(agent_id=sarah.id, team_leader_id=leader.id, session_date=SET_AT.date())
        s.add(record)
        s.flush()
        item = add_action(s, record, GOOD, RUBRICS, user=leader)
        item.created_at = SET_AT  # the action was agreed on that day
        ids.update(agent=sarah.id, item=item.id, leader=leader.id, record=record.id)
    return ids


def test_progress_query_on_a_seeded_store(db_url: str) -> None:
    ids = _seed(db_url)
    with session_scope(db_url) as s:
        results = results_since(s, ids["agent"], "rater", "empathised", SET_AT)
        assert results == {
            ids["C-1"]: "pass",
            ids["C-2"]: "pass",
            ids["C-3"]: "partial",
            ids["C-4"]: "pass",
            ids["C-5"]: "fail",
            ids["C-6"]: "na",
            ids["C-7"]: "fail",
        }
        item = s.get(ActionItem, ids["item"])
        got = action_progress(s, item)
        # By hand: pass, pass, partial, pass, fail, fail = (3 + 0.5) / 6 = 58.3% < 80%: behind.
        assert got is not None
        assert (round(got.rate, 1), got.n, got.target, got.status) == (58.3, 6, 80.0, BEHIND)
        assert got.since == SET_AT
        # Every call from the start: C-0 (a pass) joins, 4.5 / 7 = 64.3%.
        assert pass_rate(results_since(s, ids["agent"], "rater", "empathised", DAY0).values()) == (
            pytest.approx(4.5 / 7 * 100),
            7,
        )


def test_actions_are_audited_and_a_measure_in_words_has_no_progress(sqlite_url: str) -> None:
    ids = _seed(sqlite_url)
    with session_scope(sqlite_url) as s:
        leader = s.get(User, ids["leader"])
        item = s.get(ActionItem, ids["item"])
        edit_action(
            s,
            item,
            ActionForm(text=item.text, due_date=DUE, measure="calls with empathy shown", target="85"),
            RUBRICS,
            user=leader,
        )
        assert (item.rubric_id, item.target, item.owner_id) == (None, 85.0, leader.id)
        assert action_progress(s, item) is None
    with session_scope(sqlite_url) as s:
        entries = s.scalars(
            select(AuditEntry).where(AuditEntry.entity == "action_items").order_by(AuditEntry.id)
        ).all()
        assert [e.action for e in entries] == ["create", "update"]
        assert entries[0].new_value["criterion_id"] == "empathised" and entries[0].new_value["target"] == 80.0
        assert entries[1].old_value == {
            "measure": entries[0].new_value["measure"],
            "rubric_id": "rater",
            "criterion_id": "empathised",
            "target": 80.0,
        }
        assert entries[1].new_value == {
            "measure": "calls with empathy shown",
            "rubric_id": None,
            "criterion_id": None,
            "target": 85.0,
        }


def test_the_measure_a_criterion_gave_follows_a_change_of_criterion(sqlite_url: str) -> None:
    ids = _seed(sqlite_url)
    rater = RUBRICS["rater"]
    listened = next(c for c in rater.criteria if c.id == "listened")
    with session_scope(sqlite_url) as s:
        item = s.get(ActionItem, ids["item"])
        assert item.measure.endswith("pass rate (RATER)")
        form = ActionForm(item.text, DUE, measure=item.measure, criterion="rater/listened", target="80")
        edit_action(s, item, form, RUBRICS, user=s.get(User, ids["leader"]))
        assert item.measure == f"{listened.name} pass rate (RATER)"
        # A measure the coach wrote stays as written.
        form = ActionForm(
            item.text, DUE, measure="calls with no repeat question", criterion="rater/empathised", target="80"
        )
        edit_action(s, item, form, RUBRICS, user=s.get(User, ids["leader"]))
        assert (item.measure, item.criterion_id) == ("calls with no repeat question", "empathised")
