"""Read helpers shared by the export, the batch report and the review UI.

"Latest" always means the highest transcript version of a call: re-scores add versions, and the
automatic results a reviewer sees are those of the newest one.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, defer, selectinload

from qa_scoring.store.models import Call, Review, Scorecard, Transcript


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


def _basename(path: str) -> str:
    return path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def find_call(session: Session, name: str) -> Call | str:
    """The call a spreadsheet row names: by external id, else by its recording's file name (a path
    counts by its file name). A string is why none matched."""
    found = list(session.scalars(select(Call).where(Call.external_id == name).limit(2)))
    if not found:
        base = _basename(name)
        escaped = base.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like = select(Call).where(Call.audio_path.like(f"%{escaped}", escape="\\"))
        found = [c for c in session.scalars(like) if _basename(c.audio_path) == base]
    if len(found) > 1:
        return f"several calls match {name!r}: use the external id"
    if not found:
        return f"no call with external id or recording file name {name!r}"
    return found[0]
