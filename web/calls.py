"""The call page (audio beside the transcript, lanes, metrics, scorecard) and the review API.

Decisions are saved one at a time by ``fetch`` as the officer makes them (JSON in, JSON out), so a
closed tab or a crash loses nothing; each carries the review version for optimistic locking.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, send_file, url_for
from sqlalchemy import bindparam, select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.exc import StaleDataError

from qa_scoring.review import decisions as rv
from qa_scoring.store.models import (
    CRITERION_RESULTS,
    AuditEntry,
    CalibrationSession,
    Call,
    Clip,
    Dispute,
    Review,
)
from qa_scoring.user_roles import UserRole
from web.access import check_call
from web.auth import current_user, roles
from web.db import get_db
from web.fragments import scorecard_fragment, transcript_fragment
from web.hardening import MAX_RECORD_ID, parse_record_id

bp = Blueprint("calls", __name__, url_prefix="/calls")

REVIEWERS = (UserRole.QA_OFFICER, UserRole.ADMIN)
EVERYONE = (UserRole.QA_OFFICER, UserRole.TEAM_LEADER, UserRole.AGENT, UserRole.ADMIN)
APPEAL_OUTCOMES = {"upheld": "upheld", "partial": "partly upheld", "rejected": "rejected"}
AUDIO_TYPES = {
    ".wav": "audio/wav",
    ".ogg": "audio/ogg",
    ".opus": "audio/ogg",
    ".mp3": "audio/mpeg",
    ".flac": "audio/flac",
    ".m4a": "audio/mp4",
    ".webm": "audio/webm",
}


def audio_file(call: Call) -> Path | None:
    """The audio the UI plays: the redacted copy when there is one (card numbers blanked)."""
    for candidate in (call.redacted_audio_path, call.audio_path):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def _load(call_id: int) -> Call:
    return check_call(current_user(), get_db().get(Call, call_id))


# Built once: constructing options and statements costs as much as running the queries.
_PAGE_OPTIONS = (
    joinedload(Call.agent),
    joinedload(Call.team),
    joinedload(Call.reviews).joinedload(Review.reviewer),
)

_DISPUTES = (
    select(Dispute)
    .options(joinedload(Dispute.raised_by))
    .where(Dispute.call_id == bindparam("call_id"))
    .order_by(Dispute.id)
)
_CLIPS = select(Clip).where(Clip.call_id == bindparam("call_id")).order_by(Clip.id)


def _load_for_page(call_id: int) -> Call:
    """The call with what its page shows of it (agent, team, reviews and their reviewers) in one
    query instead of one lazy load per relation (a call has a handful of reviews at most)."""
    return check_call(current_user(), get_db().get(Call, call_id, options=_PAGE_OPTIONS))


@bp.route("/<int:call_id>")
@roles(*EVERYONE)
def show(call_id: int) -> Any:
    db = get_db()
    call = _load_for_page(call_id)
    user = current_user()
    can_review = user.role in REVIEWERS
    calibration = _calibration(call)
    review = rv.review_for(call, user, reviewer=can_review, calibration=calibration)
    transcript = rv.transcript_ref(db, call, review.transcript_id if review else None)
    can_clip = user.role in (UserRole.TEAM_LEADER, UserRole.QA_OFFICER, UserRole.ADMIN)
    has_audio = audio_file(call) is not None

    def scorecard_context() -> dict[str, Any]:
        cards = rv.scorecards_for(db, transcript)
        by_rubric: dict[str, list[rv.CriterionView]] = {}
        for v in rv.criterion_views(db, review, cards):
            by_rubric.setdefault(v.rubric_id, []).append(v)
        final = rv.final_scores(review, cards) if review else {}
        # The first words of each turn a decision points at (the document loads only if one does).
        pointed = {
            d.turn: rv.turn_words(review.transcript, d.turn)
            for d in (review.decisions if review else [])
            if d.turn is not None
        }
        return {"cards": cards, "by_rubric": by_rubric, "final_scores": final, "pointed": pointed}

    fragment = transcript_fragment(transcript, call.duration)
    scorecard = scorecard_fragment(
        transcript, review, can_review=can_review, can_clip=can_clip, render=scorecard_context
    )
    disputes = list(db.scalars(_DISPUTES, {"call_id": call.id}).unique())
    # Clips are listed only beside the clip form.
    clips = list(db.scalars(_CLIPS, {"call_id": call.id})) if can_clip and has_audio else []
    return render_template(
        "calls/show.html",
        call=call,
        review=review,
        reviews=rv.visible_reviews(call, user, reviewer=can_review),
        others_drafts=[
            r
            for r in call.reviews
            if r.status == "draft" and r.reviewer_id != user.id and r.calibration_session_id is None
        ],
        standing_history=_standing_history(db, call) if can_review and calibration is None else [],
        calibration=calibration,
        fragment=fragment,
        metrics=fragment.metrics,
        scorecard=scorecard,
        disputes=disputes,
        clips=clips,
        results=CRITERION_RESULTS,
        has_audio=has_audio,
        can_review=can_review,
        can_dispute=user.role in (UserRole.TEAM_LEADER, UserRole.AGENT)
        and bool(review and review.status == "submitted"),
        can_decide_appeals=user.role in rv.DECIDERS,
        appeal_outcomes=APPEAL_OUTCOMES,
        can_clip=can_clip,
    )


@bp.route("/<int:call_id>/audio")
@roles(*EVERYONE)
def audio(call_id: int) -> Any:
    call = _load(call_id)
    path = audio_file(call)
    if path is None:
        abort(404)
    # conditional=True answers Range requests (206), which the audio element needs to seek.
    return send_file(
        path,
        mimetype=AUDIO_TYPES.get(path.suffix.lower(), "application/octet-stream"),
        conditional=True,
        max_age=0,
    )


def _json() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(400, "expected a JSON object")
    return data


def _int(value: Any) -> int | None:
    """A review id or version from the request (0: none yet), bounded like every stored integer."""
    try:
        number = None if value in (None, "") else int(value)
    except (TypeError, ValueError):
        abort(400, f"not a number: {value!r}")
    if number is not None and not 0 <= number <= MAX_RECORD_ID:
        abort(400, f"out of range: {value!r}")
    return number


def _turn(value: Any) -> int | None:
    """The transcript turn an override points at (optional); the review rules check its range."""
    if value in (None, ""):
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        abort(400, f"not a turn number: {value!r}")
    try:
        return int(value)
    except ValueError:
        abort(400, f"not a turn number: {value!r}")


def _calibration(call: Call) -> int | None:
    """The blind calibration session a review request is part of (``?calibration=ID``), checked:
    only its members review its calls there."""
    calibration = request.args.get("calibration", type=parse_record_id)
    if calibration is None:
        return None
    found = get_db().get(CalibrationSession, calibration)
    if found is None or call not in found.calls or current_user() not in found.members:
        abort(403)
    return calibration


def _edit(data: dict[str, Any], call: Call) -> rv.Edit:
    """The review a JSON request edits: its id and the version the page saw, in its calibration."""
    return rv.Edit(_int(data.get("review_id")), _int(data.get("version")), _calibration(call))


def _review_payload(review: Any, **extra: Any) -> dict[str, Any]:
    return {
        "ok": True,
        "review_id": review.id if review else None,
        "version": review.version_id if review else None,
        "status": review.status if review else None,
        "final_scores": review.final_scores if review else {},
        "decided": len(review.decisions) if review else 0,
        **extra,
    }


def _apply(call_id: int, action: Any) -> Any:
    """Run one review change in a transaction; map the rules' refusals to 400 and races to 409."""
    db = get_db()
    call = _load(call_id)
    try:
        result = action(db, call)
        db.commit()
    except rv.StaleReview as exc:
        db.rollback()
        return jsonify(ok=False, error=str(exc), conflict=True, version=exc.current_version), 409
    except StaleDataError:
        db.rollback()
        return jsonify(
            ok=False,
            conflict=True,
            error="Another officer saved this review at the same moment; reload to see it.",
        ), 409
    except rv.ReviewError as exc:
        db.rollback()
        return jsonify(ok=False, error=str(exc)), 400
    return jsonify(result)


