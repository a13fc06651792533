"""Dashboards (SVG charts, KPIs against the team), calibration kappa, queue filters and admin."""

from __future__ import annotations

import re

from webhelp import accept_rest_and_submit, csrf_token, decide, first_criterion, login, post_json


def _review_all(client, token, call_id, override=None):
    body = {"review_id": 0, "version": 0}
    if override:
        body = post_json(client, f"/calls/{call_id}/decisions", token, {**body, **override}).json
    _, done = accept_rest_and_submit(client, call_id, token, body)
    assert done.status_code == 200, done.json


def test_agent_dashboard_has_svg_charts_and_team_kpis(client, web_seed):
    login(client, "leader")
    html = client.get(f"/dashboards/agent/{web_seed.agent1}").get_data(as_text=True)
    assert html.count("<svg") >= 3
    assert "Handling time (s)" in html and "Team average" in html
    assert "2 scored calls" in html


def test_team_dashboard_and_agent_redirect(client, web_seed):
    login(client, "qa")
    html = client.get("/dashboards/").get_data(as_text=True)
    assert "Team A" in html
    login(client, "agent")
    resp = client.get("/dashboards/")
    assert resp.status_code == 302 and resp.headers["Location"].endswith(
        f"/dashboards/agent/{web_seed.agent1}"
    )
    assert client.get(f"/dashboards/agent/{web_seed.agent2}").status_code == 403


def test_calibration_kappa_between_prescore_and_reviewers(client, app, web_seed):
    token = login(client, "qa")
    _review_all(client, token, web_seed.dev_calls[0])
    html = client.get("/dashboards/calibration").get_data(as_text=True)
    assert "0 calls reviewed twice" in html
    # One reviewed call: no figure (100% from one call would read as a finding).
    assert "too few calls" in html and "100%" not in html
    # A second, independent review by another officer who overrides one criterion.
    other = app.test_client()
    token2 = login(other, "qa2")
    cid = web_seed.dev_calls[0]
    other.post(f"/calls/{cid}/reviews/new", data={"csrf_token": csrf_token(other, f"/calls/{cid}")})
    page = other.get(f"/calls/{cid}").get_data(as_text=True)
    import re

    review_id = int(re.search(r'data-review-id="(\d+)"', page).group(1))
    version = int(re.search(r'data-version="(\d+)"', page).group(1))
    assert review_id > 0

    from web.db import get_db

    crit = first_criterion(app, cid, by_id=True)
    rubric_id = crit.rubric_id
    flipped = "fail" if crit.result != "fail" else "pass"
    url = f"/calls/{cid}/decisions"
    first = decide(
        other, token2, url, crit, review_id, version, "override", result=flipped, reason="second opinion"
    )
    _, done = accept_rest_and_submit(other, cid, token2, first.json)
    assert done.status_code == 200
    from qa_scoring.review.stats import prescore_agreement, reviewer_agreement

    with app.app_context():
        pairs, twice = reviewer_agreement(get_db())
        assert twice == 1
        row = next(a for a in pairs if (a.rubric_id, a.criterion_id) == (rubric_id, crit.criterion_id))
        assert row.n == 1 and row.agreement == 0.0
        pre = {(a.rubric_id, a.criterion_id): a for a in prescore_agreement(get_db())}
        assert pre[(rubric_id, crit.criterion_id)].n == 2
        assert pre[(rubric_id, crit.criterion_id)].agreement == 0.5
    html = client.get("/dashboards/calibration").get_data(as_text=True)
    assert "1 call reviewed twice" in html


def test_kappa_values_match_sklearn():
    from sklearn.metrics import cohen_kappa_score

    from qa_scoring.review.stats import _agreements

    pairs = [("pass", "pass"), ("pass", "fail"), ("fail", "fail"), ("fail", "fail"), ("pass", "pass")]
    row = _agreements({("r", "c"): pairs})[0]
    assert row.kappa == round(cohen_kappa_score([a for a, _ in pairs], [b for _, b in pairs]), 3)
    assert _agreements({("r", "c"): [("pass", "pass")]})[0].kappa is None


