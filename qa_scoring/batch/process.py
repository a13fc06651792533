"""Process one call: transcribe, redact, score, store. The single unit of work of both engines.

The local process pool and the Celery task both call :func:`process_call`; neither adds logic.
Durability rules, so a batch killed at any instant resumes with nothing lost or duplicated:

* claiming a job (state ``running``, attempt counted, owner token) is its own committed step;
* every result of a call - transcript version, scorecards, review flags, job ``done`` - is
  written in ONE transaction, and only if this worker still owns the job (the owner token is
  checked by the UPDATE itself), so a duplicate delivery or a reclaimed job cannot store twice;
* while it works, the worker renews the job's lease (``batch.leases``); a job whose lease expired
  (its machine died) is re-queued by the batch, and the lost worker's late result is discarded;
* a failure is recorded with its reason in its own transaction and is retried up to
  ``max_attempts`` unless it is a property of the file (bad audio) that no retry can fix.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import time
import traceback
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from qa_scoring.batch.leases import expired, heartbeat
from qa_scoring.batch.worker_models import models, worker_settings
from qa_scoring.config import Settings
from qa_scoring.review import batch_pass, selection
from qa_scoring.scored_call import ScoredCall
from qa_scoring.store.audit import audit
from qa_scoring.store.db import in_transaction, session_factory
from qa_scoring.store.models import Call, Job, Transcript, utcnow
from qa_scoring.store.scorecards import scorecard_rows


class InputError(ValueError):
    """A recording that can never be processed as it is (too big, too long, missing): no retry."""


@dataclass
class Outcome:
    call_id: int
    state: str  # done | failed | retry | skipped
    error: str | None = None
    audio_seconds: float | None = None
    processing_seconds: float | None = None
    scores: dict[str, float | None] = field(default_factory=dict)
    needs_review: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Claim:
    """A job this worker now holds, with what it needs to process the call."""

    job_id: int
    attempts: int
    audio_path: str
    content_sha256: str
    rubric_ids: list[str] | None  # the batch run's --rubric choice; None: every rubric


@dataclass
class Processed:
    """A call's results, ready to store in one transaction."""

    document: dict[str, Any]  # the redacted transcript
    spans: list[Any]  # what was redacted, where
    redacted_path: str | None
    scored: ScoredCall
    seconds: float  # processing time of the call (decode to scores)


def process_call(call_id: int, batch_run_id: int) -> Outcome:
    """Run the whole pipeline for one call of a batch run and store the result (see module doc)."""
    settings = worker_settings()
    factory = session_factory(settings.resolved_database_url)
    token = f"{worker_name()}:{uuid.uuid4().hex[:8]}"
    claim = in_transaction(
        factory, lambda session: _claim(session, call_id, batch_run_id, token, settings.job_lease_s)
    )
    if isinstance(claim, Outcome):
        return claim
    try:
        with heartbeat(factory, claim.job_id, token, settings.job_lease_s):
            processed = _run_pipeline(claim, call_id, settings)
    except Exception as exc:  # noqa: BLE001 - every failure is recorded per call, never stops the batch
        permanent = _is_permanent(exc)
        reason = _reason(exc)
        retry = not permanent and claim.attempts < settings.max_attempts
        in_transaction(
            factory, lambda session: _record_failure(session, claim.job_id, call_id, token, reason, retry)
        )
        return Outcome(call_id, "retry" if retry else "failed", error=reason)
    return in_transaction(
        factory, lambda session: _store(session, claim.job_id, call_id, token, processed, settings)
    )


def _claim(session: Session, call_id: int, run_id: int, token: str, lease_s: float) -> Claim | Outcome:
    query = select(Job).where(Job.batch_run_id == run_id, Job.call_id == call_id)
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        query = query.with_for_update()
    job = session.scalars(query).one_or_none()
    if job is None:
        return Outcome(call_id, "skipped", error=f"call {call_id} has no job in batch run {run_id}")
    if job.state in ("done", "failed"):
        return Outcome(call_id, "skipped", error=f"job already {job.state}")
    if job.state == "running" and not expired(job, lease_s):
        # A second delivery of a task whose worker is alive and renewing its lease.
        return Outcome(call_id, "skipped", error=f"job held by {job.worker}")
    if job.batch_run.status != "running":
        # A task left in the broker by a run that is not running now (re-running the same command
        # resumes an interrupted run and sends its calls again).
        return Outcome(call_id, "skipped", error=f"batch run {run_id} is {job.batch_run.status}")
    call = session.get(Call, call_id)
    assert call is not None  # the foreign key guarantees it
    job.state = "running"
    job.attempts += 1
    job.worker = token
    job.started_at = job.heartbeat_at = utcnow()
    call.status = "processing"
    return Claim(
        job.id,
        job.attempts,
        call.audio_path,
        call.content_sha256,
        job.batch_run.options.get("rubrics") or None,
    )


def _run_pipeline(claim: Claim, call_id: int, settings: Settings) -> Processed:
    started = time.perf_counter()
    path = Path(claim.audio_path)
    check_input(path, settings)
    held = models()
    transcript = held.pipeline.transcribe_file(path, call_id=str(call_id))
    if transcript.duration is not None and transcript.duration > settings.max_duration_s:
        raise InputError(
            f"{path}: {transcript.duration:.0f} s long, over max_duration_s={settings.max_duration_s:g}"
        )
    redacted, spans, redacted_path = _redact(transcript, path, claim.content_sha256, settings)
    scored = held.scorer.score(redacted, claim.rubric_ids)
    return Processed(redacted.to_dict(), spans, redacted_path, scored, time.perf_counter() - started)


