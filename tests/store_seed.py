"""Put a scored call into the store the way the batch does (call, transcript version, scorecards).

Used by the web tests and ``benchmarks/bench_web.py`` to build a store from real ScoredCall and
Transcript documents without running the speech pipeline; the batch itself writes through
``qa_scoring.batch.process``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qa_scoring.scored_call import ScoredCall
from qa_scoring.store.models import Agent, Call, Team, Transcript, utcnow
from qa_scoring.store.scorecards import scorecard_rows


def agent_named(session: Session, external_id: str, name: str, team: str | None) -> Agent:
    agent = session.scalar(select(Agent).where(Agent.external_id == external_id))
    if agent is None:
        team_row = None
        if team:
            team_row = session.scalar(select(Team).where(Team.name == team)) or Team(name=team)
            session.add(team_row)
        agent = Agent(external_id=external_id, name=name, team=team_row)
        session.add(agent)
        session.flush()
    return agent


def store_scored_call(
    session: Session,
    *,
    document: dict[str, Any],
    scored: ScoredCall,
    agent: Agent | None,
    audio_path: Path | None = None,
    started_at: dt.datetime | None = None,
    external_id: str | None = None,
) -> Call:
    """Add one call with its transcript (version 1) and automatic scorecards; returns the Call."""
    if audio_path is not None:
        digest = hashlib.sha256(Path(audio_path).read_bytes()).hexdigest()
        size = Path(audio_path).stat().st_size
    else:
        blob = json.dumps(document, sort_keys=True).encode()
        digest, size = hashlib.sha256(blob).hexdigest(), len(blob)
    # Two calls may share one recording in a demo; keep identities unique by salting with the id.
    if session.scalar(select(Call).where(Call.content_sha256 == digest)) is not None:
        digest = hashlib.sha256((digest + (external_id or scored.call_id)).encode()).hexdigest()
    call = Call(
        audio_path=str(audio_path) if audio_path else "",
        content_sha256=digest,
        size_bytes=size,
        external_id=external_id or scored.call_id,
        agent=agent,
        team_id=agent.team_id if agent else None,
        started_at=started_at,
        duration=document.get("duration") or scored.metrics.get("duration"),
        status="scored",
        scored_at=utcnow(),
        needs_review=scored.review.needs_review,
        review_priority=scored.review.priority,
        review_reasons=list(scored.review.reasons),
    )
    session.add(call)
    session.flush()
    transcript = Transcript(
        call_id=call.id,
        version=1,
        document=document,
        scoring=scored.to_dict(),
        model_versions={"scoring": scored.models},
    )
    session.add(transcript)
    session.flush()
    rows = scorecard_rows(scored, call_id=call.id, transcript_id=transcript.id, transcript_version=1)
    session.add_all(rows)
    session.flush()
    return call
