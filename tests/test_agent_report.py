"""The agent evaluation report (``qa_scoring/reports``): figures on a seeded store against a hand
calculation, the rule that nothing the agent could not see appears (a draft review's decisions, a
blind calibration review, another agent's or team's data), the HTML, the CLI, and the PDF printed
by Chromium and checked page by page (kept under test-artifacts/reports/)."""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from pathlib import Path

import pytest
from shared_data import PROJECT_ROOT
from store_seed import agent_named, store_scored_call

from qa_scoring.review import decisions as rv
from qa_scoring.scored_call import CriterionResult, Evidence, ReviewPriority, ScorecardResult, ScoredCall
from qa_scoring.store.db import session_scope
from qa_scoring.store.models import (
    ActionItem,
    CalibrationSession,
    Clip,
    CoachingSession,
)
from qa_scoring.store.users import create_user

ARTIFACTS = PROJECT_ROOT / "test-artifacts" / "reports"
DAY0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)  # Monday of ISO week 2026-W10
START, END = dt.date(2026, 3, 2), dt.date(2026, 3, 15)  # weeks 10 and 11
CRITERIA = (("greet", "Greets the customer"), ("empathy", "Shows empathy"), ("close", "Closes the call"))


def _scored(name: str, results: dict[str, str], quotes: dict[str, str]) -> ScoredCall:
    crits = [
        CriterionResult(
            cid,
            label,
            results[cid],  # type: ignore[arg-type]
            1.0,
            0.95,
            [Evidence(1, "agent", quotes[cid], 3.0, 5.5)] if cid in quotes else [],
        )
        for cid, label in CRITERIA
    ]
    card = ScorecardResult("rater", "Service standard", "1", True, None, criteria=crits)
    return ScoredCall(name, {}, {}, {"rater": card}, ReviewPriority(True, 0.5))


def _review(s, call, user, overrides: dict[str, str] | None = None, calibration: int | None = None):
    """A review made with the real decision functions: overrides, accept the rest, submit."""
    review = None
    for crit, result in (overrides or {}).items():
        edit = rv.Edit(review.id if review else None, review.version_id if review else None, calibration)
        review = rv.decide(s, call, user, edit, rv.Decision("rater", crit, "override", result, "heard it"))
    edit = rv.Edit(review.id if review else None, review.version_id if review else None, calibration)
    review, _ = rv.accept_remaining(s, call, user, edit)
    return rv.submit(s, call, user, rv.Edit(review.id, review.version_id, calibration))


P, F = "pass", "fail"


