"""The store of record: every table qa-scoring keeps, in SQLAlchemy 2.0 declarative form.

Automatic results (``transcripts``, ``scorecards``, ``criterion_results``) and human work
(``reviews``, ``criterion_decisions``, ``disputes``, ``clips``, coaching) live in separate tables on
purpose: a re-score only ever *adds* a transcript version and new automatic scorecards, so nothing a
QA officer decided can be overwritten by a model run. The Alembic migrations in
``qa_scoring/store/migrations`` are generated from this module and a test checks they still match.

Times are stored as UTC. Enumerated columns are plain strings with CHECK constraints so SQLite and
PostgreSQL behave the same and a new value needs only a migration, not a type change.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from qa_scoring.user_roles import ROLES

# Stable constraint names: Alembic needs them to alter or drop constraints (SQLite batch mode too).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


CALL_STATUSES = ("pending", "processing", "scored", "failed")
JOB_STATES = ("pending", "running", "done", "failed")
BATCH_STATUSES = ("running", "finished", "interrupted", "failed")
REVIEW_STATUSES = ("draft", "submitted")
DECISIONS = ("accept", "override")
CRITERION_RESULTS = ("pass", "fail", "partial", "na")
# An appeal is upheld (the proposed result stands), partly upheld ("partial": another result) or rejected.
DISPUTE_STATUSES = ("open", "upheld", "partial", "rejected", "withdrawn")
ACTION_STATUSES = ("open", "done", "cancelled")
DIRECTIONS = ("inbound", "outbound", "internal", "unknown")

UNKNOWN_AGENT = "unknown"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC timestamp on every backend.

    SQLite keeps no zone and hands back naive values; without this the same query would return
    aware datetimes on PostgreSQL and naive ones on SQLite, and comparisons between them fail.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _check(column: str, values: tuple[str, ...], name: str) -> CheckConstraint:
    quoted = ", ".join(f"'{v}'" for v in values)
    return CheckConstraint(f"{column} IN ({quoted})", name=name)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime(), dict[str, Any]: JSON, list[Any]: JSON}


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


# --------------------------------------------------------------------------- people


class Team(TimestampMixin, Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)

    agents: Mapped[list[Agent]] = relationship(back_populates="team")
    # Team leaders (and others) attached to the team through users.team_id.
    members: Mapped[list[User]] = relationship(back_populates="team")


class Agent(TimestampMixin, Base):
    """A contact-centre agent as the recordings name them (``external_id`` is the telephony id)."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    team: Mapped[Team | None] = relationship(back_populates="agents")
    calls: Mapped[list[Call]] = relationship(back_populates="agent")


