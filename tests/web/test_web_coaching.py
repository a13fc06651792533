"""Coaching records: GROW fields, linked clips, SMART actions, edit conflicts."""

from __future__ import annotations

import datetime as dt
import html
import re

from sqlalchemy import select
from webhelp import csrf_token, login, post_clip

from qa_scoring.config import PROJECT_ROOT
from qa_scoring.rubric.rubric import load_rubrics
from qa_scoring.store.db import session_scope
from qa_scoring.store.models import ActionItem, AuditEntry, Call, CriterionResult, Scorecard, User


def _new_record(client, agent_id: int) -> str:
    token = csrf_token(client, "/coaching/")
    resp = client.post(
        "/coaching/new",
        data={
            "agent_id": agent_id,
            "goal": "Verify identity every call",
            "session_date": "2026-11-20",
            "csrf_token": token,
        },
    )
    assert resp.status_code == 302
    return resp.headers["Location"]


def test_grow_record_with_clip_and_actions(client, web_seed):
    login(client, "leader")
    clip_url = post_clip(client, web_seed.timed_call, "1", "4", note="opening").headers["Location"]
    clip_id = clip_url.rstrip("/").split("/")[-1]
    url = _new_record(client, web_seed.agent1)
    page = client.get(url).get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    token = csrf_token(client, url)
    resp = client.post(
        url,
        data={
            "goal": "Verify identity every call",
            "reality": "Missed on 2 of 5",
            "options": "Checklist",
            "will": "Use the checklist",
            "version": version,
            "clip_ids": [clip_id],
            "csrf_token": token,
        },
    )
    assert resp.status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert "Missed on 2 of 5" in page and f'id="clip-{clip_id}"' in page
    # A second save from the same (now stale) form is refused with a clear message.
    stale = client.post(
        url, data={"goal": "overwritten", "version": version, "csrf_token": token}, follow_redirects=True
    )
    assert "Someone else changed this record" in stale.get_data(as_text=True)
    assert "overwritten" not in client.get(url).get_data(as_text=True)
    # SMART action: needs a due date, and a measure with a target.
    record_id = url.rstrip("/").split("/")[-1]
    action = {"text": "Use checklist on 20 calls", "measure": "calls with the checklist used", "target": "90"}
    client.post(f"/coaching/{record_id}/actions", data={**action, "csrf_token": token})
    assert "Use checklist on 20 calls" not in client.get(url).get_data(as_text=True)
    refused = client.post(
        f"/coaching/{record_id}/actions",
        data={"text": action["text"], "due_date": "2026-12-01", "csrf_token": token},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "The action was not added." in refused and "Say how progress is measured" in refused
    assert "An action needs a target" in refused
    client.post(
        f"/coaching/{record_id}/actions", data={**action, "due_date": "2026-12-01", "csrf_token": token}
    )
    page = client.get(url).get_data(as_text=True)
    assert "Use checklist on 20 calls" in page and "2026-12-01" in page
    assert "measure: calls with the checklist used; target 90%" in page
    item = re.search(r'action="/coaching/actions/(\d+)"', page).group(1)
    client.post(f"/coaching/actions/{item}", data={"status": "done", "csrf_token": token})
    assert "<option selected>done</option>" in client.get(url).get_data(as_text=True)


def test_agent_reads_own_records_only(client, app, web_seed):
    leader = app.test_client()
    login(leader, "leader")
    own = _new_record(leader, web_seed.agent1)
    other = _new_record(leader, web_seed.agent2)
    login(client, "agent")
    assert client.get(own).status_code == 200
    assert 'name="goal" rows="3" readonly' in client.get(own).get_data(as_text=True)
    assert client.get(other).status_code == 403
    token = csrf_token(client, own)
    assert client.post(own, data={"goal": "x", "version": 1, "csrf_token": token}).status_code == 403


def _greeting_results(url: str, agent_id: int) -> list[str]:
    """Each of the agent's seeded calls' automatic "default / greeting" result (one transcript
    version, no reviews in the seed)."""
    with session_scope(url) as s:
        return list(
            s.scalars(
                select(CriterionResult.result)
                .join(Scorecard, CriterionResult.scorecard_id == Scorecard.id)
                .join(Call, Call.id == Scorecard.call_id)
                .where(
                    Call.agent_id == agent_id,
                    Scorecard.rubric_id == "default",
                    Scorecard.applicable.is_(True),
                    CriterionResult.criterion_id == "greeting",
                )
            )
        )


def test_smart_action_by_criterion_shows_progress(client, app, web_seed, web_settings):
    login(client, "leader")
    url = _new_record(client, web_seed.agent1)
    record_id = url.rstrip("/").split("/")[-1]
    page = client.get(url).get_data(as_text=True)
    # The form: every field labelled; criteria from the loaded rubrics; owners include the agent.
    for field in ("text", "criterion", "measure", "target", "owner", "due"):
        assert f'<label for="new-action-{field}">' in page
    assert '<option value="default/greeting"' in page
    agent_user = re.search(r'<option value="(\d+)" >Demo agent \(agent\)</option>', page).group(1)
    token = csrf_token(client, url)
    smart = {
        "text": "Greet and give your name on every call",
        "criterion": "default/greeting",
        "target": "80",
        "owner_id": agent_user,
        "due_date": "2026-12-20",
        "csrf_token": token,
    }
    for change, message in (
        ({"target": ""}, "An action needs a target"),
        ({"text": "Greeting"}, "is too vague"),
        ({"criterion": "default/telepathy"}, "Unknown rubric criterion"),
    ):
        refused = client.post(
            f"/coaching/{record_id}/actions", data={**smart, **change}, follow_redirects=True
        ).get_data(as_text=True)
        assert "The action was not added." in refused and message in html.unescape(refused)
    assert client.post(f"/coaching/{record_id}/actions", data=smart).status_code == 302
    with session_scope(web_settings.database_url) as s:
        item = s.scalars(select(ActionItem)).one()
        assert (item.rubric_id, item.criterion_id, item.target, item.owner_id) == (
            "default",
            "greeting",
            80.0,
            int(agent_user),
        )
        assert s.get(User, item.owner_id).username == "agent"
        entry = s.scalars(select(AuditEntry).where(AuditEntry.entity == "action_items")).one()
        assert (entry.action, entry.actor, entry.new_value["target"]) == ("create", "leader", 80.0)
        # Agreed before the agent's seeded calls (2 and 9 November), so both count.
        item.created_at = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
        item_id = item.id
    # By hand: pass 1, partial 1/2, fail 0, "na" left out.
    values = {"pass": 1.0, "partial": 0.5, "fail": 0.0}
    counted = [
        values[r] for r in _greeting_results(web_settings.database_url, web_seed.agent1) if r in values
    ]
    assert counted, "the seed scores the greeting"
    rate = 100 * sum(counted) / len(counted)
    rubric = load_rubrics(PROJECT_ROOT / "rubrics")["default"]
    criterion = next(c for c in rubric.criteria if c.id == "greeting")
    expected = (
        f"measure: {criterion.name} pass rate ({rubric.name}); target 80%; "
        f"now {rate:.0f}% over {len(counted)} call{'s' if len(counted) != 1 else ''} since 2026-11-01 "
        '(<span class="tag">too few calls</span>)'
    )
    page = html.unescape(client.get(url).get_data(as_text=True))
    assert expected in page
    row = page[page.index(f'id="action-{item_id}"') :]
    assert "<td>Demo agent</td>" in row[: row.index("</tr>")] and "2026-12-20" in row[: row.index("</tr>")]
    # The agent reads the action and its progress, without the forms.
    agent = app.test_client()
    login(agent, "agent")
    seen = html.unescape(agent.get(url).get_data(as_text=True))
    assert expected in seen and "new-action-text" not in seen and "Save action" not in seen


def test_smart_action_edit_is_validated_and_audited(client, web_seed, web_settings):
    login(client, "leader")
    url = _new_record(client, web_seed.agent1)
    record_id = url.rstrip("/").split("/")[-1]
    token = csrf_token(client, url)
    client.post(
        f"/coaching/{record_id}/actions",
        data={
            "text": "Summarise the next steps before closing",
            "measure": "calls closed with a summary",
            "target": "75",
            "due_date": "2026-12-20",
            "csrf_token": token,
        },
    )
    page = client.get(url).get_data(as_text=True)
    item = re.search(r'id="action-(\d+)"', page).group(1)
    assert 'id="ed-' + item + '-measure"' in page and "<td>Demo team leader</td>" in page  # owner: the coach
    edit = {
        "text": "Summarise the next steps before closing",
        "measure": "calls closed with a summary",
        "target": "",
        "due_date": "2026-12-20",
        "csrf_token": token,
    }
    refused = client.post(f"/coaching/actions/{item}", data=edit, follow_redirects=True).get_data(
        as_text=True
    )
    assert "The action was not changed." in refused and "target 75%" in refused
    client.post(f"/coaching/actions/{item}", data={**edit, "target": "85"})
    assert "target 85%" in client.get(url).get_data(as_text=True)
    with session_scope(web_settings.database_url) as s:
        entries = s.scalars(
            select(AuditEntry).where(AuditEntry.entity == "action_items").order_by(AuditEntry.id)
        ).all()
        assert [(e.action, e.old_value, e.new_value) for e in entries[1:]] == [
            ("update", {"target": 75.0}, {"target": 85.0})
        ]
