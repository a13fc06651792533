"""Blind calibration sessions: members review the chosen calls without seeing each other's
decisions; the report stays hidden until everyone has submitted, then shows agreement per
criterion and alignment with the reference reviewer. Calibration reviews never change a call."""

from __future__ import annotations

import re

from sqlalchemy import select
from webhelp import csrf_token, first_criterion, login, post_json

from qa_scoring.store.models import CalibrationSession, Call, User


def _create(client, app, calls: list[int]) -> int:
    from web.db import get_db

    with app.app_context():
        ids = {u.username: u.id for u in get_db().scalars(select(User))}
    token = csrf_token(client, "/calibration/sessions/")
    form = {
        "name": "November calibration",
        "calls": " ".join(map(str, calls)),
        "members": [str(ids["qa"]), str(ids["qa2"])],
        "reference": str(ids["qa"]),
        "csrf_token": token,
    }
    resp = client.post("/calibration/sessions/", data=form)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    with app.app_context():
        return get_db().scalars(select(CalibrationSession.id)).one()


def _review(client, token, app, cid: int, session_id: int, flip_first: bool) -> None:
    """A whole blind review of one call in the session (optionally overriding its first criterion)."""

    base = f"/calls/{cid}"
    query = f"?calibration={session_id}"
    body = {"review_id": 0, "version": 0}
    if flip_first:
        crit = first_criterion(app, cid, applicable=True, by_id=True)
        rubric_id = crit.rubric_id
        flipped = {
            **body,
            "rubric_id": rubric_id,
            "criterion_id": crit.criterion_id,
            "decision": "override",
            "result": "fail" if crit.result != "fail" else "pass",
            "reason": "calibration view",
        }
        state = post_json(client, f"{base}/decisions{query}", token, flipped).json
        body = {"review_id": state["review_id"], "version": state["version"]}
    state = post_json(client, f"{base}/accept-remaining{query}", token, body).json
    done = post_json(
        client, f"{base}/submit{query}", token, {"review_id": state["review_id"], "version": state["version"]}
    )
    assert done.status_code == 200, done.json


def test_a_blind_session_hides_decisions_until_all_submit_then_reports(client, app, web_seed):
    calls = web_seed.dev_calls
    token = login(client, "qa")
    session_id = _create(client, app, calls)
    from web.db import get_db

    with app.app_context():
        before = {c: (get_db().get(Call, c).needs_review, len(get_db().get(Call, c).reviews)) for c in calls}

    _review(client, token, app, calls[0], session_id, flip_first=False)
    other = app.test_client()
    token2 = login(other, "qa2")
    # The second member sees neither the first member's decisions nor their review in the list.
    page = other.get(f"/calls/{calls[0]}?calibration={session_id}").get_data(as_text=True)
    assert "Accepted by qa" not in page and "Blind calibration review" in page
    assert re.search(r'data-review-id="0"', page)
    assert "calibration view" not in other.get(f"/calls/{calls[0]}/audit").get_data(as_text=True)
    report = other.get(f"/calibration/sessions/{session_id}").get_data(as_text=True)
    assert 'id="blind"' in report and 'id="criteria"' not in report
    # A non-member may not review in the session.
    leader = app.test_client()
    login(leader, "admin")
    assert leader.get(f"/calls/{calls[0]}?calibration={session_id}").status_code == 403

    _review(client, token, app, calls[1], session_id, flip_first=False)
    for cid in calls:
        _review(other, token2, app, cid, session_id, flip_first=True)

    report = other.get(f"/calibration/sessions/{session_id}").get_data(as_text=True)
    assert 'id="blind"' not in report and 'id="criteria"' in report and 'id="alignment"' in report
    # qa2 flipped one criterion per call against qa, the reference: below 100% alignment.
    alignment = re.search(r'id="alignment".*?<td>qa2</td><td>(\d+)</td><td>(\d+)%', report, re.S)
    assert alignment and 0 < int(alignment.group(2)) < 100

    # Calibration reviews are practice: the calls' queue state and standing review are untouched.
    from qa_scoring.store.queries import standing_review

    with app.app_context():
        db = get_db()
        for cid in calls:
            assert db.get(Call, cid).needs_review == before[cid][0]
            assert standing_review(db, cid) is None
    page = client.get(f"/calls/{calls[0]}").get_data(as_text=True)
    assert "Start a new review" not in page  # no ordinary review exists yet
