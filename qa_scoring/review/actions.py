"""SMART coaching actions: the rules an action must meet, and its progress against its target.

An action agreed in a one-to-one is *specific* (what will be done, in a few words, not "empathy"),
*measurable* (a measure in words with a target, or a rubric criterion with a target pass rate),
*owned* (by the coach unless they name someone else) and *time-bound* (a due date). No Flask here:
the web form and any script go through :func:`add_action` and :func:`edit_action`, which audit
every change.

Progress of an action measured by a criterion is that criterion's pass rate over the agent's calls
since the action was set: each call counts once, with the human result of its standing review where
a reviewer decided the criterion, else the latest automatic result; "na" is left out and "partial"
counts half (as in a rubric score).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from qa_scoring.review.decisions import standing_review
from qa_scoring.rubric.evaluate import VALUES
from qa_scoring.rubric.rubric import Criterion, Rubric
from qa_scoring.store.audit import audit_row
from qa_scoring.store.models import (
    ActionItem,
    Agent,
    Call,
    CoachingSession,
    CriterionResult,
    Review,
    Scorecard,
    Transcript,
    User,
)
from qa_scoring.user_roles import STAFF

MIN_WORDS = 3  # "empathy" or "be nicer" is a topic, not an action
MIN_CALLS = 5  # fewer calls than this since the action was set say too little to judge progress
ON_TRACK, BEHIND, TOO_FEW_CALLS = "on track", "behind", "too few calls"
# The fields an action's audit entries record.
FIELDS = ("text", "due_date", "measure", "rubric_id", "criterion_id", "target", "owner_id")


class ActionError(ValueError):
    """An action the rules refuse; ``problems`` lists every reason, each a sentence for the coach."""

    def __init__(self, problems: list[str]):
        super().__init__(" ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class ActionForm:
    """An action as a coach entered it (form strings; blank means not given).

    ``criterion``: "rubric_id/criterion_id" (see :func:`criterion_choices`); ``owner_id``: None for
    the coach."""

    text: str = ""
    due_date: dt.date | None = None
    measure: str = ""
    criterion: str = ""
    target: str | float | None = None
    owner_id: int | None = None


@dataclass(frozen=True)
class SmartAction:
    """An action that meets the rules, ready to store."""

    text: str
    due_date: dt.date
    measure: str
    rubric_id: str | None
    criterion_id: str | None
    target: float
    owner_id: int


def criterion_choices(rubrics: Mapping[str, Rubric]) -> list[tuple[str, str]]:
    """(value, label) for every criterion of the loaded rubrics: "rubric_id/criterion_id" and
    "Rubric name / Criterion name", in rubric then criterion order."""
    return [
        (f"{r.id}/{c.id}", f"{r.name or r.id} / {c.name or c.id}")
        for r in sorted(rubrics.values(), key=lambda r: (r.name or r.id).lower())
        for c in r.criteria
    ]


def find_criterion(rubrics: Mapping[str, Rubric], value: str) -> tuple[Rubric, Criterion] | None:
    rubric_id, _, criterion_id = value.partition("/")
    rubric = rubrics.get(rubric_id)
    criterion = next((c for c in rubric.criteria if c.id == criterion_id), None) if rubric else None
    return (rubric, criterion) if rubric and criterion else None


def default_measure(rubric: Rubric, criterion: Criterion) -> str:
    """The measure of an action measured by a criterion when the coach gives none in words."""
    return f"{criterion.name or criterion.id} pass rate ({rubric.name or rubric.id})"


def owner_choices(session: Session, agent: Agent, coach: User) -> list[User]:
    """Who may own an action for ``agent``: the coach, the agent's own login, and active staff of
    the agent's team or of no team."""
    users = session.scalars(
        select(User)
        .where(
            User.active.is_(True),
            or_(
                User.id == coach.id,
                User.agent_id == agent.id,
                and_(
                    User.role.in_([str(r) for r in STAFF]),
                    or_(User.team_id.is_(None), User.team_id == agent.team_id),
                ),
            ),
        )
        .order_by(User.username)
    )
    return list(users)


