"""The team report for team leaders (``qa_scoring/reports/team.py``): figures on the agent report's
seeded store (``test_agent_report.seed``, plus survey outcomes, repeat contacts and a SMART action)
against a hand calculation; the rule that only the team's reviewed results count (never a draft or
calibration review, another team or the days after the period); the CLI and the web route (HTML and
PDF, the same access rule as the team dashboard); the PDF printed by Chromium and checked page by
page, and a screenshot of the HTML's first page (kept under test-artifacts/)."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from shared_data import PROJECT_ROOT
from sqlalchemy import select
from test_agent_report import END, START, _chromium, seed

from qa_scoring.store.db import dispose_engines, session_scope
from qa_scoring.store.models import ActionItem, Call, CallOutcome, CoachingSession, Team, User
from qa_scoring.store.users import create_user
from tests.web.test_web_browser import ARGS, ARTIFACTS
from tests.web.webhelp import csrf_token

REPORT_ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "reports"
NOW = dt.datetime(2026, 3, 16, 8, 0, tzinfo=dt.UTC)
PASSWORDS = {"qa": "qa-password-1", "leader": "leader-password", "sarah": "sarah-password"}
PASSWORDS |= {"admin": "admin-password-1", "leader-b": "leader-b-password"}

# Hand-computed from the seed (see test_agent_report.seed). Team A's reviewed calls in the period:
# Sarah's S-1 66.7, S-2 66.7, S-3 83.3 and Tom's T-1 66.7, T-2 66.7 (S-4: only a draft, S-5: only
# a calibration review, S-6: after the period; Bea's B-1 is Team B's).
TEAM_MEAN = (66.7 * 4 + 83.3) / 5  # 70.02 -> "70.0"
SARAH_MEAN = (66.7 * 2 + 83.3) / 3  # 72.23 -> "72.2"
TOM_MEAN = 66.7


def seed_team(url: str) -> dict[str, int]:
    """The agent report's store, plus what a team report adds: survey results (CSAT 5 and 3 on
    Sarah's S-1 and S-2, 2 on Tom's T-1; 1 on Bea's B-1, another team), one customer calling on S-1
    and again a day later on T-1 (S-1 not resolved at first contact, T-1 resolved), a SMART action
    for Tom, an admin and Team B's leader."""
    ids = seed(url)
    with session_scope(url) as s:
        calls = {c.external_id: c for c in s.scalars(select(Call))}
        for name, csat, resolved in (("S-1", 5, True), ("S-2", 3, None), ("T-1", 2, False), ("B-1", 1, None)):
            s.add(CallOutcome(call_id=calls[name].id, csat=csat, resolved=resolved, source="survey.csv"))
        for name in ("S-1", "T-1"):
            calls[name].extra = {**(calls[name].extra or {}), "customer_id": "CUST-1"}
        leader = s.scalars(select(User).where(User.username == "leader")).one()
        toms = s.scalars(select(CoachingSession).where(CoachingSession.agent_id == ids["a2"])).one()
        toms.action_items.append(
            ActionItem(
                text="Offer the customer a summary before closing",
                due_date=dt.date(2026, 3, 27),
                status="open",
                measure="Closes the call met on reviewed calls",
                rubric_id="rater",
                criterion_id="close",
                target=80.0,
                owner=leader,
            )
        )
        create_user(s, "admin", PASSWORDS["admin"], "admin")
        team_b = s.scalars(select(Team).where(Team.name == "Team B")).one()
        create_user(s, "leader-b", PASSWORDS["leader-b"], "team_leader", team_id=team_b.id)
        ids["team_a"] = s.scalars(select(Team).where(Team.name == "Team A")).one().id
        ids["team_b"] = team_b.id
    return ids


@pytest.fixture
def team_seeded(sqlite_url: str) -> tuple[str, dict[str, int]]:
    return sqlite_url, seed_team(sqlite_url)


def _report(url: str, team_id: int) -> Any:
    from qa_scoring.reports.team import team_report

    with session_scope(url) as s:
        return team_report(s, team_id, START, END, now=NOW)


