"""The end-of-batch report, built from the store (so it is the same whichever engine ran)."""

from __future__ import annotations

import statistics
from collections import Counter
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qa_scoring.config import Settings
from qa_scoring.review.batch_pass import BatchReview
from qa_scoring.review.selection import KINDS, kind_of
from qa_scoring.store.models import Call, Job, Scorecard, Transcript

BUCKETS = 10  # histogram of 0-100 scores in 10-point buckets


def distribution(scores: list[float]) -> dict[str, Any]:
    if not scores:
        return {"n": 0}
    ordered = sorted(scores)
    if len(ordered) > 1:
        q1, median, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
    else:
        q1 = median = q3 = ordered[0]
    histogram = [0] * BUCKETS
    for score in ordered:
        histogram[min(BUCKETS - 1, max(0, int(score // (100 / BUCKETS))))] += 1
    labels = [f"{i * 10}-{i * 10 + 10}" for i in range(BUCKETS)]
    return {
        "n": len(ordered),
        "mean": round(statistics.fmean(ordered), 2),
        "min": round(ordered[0], 2),
        "q1": round(q1, 2),
        "median": round(median, 2),
        "q3": round(q3, 2),
        "max": round(ordered[-1], 2),
        "histogram": dict(zip(labels, histogram, strict=True)),
    }


def calls_by_reason(calls: list[Call]) -> dict[str, int]:
    """How many calls carry each kind of reason (a call counts once per kind), most urgent first."""
    counts = Counter(kind for c in calls for kind in {kind_of(r) for r in c.review_reasons or []})
    order = {kind: i for i, kind in enumerate(KINDS)}
    return dict(sorted(counts.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))


def _job_row(job: Job, calls: dict[int, Call], **facts: Any) -> dict[str, Any]:
    """One job in a list of the report: which call and recording, then what that list is about."""
    return {"call_id": job.call_id, "path": calls[job.call_id].audio_path, **facts}


def build_report(
    session: Session,
    run_id: int,
    wall_seconds: float,
    ingest: dict[str, Any] | None = None,
    settings: Settings | None = None,
    review: BatchReview | None = None,
) -> dict:
    jobs = session.scalars(select(Job).where(Job.batch_run_id == run_id)).all()
    done = [j for j in jobs if j.state == "done"]
    failed = [j for j in jobs if j.state == "failed"]
    unfinished = [j for j in jobs if j.state in ("pending", "running")]
    audio = sum(j.audio_seconds or 0.0 for j in done)
    compute = sum(j.processing_seconds or 0.0 for j in done)
    done_ids = [j.call_id for j in done]
    # Joined through the run, not an IN list of every call: the query stays linear at 5,000 calls.
    in_run = select(Job.call_id).where(Job.batch_run_id == run_id)
    calls = {c.id: c for c in session.scalars(select(Call).where(Call.id.in_(in_run)))}

    per_rubric: dict[str, dict[str, Any]] = {}
    if done_ids:
        latest = (
            select(Transcript.call_id, func.max(Transcript.version).label("v"))
            .where(Transcript.call_id.in_(in_run.where(Job.state == "done")))
            .group_by(Transcript.call_id)
            .subquery()
        )
        cards = session.scalars(
            select(Scorecard).join(
                latest,
                (Scorecard.call_id == latest.c.call_id) & (Scorecard.transcript_version == latest.c.v),
            )
        ).all()
        grouped: dict[str, list[Scorecard]] = {}
        for card in cards:
            grouped.setdefault(card.rubric_id, []).append(card)
        for rubric_id, group in sorted(grouped.items()):
            scores = [c.score for c in group if c.applicable and c.score is not None]
            per_rubric[rubric_id] = {
                **distribution(scores),
                "not_applicable": sum(1 for c in group if not c.applicable),
                "auto_failed": sum(1 for c in group if c.auto_failed),
            }

    flagged = [calls[i] for i in done_ids if calls[i].needs_review]
    return {
        "batch_run": run_id,
        "calls": len(jobs),
        "scored": len(done),
        "failed": [_job_row(j, calls, attempts=j.attempts, reason=j.last_error) for j in failed],
        "unfinished": len(unfinished),
        # Calls whose worker was lost mid-call (lease expired) and calls that needed more than one try.
        "reclaimed": [_job_row(j, calls, times=j.reclaimed, state=j.state) for j in jobs if j.reclaimed],
        "retried": [_job_row(j, calls, attempts=j.attempts, state=j.state) for j in jobs if j.attempts > 1],
        "audio_hours": round(audio / 3600, 4),
        "wall_seconds": round(wall_seconds, 2),
        # Compute seconds per audio second, summed over workers; wall: elapsed per audio second.
        "real_time_factor": round(compute / audio, 4) if audio else None,
        "wall_real_time_factor": round(wall_seconds / audio, 4) if audio else None,
        "scores": per_rubric,
        "review": {
            "flagged": len(flagged),
            "scored": len(done),
            "share": round(len(flagged) / len(done), 4) if done else None,
            "max_share": settings.review_max_share if settings else None,
            "unflagged_by_cap": len(review.unflagged_by_cap) if review else 0,
            "topped_up": len(review.topped_up) if review else 0,
            "by_sample": sum(1 for c in flagged if c.flagged_by_sample),
            "calls_by_reason": calls_by_reason(flagged),
            "calls": sorted(
                (
                    {"call_id": c.id, "priority": c.review_priority, "reasons": c.review_reasons}
                    for c in flagged
                ),
                key=lambda r: -r["priority"],
            ),
        },
        "ingest": ingest,
    }


def format_text(report: dict[str, Any]) -> str:
    lines = [
        f"batch run {report['batch_run']}: {report['scored']} of {report['calls']} calls scored, "
        f"{len(report['failed'])} failed, {report['unfinished']} unfinished",
        f"audio {report['audio_hours'] * 60:.1f} min in {report['wall_seconds']:.1f} s wall; "
        f"real-time factor {report['real_time_factor']} (compute), {report['wall_real_time_factor']} (wall)",
    ]
    for item in report["failed"]:
        lines.append(f"  FAILED call {item['call_id']} after {item['attempts']} attempt(s): {item['reason']}")
    for item in report.get("reclaimed", []):
        lines.append(
            f"  RECLAIMED call {item['call_id']} ({item['times']}x: worker lost), now {item['state']}"
        )
    for problem in (report.get("ingest") or {}).get("errors", []):
        lines.append(f"  REJECTED {problem['path']}: {problem['reason']}")
    for rubric_id, stats in report["scores"].items():
        if stats["n"]:
            hist = " ".join(f"{k}:{v}" for k, v in stats["histogram"].items() if v)
            lines.append(
                f"  {rubric_id}: n={stats['n']} mean={stats['mean']} q1={stats['q1']} "
                f"median={stats['median']} q3={stats['q3']} "
                f"auto-failed={stats['auto_failed']} n/a={stats['not_applicable']} [{hist}]"
            )
        else:
            lines.append(f"  {rubric_id}: not applicable to any call (n/a={stats['not_applicable']})")
    lines.extend(review_lines(report["review"]))
    return "\n".join(lines)


def _calls(n: int) -> str:
    return f"{n} call{'' if n == 1 else 's'}"


def review_lines(review: dict[str, Any]) -> list[str]:
    """``N of M calls flagged for review (x%)``, then calls per reason, then what the cap did."""
    share = f" ({review['share']:.0%})" if review.get("share") is not None else ""
    lines = [f"review: {review['flagged']} of {_calls(review['scored'])} flagged for review{share}"]
    if review["calls_by_reason"]:
        lines[0] += "; calls per reason (a call may have several):"
    for kind, n in review["calls_by_reason"].items():
        lines.append(f"  {_calls(n)}: {kind}")
    if review.get("max_share") is not None:
        lines.append(
            f"  share cap (review_max_share {review['max_share']:g}): "
            f"{_calls(review['unflagged_by_cap'])} unflagged; "
            f"per-agent top-up: {_calls(review['topped_up'])} added"
        )
    return lines