def check_input(path: Path, settings: Settings) -> None:
    """Refuse what no model run can fix, before spending time decoding it."""
    if not path.is_file():
        raise InputError(
            f"{path}: recording not found (moved or deleted since ingest; re-ingest its new folder)"
        )
    size = path.stat().st_size
    if size == 0:
        raise InputError(f"{path}: empty file (0 bytes)")
    if size > settings.max_file_mb * 2**20:
        raise InputError(f"{path}: {size / 2**20:.1f} MB, over max_file_mb={settings.max_file_mb:g}")
    duration = probe_duration(path)
    if duration is not None and duration > settings.max_duration_s:
        raise InputError(f"{path}: {duration:.0f} s long, over max_duration_s={settings.max_duration_s:g}")


def probe_duration(path: Path) -> float | None:
    """The container's declared duration in seconds, or None when it does not say (decoding judges)."""
    import av

    try:
        with av.open(str(path)) as container:
            if container.duration:
                return container.duration / 1_000_000
            stream = next(iter(container.streams.audio), None)
            if stream is not None and stream.duration and stream.time_base:
                return float(stream.duration * stream.time_base)
    except (av.FFmpegError, OSError, ValueError):
        return None  # the speech pipeline reports unreadable files with its own clear reason
    return None


def _redact(
    transcript: Any, path: Path, content_sha: str, settings: Settings
) -> tuple[Any, list[Any], str | None]:
    from qa_scoring.redact.audio import redact_audio
    from qa_scoring.redact.transcript import redact_transcript

    if not settings.redact:  # stored as heard, and the UI plays the original recording
        return transcript, [], None
    redacted, spans = redact_transcript(transcript)
    target = Path(settings.data_dir) / "redacted" / content_sha[:2] / f"{content_sha}.wav"
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.part.wav")
    redact_audio(path, spans, partial, mode=settings.redact_audio_mode)
    os.replace(partial, target)  # atomic: a killed worker never leaves a half-written file in place
    return redacted, [_plain(s) for s in spans], str(target)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def _is_permanent(exc: BaseException) -> bool:
    if isinstance(exc, InputError):
        return True
    try:
        from qa_scoring.transcribe.audio import AudioError
    except ImportError:  # pragma: no cover - the speech package is part of the product
        return False
    return isinstance(exc, AudioError)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ValueError) and str(exc):
        return f"{type(exc).__name__}: {exc}"
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" (at {Path(frame.filename).name}:{frame.lineno})" if frame else ""
    return f"{type(exc).__name__}: {exc}{where}"


def _owned(session: Session, job_id: int, token: str, **values: Any) -> bool:
    """Move the job on only if this worker still owns it; the check and the write are one UPDATE."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.worker == token, Job.state == "running")
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def _record_failure(
    session: Session, job_id: int, call_id: int, token: str, reason: str, retry: bool
) -> None:
    if not _owned(
        session,
        job_id,
        token,
        state="pending" if retry else "failed",
        last_error=reason,
        finished_at=utcnow(),
    ):
        return
    call = session.get(Call, call_id)
    assert call is not None
    call.status = "pending" if retry else "failed"
    call.last_error = reason


def _store(
    session: Session, job_id: int, call_id: int, token: str, processed: Processed, settings: Settings
) -> Outcome:
    document, scored, elapsed = processed.document, processed.scored, processed.seconds
    duration = document.get("duration")
    if not _owned(
        session,
        job_id,
        token,
        state="done",
        finished_at=utcnow(),
        last_error=None,
        audio_seconds=duration,
        processing_seconds=elapsed,
    ):
        return Outcome(call_id, "skipped", error="job taken over by another worker; result discarded")
    call = session.get(Call, call_id)
    assert call is not None
    version = (
        session.scalar(select(func.max(Transcript.version)).where(Transcript.call_id == call_id)) or 0
    ) + 1
    transcript = Transcript(
        call_id=call_id,
        version=version,
        model_versions={**(document.get("models") or {}), "scoring": scored.models},
        document=document,
        scoring=scored.to_dict(),
        redaction_spans=processed.spans,
    )
    session.add(transcript)
    session.flush()
    rows = scorecard_rows(scored, call_id=call_id, transcript_id=transcript.id, transcript_version=version)
    session.add_all(rows)
    scores = {row.rubric_id: row.score for row in rows}
    if version > 1:
        audit(
            session,
            entity="calls",
            entity_id=call_id,
            action="rescore",
            new={"transcript_version": version, "scores": scores},
            reason="batch re-score",
        )
    decision = selection.decide(scored, call.content_sha256, settings)
    batch_pass.apply(call, decision)
    call.status = "scored"
    call.last_error = None
    call.scored_at = utcnow()
    call.duration = duration
    call.redacted_audio_path = processed.redacted_path
    return Outcome(
        call_id,
        "done",
        audio_seconds=duration,
        processing_seconds=elapsed,
        scores=scores,
        needs_review=decision.needs_review,
    )