def test_figures_match_a_hand_calculation(team_seeded) -> None:
    url, ids = team_seeded
    r = _report(url, ids["team_a"])
    assert (r.team_name, r.leaders) == ("Team A", ["leader"])
    # Sarah's S-1..S-5 and Tom's T-1, T-2 are scored in the period; five have a standing review.
    assert (r.calls, r.reviewed, r.unassigned_calls) == (7, 5, 0)
    rows = {a.name: a for a in r.agents}
    assert list(rows) == ["Sarah Jones", "Tom Patel"]  # never Bea (Team B)
    sarah, tom = rows["Sarah Jones"], rows["Tom Patel"]
    assert (sarah.external_id, sarah.calls, sarah.reviewed) == ("A1", 5, 3)
    assert (tom.external_id, tom.calls, tom.reviewed) == ("A2", 2, 2)

    (rubric,) = r.rubrics
    assert (rubric.rubric_id, rubric.name, rubric.team.calls) == ("rater", "Service standard", 5)
    assert rubric.team.value == pytest.approx(TEAM_MEAN)
    assert (sarah.score("rater").value, sarah.score("rater").calls) == (pytest.approx(SARAH_MEAN), 3)
    assert (tom.score("rater").value, tom.score("rater").calls) == (pytest.approx(TOM_MEAN), 2)
    assert r.score_difference(sarah, rubric) == pytest.approx(SARAH_MEAN - TEAM_MEAN)

    # Pass rates: greet S P P P, T F P; empathy S P F P (appeal rejected), T P P; close S F P
    # partial, T P F. The second officer's draft "fail" on S-1's greet never counts.
    crit = {c.criterion_id: c for c in r.criteria}
    assert [c.criterion_id for c in r.criteria] == ["greet", "empathy", "close"]
    assert [(crit[k].team.passed, crit[k].team.calls) for k in ("greet", "empathy", "close")] == [
        (4, 5),
        (4, 5),
        (2, 5),
    ]
    assert (crit["greet"].of(ids["a1"]).rate, crit["greet"].of(ids["a2"]).rate) == (100.0, 50.0)
    assert crit["close"].of(ids["a1"]).rate == pytest.approx(100 / 3)
    assert crit["close"].difference(ids["a1"]) == pytest.approx(100 / 3 - 40.0)
    assert [a for a, _ in crit["close"].lowest()] == [ids["a1"], ids["a2"]]

    # Trend: W10 S-1, T-1, S-2, T-2 (all reviewed); W11 S-3, S-4, S-5 (only S-3 reviewed).
    assert [(w.iso, w.calls, w.reviewed) for w in r.weeks] == [("2026-W10", 4, 4), ("2026-W11", 3, 1)]
    assert r.weeks[0].scores["rater"].value == pytest.approx(66.7)
    monday10, monday11 = (w.week_start for w in r.weeks)
    assert (sarah.week(monday10, "rater").calls, sarah.week(monday11, "rater").value) == (2, 83.3)
    assert tom.week(monday11, "rater").calls == 0

    # Ranked by the team's rate: empathy and greet tie at 80% of 5 (empathy first by id), close 40%.
    assert [h.row.criterion_id for h in r.strongest] == ["empathy"]
    assert [h.row.criterion_id for h in r.weakest] == ["close"]
    weak = r.weakest[0]
    assert [(q.quote, q.result, q.agent) for q in weak.quotes] == [
        ("Anything else? OK bye", "partial", "Sarah Jones"),
        ("Right, bye then", "fail", "Sarah Jones"),
    ]
    assert [c.note for c in weak.clips] == ["rushed close"]

    # Coaching in the period, per agent, with the SMART fields; appeals; outcomes.
    assert [(c.agent_id, c.session_date) for c in r.coaching] == [
        (ids["a1"], dt.date(2026, 3, 6)),
        (ids["a2"], dt.date(2026, 3, 6)),
    ]
    (smart,) = r.coaching_of(ids["a2"])[0].actions
    assert (smart.criterion, smart.target, smart.owner, smart.status) == (
        "rater/close",
        80.0,
        "leader",
        "open",
    )
    assert (sarah.coaching_sessions, sarah.open_actions, tom.open_actions, r.open_actions) == (1, 1, 1, 2)
    (appeal,) = r.disputes
    assert (appeal.agent_id, appeal.status, appeal.outcome_result) == (ids["a1"], "rejected", "fail")
    assert r.dispute_outcomes == [("rejected", 1)]
    # CSAT (5 + 3 + 2) / 3 over Team A's surveyed calls; FCR: S-1 no (T-1 a day later), T-1 yes.
    assert (r.outcomes.calls, r.outcomes.csat.calls) == (7, 3)
    assert r.outcomes.csat.value == pytest.approx(10 / 3)
    assert (r.outcomes.fcr.yes, r.outcomes.fcr.calls) == (1, 2)
    assert (r.outcomes.resolved.yes, r.outcomes.resolved.calls) == (1, 2)
    assert (sarah.outcomes.csat.value, sarah.outcomes.csat.calls, sarah.outcomes.fcr.rate) == (4.0, 2, 0.0)
    assert (tom.outcomes.csat.value, tom.outcomes.fcr.rate) == (2.0, 100.0)


