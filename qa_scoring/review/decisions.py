"""Review decisions: accept/override a criterion, submit, dispute - with the audit trail and
optimistic locking. No Flask here, so the rules are testable and reusable from the CLI.

Locking: every change bumps the Review's ``version_id`` (SQLAlchemy's version column), and the
client must send the version it last saw. A mismatch - another officer saved in between - is a
:class:`StaleReview`, which the UI answers with HTTP 409 instead of overwriting their work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.exc import StaleDataError

from qa_scoring.rubric.evaluate import rubric_score
from qa_scoring.scored_call import DECISION_CONFIDENCE
from qa_scoring.store.audit import audit, audit_row
from qa_scoring.store.models import (
    CRITERION_RESULTS,
    CalibrationSession,
    Call,
    CriterionDecision,
    Dispute,
    Review,
    Scorecard,
    Transcript,
    User,
    utcnow,
)
from qa_scoring.store.queries import latest_transcript
from qa_scoring.user_roles import UserRole


class ReviewError(ValueError):
    """A decision the rules refuse (bad result, missing reason, submitted review...)."""


class StaleReview(RuntimeError):
    """Someone else changed the review since the client loaded it."""

    def __init__(self, message: str, current_version: int | None):
        super().__init__(message)
        self.current_version = current_version


@dataclass(frozen=True)
class Edit:
    """Which review a request edits, as the officer's page saw it.

    ``review_id`` None or 0: the officer has no review of the call yet, so a first decision starts
    one. ``version`` is the review's version on that page (optimistic locking: a stale page is
    answered 409). ``calibration``: the blind calibration session the review belongs to.
    """

    review_id: int | None
    version: int | None
    calibration: int | None = None


@dataclass(frozen=True)
class Decision:
    """An officer's decision on one criterion: accept the pre-score, or override it with a result
    and a reason. ``turn``: with an override, optionally the index of the transcript turn that shows
    the behaviour (or was wrongly taken to show it), a turn-level label for ``qa-scoring learn``."""

    rubric_id: str
    criterion_id: str
    decision: str
    result: str | None = None
    reason: str = ""
    turn: int | None = None


@dataclass
class CriterionView:
    rubric_id: str
    criterion_id: str
    name: str
    automatic: str
    weight: float
    confidence: float
    auto_fail: bool
    reason: str
    evidence: list[dict[str, Any]]
    decision: CriterionDecision | None

    @property
    def final(self) -> str:
        return self.decision.human_result if self.decision else self.automatic

    @property
    def needs_decision(self) -> bool:
        """The pre-score is too unsure to assert: shown as open until an officer decides."""
        return self.confidence < DECISION_CONFIDENCE


_REF_COLUMNS = (Transcript.id, Transcript.call_id, Transcript.version, Transcript.created_at)
# Built once (statement construction costs as much as running them on the call page's hot path).
_REF_LATEST = (
    select(*_REF_COLUMNS)
    .where(Transcript.call_id == bindparam("call_id"))
    .order_by(Transcript.version.desc())
    .limit(1)
)
_REF_BY_ID = select(*_REF_COLUMNS).where(Transcript.id == bindparam("transcript_id"))


def transcript_ref(session: Session, call: Call, transcript_id: int | None = None) -> Any | None:
    """The identity (id, call_id, version, created_at) of the transcript a page shows: the given
    one, else the latest. A Core row, not an entity: the call page needs the document only when
    its cached rendering is missing, and building an entity with deferred columns costs more."""
    if transcript_id:
        return session.execute(_REF_BY_ID, {"transcript_id": transcript_id}).first()
    return session.execute(_REF_LATEST, {"call_id": call.id}).first()


def scorecards_for(session: Session, transcript: Any | None) -> list[Scorecard]:
    """The automatic scorecards of ``transcript`` (an entity or a :func:`transcript_ref` row)."""
    if transcript is None:
        return []
    # One query for every card's criteria instead of one per card (the call page shows them all).
    return list(
        session.scalars(
            select(Scorecard)
            .options(selectinload(Scorecard.criteria))
            .where(Scorecard.transcript_id == transcript.id)
            # Scorecards that apply come first: they are what the officer reviews; the complaint
            # models of a routine call follow, collapsed, in case the officer disagrees.
            .order_by(Scorecard.applicable.desc(), Scorecard.rubric_id)
        )
    )


def standing_review(call: Call) -> Review | None:
    """The submitted review whose scores count: the one marked standing, else the latest submitted
    (blind calibration reviews never count)."""
    submitted = [r for r in call.reviews if r.status == "submitted" and r.calibration_session_id is None]
    marked = [r for r in submitted if r.standing]
    if marked:
        return marked[0]
    return max(submitted, key=lambda r: (r.submitted_at or r.created_at, r.id)) if submitted else None


def own_draft(call: Call, user: User, calibration: int | None = None) -> Review | None:
    """The user's draft of the call: the ordinary one, or the one of a blind calibration session."""
    return next(
        (
            r
            for r in call.reviews
            if r.status == "draft" and r.reviewer_id == user.id and r.calibration_session_id == calibration
        ),
        None,
    )


