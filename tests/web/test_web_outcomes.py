"""The customer outcomes dashboard: who may see it, and its figures against a hand calculation on a
small store (the session seed plus seven calls with survey results)."""

from __future__ import annotations

import datetime as dt
import re

from webhelp import login

DAY0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # Monday of ISO week 2026-W10


def _scored(call_id: str, result: str, complaint: str | None):
    from qa_scoring.scored_call import (
        BehaviourResult,
        CriterionResult,
        Evidence,
        ReviewPriority,
        ScorecardResult,
        ScoredCall,
    )

    crit = CriterionResult("empathy", "Shows empathy", result, 1.0, 0.9)  # type: ignore[arg-type]
    card = ScorecardResult("outcome-test", "Outcome test", "1", True, 50.0, criteria=[crit])
    evidence = [Evidence(0, "customer", complaint)] if complaint else []
    behaviours = {"complaint": BehaviourResult(complaint is not None, 0.9, evidence)}
    return ScoredCall(call_id, behaviours, {}, {"outcome-test": card}, ReviewPriority(False, 0.0))


# (external id, empathy result, CSAT, survey resolved, team, complaint evidence)
CALLS = [
    ("O-1", "pass", 5, True, "Team A", None),
    ("O-2", "pass", 4, True, "Team A", None),
    ("O-3", "pass", 5, True, "Team A", None),
    ("O-4", "pass", 4, True, "Team A", None),
    ("O-5", "fail", 2, False, "Team A", "my broadband is down again"),
    ("O-6", "fail", 3, False, "Team A", "the broadband keeps dropping out"),
    ("O-7", "fail", 1, False, "Team A", "I was promised a refund"),
    # Another team's call: a QA officer counts it, Team A's leader does not.
    ("O-8", "fail", 5, True, "Team B", None),
]


def _seed_outcomes(url: str) -> None:
    from store_seed import agent_named, store_scored_call

    from qa_scoring.store.db import session_scope
    from qa_scoring.store.models import CallOutcome

    with session_scope(url) as s:
        for i, (ext, result, csat, resolved, team, complaint) in enumerate(CALLS):
            agent = agent_named(s, "A100" if team == "Team A" else "B100", "Agent", team)
            call = store_scored_call(
                s,
                document={"call_id": ext, "turns": []},
                scored=_scored(ext, result, complaint),
                agent=agent,
                external_id=ext,
                started_at=DAY0 + dt.timedelta(hours=i),
            )
            s.add(CallOutcome(call_id=call.id, csat=csat, resolved=resolved, source="survey.csv"))


def _row(html: str) -> str:
    match = re.search(r'<tr data-criterion="outcome-test/empathy">(.*?)</tr>', html, re.S)
    assert match, html[:3000]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1))).strip()


def test_outcomes_page_for_team_leader_with_hand_checked_figures(client, web_settings):
    _seed_outcomes(web_settings.database_url)
    login(client, "leader")
    assert 'id="outcomes-link"' in client.get("/dashboards/").get_data(as_text=True)
    resp = client.get("/dashboards/outcomes")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    # Team A only. Passing CSAT 5,4,5,4: mean 4.5 (variance 1/3); failing 2,3,1: mean 2.0 (variance 1).
    # Difference 2.5; Welch se = sqrt(1/3/4 + 1/3) = 0.6455, df = 3, t(0.975, 3) = 3.1824:
    # 2.5 -/+ 2.0543 -> 0.45 to 4.55.
    # Survey resolved 4/4 vs 0/3 = 100% vs 0%. Wilson 95%: 4/4 -> (0.5101, 1); 0/3 -> (0, 0.5615).
    # Newcombe: low = 1 - sqrt((1 - 0.5101)^2 + 0.5615^2) = 1 - 0.7452 = 0.2548 -> +25%; high = +100%.
    # No customer ids: first-contact resolution is unknown for every call.
    row = _row(html)
    assert row.startswith("outcome-test Shows empathy 7 (0)"), row
    assert "4 / 3 4.50 vs 2.00 +2.50 (+0.45 to +4.55)" in row
    assert "4 / 3 100% vs 0% +100% (+25% to +100%)" in row
    assert "0 / 0 —" in row  # FCR
    # Complaint reasons: week 2026-W10, three complaint calls; "broadband" is in two of them.
    reasons = re.search(r'id="complaint-reasons">(.*?)</table>', html, re.S).group(1)
    assert re.search(r"<td>2026-W10</td><td>3</td><td>broadband \(2\), ", reasons), reasons
    assert "refund (1)" in reasons or "promised refund (1)" in reasons


def test_outcomes_page_counts_every_team_for_a_qa_officer(client, web_settings):
    _seed_outcomes(web_settings.database_url)
    login(client, "qa")
    row = _row(client.get("/dashboards/outcomes").get_data(as_text=True))
    # Failing now 2,3,1,5: mean 2.75; 4.50 - 2.75 = +1.75.
    assert row.startswith("outcome-test Shows empathy 8 (0)") and "4 / 4 4.50 vs 2.75 +1.75" in row


def test_outcomes_page_is_refused_to_an_agent(client, web_seed):
    login(client, "agent")
    assert client.get("/dashboards/outcomes").status_code == 403