def test_html_names_the_team_and_nothing_else(team_seeded) -> None:
    from qa_scoring.reports.render import render_team_report

    url, ids = team_seeded
    html = render_team_report(_report(url, ids["team_a"]))
    for hidden in (
        "DRAFT-REASON",
        "DRAFT-ONLY-QUOTE",
        "CALIBRATION-ONLY-QUOTE",
        "March calibration",
        "qa2",
        "OTHER-TEAM-QUOTE",
        "Bea Other",
        "Team B",
        "AFTER-PERIOD-QUOTE",
        "LATER-GOAL",
        "S-6",
    ):
        assert hidden not in html, hidden
    # Each agent against the team average, each figure with its calls.
    assert "<h1>Team report: Team A</h1>" in html
    assert re.search(r"Team average</td><td class=\"n\">70\.0</td><td class=\"n\">5</td>", html)
    assert re.search(r"Sarah Jones</td><td class=\"n\">72\.2</td><td class=\"n\">3</td>", html)
    assert "+2 pts" in html and "-3 pts" in html
    assert "TOM-GOAL" in html and "Offer the customer a summary before closing" in html
    assert "Customer outcomes" in html and "3.3" in html
    assert "<a href" not in html and "<script" not in html
    linked = render_team_report(_report(url, ids["team_a"]), base_url="https://qa.example/")
    assert f'href="https://qa.example/calls/{ids["c2"]}"' in linked


def test_a_team_without_reviews_or_outcomes(sqlite_url: str) -> None:
    from store_seed import agent_named

    from qa_scoring.reports.common import ReportError
    from qa_scoring.reports.render import render_team_report
    from qa_scoring.reports.team import find_team, team_report

    with session_scope(sqlite_url) as s:
        agent = agent_named(s, "Z9", "Zed Alone", "Quiet Team")
        r = team_report(s, agent.team_id, START, END)
        assert (r.calls, r.reviewed, r.rubrics, r.strongest, r.outcomes.has_data) == (0, 0, [], [], False)
        assert [(a.name, a.calls) for a in r.agents] == [("Zed Alone", 0)]
        html = render_team_report(r)
        assert "No reviewed calls in the period." in html and 'id="outcomes"' not in html
        assert (
            find_team(s, "Quiet Team")
            is find_team(s, f"#{agent.team_id}")
            is find_team(s, str(agent.team_id))
        )
        assert find_team(s, "Nobody's") is None
        with pytest.raises(ReportError):
            team_report(s, agent.team_id, END, START)
        with pytest.raises(ReportError):
            team_report(s, 99999, START, END)


# --------------------------------------------------------------------------- the web route


@pytest.fixture
def web_client(team_seeded, tmp_path: Path):
    from qa_scoring.config import load_settings
    from web import create_app

    url, ids = team_seeded
    settings = load_settings(environ={})
    settings.data_dir = tmp_path / "data"
    settings.database_url = url
    settings.secret_key = "test-secret"
    app = create_app({"SETTINGS": settings, "TESTING": True})
    yield app.test_client(), ids
    dispose_engines()


def _login(client, username: str) -> None:
    token = csrf_token(client)
    resp = client.post(
        "/login", data={"username": username, "password": PASSWORDS[username], "csrf_token": token}
    )
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]