def own_calibration_review(call: Call, user: User, calibration: int) -> Review | None:
    """The user's review of the call in a calibration session, draft or submitted."""
    return next(
        (r for r in call.reviews if r.reviewer_id == user.id and r.calibration_session_id == calibration),
        None,
    )


def review_for(call: Call, user: User, *, reviewer: bool, calibration: int | None = None) -> Review | None:
    """The review a user's page shows: an officer's own draft, else the standing review. Drafts and
    interim scores are an officer's work in progress: nobody else sees them, agents least of all. In
    a blind calibration session it is only the officer's own review of that session."""
    if calibration is not None:
        return own_calibration_review(call, user, calibration)
    return (own_draft(call, user) if reviewer else None) or standing_review(call)


def visible_reviews(call: Call, user: User, *, reviewer: bool) -> list[Review]:
    """The reviews a user may list: every one for reviewers (others' drafts by name and status only),
    submitted ones for everyone else; blind calibration reviews only to their own reviewer (the
    session's report shows them once every member has submitted)."""
    return sorted(
        (
            r
            for r in call.reviews
            if (reviewer or r.status == "submitted")
            and (r.calibration_session_id is None or r.reviewer_id == user.id)
        ),
        key=lambda r: r.id,
    )


def _lock(session: Session, call: Call, user: User, edit: Edit) -> Review | None:
    """The user's own review the page edits, checked against the version it saw (None when the user
    has none yet)."""
    review_id, version, calibration = edit.review_id, edit.version, edit.calibration
    if calibration is not None and not _in_session(session, call, user, calibration):
        raise ReviewError(f"call {call.id} is not yours to review in calibration session {calibration}")
    if review_id in (None, 0):
        mine = (
            own_draft(call, user, calibration)
            if calibration is None
            else own_calibration_review(call, user, calibration)
        )
        if mine is not None:
            raise StaleReview(
                f"You already have a draft review of this call (#{mine.id}), perhaps in another tab; "
                "reload to continue it.",
                mine.version_id,
            )
        return None
    review = session.get(Review, review_id)
    if review is None or review.call_id != call.id or review.calibration_session_id != calibration:
        raise ReviewError(f"review {review_id} does not belong to call {call.id} here")
    if review.status == "draft" and review.reviewer_id != user.id:
        raise ReviewError(
            f"review #{review.id} is {review.reviewer.username}'s draft: your decisions go into your own "
            "review; reload to start it."
        )
    if version is None or review.version_id != int(version):
        raise StaleReview(
            f"This review was changed by someone else (version {review.version_id}, you had {version}); "
            "reload to see their decisions before deciding again.",
            review.version_id,
        )
    return review


def _in_session(session: Session, call: Call, user: User, calibration: int) -> bool:
    found = session.get(CalibrationSession, calibration)
    return found is not None and call in found.calls and user in found.members


def _new_review(session: Session, call: Call, user: User, calibration: int | None = None) -> Review:
    transcript = latest_transcript(session, call.id, light=True)
    review = Review(
        call=call, reviewer=user, transcript=transcript, status="draft", calibration_session_id=calibration
    )
    audit_row(  # adds and flushes the new row
        session,
        review,
        "create",
        user=user,
        new={
            "call_id": call.id,
            "transcript_id": transcript.id if transcript else None,
            "calibration_session_id": calibration,
        },
    )
    return review


def criterion_views(
    session: Session, review: Review | None, scorecards: list[Scorecard]
) -> list[CriterionView]:
    decided = {(d.rubric_id, d.criterion_id): d for d in (review.decisions if review else [])}
    views = []
    for card in scorecards:
        for c in card.criteria:
            views.append(
                CriterionView(
                    card.rubric_id,
                    c.criterion_id,
                    c.name,
                    c.result,
                    c.weight,
                    c.confidence,
                    c.auto_fail,
                    c.reason,
                    list(c.evidence or []),
                    decided.get((card.rubric_id, c.criterion_id)),
                )
            )
    return views


