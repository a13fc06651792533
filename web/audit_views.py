"""The audit trail, read-only: per call for staff, across calls for admins (filters, CSV export).

There is deliberately no view that changes or deletes an entry; the store refuses it as well
(:mod:`qa_scoring.store.audit`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

from flask import Blueprint, Response, render_template, request

from qa_scoring.store.audit import AuditFilter, audit_query, call_audit
from qa_scoring.store.models import AuditEntry, Call
from qa_scoring.user_roles import UserRole
from web.access import check_call
from web.auth import current_user, roles
from web.db import get_db
from web.hardening import optional_record_id

bp = Blueprint("audit", __name__)

PAGE_SIZE = 100
CSV_COLUMNS = ("at", "actor", "entity", "entity_id", "action", "old", "new", "reason")


def changes(entry: AuditEntry) -> list[tuple[str, Any, Any]]:
    """(field, old, new) for each field the entry records, old or new missing as None."""
    old, new = entry.old_value or {}, entry.new_value or {}
    return [(key, old.get(key), new.get(key)) for key in dict.fromkeys([*old, *new])]


def _day(name: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(request.args.get(name) or "")
    except ValueError:
        return None


@bp.route("/calls/<int:call_id>/audit")
@roles(UserRole.QA_OFFICER, UserRole.TEAM_LEADER, UserRole.ADMIN)
def call_trail(call_id: int) -> Any:
    db = get_db()
    call = check_call(current_user(), db.get(Call, call_id))
    return render_template("audit/call.html", call=call, entries=call_audit(db, call), changes=changes)


@bp.route("/admin/audit")
@roles(UserRole.ADMIN)
def search() -> Any:
    db = get_db()
    where = AuditFilter(
        actor=(request.args.get("user") or "").strip(),
        call_id=optional_record_id(request.args.get("call")),
        since=_day("from"),
        until=_day("to"),
    )
    stmt = audit_query(db, where)
    if request.args.get("format") == "csv":
        return _csv(db.scalars(stmt))
    page = min(max(1, request.args.get("page", 1, type=int) or 1), 100_000)
    entries = list(db.scalars(stmt.limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE)))
    return render_template(
        "audit/search.html",
        entries=entries[:PAGE_SIZE],
        more=len(entries) > PAGE_SIZE,
        page=page,
        where=where,
        args=request.args,
        filters={k: v for k, v in request.args.items() if k in ("user", "call", "from", "to") and v},
        changes=changes,
    )


def _csv(entries: Any) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for e in entries:
        writer.writerow(
            [
                e.at.isoformat(),
                e.actor,
                e.entity,
                e.entity_id,
                e.action,
                json.dumps(e.old_value, sort_keys=True) if e.old_value is not None else "",
                json.dumps(e.new_value, sort_keys=True) if e.new_value is not None else "",
                e.reason,
            ]
        )
    headers = {"Content-Disposition": "attachment; filename=audit-trail.csv"}
    return Response(buffer.getvalue(), mimetype="text/csv", headers=headers)
