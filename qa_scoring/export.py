"""Scorecards out of the store: one row per call, rubric and criterion, for BI tools and audits.

Both the automatic result and the human decision are exported side by side, with ``final_*``
being the human one when a submitted review exists (the standing one) and the automatic one
otherwise, so a report built on the export shows what QA actually concluded without hiding what
the model said. Every row says which recording it is (file name, external id, start time), and a
call that failed to process is a row too, with its error, so an export never silently drops a call.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from qa_scoring.store.models import Agent, Call, CriterionDecision
from qa_scoring.store.queries import latest_scorecards, latest_version, standing_review

COLUMNS = [
    "call_id", "recording", "external_call_id", "started_at", "status", "error", "agent", "agent_name",
    "team", "queue", "direction", "duration_s", "transcript_version", "reviewed", "review_id", "reviewer",
    "rubric_id", "rubric_version", "applicable",
    "auto_score", "human_score", "final_score", "auto_failed", "criterion_id", "criterion_name", "weight",
    "auto_result", "auto_confidence", "human_decision", "human_result", "final_result", "human_reason",
    "evidence",
]  # fmt: skip


@dataclass
class ExportFilter:
    date_from: dt.date | None = None
    date_to: dt.date | None = None  # inclusive
    agent: str | None = None  # agent external id
    evidence: bool = False  # add each criterion's evidence quotes ("speaker m:ss: quote" | ...)


def _calls(session: Session, flt: ExportFilter) -> list[Call]:
    query = select(Call).where(Call.status.in_(("scored", "failed"))).order_by(Call.started_at, Call.id)
    when = func.coalesce(Call.started_at, Call.created_at)
    if flt.date_from:
        query = query.where(when >= dt.datetime.combine(flt.date_from, dt.time(), dt.UTC))
    if flt.date_to:
        query = query.where(when < dt.datetime.combine(flt.date_to + dt.timedelta(days=1), dt.time(), dt.UTC))
    if flt.agent:
        query = query.join(Agent, Call.agent_id == Agent.id).where(Agent.external_id == flt.agent)
    return list(session.scalars(query.options(selectinload(Call.agent), selectinload(Call.team))))


def iter_rows(session: Session, flt: ExportFilter) -> Iterator[dict[str, Any]]:
    for call in _calls(session, flt):
        version = latest_version(session, call.id)
        cards = latest_scorecards(session, call.id)
        review = standing_review(session, call.id)
        decisions: dict[tuple[str, str], CriterionDecision] = (
            {(d.rubric_id, d.criterion_id): d for d in review.decisions} if review else {}
        )
        base = {
            "call_id": call.id,
            "recording": Path(call.audio_path).name if call.audio_path else None,
            "external_call_id": call.external_id,
            "started_at": call.started_at.isoformat() if call.started_at else None,
            "status": call.status,
            "error": call.last_error if call.status == "failed" else None,
            "agent": call.agent.external_id if call.agent else None,
            "agent_name": call.agent.name if call.agent else None,
            "team": call.team.name if call.team else None,
            "queue": call.queue,
            "direction": call.direction,
            "duration_s": call.duration,
            "transcript_version": version,
            "reviewed": review is not None,
            "review_id": review.id if review else None,
            "reviewer": review.reviewer.username if review else None,
        }
        if call.status == "failed" or not cards:
            yield base
            continue
        for card in cards:
            human_score = (review.final_scores or {}).get(card.rubric_id) if review else None
            card_row = {
                **base,
                "rubric_id": card.rubric_id,
                "rubric_version": card.rubric_version,
                "applicable": card.applicable,
                "auto_score": card.score,
                "human_score": human_score,
                "final_score": human_score if human_score is not None else card.score,
                "auto_failed": card.auto_failed,
            }
            for crit in card.criteria:
                decision = decisions.get((card.rubric_id, crit.criterion_id))
                yield {
                    **card_row,
                    "criterion_id": crit.criterion_id,
                    "criterion_name": crit.name,
                    "weight": crit.weight,
                    "auto_result": crit.result,
                    "auto_confidence": crit.confidence,
                    "human_decision": decision.decision if decision else None,
                    "human_result": decision.human_result if decision else None,
                    "final_result": decision.human_result if decision else crit.result,
                    "human_reason": decision.reason if decision else None,
                    "evidence": _evidence(crit.evidence) if flt.evidence else None,
                }


def _evidence(items: list[Any] | None) -> str:
    """Evidence quotes on one line: "agent 1:05: quote | customer 2:10: quote"."""
    out = []
    for item in items or []:
        start = item.get("start")
        when = f" {int(start) // 60}:{int(start) % 60:02d}" if isinstance(start, int | float) else ""
        out.append(f"{item.get('speaker') or ''}{when}: {item.get('quote') or ''}")
    return " | ".join(out)


def to_csv(rows: Iterator[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    return buffer.getvalue()


def to_json(rows: Iterator[dict[str, Any]]) -> str:
    """Nested: calls -> scorecards -> criteria (the same fields as the CSV)."""
    calls: dict[int, dict[str, Any]] = {}
    call_keys = COLUMNS[: COLUMNS.index("rubric_id")]
    card_keys = COLUMNS[COLUMNS.index("rubric_id") : COLUMNS.index("criterion_id")]
    for row in rows:
        call = calls.setdefault(row["call_id"], {**{k: row.get(k) for k in call_keys}, "scorecards": {}})
        if "rubric_id" not in row:  # a failed call, or one without scorecards
            continue
        card = call["scorecards"].setdefault(
            row["rubric_id"], {**{k: row[k] for k in card_keys}, "criteria": []}
        )
        card["criteria"].append({k: row[k] for k in COLUMNS[COLUMNS.index("criterion_id") :]})
    out = [{**c, "scorecards": list(c["scorecards"].values())} for c in calls.values()]
    return json.dumps({"calls": out}, indent=2, ensure_ascii=False)


def export(session: Session, fmt: str, flt: ExportFilter) -> str:
    rows = iter_rows(session, flt)
    if fmt == "csv":
        return to_csv(rows)
    if fmt == "json":
        return to_json(rows)
    raise ValueError(f"export format {fmt!r}: expected csv or json")
