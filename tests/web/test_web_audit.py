"""The audit trail's pages: per call for staff, across calls for admins (filters, CSV), and no
path through the UI that edits or deletes an entry."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select
from webhelp import first_criterion, login, post_json

from qa_scoring.store.audit import AuditLogError
from qa_scoring.store.models import AuditEntry


def _override_first(client, app, cid: int, reason: str) -> None:

    token = login(client, "qa")
    crit = first_criterion(app, cid, by_id=True)
    rubric_id, criterion_id, result = crit.rubric_id, crit.criterion_id, crit.result
    body = {
        "review_id": 0,
        "version": 0,
        "rubric_id": rubric_id,
        "criterion_id": criterion_id,
        "decision": "override",
        "result": "fail" if result != "fail" else "pass",
        "reason": reason,
    }
    assert post_json(client, f"/calls/{cid}/decisions", token, body).status_code == 200


def test_a_calls_trail_shows_who_when_old_new_and_why(client, app, web_seed):
    cid = web_seed.timed_call
    _override_first(client, app, cid, "the customer was not asked for a postcode")
    page = client.get(f"/calls/{cid}/audit").get_data(as_text=True)
    assert "the customer was not asked for a postcode" in page
    assert "override criterion_decisions" in page and "create reviews" in page
    assert "qa" in page and "automatic" in page  # old value: the automatic result
    # Another call's trail does not show it.
    other = client.get(f"/calls/{web_seed.dev_calls[0]}/audit").get_data(as_text=True)
    assert "not asked for a postcode" not in other


def test_agents_cannot_read_the_trail(client, web_seed):
    login(client, "agent")
    assert client.get(f"/calls/{web_seed.timed_call}/audit").status_code == 403
    assert client.get("/admin/audit").status_code == 403


def test_admin_search_filters_and_exports_csv(client, app, web_seed):
    _override_first(client, app, web_seed.timed_call, "first reason")
    _override_first(app.test_client(), app, web_seed.dev_calls[0], "second reason")
    login(client, "admin")
    everything = client.get("/admin/audit").get_data(as_text=True)
    assert "first reason" in everything and "second reason" in everything
    one_call = client.get(f"/admin/audit?call={web_seed.timed_call}").get_data(as_text=True)
    assert "first reason" in one_call and "second reason" not in one_call
    assert "first reason" not in client.get("/admin/audit?user=qa2").get_data(as_text=True)
    assert "first reason" not in client.get("/admin/audit?to=2000-01-01").get_data(as_text=True)
    exported = client.get(f"/admin/audit?format=csv&call={web_seed.dev_calls[0]}")
    assert exported.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert any(r["reason"] == "second reason" and r["actor"] == "qa" for r in rows)
    assert all(r["reason"] != "first reason" for r in rows)


def test_the_trail_is_append_only_everywhere(client, app, web_seed):
    _override_first(client, app, web_seed.timed_call, "a decision to audit")
    # No route that could change it: every audit view answers GET only.
    for rule in app.url_map.iter_rules():
        if "audit" in rule.rule:
            assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule
    # And the store refuses an edit or a delete, whatever code tries.
    from web.db import get_db

    with app.app_context():
        db = get_db()
        entry = db.scalars(select(AuditEntry)).first()
        assert entry is not None
        entry.reason = "rewritten"
        with pytest.raises(AuditLogError):
            db.flush()
        db.rollback()
        db.delete(db.scalars(select(AuditEntry)).first())
        with pytest.raises(AuditLogError):
            db.flush()
        db.rollback()