def seed(url: str) -> dict[str, int]:
    """Sarah (A1) and Tom (A2) in Team A, Bea (B1) in Team B; rubric "rater" with three criteria.

    Sarah's calls in the period: c1 (W10, reviewed, accepted), c2 (W10, reviewed, close overridden
    to pass), c3 (W11, reviewed, close overridden to partial), c4 (W11, only a draft review), c5
    (W11, only a blind calibration review); c6 is after the period. Tom: two reviewed calls in W10.
    Bea: one reviewed call, all failed (another team)."""
    with session_scope(url) as s:
        a1 = agent_named(s, "A1", "Sarah Jones", "Team A")
        a2 = agent_named(s, "A2", "Tom Patel", "Team A")
        b1 = agent_named(s, "B1", "Bea Other", "Team B")
        qa = create_user(s, "qa", "qa-password-1", "qa_officer")
        qa2 = create_user(s, "qa2", "qa-password-2", "qa_officer")
        leader = create_user(s, "leader", "leader-password", "team_leader", team_id=a1.team_id)
        sarah = create_user(s, "sarah", "sarah-password", "agent", agent_id=a1.id)

        def call(agent, name, day, results, quotes=None):
            return store_scored_call(
                s,
                document={"call_id": name, "turns": [{"speaker": "agent", "text": "hello"}] * 3},
                scored=_scored(name, results, quotes or {}),
                agent=agent,
                started_at=DAY0 + dt.timedelta(days=day),
            )

        c1 = call(
            a1,
            "S-1",
            0,
            {"greet": P, "empathy": P, "close": F},
            {"greet": "Good morning, Sarah speaking, quote one", "close": "Right, bye then"},
        )
        c2 = call(a1, "S-2", 2, {"greet": P, "empathy": F, "close": F}, {"greet": "Hello, quote two"})
        c3 = call(
            a1,
            "S-3",
            8,
            {"greet": P, "empathy": P, "close": P},
            {"greet": "Hi there, quote three", "close": "Anything else? OK bye"},
        )
        c4 = call(a1, "S-4", 9, {"greet": F, "empathy": P, "close": P}, {"empathy": "DRAFT-ONLY-QUOTE"})
        c5 = call(a1, "S-5", 10, {"greet": P, "empathy": P, "close": P}, {"greet": "CALIBRATION-ONLY-QUOTE"})
        c6 = call(a1, "S-6", 20, {"greet": F, "empathy": F, "close": F}, {"greet": "AFTER-PERIOD-QUOTE"})
        t1 = call(a2, "T-1", 1, {"greet": F, "empathy": P, "close": P}, {"greet": "TOM-QUOTE"})
        t2 = call(a2, "T-2", 3, {"greet": P, "empathy": P, "close": F})
        o1 = call(b1, "B-1", 1, {"greet": F, "empathy": F, "close": F}, {"greet": "OTHER-TEAM-QUOTE"})

        _review(s, c1, qa)
        _review(s, c2, qa, {"close": P})
        _review(s, c3, qa, {"close": "partial"})
        _review(s, c6, qa)
        _review(s, t1, qa)
        _review(s, t2, qa)
        _review(s, o1, qa)
        # Work in progress nobody but its officer sees: a draft on an unreviewed call, and a second
        # officer's draft on a reviewed one that would flip greet to fail.
        rv.decide(
            s, c4, qa, rv.Edit(None, None), rv.Decision("rater", "empathy", "override", F, "DRAFT-REASON")
        )
        rv.decide(
            s, c1, qa2, rv.Edit(None, None), rv.Decision("rater", "greet", "override", F, "DRAFT-REASON")
        )
        # A blind calibration review, submitted, that fails greet on c5.
        session = CalibrationSession(name="March calibration", members=[qa2], calls=[c5])
        s.add(session)
        s.flush()
        _review(s, c5, qa2, {"greet": F}, calibration=session.id)

        # The agent appeals empathy on c2; the team leader rejects it. Sarah acknowledges c1.
        dispute = rv.raise_dispute(
            s,
            c2,
            sarah,
            rubric_id="rater",
            criterion_id="empathy",
            reason="I apologised twice",
            proposed_result=P,
        )
        rv.resolve_dispute(
            s,
            dispute,
            leader,
            status="rejected",
            resolution="No acknowledgement of the loss",
            version=dispute.version_id,
        )
        rv.acknowledge(s, c1, rv.standing_review(c1), sarah, comment="Fair, will work on closing")

        # Clips: one of Sarah's (greet), one of Tom's (greet: never in Sarah's report).
        s.add(
            Clip(
                call_id=c1.id,
                agent_id=a1.id,
                start=3.0,
                end=9.0,
                rubric_id="rater",
                criterion_id="greet",
                note="model greeting",
            )
        )
        s.add(
            Clip(
                call_id=t1.id,
                agent_id=a2.id,
                start=1.0,
                end=4.0,
                rubric_id="rater",
                criterion_id="greet",
                note="TOM-CLIP",
            )
        )
        s.add(
            Clip(
                call_id=c3.id,
                agent_id=a1.id,
                start=60.0,
                end=75.5,
                rubric_id="rater",
                criterion_id="close",
                note="rushed close",
            )
        )

        # Coaching: Sarah's session in the period with two actions; one after it; one of Tom's.
        record = CoachingSession(
            agent_id=a1.id,
            team_leader_id=leader.id,
            session_date=dt.date(2026, 3, 6),
            goal="Close every call with a summary",
            reality="Two of three calls ended abruptly",
            options="Use the closing checklist",
            will="Summarise and ask if anything else",
        )
        record.action_items = [
            ActionItem(
                text="Use the closing checklist on every call", due_date=dt.date(2026, 3, 20), status="open"
            ),
            ActionItem(
                text="Listen to two model closes", status="done", completed_at=DAY0 + dt.timedelta(days=6)
            ),
        ]
        s.add(record)
        s.add(CoachingSession(agent_id=a1.id, session_date=dt.date(2026, 4, 2), goal="LATER-GOAL"))
        s.add(CoachingSession(agent_id=a2.id, session_date=dt.date(2026, 3, 6), goal="TOM-GOAL"))
        s.flush()
        return {"a1": a1.id, "a2": a2.id, "b1": b1.id, "c1": c1.id, "c2": c2.id, "c3": c3.id, "c4": c4.id}