PERIOD = f"from={START}&to={END}"


def test_web_route_access_and_link(web_client) -> None:
    client, ids = web_client
    url = f"/dashboards/team/{ids['team_a']}/report?{PERIOD}"
    assert client.get(url).status_code in (302, 401)  # signed out
    for user in ("leader", "qa", "admin"):
        _login(client, user)
        resp = client.get(url)
        assert resp.status_code == 200, user
        html = resp.get_data(as_text=True)
        assert "Team report: Team A" in html and f"{START} to {END}" in html
        assert "Sarah Jones" in html and "Tom Patel" in html and "Bea Other" not in html
        # Calls link into the UI the report was opened from.
        assert f'href="http://localhost/calls/{ids["c2"]}"' in html
    _login(client, "leader-b")  # another team's leader
    assert client.get(url).status_code == 403
    assert client.get(f"/dashboards/team/{ids['team_b']}/report?{PERIOD}").status_code == 200
    _login(client, "sarah")  # agents have no team report
    assert client.get(url).status_code == 403
    _login(client, "qa")
    assert client.get("/dashboards/team/999999/report").status_code == 404
    assert client.get(f"/dashboards/team/{ids['team_a']}/report?from=yesterday").status_code == 400
    assert client.get(f"/dashboards/team/{ids['team_a']}/report?from={END}&to={START}").status_code == 400
    # The team dashboard and the dashboards index link to it (default: the last 90 days).
    from qa_scoring.reports.common import default_period

    _login(client, "leader")
    page = client.get(f"/dashboards/team/{ids['team_a']}").get_data(as_text=True)
    start, end = default_period()
    assert f'action="/dashboards/team/{ids["team_a"]}/report"' in page
    assert f'value="{start}"' in page and f'value="{end}"' in page and "Team report" in page
    index = client.get("/dashboards/").get_data(as_text=True)
    assert f'href="/dashboards/team/{ids["team_a"]}/report"' in index
    # The agent report's route shares the HTML/PDF response and still serves its report.
    agent = client.get(f"/dashboards/agent/{ids['a1']}/report?{PERIOD}").get_data(as_text=True)
    assert "Evaluation report: Sarah Jones" in agent and "Tom Patel" not in agent


# --------------------------------------------------------------------------- PDF and screenshot

PAGES = [
    ("Team report: Team A", "Summary", "Score per rubric", "70.0"),
    ("Agents against the team average", "Sarah Jones", "Tom Patel", "Team average"),
    ("Criteria: each agent against the team", "Greets the customer", "Closes the call"),
    ("Trend by week", "2026-W10", "2026-W11"),
    ("strongest and weakest criteria", "Shows empathy", "Anything else? OK bye"),
    (
        "Coaching and SMART actions",
        "Close every call with a summary",
        "the customer a summary before closing",
    ),
    ("Appeals and their outcomes", "I apologised twice", "rejected"),
    ("Customer outcomes", "Mean CSAT", "3.3"),
]
# Each agent's row as the PDF's text reads it: name, id, scored and reviewed calls, coaching
# sessions and open actions; then the mean score with its calls and the difference to the team.
AGENT_ROWS = {
    2: ["Team 7 5 2 2", "Sarah Jones A1 5 3 1 1", "Tom Patel A2 2 2 1 1", "Team average 70.0 5"]
    + ["Sarah Jones 72.2 3 +2 pts", "Tom Patel 66.7 2 -3 pts"],
    3: ["Team average 80% of 5 80% of 5 40% of 5", "Sarah Jones 100% of 3 67% of 3 33% of 3"]
    + ["Tom Patel 50% of 2 100% of 2 50% of 2"],
    4: ["2026-W10 2–8 Mar 4 4 66.7 (4)", "Sarah Jones 66.7 (2) 83.3 (1)", "Tom Patel 66.7 (2) — (0)"],
    8: ["Team 7 3.3 3 50% 2 50% 2", "Sarah Jones 5 4.0 2 0% 1 100% 1", "Tom Patel 2 2.0 1 100% 1 0% 1"],
}