def _target(value: str | float | None) -> tuple[float | None, str | None]:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, "An action needs a target: the pass rate to reach, in percent (0-100)."
    try:
        target = float(str(value).strip().rstrip("%").strip())
    except ValueError:
        return None, f"The target must be a percentage from 0 to 100, not {value!r}."
    if not 0 <= target <= 100:
        return None, f"The target must be a percentage from 0 to 100, not {target:g}."
    return target, None


def validate(
    form: ActionForm, rubrics: Mapping[str, Rubric], *, coach: User, owners: Iterable[User]
) -> SmartAction:
    """The action ``form`` describes, or :class:`ActionError` with every rule it breaks.

    A criterion must be one of ``rubrics``; an owner one of ``owners`` (none given: the coach). With
    a criterion and no measure in words, the measure is the criterion's pass rate."""
    problems: list[str] = []
    text = " ".join(form.text.split())
    if not text:
        problems.append("An action needs what will be done.")
    elif len(text.split()) < MIN_WORDS:
        problems.append(
            f"Say specifically what will be done, in at least {MIN_WORDS} words "
            f"(e.g. 'Acknowledge the customer's problem before solving it'); {text!r} is too vague."
        )
    if form.due_date is None:
        problems.append("An action needs a due date.")
    measure = " ".join(form.measure.split())
    found = None
    if form.criterion.strip():
        found = find_criterion(rubrics, form.criterion.strip())
        if found is None:
            problems.append(f"Unknown rubric criterion {form.criterion.strip()!r}: choose one from the list.")
    elif not measure:
        problems.append(
            "Say how progress is measured: a measure with a target, or a rubric criterion with a "
            "target pass rate."
        )
    target, problem = _target(form.target)
    if problem:
        problems.append(problem)
    allowed = {u.id for u in owners} | {coach.id}
    owner_id = form.owner_id or coach.id
    if owner_id not in allowed:
        problems.append("The owner must be you, the agent, or a colleague of the agent's team.")
    if problems:
        raise ActionError(problems)
    assert form.due_date is not None and target is not None  # the checks above
    if found is not None and not measure:
        measure = default_measure(*found)
    return SmartAction(
        text=text,
        due_date=form.due_date,
        measure=measure,
        rubric_id=found[0].id if found else None,
        criterion_id=found[1].id if found else None,
        target=target,
        owner_id=owner_id,
    )


def _values(item: ActionItem) -> dict[str, object]:
    values = {f: getattr(item, f) for f in FIELDS}
    values["due_date"] = item.due_date.isoformat() if item.due_date else None
    return values


def _apply(item: ActionItem, action: SmartAction) -> None:
    for f in FIELDS:
        setattr(item, f, getattr(action, f))


def add_action(
    session: Session,
    record: CoachingSession,
    form: ActionForm,
    rubrics: Mapping[str, Rubric],
    *,
    user: User,
) -> ActionItem:
    """Validate ``form`` and add it to ``record`` as an open action, audited (not committed)."""
    action = validate(form, rubrics, coach=user, owners=owner_choices(session, record.agent, user))
    item = ActionItem(status="open")
    _apply(item, action)
    record.action_items.append(item)
    session.flush()
    audit_row(session, item, "create", user=user, new=_values(item) | {"coaching_session_id": record.id})
    return item


def edit_action(
    session: Session,
    item: ActionItem,
    form: ActionForm,
    rubrics: Mapping[str, Rubric],
    *,
    user: User,
) -> ActionItem:
    """Validate ``form`` and make it ``item``'s new description, audited (not committed)."""
    owners = owner_choices(session, item.coaching_session.agent, user)
    if item.owner is not None:  # an owner who has since left the team keeps the action
        owners.append(item.owner)
    # The measure the last criterion gave, sent back unchanged: it follows a change of criterion.
    old_criterion = (
        find_criterion(rubrics, f"{item.rubric_id}/{item.criterion_id}") if item.rubric_id else None
    )
    if old_criterion and " ".join(form.measure.split()) == default_measure(*old_criterion):
        form = replace(form, measure="")
    action = validate(form, rubrics, coach=user, owners=owners)
    old = _values(item)
    _apply(item, action)
    new = _values(item)
    if new != old:
        session.flush()
        audit_row(
            session,
            item,
            "update",
            user=user,
            old={k: v for k, v in old.items() if new[k] != v},
            new={k: v for k, v in new.items() if old[k] != v},
        )
    return item