def _apply_form(call: Call, action: Callable[[Any], object], done: str) -> Any:
    """Run one review change a form on the call page asks for in a transaction, then back to the
    page: ``done`` flashed, or the rules' refusal flashed as an error and nothing changed."""
    db = get_db()
    try:
        action(db)
        db.commit()
        flash(done)
    except rv.ReviewError as exc:
        db.rollback()
        flash(str(exc), "error")
    return redirect(url_for("calls.show", call_id=call.id))


@bp.route("/<int:call_id>/decisions", methods=["POST"])
@roles(*REVIEWERS)
def decide(call_id: int) -> Any:
    data = _json()

    def action(db: Any, call: Call) -> dict[str, Any]:
        choice = rv.Decision(
            rubric_id=str(data.get("rubric_id", "")),
            criterion_id=str(data.get("criterion_id", "")),
            decision=str(data.get("decision", "")),
            result=data.get("result"),
            reason=str(data.get("reason") or ""),
            turn=_turn(data.get("turn")),
        )
        review = rv.decide(db, call, current_user(), _edit(data, call), choice)
        d = next(
            x
            for x in review.decisions
            if x.rubric_id == data.get("rubric_id") and x.criterion_id == data.get("criterion_id")
        )
        return _review_payload(
            review,
            decision={
                "decision": d.decision,
                "result": d.human_result,
                "reason": d.reason,
                "by": d.decided_by.username,
                "turn": d.turn,
                "turn_words": rv.turn_words(review.transcript, d.turn),
            },
        )

    return _apply(call_id, action)