def decide(session: Session, call: Call, user: User, edit: Edit, choice: Decision) -> Review:
    """Accept the automatic result or override it (reason required); audited; bumps the version."""
    rubric_id, criterion_id, decision = choice.rubric_id, choice.criterion_id, choice.decision
    result, reason = choice.result, (choice.reason or "").strip()
    if decision not in ("accept", "override"):
        raise ReviewError(f"decision must be accept or override, not {decision!r}")
    review = _lock(session, call, user, edit)
    if review is not None and review.status == "submitted":
        raise ReviewError("this review is submitted; start a new review to change decisions")
    transcript = review.transcript if review else latest_transcript(session, call.id, light=True)
    card = next((s for s in scorecards_for(session, transcript) if s.rubric_id == rubric_id), None)
    crit = next((c for c in card.criteria if c.criterion_id == criterion_id), None) if card else None
    if crit is None:
        raise ReviewError(f"no criterion {rubric_id}/{criterion_id} on this call's scorecards")
    turn = choice.turn
    if decision == "accept":
        if turn is not None:
            raise ReviewError("an accept points at no turn: override the criterion to point at one")
        result = crit.result
    else:
        if result not in CRITERION_RESULTS:
            raise ReviewError(f"an override needs a result, one of {', '.join(CRITERION_RESULTS)}")
        if not reason:
            raise ReviewError("an override needs a reason")
        if turn is not None:
            _check_turn(transcript, turn)
    if review is None:
        review = _new_review(session, call, user, edit.calibration)
    existing = next(
        (d for d in review.decisions if d.rubric_id == rubric_id and d.criterion_id == criterion_id), None
    )
    old = _decision_dict(existing) if existing else {"result": crit.result, "source": "automatic"}
    if existing is None:
        existing = CriterionDecision(
            rubric_id=rubric_id,
            criterion_id=criterion_id,
            automatic_result=crit.result,
            decided_by=user,
            decision=decision,
            human_result=result,
            reason=reason,
            turn=turn,
        )
        review.decisions.append(existing)
    else:
        existing.decision, existing.human_result, existing.reason = decision, result, reason
        existing.turn = turn
        existing.decided_by, existing.decided_at = user, utcnow()
    review.updated_at = utcnow()  # bumps version_id even when only a child row changed
    review.final_scores = final_scores(review, scorecards_for(session, review.transcript))
    session.flush()
    audit(
        session,
        entity="criterion_decisions",
        entity_id=existing.id,
        action=decision,
        user=user,
        old=old,
        new=_decision_dict(existing),
        reason=reason,
    )
    return review


def accept_remaining(
    session: Session,
    call: Call,
    user: User,
    edit: Edit,
    rubric_id: str | None = None,
) -> tuple[Review | None, int]:
    """Accept every undecided criterion (of one rubric, or all): the common path for a good call."""
    review = _lock(session, call, user, edit)
    transcript = review.transcript if review else latest_transcript(session, call.id, light=True)
    cards = [c for c in scorecards_for(session, transcript) if rubric_id in (None, c.rubric_id)]
    count = 0
    for view in criterion_views(session, review, cards):
        if view.decision is None:
            now = Edit(review.id, review.version_id, edit.calibration) if review else edit
            review = decide(session, call, user, now, Decision(view.rubric_id, view.criterion_id, "accept"))
            count += 1
    return review, count


def _check_turn(transcript: Transcript | None, turn: Any) -> None:
    """Refuse a pointed turn that is not an index of the transcript the review is on."""
    turns = len((transcript.document or {}).get("turns") or []) if transcript is not None else 0
    if isinstance(turn, bool) or not isinstance(turn, int) or not 0 <= turn < turns:
        raise ReviewError(
            f"turn {turn!r} is not a turn of this call's transcript (it has {turns}, numbered 0 to "
            f"{turns - 1})"
            if turns
            else f"turn {turn!r}: this call's transcript has no turns to point at"
        )


def turn_words(transcript: Transcript | None, turn: int | None, words: int = 8) -> str:
    """The first ``words`` words of a pointed turn, to show beside the decision ("" if none)."""
    if transcript is None or turn is None:
        return ""
    turns = (transcript.document or {}).get("turns") or []
    if not 0 <= turn < len(turns):
        return ""
    split = str(turns[turn].get("text") or "").split()
    return " ".join(split[:words]) + (" …" if len(split) > words else "")