@pytest.fixture
def seeded(sqlite_url: str) -> tuple[str, dict[str, int]]:
    return sqlite_url, seed(sqlite_url)


def _report(url: str, agent_id: int):
    from qa_scoring.reports.agent import agent_report

    with session_scope(url) as s:
        return agent_report(s, agent_id, START, END, now=dt.datetime(2026, 3, 16, 8, 0, tzinfo=dt.UTC))


def test_figures_match_a_hand_calculation(seeded) -> None:
    url, ids = seeded
    r = _report(url, ids["a1"])
    assert (r.agent_name, r.team_name) == ("Sarah Jones", "Team A")
    # Sarah: c1..c5 scored in the period (c6 is after it); c1-c3 have a submitted review.
    assert (r.calls, r.reviewed) == (5, 3)
    # Team A: Sarah's three and Tom's two reviewed calls; Bea (Team B) never counts.
    assert (r.team_calls, r.team_agents) == (5, 2)

    rows = {c.criterion_id: c for c in r.criteria}
    assert [c.criterion_id for c in r.criteria] == ["greet", "empathy", "close"]
    # greet: P P P (the second officer's draft "fail" on c1 does not count) / team + Tom F P.
    assert (rows["greet"].agent.passed, rows["greet"].agent.calls) == (3, 3)
    assert (rows["greet"].team.passed, rows["greet"].team.calls) == (4, 5)
    # empathy: P F P (the appeal was rejected) / team + Tom P P.
    assert (rows["empathy"].agent.passed, rows["empathy"].agent.calls) == (2, 3)
    assert (rows["empathy"].team.passed, rows["empathy"].team.calls) == (4, 5)
    # close: F, P (override), partial (override) / team + Tom P F.
    close = rows["close"]
    assert (close.agent.passed, close.agent.partial, close.agent.failed) == (1, 1, 1)
    assert (close.team.passed, close.team.calls) == (2, 5)
    assert close.agent.rate == pytest.approx(100 / 3)
    assert close.team.rate == pytest.approx(40.0)
    assert close.difference == pytest.approx(100 / 3 - 40.0)

    # Scores by the rubric formula: c1 and c2 2/3 = 66.7, c3 (P, P, partial) 2.5/3 = 83.3; Tom 66.7 twice.
    (rubric,) = r.rubrics
    assert (rubric.rubric_id, rubric.name) == ("rater", "Service standard")
    assert rubric.agent.calls == 3 and rubric.agent.value == pytest.approx((66.7 + 66.7 + 83.3) / 3)
    assert rubric.team.calls == 5 and rubric.team.value == pytest.approx((66.7 * 4 + 83.3) / 5)

    # Trend: W10 c1 and c2 (both reviewed); W11 c3, c4, c5 (only c3 reviewed).
    assert [(w.iso, w.calls, w.reviewed) for w in r.weeks] == [("2026-W10", 2, 2), ("2026-W11", 3, 1)]
    assert r.weeks[0].scores["rater"].value == pytest.approx(66.7)
    assert (r.weeks[1].scores["rater"].value, r.weeks[1].scores["rater"].calls) == (pytest.approx(83.3), 1)

    # Strongest greet (100% of 3), weakest close (33% of 3); quotes from the calls, latest first.
    assert [h.row.criterion_id for h in r.strongest] == ["greet"]
    assert [h.row.criterion_id for h in r.weakest] == ["close"]
    assert r.ranked_on == 3
    greet = r.strongest[0]
    assert [q.quote for q in greet.quotes] == [
        "Hi there, quote three",
        "Hello, quote two",
        "Good morning, Sarah speaking, quote one",
    ]
    assert [(c.note, c.call_id) for c in greet.clips] == [("model greeting", ids["c1"])]
    weak = r.weakest[0]
    assert [(q.quote, q.result) for q in weak.quotes] == [
        ("Anything else? OK bye", "partial"),
        ("Right, bye then", "fail"),
    ]
    assert [c.note for c in weak.clips] == ["rushed close"]

    # Coaching in the period, with its actions; appeals and acknowledgements.
    (coaching,) = r.coaching
    assert coaching.goal == "Close every call with a summary" and coaching.team_leader == "leader"
    assert [(a.text, a.status) for a in coaching.actions] == [
        ("Use the closing checklist on every call", "open"),
        ("Listen to two model closes", "done"),
    ]
    assert r.open_actions == 1
    (appeal,) = r.disputes
    assert (appeal.call_id, appeal.criterion_id, appeal.proposed_result) == (ids["c2"], "empathy", "pass")
    assert (appeal.status, appeal.outcome_result, appeal.raised_by) == ("rejected", "fail", "sarah")
    assert [a.call_id for a in r.acknowledgements] == [ids["c1"], ids["c2"], ids["c3"]]
    assert r.acknowledged == 1 and r.acknowledgements[0].comment == "Fair, will work on closing"


