"""The agent's evaluation report in the UI: the agent, their team leader, QA and admin get it (HTML
or PDF download); another agent gets 403; the dashboard links to it."""

from __future__ import annotations

import pytest
from webhelp import accept_rest_and_submit, login

PERIOD = "from=2026-11-01&to=2026-11-30"


def _url(agent_id: int, extra: str = "") -> str:
    return f"/dashboards/agent/{agent_id}/report?{PERIOD}{extra}"


def test_agent_leader_qa_and_admin_get_the_report_other_agents_do_not(client, web_seed) -> None:
    # One reviewed call of Sarah's (dev-003), so the report has reviewed figures.
    token = login(client, "qa")
    _, done = accept_rest_and_submit(client, web_seed.dev_calls[0], token, {"review_id": 0, "version": 0})
    assert done.status_code == 200, done.json
    for user in ("agent", "leader", "qa", "admin"):
        login(client, user)
        resp = client.get(_url(web_seed.agent1))
        assert resp.status_code == 200, user
        assert resp.mimetype == "text/html"
        html = resp.get_data(as_text=True)
        assert "Evaluation report: Sarah Jones" in html
        assert "2026-11-01 to 2026-11-30" in html
        assert "<b>2</b>scored calls in the period" in html and "<b>1</b>of them reviewed" in html
        assert "Criteria against the team" in html and "Tom Patel" not in html
        assert "<script" not in html
    login(client, "agent2")
    assert client.get(_url(web_seed.agent1)).status_code == 403
    login(client, "agent")
    assert client.get(_url(web_seed.agent2)).status_code == 403
    assert client.get("/dashboards/agent/999999/report").status_code == 404
    assert client.get(f"/dashboards/agent/{web_seed.agent1}/report?from=yesterday").status_code == 400
    assert (
        client.get(f"/dashboards/agent/{web_seed.agent1}/report?from=2026-12-01&to=2026-11-01").status_code
        == 400
    )


def test_signed_out_users_are_sent_to_sign_in(client, web_seed) -> None:
    resp = client.get(_url(web_seed.agent1))
    assert resp.status_code in (302, 401)


def test_dashboard_links_to_the_report_with_the_last_90_days(client, web_seed) -> None:
    from qa_scoring.reports.agent import default_period

    login(client, "agent")
    html = client.get(f"/dashboards/agent/{web_seed.agent1}").get_data(as_text=True)
    start, end = default_period()
    assert f'action="/dashboards/agent/{web_seed.agent1}/report"' in html
    assert f'value="{start}"' in html and f'value="{end}"' in html
    assert "Evaluation report" in html


@pytest.mark.browser
def test_pdf_download(client, web_seed) -> None:
    from qa_scoring.reports.pdf import BrowserMissing, find_chromium

    try:
        find_chromium()
    except BrowserMissing as exc:
        pytest.skip(str(exc))
    login(client, "leader")
    resp = client.get(_url(web_seed.agent1, "&format=pdf"))
    assert resp.status_code == 200
    assert resp.mimetype == "application/pdf"
    assert resp.headers["Content-Disposition"] == (
        'attachment; filename="evaluation-report-A100-2026-11-01-2026-11-30.pdf"'
    )
    assert resp.get_data().startswith(b"%PDF")