def _decision_dict(d: CriterionDecision) -> dict[str, Any]:
    return {
        "decision": d.decision,
        "result": d.human_result,
        "reason": d.reason,
        "automatic_result": d.automatic_result,
        "turn": d.turn,
    }


def final_scores(review: Review, scorecards: list[Scorecard]) -> dict[str, float | None]:
    """Each rubric's 0-100 score from the human results, by the rubric engine's own formula.
    Undecided criteria count with their automatic result until decided."""
    decided = {(d.rubric_id, d.criterion_id): d.human_result for d in review.decisions}
    return {
        card.rubric_id: rubric_score(
            (c.weight, decided.get((card.rubric_id, c.criterion_id), c.result), c.auto_fail)
            for c in card.criteria
        )
        for card in scorecards
    }


def comment(session: Session, call: Call, user: User, edit: Edit, text: str) -> Review:
    review = _lock(session, call, user, edit) or _new_review(session, call, user, edit.calibration)
    if review.status == "submitted":
        raise ReviewError("this review is submitted; start a new review to comment")
    old = review.comment
    review.comment = text.strip()
    review.updated_at = utcnow()
    session.flush()
    audit_row(session, review, "comment", user=user, old={"comment": old}, new={"comment": review.comment})
    return review


def submit(session: Session, call: Call, user: User, edit: Edit) -> Review:
    """Submit once every criterion of the applicable scorecards has a human decision.

    Scorecards that do not apply (a complaint model on a routine call) need no decisions: their
    automatic "not applicable" stands unless the officer overrides a criterion. The call leaves the queue.
    """
    review = _lock(session, call, user, edit)
    if review is None:
        raise ReviewError("nothing to submit: no decisions yet")
    if review.status == "submitted":
        raise ReviewError("this review is already submitted")
    cards = scorecards_for(session, review.transcript)
    missing = [
        f"{v.rubric_id}/{v.criterion_id}"
        for v in criterion_views(session, review, [c for c in cards if c.applicable])
        if v.decision is None
    ]
    if missing:
        raise ReviewError(f"{len(missing)} criteria still need a decision (first: {missing[0]})")
    if edit.calibration is None:  # a calibration review is practice: the call's own review is still due
        open_disputes = [d for d in _disputes(session, call) if d.status == "open"]
        call.needs_review = bool(open_disputes)
    _seal(session, review, user, cards, old={"status": "draft"})
    if edit.calibration is None:
        _make_standing(session, call, review, user, "the latest submitted review stands")
    return review


def _seal(
    session: Session,
    review: Review,
    user: User,
    cards: list[Scorecard],
    new: dict[str, Any] | None = None,
    **details: Any,
) -> None:
    """Submit ``review``: its final scores fixed from ``cards``; audited as a submission."""
    review.final_scores = final_scores(review, cards)
    review.status, review.submitted_at, review.updated_at = "submitted", utcnow(), utcnow()
    session.flush()
    new = {"status": "submitted", **(new or {}), "final_scores": review.final_scores}
    audit_row(session, review, "submit", user=user, new=new, **details)


def _make_standing(
    session: Session,
    call: Call,
    review: Review,
    user: User | None,
    reason: str,
    *,
    actor: str | None = None,
    previous: Review | None = None,
) -> None:
    """Make ``review`` the one whose scores count, audited for ``user`` (or ``actor``: an import).
    ``previous``: the review that stood before, when the caller knows it better than the flags."""
    if previous is None:
        previous = standing_review(call) if any(r.standing for r in call.reviews) else None
    for other in call.reviews:
        if other.standing and other is not review:
            other.standing = False
    review.standing = True
    session.flush()
    audit_row(
        session,
        review,
        "stand",
        user=user,
        actor=actor,
        old={"standing_review": previous.id if previous is not None and previous is not review else None},
        new={"standing_review": review.id, "call_id": call.id, "final_scores": review.final_scores},
        reason=reason,
    )


def choose_standing(session: Session, call: Call, review: Review, user: User, *, reason: str) -> Review:
    """Make a submitted review the one whose scores count (a reason is required; audited)."""
    reason = (reason or "").strip()
    if review.call_id != call.id or review.status != "submitted":
        raise ReviewError(f"review #{review.id} is not a submitted review of call {call.id}")
    if not reason:
        raise ReviewError("choosing the standing review needs a reason")
    if review.standing:
        raise ReviewError(f"review #{review.id} already stands")
    _make_standing(session, call, review, user, reason)
    return review