def test_nothing_the_agent_could_not_see(seeded) -> None:
    from qa_scoring.reports.render import render_agent_report

    url, ids = seeded
    r = _report(url, ids["a1"])
    html = render_agent_report(r)
    # A draft review's decisions and its call's evidence, the calibration review, another agent's
    # and another team's data, and anything after the period never appear.
    for hidden in (
        "DRAFT-REASON",
        "DRAFT-ONLY-QUOTE",
        "CALIBRATION-ONLY-QUOTE",
        "March calibration",
        "qa2",
        "TOM-QUOTE",
        "TOM-CLIP",
        "TOM-GOAL",
        "Tom Patel",
        "OTHER-TEAM-QUOTE",
        "Bea Other",
        "Team B",
        "AFTER-PERIOD-QUOTE",
        "LATER-GOAL",
        "S-6",
    ):
        assert hidden not in html, hidden
    assert "S-4" not in [a.call_label for a in r.acknowledgements]
    assert "S-5" not in [a.call_label for a in r.acknowledgements]  # only a calibration review
    # Every figure says how many calls it rests on.
    assert "33%" in html and "40%" in html and "100%" in html
    assert "Greets the customer" in html and "of 3 calls" in html
    assert "No acknowledgement of the loss" in html and "Fair, will work on closing" in html
    # Without a base URL nothing links (a file has no server); with one, calls and clips link.
    assert "<a href" not in html
    linked = render_agent_report(r, base_url="https://qa.example/")
    assert f'href="https://qa.example/calls/{ids["c2"]}"' in linked
    assert 'href="https://qa.example/clips/' in linked
    assert "<script" not in linked and "http://" not in linked and "src=" not in linked


def test_report_of_an_agent_without_reviews_or_team(sqlite_url: str) -> None:
    from qa_scoring.reports.agent import ReportError, agent_report
    from qa_scoring.reports.render import render_agent_report

    with session_scope(sqlite_url) as s:
        lone = agent_named(s, "Z9", "Zed Alone", None)
        store_scored_call(
            s,
            document={"call_id": "Z-1", "turns": []},
            scored=_scored("Z-1", {"greet": P, "empathy": P, "close": P}, {}),
            agent=lone,
            started_at=DAY0,
        )
        s.flush()
        r = agent_report(s, lone.id, START, END)
        assert (r.calls, r.reviewed, r.team_name, r.criteria, r.strongest) == (1, 0, None, [], [])
        assert "No reviewed calls in the period." in render_agent_report(r)
        with pytest.raises(ReportError):
            agent_report(s, lone.id, END, START)
        with pytest.raises(ReportError):
            agent_report(s, 99999, START, END)


