"""Read helpers shared by the export, the batch report and the review UI.

"Latest" always means the highest transcript version of a call: re-scores add versions, and the
automatic results a reviewer sees are those of the newest one.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, defer, selectinload

from qa_scoring.store.models import Review, Scorecard, Transcript


def latest_transcript(session: Session, call_id: int, *, light: bool = False) -> Transcript | None:
    """The call's newest transcript version; ``light``: its big JSON columns load only when used
    (a review step that needs the row, not the document)."""
    query = select(Transcript).where(Transcript.call_id == call_id).order_by(Transcript.version.desc())
    if light:
        query = query.options(
            defer(Transcript.document), defer(Transcript.scoring), defer(Transcript.redaction_spans)
        )
    return session.scalars(query.limit(1)).first()


def latest_version(session: Session, call_id: int) -> int | None:
    return session.scalar(select(func.max(Transcript.version)).where(Transcript.call_id == call_id))


def latest_scorecards(session: Session, call_id: int) -> list[Scorecard]:
    """The automatic scorecards (with criteria) of the call's newest transcript version."""
    version = latest_version(session, call_id)
    if version is None:
        return []
    return list(
        session.scalars(
            select(Scorecard)
            .where(Scorecard.call_id == call_id, Scorecard.transcript_version == version)
            .order_by(Scorecard.rubric_id)
            .options(selectinload(Scorecard.criteria))
        )
    )


def standing_review(session: Session, call_id: int) -> Review | None:
    """The submitted review whose scores count: the one marked standing, else the latest submitted."""
    return session.scalars(
        select(Review)
        .where(
            Review.call_id == call_id, Review.status == "submitted", Review.calibration_session_id.is_(None)
        )
        .order_by(Review.standing.desc(), Review.submitted_at.desc(), Review.id.desc())
        .options(selectinload(Review.decisions), selectinload(Review.reviewer))
        .limit(1)
    ).first()