def test_queue_orders_filters_and_pages(client, app, web_seed):
    login(client, "qa")
    html = client.get("/queue/").get_data(as_text=True)
    assert "3 calls" in html
    only_a2 = client.get(f"/queue/?agent={web_seed.agent2}").get_data(as_text=True)
    assert "1 call" in only_a2 and f'/calls/{web_seed.dev_calls[1]}"' in only_a2
    dated = client.get("/queue/?date_from=2026-11-08&date_to=2026-11-10").get_data(as_text=True)
    assert "1 call" in dated and f'/calls/{web_seed.dev_calls[0]}"' in dated
    assert "0 calls" in client.get("/queue/?rubric=no-such-rubric").get_data(as_text=True)
    app.config["PAGE_SIZE"] = 1
    page2 = client.get("/queue/?page=2").get_data(as_text=True)
    assert "Page 2 of 3" in page2
    # Most urgent first: the review priority, which puts a sure auto-fail above every other reason.
    from web.db import get_db
    from web.queue import queue_query

    with app.app_context():
        db = get_db()
        qa = type("QA", (), {"role": "qa_officer"})()
        calls = list(db.scalars(queue_query({}, qa)[0]))
        keys = [call.review_priority for call in calls]
        assert len(calls) == 3 and keys == sorted(keys, reverse=True)


def _why(html: str, call_id: int) -> list[str]:
    """The reason tags in the queue's "Why" cell of one call's row."""
    row = next(r for r in html.split("<tr>") if f'/calls/{call_id}"' in r)
    return re.findall(r'<span class="tag[^"]*">([^<]*)</span>', row.split("</td>")[3])


def test_queue_shows_each_reason_once_in_the_rules_wording(client, app, web_seed):
    from qa_scoring.review.selection import kind_of
    from qa_scoring.store.models import Call
    from web.db import get_db

    scored_call, other = web_seed.dev_calls
    with app.app_context():
        db = get_db()
        stored = list(db.get(Call, scored_call).review_reasons)
        # A call stored before the one rule, with the same reason in two wordings, and the marker
        # a dispute leaves (the open dispute itself is shown from the disputes table).
        db.get(Call, other).review_reasons = [
            "low score: RATER 33.3/100",
            "low score: rater 33",
            "complaint call",
            "dispute",
        ]
        db.commit()
    login(client, "qa")
    html = client.get("/queue/").get_data(as_text=True)
    # The scorer's own reasons (dev-003 is a complaint call): one per kind, shown as stored.
    assert stored and len({kind_of(r) for r in stored}) == len(stored)
    assert _why(html, scored_call) == stored
    assert _why(html, other) == ["low score: RATER 33.3/100", "complaint call"]


def test_admin_creates_user_and_validates_rubric(client, app, tmp_path):
    import shutil

    rubrics = tmp_path / "rubrics"
    shutil.copytree(app.config["QA_SETTINGS"].rubrics_dir, rubrics)
    app.config["QA_SETTINGS"].rubrics_dir = rubrics
    login(client, "admin")
    token = csrf_token(client, "/admin/users")
    resp = client.post(
        "/admin/users",
        data={
            "username": "newlead",
            "password": "long-enough-pw",
            "role": "team_leader",
            "csrf_token": token,
        },
        follow_redirects=True,
    )
    assert "User newlead created" in resp.get_data(as_text=True)
    fresh = app.test_client()
    page = fresh.get("/login")
    import re

    t = re.search(r'name="csrf-token" content="([^"]+)"', page.get_data(as_text=True)).group(1)
    assert (
        fresh.post(
            "/login", data={"username": "newlead", "password": "long-enough-pw", "csrf_token": t}
        ).status_code
        == 302
    )
    bad = client.post(
        "/admin/rubrics", data={"name": "broken", "text": "id: broken\ncriteria: 3\n", "csrf_token": token}
    )
    assert bad.status_code == 400 and "broken.yaml" in bad.get_data(as_text=True)
    assert not (rubrics / "broken.yaml").exists()
    good = (rubrics / "lass.yaml").read_text(encoding="utf-8").replace("id: lass", "id: lass_copy", 1)
    ok = client.post("/admin/rubrics", data={"name": "lass_copy", "text": good, "csrf_token": token})
    assert ok.status_code == 302 and (rubrics / "lass_copy.yaml").is_file()