def _chromium() -> str:
    from qa_scoring.reports.pdf import BrowserMissing, find_chromium

    try:
        return find_chromium()
    except BrowserMissing as exc:
        pytest.skip(str(exc))


PAGES = [
    ("Evaluation report: Sarah Jones", "Summary", "Score per rubric"),
    ("Criteria against the team", "Greets the customer", "Closes the call"),
    ("Trend by week", "2026-W10", "2026-W11"),
    ("Strongest and weakest criteria", "Hi there, quote three", "Anything else? OK bye"),
    ("Coaching", "Close every call with a summary", "Use the closing checklist"),
    ("Appeals and acknowledgements", "I apologised twice", "Fair, will work on closing"),
]


@pytest.mark.browser
def test_pdf_printed_by_chromium_page_by_page(seeded, monkeypatch) -> None:
    from click.testing import CliRunner

    from qa_scoring import config
    from qa_scoring.cli import main

    _chromium()
    pypdf = pytest.importorskip("pypdf", reason="pypdf reads the PDF's pages back")
    url, ids = seeded
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    out = ARTIFACTS / "agent-report.pdf"
    out.unlink(missing_ok=True)
    monkeypatch.setenv("QA_SCORING_DATABASE_URL", url)
    config.get_settings.cache_clear()
    try:
        done = CliRunner().invoke(
            main,
            [
                "report",
                "agent",
                "A1",
                "--from",
                str(START),
                "--to",
                str(END),
                "--format",
                "pdf",
                "--out",
                str(out),
            ],
        )
        html = CliRunner().invoke(
            main,
            [
                "report",
                "agent",
                "A1",
                "--from",
                str(START),
                "--to",
                str(END),
                "--out",
                str(out.with_suffix(".html")),
            ],
        )
        missing = CliRunner().invoke(main, ["report", "agent", "NOBODY"])
    finally:
        config.get_settings.cache_clear()
    assert done.exit_code == 0, done.output
    assert html.exit_code == 0 and "Criteria against the team" in out.with_suffix(".html").read_text("utf-8")
    assert missing.exit_code != 0 and "no agent 'NOBODY'" in missing.output

    data = out.read_bytes()
    assert data.startswith(b"%PDF")
    reader = pypdf.PdfReader(str(out))
    texts = [" ".join((page.extract_text() or "").split()) for page in reader.pages]
    (ARTIFACTS / "agent-report.pages.txt").write_text(
        "\n\n".join(f"--- page {i + 1}\n{t}" for i, t in enumerate(texts)), encoding="utf-8"
    )
    # Each part starts on its own page and fits on it.
    assert len(texts) == len(PAGES), [t[:60] for t in texts]
    for number, (text, expected) in enumerate(zip(texts, PAGES, strict=True), start=1):
        for words in expected:
            assert words in text, f"page {number}: {words!r} not in {text[:300]!r}"
        assert "Sarah Jones" in text, f"page {number} does not name the agent"
    # A4 portrait.
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)
    # Page images where poppler is installed, to look at.
    if shutil.which("pdftoppm"):
        subprocess.run(
            ["pdftoppm", "-r", "60", "-png", str(out), str(ARTIFACTS / "agent-report-page")],
            check=True,
            timeout=120,
        )
        assert len(list(ARTIFACTS.glob("agent-report-page*.png"))) == len(PAGES)


def test_missing_browser_is_named(monkeypatch, tmp_path: Path) -> None:
    from qa_scoring.reports import pdf

    monkeypatch.setenv("QA_SCORING_CHROMIUM", str(tmp_path / "no-such-chromium"))
    with pytest.raises(pdf.BrowserMissing, match="no-such-chromium"):
        pdf.html_to_pdf("<p>x</p>")
    monkeypatch.delenv("QA_SCORING_CHROMIUM")
    monkeypatch.setattr(pdf, "CHROMIUM", str(tmp_path / "chromium"))
    monkeypatch.setattr(pdf.shutil, "which", lambda name: None)
    with pytest.raises(pdf.BrowserMissing, match="apt-get install chromium"):
        pdf.find_chromium()