@bp.route("/<int:call_id>/accept-remaining", methods=["POST"])
@roles(*REVIEWERS)
def accept_remaining(call_id: int) -> Any:
    data = _json()

    def action(db: Any, call: Call) -> dict[str, Any]:
        review, count = rv.accept_remaining(
            db, call, current_user(), _edit(data, call), data.get("rubric_id")
        )
        results = (
            {f"{d.rubric_id}/{d.criterion_id}": d.human_result for d in review.decisions} if review else {}
        )
        return _review_payload(review, accepted=count, results=results)

    return _apply(call_id, action)


@bp.route("/<int:call_id>/comment", methods=["POST"])
@roles(*REVIEWERS)
def comment(call_id: int) -> Any:
    data = _json()
    return _apply(
        call_id,
        lambda db, call: _review_payload(
            rv.comment(db, call, current_user(), _edit(data, call), str(data.get("comment") or ""))
        ),
    )


@bp.route("/<int:call_id>/submit", methods=["POST"])
@roles(*REVIEWERS)
def submit(call_id: int) -> Any:
    data = _json()
    return _apply(
        call_id,
        lambda db, call: _review_payload(rv.submit(db, call, current_user(), _edit(data, call))),
    )


@bp.route("/<int:call_id>/reviews/new", methods=["POST"])
@roles(*REVIEWERS)
def new_review(call_id: int) -> Any:
    call = _load(call_id)
    return _apply_form(
        call, lambda db: rv.start_new_review(db, call, current_user()), "A new review was started."
    )


def _standing_history(db: Any, call: Call) -> list[AuditEntry]:
    """Every change of the call's standing review, oldest first (from the audit trail)."""
    ids = [str(r.id) for r in call.reviews]
    stmt = (
        select(AuditEntry)
        .where(AuditEntry.entity == "reviews", AuditEntry.action == "stand", AuditEntry.entity_id.in_(ids))
        .order_by(AuditEntry.id)
    )
    return list(db.scalars(stmt))


def _call_and_review(call_id: int, review_id: int) -> tuple[Call, Review]:
    """The call (access checked) and one of its reviews; 404 for a review of another call."""
    call = _load(call_id)
    review = get_db().get(Review, review_id)
    if review is None or review.call_id != call.id:
        abort(404)
    return call, review


@bp.route("/<int:call_id>/reviews/<int:review_id>/stand", methods=["POST"])
@roles(*REVIEWERS, UserRole.TEAM_LEADER)
def stand(call_id: int, review_id: int) -> Any:
    """Choose which submitted review counts (a reason is required; audited)."""
    call, review = _call_and_review(call_id, review_id)
    reason = request.form.get("reason", "")
    return _apply_form(
        call,
        lambda db: rv.choose_standing(db, call, review, current_user(), reason=reason),
        f"Review #{review.id} now stands for this call.",
    )


@bp.route("/<int:call_id>/reviews/<int:review_id>/acknowledge", methods=["POST"])
@roles(UserRole.AGENT)
def acknowledge(call_id: int, review_id: int) -> Any:
    """The agent has seen the review (UK practice: every performance discussion is documented)."""
    call, review = _call_and_review(call_id, review_id)
    comment = request.form.get("comment", "")
    return _apply_form(
        call,
        lambda db: rv.acknowledge(db, call, review, current_user(), comment=comment),
        "Review acknowledged.",
    )


@bp.route("/<int:call_id>/disputes", methods=["POST"])
@roles(UserRole.TEAM_LEADER, UserRole.AGENT)
def dispute(call_id: int) -> Any:
    db = get_db()
    call = _load(call_id)
    rubric_id, _, criterion_id = request.form.get("criterion", "").partition("/")
    try:
        rv.raise_dispute(
            db,
            call,
            current_user(),
            rubric_id=rubric_id,
            criterion_id=criterion_id,
            reason=request.form.get("reason", ""),
            proposed_result=request.form.get("proposed_result") or None,
        )
        db.commit()
        flash("Appeal raised; the call is back in the review queue.")
    except rv.ReviewError as exc:
        db.rollback()
        flash(str(exc), "error")
        return redirect(url_for("calls.show", call_id=call.id)), 303
    return redirect(url_for("calls.show", call_id=call.id))


@bp.route("/disputes/<int:dispute_id>/resolve", methods=["POST"])
@roles(*rv.DECIDERS)
def resolve(dispute_id: int) -> Any:
    db = get_db()
    dispute = db.get(Dispute, dispute_id)
    if dispute is None:
        abort(404)
    check_call(current_user(), dispute.call)
    try:
        rv.resolve_dispute(
            db,
            dispute,
            current_user(),
            status=request.form.get("status", ""),
            resolution=request.form.get("resolution", ""),
            version=_int(request.form.get("version")) or 0,
            outcome_result=request.form.get("outcome_result") or None,
        )
        db.commit()
        flash(f"Appeal {APPEAL_OUTCOMES.get(dispute.status, dispute.status)}.")
    except (rv.ReviewError, rv.StaleReview) as exc:
        db.rollback()
        flash(str(exc), "error")
    return redirect(url_for("calls.show", call_id=dispute.call_id))