def _cli(url: str, monkeypatch, *args: str) -> Any:
    from click.testing import CliRunner

    from qa_scoring import config
    from qa_scoring.cli import main

    monkeypatch.setenv("QA_SCORING_DATABASE_URL", url)
    config.get_settings.cache_clear()
    try:
        return CliRunner().invoke(main, ["report", "team", *args, "--from", str(START), "--to", str(END)])
    finally:
        config.get_settings.cache_clear()


@pytest.mark.browser
def test_pdf_through_the_cli_and_the_web_page_by_page(team_seeded, web_client, monkeypatch) -> None:
    _chromium()
    pypdf = pytest.importorskip("pypdf", reason="pypdf reads the PDF's pages back")
    url, ids = team_seeded
    REPORT_ARTIFACTS.mkdir(parents=True, exist_ok=True)
    out = REPORT_ARTIFACTS / "team-report.pdf"
    out.unlink(missing_ok=True)
    done = _cli(url, monkeypatch, "Team A", "--format", "pdf", "--out", str(out))
    assert done.exit_code == 0, done.output
    by_id = _cli(url, monkeypatch, f"#{ids['team_a']}", "--out", str(out.with_suffix(".html")))
    assert by_id.exit_code == 0, by_id.output
    assert "Agents against the team average" in out.with_suffix(".html").read_text("utf-8")
    missing = _cli(url, monkeypatch, "No Such Team")
    assert missing.exit_code != 0 and "no team 'No Such Team'" in missing.output

    client, _ = web_client
    _login(client, "leader")
    resp = client.get(f"/dashboards/team/{ids['team_a']}/report?{PERIOD}&format=pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert resp.headers["Content-Disposition"] == (
        f'attachment; filename="team-report-Team_A-{START}-{END}.pdf"'
    )
    web_pdf = REPORT_ARTIFACTS / "team-report-web.pdf"
    web_pdf.write_bytes(resp.get_data())

    for pdf in (out, web_pdf):
        reader = pypdf.PdfReader(str(pdf))
        texts = [" ".join((page.extract_text() or "").split()) for page in reader.pages]
        pdf.with_suffix(".pages.txt").write_text(
            "\n\n".join(f"--- page {i + 1}\n{t}" for i, t in enumerate(texts)), encoding="utf-8"
        )
        # Each part starts on its own page and fits on it; every page names the team.
        assert len(texts) == len(PAGES), (pdf.name, [t[:60] for t in texts])
        for number, (text, expected) in enumerate(zip(texts, PAGES, strict=True), start=1):
            for words in (*expected, *AGENT_ROWS.get(number, []), "Team A"):
                assert words in text, f"{pdf.name} page {number}: {words!r} not in {text[:400]!r}"
            assert "Bea Other" not in text and "Team B" not in text
        box = reader.pages[0].mediabox
        assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 portrait
    if shutil.which("pdftoppm"):
        subprocess.run(
            ["pdftoppm", "-r", "60", "-png", str(out), str(REPORT_ARTIFACTS / "team-report-page")],
            check=True,
            timeout=120,
        )
        assert len(list(REPORT_ARTIFACTS.glob("team-report-page*.png"))) == len(PAGES)


@pytest.mark.browser
def test_screenshot_of_the_first_page(team_seeded) -> None:
    """The HTML report's first page (its summary) as a browser shows it, kept as a PNG beside the
    other browser tests' screenshots (test-artifacts/web/)."""
    from qa_scoring.reports.render import render_team_report

    chromium = _chromium()
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright drives the browser")
    url, ids = team_seeded
    html = render_team_report(_report(url, ids["team_a"]))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "team-report-page-1.png"
    shot.unlink(missing_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 794, "height": 1123})  # A4 at 96 dpi
            outside: list[str] = []
            page.on("request", lambda req: None if req.url.startswith("data:") else outside.append(req.url))
            page.set_content(html)
            first = page.locator("section#summary")
            assert first.locator("h1").inner_text() == "Team report: Team A"
            assert "70.0" in first.inner_text()
            first.screenshot(path=str(shot))
        finally:
            browser.close()
    assert outside == []  # self-contained: no request leaves the page
    assert shot.read_bytes().startswith(b"\x89PNG")
    assert shot.stat().st_size > 10_000
