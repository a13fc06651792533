"""Who may sign in, and for how long: the login throttle and server-side sessions.

Both follow OWASP ASVS level 1. The throttle counts failed attempts per account and per client
address in the store (so every web worker sees the same count) and answers with a lock that grows
with each further failure; a success or an admin unlock starts the account's count again. Sessions
live in the store too, so signing out, a password change or a deactivation ends them on every
worker, and an idle session expires. No Flask here: the web layer passes in what it knows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from qa_scoring.config import Settings
from qa_scoring.store.audit import audit
from qa_scoring.store.models import LoginAttempt, LoginSession, User, utcnow

# Longest lock one run of failures can earn, however long it goes on.
MAX_LOCK_S = 3600.0


@dataclass(frozen=True)
class Lock:
    """Why sign-in is refused for now, and when to try again."""

    scope: str  # "account" or "client"
    until: dt.datetime

    def retry_after(self, now: dt.datetime | None = None) -> int:
        remaining = (self.until - (now or utcnow())).total_seconds()
        return max(1, int(remaining + 0.999))


def _failures_since(
    session: Session, column: str, value: str, since: dt.datetime
) -> tuple[int, dt.datetime | None]:
    """Failures (and the latest one) for a username or client since ``since``, counted after the
    latest success or unlock for an account."""
    key = getattr(LoginAttempt, column)
    if column == "username":
        reset = session.scalar(
            select(func.max(LoginAttempt.at)).where(
                key == value, LoginAttempt.event.in_(("success", "unlock"))
            )
        )
        if reset is not None and reset > since:
            since = reset
    count, latest = session.execute(
        select(func.count(), func.max(LoginAttempt.at)).where(
            key == value, LoginAttempt.event == "failure", LoginAttempt.at > since
        )
    ).one()
    return int(count), latest


def _lock_for(failures: int, latest: dt.datetime | None, limit: int, base_s: float) -> dt.datetime | None:
    """The lock ``failures`` earn: none under ``limit``, then ``base_s`` doubling with each further
    failure (progressive, so a patient guesser gains nothing), capped at :data:`MAX_LOCK_S`."""
    if failures < limit or latest is None:
        return None
    seconds = min(MAX_LOCK_S, base_s * 2 ** (failures - limit))
    return latest + dt.timedelta(seconds=seconds)


def current_lock(session: Session, settings: Settings, username: str, client: str) -> Lock | None:
    """The lock that stops this attempt, if any (the longer of the account's and the client's)."""
    now = utcnow()
    since = now - dt.timedelta(seconds=settings.login_window_s)
    locks = []
    count, latest = _failures_since(session, "username", username, since)
    until = _lock_for(count, latest, settings.login_max_failures, settings.login_lock_s)
    if until is not None and until > now:
        locks.append(Lock("account", until))
    count, latest = _failures_since(session, "client", client, since)
    until = _lock_for(count, latest, settings.login_client_max_failures, settings.login_lock_s)
    if until is not None and until > now:
        locks.append(Lock("client", until))
    return max(locks, key=lambda lock: lock.until) if locks else None


def record_attempt(session: Session, settings: Settings, username: str, client: str, ok: bool) -> Lock | None:
    """Record an attempt; a failure that starts a lock is written to the audit trail. Returns the
    lock now in force (so the failure that earns it can already answer 429)."""
    session.add(
        LoginAttempt(username=username[:150], client=client[:64], event="success" if ok else "failure")
    )
    session.flush()
    if ok:
        return None
    lock = current_lock(session, settings, username, client)
    if lock is not None:
        audit(
            session,
            entity="logins",
            entity_id=username[:50] if lock.scope == "account" else client[:50],
            action="login_locked",
            actor="system",
            new={"scope": lock.scope, "until": lock.until.isoformat(), "client": client[:64]},
            reason="too many failed sign-in attempts",
        )
    return lock


def unlock(session: Session, username: str, admin: User | None, actor: str | None = None) -> None:
    """An admin lifts an account's lock now (audited); the count starts again from here."""
    session.add(LoginAttempt(username=username, client="", event="unlock"))
    audit(session, entity="logins", entity_id=username[:50], action="login_unlocked", user=admin, actor=actor)


def is_locked(session: Session, settings: Settings, username: str) -> bool:
    """Whether the account itself is locked now (for the admin's user list)."""
    lock = current_lock(session, settings, username, client="\0")
    return lock is not None and lock.scope == "account"


# --------------------------------------------------------------------------- sessions


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(session: Session, user: User, client: str) -> str:
    """A new session for ``user``; returns the token the browser keeps (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    session.add(LoginSession(token_sha256=_digest(token), user_id=user.id, client=client[:64]))
    return token


def session_user(session: Session, settings: Settings, token: str) -> User | None:
    """The active user behind ``token``, or None when the session ended, idled out, or the user was
    deactivated. Marks the session seen (at most once a minute, to spare the store a write per click)."""
    row = session.scalar(select(LoginSession).where(LoginSession.token_sha256 == _digest(token)))
    if row is None or row.ended_at is not None:
        return None
    now = utcnow()
    idle = now - row.last_seen_at
    if idle > dt.timedelta(minutes=settings.session_idle_minutes):
        row.ended_at, row.ended_reason = now, "idle"
        session.commit()
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    if idle > dt.timedelta(seconds=60):
        row.last_seen_at = now
        session.commit()
    return user


def end_session(session: Session, token: str, reason: str = "signed out") -> None:
    session.execute(
        update(LoginSession)
        .where(LoginSession.token_sha256 == _digest(token), LoginSession.ended_at.is_(None))
        .values(ended_at=utcnow(), ended_reason=reason)
    )


def end_user_sessions(session: Session, user: User, reason: str) -> int:
    """End every open session of ``user`` (password change, deactivation); returns how many."""
    result = session.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user.id, LoginSession.ended_at.is_(None))
        .values(ended_at=utcnow(), ended_reason=reason)
    )
    return int(result.rowcount or 0)