class User(TimestampMixin, Base):
    __tablename__ = "users"
    __table_args__ = (_check("role", ROLES, "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(300), default="")
    role: Mapped[str] = mapped_column(String(20))
    # A user with role "agent" sees their own calls through this link.
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"), index=True)
    # The team a team leader leads (or a QA officer is attached to); optional.
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"), index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_login_at: Mapped[dt.datetime | None]

    agent: Mapped[Agent | None] = relationship(foreign_keys=[agent_id])
    team: Mapped[Team | None] = relationship(back_populates="members")


LOGIN_EVENTS = ("failure", "success", "unlock")


class LoginSession(Base):
    """A signed-in browser, kept on the server so signing out, a password change or a deactivation
    ends it everywhere: a cookie copied before then is worth nothing afterwards. Only the SHA-256 of
    the cookie's token is stored, so a copy of the database cannot be replayed as a session."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    client: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[dt.datetime | None]
    ended_reason: Mapped[str] = mapped_column(String(30), default="")


class LoginAttempt(Base):
    """Every sign-in attempt (and each admin unlock), the record the login throttle counts from."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        _check("event", LOGIN_EVENTS, "event"),
        Index("ix_login_attempts_username_at", "username", "at"),
        Index("ix_login_attempts_client_at", "client", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    username: Mapped[str] = mapped_column(String(150))
    client: Mapped[str] = mapped_column(String(64), default="")
    event: Mapped[str] = mapped_column(String(10))


# --------------------------------------------------------------------------- calls and automatic results


class Call(TimestampMixin, Base):
    """One recording. The content hash is its identity: re-ingest and moved files find the same row."""

    __tablename__ = "calls"
    __table_args__ = (
        _check("status", CALL_STATUSES, "status"),
        _check("direction", DIRECTIONS, "direction"),
        Index("ix_calls_review", "needs_review", "review_priority"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    audio_path: Mapped[str] = mapped_column(Text)
    redacted_audio_path: Mapped[str | None] = mapped_column(Text)
    content_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size_bytes: Mapped[int] = mapped_column(Integer)
    # Metadata from the sidecar, manifest or file name.
    external_id: Mapped[str | None] = mapped_column(String(200), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"), index=True)
    queue: Mapped[str | None] = mapped_column(String(200))
    direction: Mapped[str] = mapped_column(String(10), default="unknown")
    started_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    duration: Mapped[float | None] = mapped_column(Float)  # seconds, measured when transcribed
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)  # metadata keys we do not model
    # Processing state
    status: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    scored_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Review selection
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    review_priority: Mapped[float] = mapped_column(Float, default=0.0)
    review_reasons: Mapped[list[Any]] = mapped_column(default=list)
    flagged_by_sample: Mapped[bool] = mapped_column(Boolean, default=False)

    agent: Mapped[Agent | None] = relationship(back_populates="calls")
    team: Mapped[Team | None] = relationship()
    transcripts: Mapped[list[Transcript]] = relationship(
        back_populates="call", order_by="Transcript.version", cascade="all, delete-orphan"
    )
    scorecards: Mapped[list[Scorecard]] = relationship(back_populates="call", cascade="all, delete-orphan")
    reviews: Mapped[list[Review]] = relationship(back_populates="call", cascade="all, delete-orphan")


class Transcript(Base):
    """One version of a call's transcript (already redacted). Never updated, only added."""

    __tablename__ = "transcripts"
    __table_args__ = (UniqueConstraint("call_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    model_versions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    document: Mapped[dict[str, Any]] = mapped_column()  # qa_scoring.transcript.Transcript.to_dict()
    # The ScoredCall document made from this version (behaviours, metrics, review priority); the
    # scorecards below are its queryable projection.
    scoring: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    redaction_spans: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    call: Mapped[Call] = relationship(back_populates="transcripts")
    scorecards: Mapped[list[Scorecard]] = relationship(back_populates="transcript")


class Scorecard(Base):
    """An automatic scorecard: one rubric applied to one transcript version."""

    __tablename__ = "scorecards"
    __table_args__ = (UniqueConstraint("transcript_id", "rubric_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    transcript_id: Mapped[int] = mapped_column(ForeignKey("transcripts.id", ondelete="CASCADE"), index=True)
    transcript_version: Mapped[int] = mapped_column(Integer)
    rubric_id: Mapped[str] = mapped_column(String(100), index=True)
    rubric_name: Mapped[str] = mapped_column(String(200), default="")
    rubric_version: Mapped[str] = mapped_column(String(50), default="")
    score: Mapped[float | None] = mapped_column(Float)
    applicable: Mapped[bool] = mapped_column(Boolean, default=True)
    auto_failed: Mapped[bool] = mapped_column(Boolean, default=False)
    confidence: Mapped[float] = mapped_column(Float, default=1.0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    call: Mapped[Call] = relationship(back_populates="scorecards")
    transcript: Mapped[Transcript] = relationship(back_populates="scorecards")
    criteria: Mapped[list[CriterionResult]] = relationship(
        back_populates="scorecard", cascade="all, delete-orphan", order_by="CriterionResult.position"
    )


class CriterionResult(Base):
    __tablename__ = "criterion_results"
    __table_args__ = (
        UniqueConstraint("scorecard_id", "criterion_id"),
        _check("result", CRITERION_RESULTS, "result"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scorecard_id: Mapped[int] = mapped_column(ForeignKey("scorecards.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)  # order within the rubric
    criterion_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(300), default="")
    result: Mapped[str] = mapped_column(String(10))
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    confidence: Mapped[float] = mapped_column(Float, default=1.0)
    auto_fail: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[list[Any]] = mapped_column(default=list)  # [Evidence as dict]

    scorecard: Mapped[Scorecard] = relationship(back_populates="criteria")


class CallOutcome(Base):
    """What the customer said afterwards: a post-call survey's CSAT (1-5), NPS (0-10) and "was it
    resolved", imported from a CSV (``qa-scoring outcomes import``); one row per call, updated when
    a later file says otherwise. ``source`` is the file it came from."""

    __tablename__ = "call_outcomes"
    __table_args__ = (
        CheckConstraint("csat BETWEEN 1 AND 5", name="csat"),
        CheckConstraint("nps BETWEEN 0 AND 10", name="nps"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), unique=True)
    csat: Mapped[int | None] = mapped_column(Integer)
    nps: Mapped[int | None] = mapped_column(Integer)
    resolved: Mapped[bool | None] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(Text, default="")
    imported_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    call: Mapped[Call] = relationship()


# --------------------------------------------------------------------------- human review


class Review(Base):
    """One QA officer's review of a call. ``version_id`` makes concurrent edits fail loudly
    (SQLAlchemy raises StaleDataError) instead of one officer silently overwriting another.

    Each officer decides in their own review: a second opinion is a second review, never edits in
    someone else's draft. Every submitted review is kept; ``standing`` marks the one whose scores
    count (the latest submitted, unless someone chose another: an audited choice)."""

    __tablename__ = "reviews"
    __table_args__ = (_check("status", REVIEW_STATUSES, "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # The transcript version the reviewer looked at (automatic scores of that version).
    transcript_id: Mapped[int | None] = mapped_column(ForeignKey("transcripts.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(10), default="draft")
    comment: Mapped[str] = mapped_column(Text, default="")
    final_scores: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {rubric_id: score or None}
    version_id: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[dt.datetime | None]
    standing: Mapped[bool] = mapped_column(Boolean, default=False)
    # A blind calibration review: part of that session, hidden from the other members until all have
    # submitted, never the call's standing review.
    calibration_session_id: Mapped[int | None] = mapped_column(
        ForeignKey("calibration_sessions.id", ondelete="CASCADE"), index=True
    )
    # The agent's acknowledgement that they have seen the submitted review (with an optional comment).
    acknowledged_at: Mapped[dt.datetime | None]
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    acknowledgement: Mapped[str] = mapped_column(Text, default="")

    __mapper_args__ = {"version_id_col": version_id}

    call: Mapped[Call] = relationship(back_populates="reviews")
    reviewer: Mapped[User] = relationship(foreign_keys=[reviewer_id])
    acknowledged_by: Mapped[User | None] = relationship(foreign_keys=[acknowledged_by_id])
    transcript: Mapped[Transcript | None] = relationship()
    decisions: Mapped[list[CriterionDecision]] = relationship(
        back_populates="review", cascade="all, delete-orphan"
    )


class CriterionDecision(Base):
    """A human's accept/override of one automatic criterion result, with the reason."""

    __tablename__ = "criterion_decisions"
    __table_args__ = (
        UniqueConstraint("review_id", "rubric_id", "criterion_id"),
        _check("decision", DECISIONS, "decision"),
        _check("human_result", CRITERION_RESULTS, "human_result"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"), index=True)
    rubric_id: Mapped[str] = mapped_column(String(100))
    criterion_id: Mapped[str] = mapped_column(String(100))
    decision: Mapped[str] = mapped_column(String(10))
    automatic_result: Mapped[str | None] = mapped_column(String(10))  # what the model said, for the record
    human_result: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text, default="")
    # The transcript turn (index) the reviewer pointed at as showing the behaviour, or as wrongly
    # taken to show it: a turn-level training label for ``qa-scoring learn``. Overrides only.
    turn: Mapped[int | None] = mapped_column(Integer)
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    review: Mapped[Review] = relationship(back_populates="decisions")
    decided_by: Mapped[User] = relationship()


class Dispute(Base):
    """An appeal: an agent or team leader proposes the result they believe is right for one
    criterion, with a reason; a team leader or an officer other than the reviewer decides it. An
    upheld or partly upheld appeal becomes a new standing review, so the history stays."""

    __tablename__ = "disputes"
    __table_args__ = (_check("status", DISPUTE_STATUSES, "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    review_id: Mapped[int | None] = mapped_column(ForeignKey("reviews.id", ondelete="SET NULL"), index=True)
    rubric_id: Mapped[str | None] = mapped_column(String(100))
    criterion_id: Mapped[str | None] = mapped_column(String(100))
    raised_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text)
    # The result the appellant believes is right, and the one the decision settled on.
    proposed_result: Mapped[str | None] = mapped_column(String(10))
    outcome_result: Mapped[str | None] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default="open", index=True)
    resolution: Mapped[str] = mapped_column(Text, default="")
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    version_id: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version_id}

    call: Mapped[Call] = relationship()
    review: Mapped[Review | None] = relationship()
    raised_by: Mapped[User] = relationship(foreign_keys=[raised_by_id])
    resolved_by: Mapped[User | None] = relationship(foreign_keys=[resolved_by_id])


class AuditEntry(Base):
    """Append-only record of who changed what and why. Write it with :func:`qa_scoring.store.audit`."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    actor: Mapped[str] = mapped_column(String(150))  # username, or "system" for batch runs
    entity: Mapped[str] = mapped_column(String(50))  # table name, e.g. "reviews"
    entity_id: Mapped[str] = mapped_column(String(50))
    action: Mapped[str] = mapped_column(String(50))  # create | update | delete | submit | override ...
    old_value: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    new_value: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reason: Mapped[str] = mapped_column(Text, default="")


calibration_session_calls = Table(
    "calibration_session_calls",
    Base.metadata,
    Column(
        "calibration_session_id", ForeignKey("calibration_sessions.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("call_id", ForeignKey("calls.id", ondelete="CASCADE"), primary_key=True),
)
calibration_session_members = Table(
    "calibration_session_members",
    Base.metadata,
    Column(
        "calibration_session_id", ForeignKey("calibration_sessions.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
)


class CalibrationSession(Base):
    """Blind calibration: chosen calls reviewed by several officers who cannot see each other's
    decisions until every member has submitted every call; then agreement per criterion and each
    officer's alignment with the reference reviewer."""

    __tablename__ = "calibration_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reference_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    calls: Mapped[list[Call]] = relationship(secondary=calibration_session_calls, order_by="Call.id")
    members: Mapped[list[User]] = relationship(
        secondary=calibration_session_members, order_by="User.username"
    )
    reference: Mapped[User | None] = relationship(foreign_keys=[reference_user_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])


# --------------------------------------------------------------------------- coaching

coaching_session_clips = Table(
    "coaching_session_clips",
    Base.metadata,
    Column("coaching_session_id", ForeignKey("coaching_sessions.id", ondelete="CASCADE"), primary_key=True),
    Column("clip_id", ForeignKey("clips.id", ondelete="CASCADE"), primary_key=True),
)


class Clip(Base):
    """A stretch of a call cut out for coaching (from the redacted audio)."""

    __tablename__ = "clips"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"), index=True)
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float] = mapped_column(Float)
    audio_path: Mapped[str | None] = mapped_column(Text)
    transcript_excerpt: Mapped[str] = mapped_column(Text, default="")
    rubric_id: Mapped[str | None] = mapped_column(String(100))
    criterion_id: Mapped[str | None] = mapped_column(String(100))
    note: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[Any]] = mapped_column(default=list)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    call: Mapped[Call] = relationship()
    agent: Mapped[Agent | None] = relationship()
    created_by: Mapped[User | None] = relationship()
    coaching_sessions: Mapped[list[CoachingSession]] = relationship(
        secondary=coaching_session_clips, back_populates="clips"
    )


class CoachingSession(Base):
    """A team leader's coaching conversation with an agent, in the GROW model."""

    __tablename__ = "coaching_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    team_leader_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    session_date: Mapped[dt.date] = mapped_column(Date)
    goal: Mapped[str] = mapped_column(Text, default="")
    reality: Mapped[str] = mapped_column(Text, default="")
    options: Mapped[str] = mapped_column(Text, default="")
    will: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    version_id: Mapped[int] = mapped_column(Integer, nullable=False)

    __mapper_args__ = {"version_id_col": version_id}

    agent: Mapped[Agent] = relationship()
    team_leader: Mapped[User | None] = relationship()
    clips: Mapped[list[Clip]] = relationship(
        secondary=coaching_session_clips, back_populates="coaching_sessions"
    )
    action_items: Mapped[list[ActionItem]] = relationship(
        back_populates="coaching_session", cascade="all, delete-orphan", order_by="ActionItem.id"
    )


class ActionItem(Base):
    """A SMART action agreed in a coaching session (the GROW "will"): what will be done (``text``),
    how it is measured (``measure``, or a rubric criterion whose pass rate measures it) and the
    ``target`` pass rate in percent, who owns it and by when. The rules are in
    :mod:`qa_scoring.review.actions`."""

    __tablename__ = "action_items"
    __table_args__ = (
        _check("status", ACTION_STATUSES, "status"),
        CheckConstraint("target BETWEEN 0 AND 100", name="target"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    coaching_session_id: Mapped[int] = mapped_column(
        ForeignKey("coaching_sessions.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    due_date: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(10), default="open")
    completed_at: Mapped[dt.datetime | None]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # SMART: what is measured, optionally by a rubric criterion's results, and the pass rate (in
    # percent) to reach; who owns the action (the coach unless they name someone else).
    measure: Mapped[str | None] = mapped_column(Text)
    rubric_id: Mapped[str | None] = mapped_column(String(100))
    criterion_id: Mapped[str | None] = mapped_column(String(100))
    target: Mapped[float | None] = mapped_column(Float)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)

    coaching_session: Mapped[CoachingSession] = relationship(back_populates="action_items")
    owner: Mapped[User | None] = relationship()


# --------------------------------------------------------------------------- batch processing


class BatchRun(Base):
    __tablename__ = "batch_runs"
    __table_args__ = (_check("status", BATCH_STATUSES, "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    status: Mapped[str] = mapped_column(String(12), default="running")
    engine: Mapped[str] = mapped_column(String(20), default="local")
    host: Mapped[str] = mapped_column(String(200), default="")
    pid: Mapped[int | None] = mapped_column(Integer)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    jobs: Mapped[list[Job]] = relationship(back_populates="batch_run", cascade="all, delete-orphan")


class Job(Base):
    """One call's processing within a batch run; its state is committed at every transition so a
    killed run can be resumed without losing or repeating work."""

    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("batch_run_id", "call_id"),
        _check("state", JOB_STATES, "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_run_id: Mapped[int] = mapped_column(ForeignKey("batch_runs.id", ondelete="CASCADE"), index=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(10), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str | None] = mapped_column(String(200))  # host:pid of the worker holding it
    # The lease: the holding worker renews this while it works; a job whose heartbeat is older than
    # ``job_lease_s`` lost its worker (a dead machine) and is reclaimed (``batch.leases``).
    heartbeat_at: Mapped[dt.datetime | None]
    reclaimed: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    # Seconds of audio and of processing, for the report's real-time factor.
    audio_seconds: Mapped[float | None] = mapped_column(Float)
    processing_seconds: Mapped[float | None] = mapped_column(Float)

    batch_run: Mapped[BatchRun] = relationship(back_populates="jobs")
    call: Mapped[Call] = relationship()