def _disputes(session: Session, call: Call) -> list[Dispute]:
    return list(session.scalars(select(Dispute).where(Dispute.call_id == call.id).order_by(Dispute.id)))


def raise_dispute(
    session: Session,
    call: Call,
    user: User,
    *,
    rubric_id: str,
    criterion_id: str,
    reason: str,
    proposed_result: str | None = None,
) -> Dispute:
    """An appeal: a team leader or agent proposes the result they believe is right for a criterion
    of the standing review, with a reason; the call goes back to the review queue."""
    reason = (reason or "").strip()
    if not reason:
        raise ReviewError("an appeal needs a reason")
    if proposed_result not in CRITERION_RESULTS:
        raise ReviewError(f"an appeal proposes a result, one of {', '.join(CRITERION_RESULTS)}")
    review = standing_review(call)
    if review is None:
        raise ReviewError("only a submitted review can be appealed")
    current = _final_result(session, review, rubric_id, criterion_id)
    if current is None:
        raise ReviewError(f"no criterion {rubric_id}/{criterion_id} on this call's scorecards")
    if current == proposed_result:
        raise ReviewError(f"{rubric_id}/{criterion_id} is already {current}")
    dispute = Dispute(
        call_id=call.id,
        review_id=review.id,
        rubric_id=rubric_id,
        criterion_id=criterion_id,
        raised_by_id=user.id,
        reason=reason,
        proposed_result=proposed_result,
        status="open",
    )
    session.add(dispute)
    old = {"needs_review": call.needs_review, "review_priority": call.review_priority}
    call.needs_review = True
    call.review_priority = max(call.review_priority or 0.0, 0.9)
    reasons = list(call.review_reasons or [])
    if "dispute" not in reasons:
        call.review_reasons = ["dispute", *reasons]
    session.flush()
    audit_row(
        session,
        dispute,
        "create",
        user=user,
        old=old,
        new={
            "rubric_id": rubric_id,
            "criterion_id": criterion_id,
            "result": current,
            "proposed_result": proposed_result,
            "needs_review": True,
        },
        reason=reason,
    )
    return dispute


def _final_result(session: Session, review: Review, rubric_id: str, criterion_id: str) -> str | None:
    """A criterion's result in a review: the human decision, else the automatic result."""
    decided = next(
        (d for d in review.decisions if d.rubric_id == rubric_id and d.criterion_id == criterion_id), None
    )
    if decided is not None:
        return decided.human_result
    for card in scorecards_for(session, review.transcript):
        if card.rubric_id == rubric_id:
            crit = next((c for c in card.criteria if c.criterion_id == criterion_id), None)
            return crit.result if crit else None
    return None


DECIDERS = (UserRole.TEAM_LEADER, UserRole.QA_OFFICER, UserRole.ADMIN)


def resolve_dispute(
    session: Session,
    dispute: Dispute,
    user: User,
    *,
    status: str,
    resolution: str,
    version: int,
    outcome_result: str | None = None,
) -> Dispute:
    """Decide an appeal: upheld (the proposed result), partly upheld (``outcome_result``, another
    result) or rejected. A decision for the appellant becomes a new submitted review that stands,
    with the appealed criterion changed: the appealed review and its history stay as they were.
    The reviewer whose review is appealed cannot decide the appeal."""
    if status not in ("upheld", "partial", "rejected"):
        raise ReviewError("decide an appeal as upheld, partly upheld or rejected")
    resolution = (resolution or "").strip()
    if not resolution:
        raise ReviewError("a decision on an appeal needs a reason")
    if user.role not in DECIDERS:
        raise ReviewError("a team leader or a QA officer decides appeals")
    if dispute.status != "open":
        raise ReviewError(f"this appeal is already {dispute.status}")
    if dispute.version_id != int(version):
        raise StaleReview("This appeal was changed by someone else; reload.", dispute.version_id)
    appealed = dispute.review
    if appealed is not None and appealed.reviewer_id == user.id:
        raise ReviewError(
            "the reviewer of the appealed review cannot decide the appeal: ask a second officer"
        )
    current = (
        _final_result(session, appealed, dispute.rubric_id or "", dispute.criterion_id or "")
        if appealed
        else None
    )
    if status == "upheld":
        outcome_result = dispute.proposed_result or outcome_result
    elif status == "rejected":
        outcome_result = current
    if status != "rejected" and outcome_result not in CRITERION_RESULTS:
        raise ReviewError(f"say which result stands, one of {', '.join(CRITERION_RESULTS)}")
    if status == "partial" and outcome_result in (current, dispute.proposed_result):
        raise ReviewError(
            "a partly upheld appeal settles on a result other than the current and the proposed one"
        )
    old = {"status": dispute.status}
    dispute.status, dispute.resolution, dispute.outcome_result = status, resolution, outcome_result
    dispute.resolved_by_id, dispute.resolved_at = user.id, utcnow()
    session.flush()
    audit_row(
        session,
        dispute,
        "resolve",
        user=user,
        old=old,
        new={"status": status, "result": current, "outcome_result": outcome_result},
        reason=resolution,
    )
    if status != "rejected" and appealed is not None and outcome_result != current:
        _review_from_appeal(session, dispute, appealed, user, outcome_result or "")
    call = dispute.call
    if not any(d.status == "open" for d in _disputes(session, call)):
        call.needs_review = any(r.status == "draft" for r in call.reviews)
    return dispute


