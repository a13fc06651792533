"""Coaching records: GROW fields, linked clips, SMART actions, edit conflicts."""

from __future__ import annotations

import re

from webhelp import csrf_token, login, post_clip


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
    # SMART action: needs a due date.
    record_id = url.rstrip("/").split("/")[-1]
    client.post(
        f"/coaching/{record_id}/actions", data={"text": "Use checklist on 20 calls", "csrf_token": token}
    )
    assert "Use checklist on 20 calls" not in client.get(url).get_data(as_text=True)
    client.post(
        f"/coaching/{record_id}/actions",
        data={"text": "Use checklist on 20 calls", "due_date": "2026-12-01", "csrf_token": token},
    )
    page = client.get(url).get_data(as_text=True)
    assert "Use checklist on 20 calls" in page and "2026-12-01" in page
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