# --------------------------------------------------------------------------- progress


@dataclass(frozen=True)
class Progress:
    """A criterion's pass rate (percent; None without a counted call) over ``n`` calls since
    ``since``, against ``target``; ``status`` is ON_TRACK, BEHIND or TOO_FEW_CALLS."""

    rate: float | None
    n: int
    target: float | None
    since: dt.datetime
    status: str


def pass_rate(results: Iterable[str | None]) -> tuple[float | None, int]:
    """(pass rate in percent, calls counted) of one result per call: "pass" 1, "partial" one half,
    "fail" 0; "na" (and no result) is not counted."""
    counted = [VALUES[r] for r in results if r in VALUES]
    return (100.0 * sum(counted) / len(counted) if counted else None, len(counted))


def progress_status(rate: float | None, n: int, target: float | None) -> str:
    if n < MIN_CALLS or rate is None:
        return TOO_FEW_CALLS
    return ON_TRACK if target is None or rate >= target else BEHIND


def progress(results: Iterable[str | None], target: float | None, since: dt.datetime) -> Progress:
    rate, n = pass_rate(results)
    return Progress(rate, n, target, since, progress_status(rate, n, target))


def results_since(
    session: Session, agent_id: int, rubric_id: str, criterion_id: str, since: dt.datetime
) -> dict[int, str]:
    """{call id: result} of one criterion for the agent's calls since ``since`` (when the call
    started, else when it was stored): the standing review's human result where a reviewer decided
    the criterion, else the automatic result of the call's latest transcript version. Calls with
    neither are left out."""
    calls = session.scalars(
        select(Call)
        .where(Call.agent_id == agent_id, func.coalesce(Call.started_at, Call.created_at) >= since)
        .options(selectinload(Call.reviews).selectinload(Review.decisions))
        .order_by(Call.id)
    ).all()
    if not calls:
        return {}
    latest = (
        select(Transcript.call_id, func.max(Transcript.version).label("version"))
        .where(Transcript.call_id.in_([c.id for c in calls]))
        .group_by(Transcript.call_id)
        .subquery()
    )
    rows = session.execute(
        select(Scorecard.call_id, CriterionResult.result)
        .join(CriterionResult, CriterionResult.scorecard_id == Scorecard.id)
        .join(
            latest,
            (latest.c.call_id == Scorecard.call_id) & (latest.c.version == Scorecard.transcript_version),
        )
        .where(
            Scorecard.rubric_id == rubric_id,
            Scorecard.applicable.is_(True),
            CriterionResult.criterion_id == criterion_id,
        )
    )
    automatic = {call_id: result for call_id, result in rows}
    results: dict[int, str] = {}
    for call in calls:
        review = standing_review(call)
        decided = next(
            (
                d.human_result
                for d in (review.decisions if review else [])
                if (d.rubric_id, d.criterion_id) == (rubric_id, criterion_id)
            ),
            None,
        )
        result = decided or automatic.get(call.id)
        if result is not None:
            results[call.id] = result
    return results


def action_progress(session: Session, item: ActionItem) -> Progress | None:
    """The progress of an action measured by a rubric criterion; None for a measure in words."""
    if not (item.rubric_id and item.criterion_id):
        return None
    agent_id = item.coaching_session.agent_id
    results = results_since(session, agent_id, item.rubric_id, item.criterion_id, item.created_at)
    return progress(results.values(), item.target, item.created_at)