def _review_from_appeal(
    session: Session, dispute: Dispute, appealed: Review, user: User, result: str
) -> Review:
    """The appealed review's decisions with the appealed criterion set to ``result``, submitted by
    the decider and made the standing review."""
    review = Review(call=dispute.call, reviewer=user, transcript=appealed.transcript, status="draft")
    review.comment = f"Appeal #{dispute.id} {dispute.status}: {dispute.resolution}"
    session.add(review)
    for d in appealed.decisions:
        review.decisions.append(
            CriterionDecision(
                rubric_id=d.rubric_id,
                criterion_id=d.criterion_id,
                automatic_result=d.automatic_result,
                decided_by_id=d.decided_by_id,
                decision=d.decision,
                human_result=d.human_result,
                reason=d.reason,
                turn=d.turn,
            )
        )
    target = next(
        (
            d
            for d in review.decisions
            if (d.rubric_id, d.criterion_id) == (dispute.rubric_id, dispute.criterion_id)
        ),
        None,
    )
    if target is None:
        target = CriterionDecision(
            rubric_id=dispute.rubric_id,
            criterion_id=dispute.criterion_id,
            automatic_result=_final_result(
                session, appealed, dispute.rubric_id or "", dispute.criterion_id or ""
            )
            or "na",
        )
        review.decisions.append(target)
    target.decision, target.human_result, target.decided_by = "override", result, user
    target.reason = f"appeal #{dispute.id}: {dispute.resolution}"
    target.turn = None  # the reviewer pointed at it for the result the appeal changed
    cards = scorecards_for(session, review.transcript)
    _seal(
        session,
        review,
        user,
        cards,
        new={"from_review": appealed.id, "appeal": dispute.id},
        reason=target.reason,
    )
    _make_standing(session, dispute.call, review, user, f"appeal #{dispute.id} {dispute.status}")
    return review


def acknowledge(session: Session, call: Call, review: Review, user: User, *, comment: str = "") -> Review:
    """The agent confirms they have seen a submitted review of their call (once; audited)."""
    if user.role != UserRole.AGENT or user.agent_id is None or user.agent_id != call.agent_id:
        raise ReviewError("only the call's agent acknowledges its review")
    if review.call_id != call.id or review.status != "submitted":
        raise ReviewError("only a submitted review can be acknowledged")
    if review.acknowledged_at is not None:
        raise ReviewError("this review is already acknowledged")
    review.acknowledged_at, review.acknowledged_by_id = utcnow(), user.id
    review.acknowledgement = (comment or "").strip()
    session.flush()
    audit_row(
        session,
        review,
        "acknowledge",
        user=user,
        new={"acknowledged": True, "comment": review.acknowledgement},
    )
    return review


def start_new_review(session: Session, call: Call, user: User) -> Review:
    """A fresh, independent review (a second opinion for calibration, or after an upheld dispute)."""
    if own_draft(call, user) is not None:
        raise ReviewError("you already have a draft review of this call open")
    return _new_review(session, call, user)


__all__ = [
    "StaleDataError",
    "StaleReview",
    "ReviewError",
    "decide",
    "submit",
    "comment",
    "accept_remaining",
    "raise_dispute",
    "acknowledge",
    "resolve_dispute",
    "final_scores",
    "criterion_views",
    "review_for",
    "visible_reviews",
    "standing_review",
    "choose_standing",
    "start_new_review",
    "transcript_ref",
    "scorecards_for",
    "turn_words",
]
