"""Customer outcomes: ``qa-scoring outcomes import`` stores survey results per call idempotently
(SQLite, and PostgreSQL where the test says ``db_url``); FCR comes from repeat contacts; each
criterion's passing and failing calls are compared with hand-checked intervals."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from store_seed import agent_named, store_scored_call

from qa_scoring.outcomes import (
    Contact,
    OutcomeFileError,
    OutcomeRow,
    complaint_reasons,
    complaint_terms,
    criterion_outcomes,
    customer_key,
    first_contact_resolution,
    import_outcomes,
    outcome_rows,
    parse_outcome,
    proportion_difference,
    welch_difference,
)
from qa_scoring.scored_call import (
    BehaviourResult,
    CriterionResult,
    Evidence,
    ReviewPriority,
    ScorecardResult,
    ScoredCall,
)
from qa_scoring.store.db import session_factory, session_scope
from qa_scoring.store.models import Call, CallOutcome, CriterionDecision, Review, User

HEADER = "call,csat,nps,resolved\n"
DAY0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # a Monday: ISO week 2026-W10


def _scored(call_id: str, empathy: str, complaint: str | None = None) -> ScoredCall:
    crit = CriterionResult("empathy", "Shows empathy", empathy, 1.0, 0.9)  # type: ignore[arg-type]
    card = ScorecardResult("rater", "RATER", "1", True, 100.0 if empathy == "pass" else 0.0, criteria=[crit])
    behaviours = {
        "complaint": BehaviourResult(
            complaint is not None, 0.9, [Evidence(0, "customer", complaint)] if complaint else []
        )
    }
    return ScoredCall(call_id, behaviours, {}, {"rater": card}, ReviewPriority(False, 0.0))


# Seven calls: four pass "empathy", three fail it. (external id, result, customer, day, complaint)
CALLS = [
    ("C-1", "pass", {"customer_id": "K1"}, 0, None),
    ("C-2", "pass", {"phone": "+44 7700 900123"}, 1, None),
    ("C-3", "pass", {"customer_id": "K3"}, 2, None),
    ("C-4", "pass", {}, 3, None),
    ("C-5", "fail", {"customer_id": "K1"}, 4, "my broadband has been down for a week"),
    ("C-6", "fail", {"customer_phone": "07700 900123"}, 5, "the broadband keeps dropping, total waste"),
    ("C-7", "fail", {"customer_id": "K7"}, 28, "nobody called me back about the engineer"),
]
GOOD = "C-1,5,9,yes\nC-2,4,8,Yes\nC-3,5,10,true\nC-4,4,,1\nC-5,2,3,no\nC-6,3,5,0\nC-7,1,0,false\n"


def _seed(url: str, tmp_path: Path) -> dict[str, int]:
    recording = tmp_path / "rec" / "2026-03-02_0900_A1.wav"
    recording.parent.mkdir(parents=True, exist_ok=True)
    recording.write_bytes(b"RIFF-not-really-audio")
    ids = {}
    with session_scope(url) as s:
        agent = agent_named(s, "A1", "Sarah Jones", "Team A")
        for ext, result, extra, day, complaint in CALLS:
            call = store_scored_call(
                s,
                document={"call_id": ext, "turns": []},
                scored=_scored(ext, result, complaint),
                agent=agent,
                external_id=ext,
                started_at=DAY0 + dt.timedelta(days=day),
                audio_path=recording if ext == "C-4" else None,
            )
            call.extra = extra
            ids[ext] = call.id
        s.add(User(username="qa", role="qa_officer"))
    return ids


def _csv(tmp_path: Path, body: str, name: str = "survey-march.csv", header: str = HEADER) -> Path:
    path = tmp_path / name
    path.write_text(header + body, encoding="utf-8")
    return path


def _import(url: str, path: Path):
    with session_factory(url)() as s:
        report = import_outcomes(s, path)
        s.commit()
    return report


def _stored(url: str) -> dict[str, tuple]:
    with session_factory(url)() as s:
        rows = s.execute(
            select(Call.external_id, CallOutcome).join(CallOutcome, CallOutcome.call_id == Call.id)
        )
        return {ext: (o.csat, o.nps, o.resolved, o.source) for ext, o in rows}


def test_import_stores_outcomes_and_a_second_import_changes_nothing(db_url: str, tmp_path: Path) -> None:
    _seed(db_url, tmp_path)
    report = _import(db_url, _csv(tmp_path, GOOD))
    assert (report.rows, report.added, report.updated, report.unchanged) == (7, 7, 0, 0)
    assert report.unmatched == [] and report.columns == ["csat", "nps", "resolved"]
    stored = _stored(db_url)
    assert stored["C-1"] == (5, 9, True, "survey-march.csv")
    assert stored["C-4"] == (4, None, True, "survey-march.csv")  # blank nps: no answer
    assert stored["C-7"] == (1, 0, False, "survey-march.csv")

    again = _import(db_url, _csv(tmp_path, GOOD))
    assert (again.added, again.updated, again.unchanged) == (0, 0, 7)
    # A later file with one changed value updates that call only; nothing is added.
    changed = _import(db_url, _csv(tmp_path, "C-1,4,9,yes\nC-2,4,8,yes\n", name="survey-fix.csv"))
    assert (changed.added, changed.updated, changed.unchanged) == (0, 1, 1)
    stored = _stored(db_url)
    assert stored["C-1"] == (4, 9, True, "survey-fix.csv") and stored["C-2"][3] == "survey-march.csv"
    with session_factory(db_url)() as s:
        assert s.scalar(select(func.count(CallOutcome.id))) == 7


def test_unmatched_rows_and_bad_values_are_reported_by_line(sqlite_url: str, tmp_path: Path) -> None:
    _seed(sqlite_url, tmp_path)
    body = (
        "C-1,5,,\n"  # line 2: good
        "C-404,4,,\n"  # line 3: no such call
        "C-2,6,11,maybe\n"  # line 4: three bad values
        "C-3,4.5,,\n"  # line 5: not a whole number
        ",3,,\n"  # line 6: no call
        "C-1,5,,\n"  # line 7: the same call again
        "2026-03-02_0900_A1.wav,3,,\n"  # line 8: found by its recording's file name
    )
    report = _import(sqlite_url, _csv(tmp_path, body))
    assert (report.rows, report.added) == (7, 2)
    reasons = {u.line: u.reason for u in report.unmatched}
    assert set(reasons) == {3, 4, 5, 6, 7}
    assert "no call with external id or recording file name 'C-404'" in reasons[3]
    assert reasons[4] == (
        "csat '6' is not a whole number 1-5; nps '11' is not a whole number 0-10; "
        "resolved 'maybe' is not yes/no/true/false/1/0"
    )
    assert reasons[5] == "csat '4.5' is not a whole number 1-5"
    assert reasons[6] == "no call given" and reasons[7] == "the same call as line 2"
    assert _stored(sqlite_url)["C-4"][0] == 3


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"PK\x03\x04binary", "not a CSV file"),
        (b"id,csat\nC-1,5\n", "missing the call column (the header has: id, csat)"),
        (b"call,score\nC-1,5\n", "no outcome column: needs one of csat, nps, resolved"),
        (b"", "empty, no header row"),
    ],
)
def test_a_bad_file_is_an_error_naming_it(
    tmp_path: Path, sqlite_url: str, content: bytes, message: str
) -> None:
    path = tmp_path / "survey.xlsx"
    path.write_bytes(content)
    with session_factory(sqlite_url)() as s, pytest.raises(OutcomeFileError) as err:
        import_outcomes(s, path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_outcome_words() -> None:
    assert [parse_outcome("resolved", w)[0] for w in ("YES", "y", "True", "1", "no", "N", "false", "0")] == [
        True,
        True,
        True,
        True,
        False,
        False,
        False,
        False,
    ]
    assert parse_outcome("csat", " ") == (None, None)
    assert parse_outcome("csat", "5.0") == (5, None)
    assert parse_outcome("nps", "0") == (0, None)
    assert parse_outcome("nps", "-1")[1] == "nps '-1' is not a whole number 0-10"


def test_customer_key_prefers_the_id_then_the_phone_number() -> None:
    assert customer_key({"customer_id": "K1", "phone": "07700900123"}) == "id:k1"
    # The same number written nationally and internationally is one customer.
    assert customer_key({"phone": "+44 7700 900123"}) == customer_key({"customer_phone": "07700 900123"})
    assert customer_key({"phone": "2001"}) is None  # an extension, not a customer
    assert customer_key({}) is None and customer_key(None) is None


def test_first_contact_resolution_by_hand() -> None:
    day = dt.timedelta(days=1)
    contacts = [
        Contact(1, "a", DAY0),  # a calls again 3 days later: a repeat within 7 days -> False
        Contact(2, "a", DAY0 + 3 * day),  # no repeat, and 3 + 7 = 10 <= 30 days: -> True
        Contact(3, "b", DAY0),  # b calls again after 8 days: outside the window -> True
        Contact(4, "b", DAY0 + 8 * day),  # -> True
        Contact(5, None, DAY0),  # unknown customer -> None
        Contact(6, "c", DAY0 + 25 * day),  # window ends day 32, past the newest call (day 30) -> None
        Contact(7, "d", DAY0 + 24 * day),  # repeat on day 30: -> False although the window is open
        Contact(8, "d", DAY0 + 30 * day),  # -> None
        Contact(9, "e", None),  # no start time -> None
    ]
    assert first_contact_resolution(contacts, 7) == {
        1: False,
        2: True,
        3: True,
        4: True,
        5: None,
        6: None,
        7: False,
        8: None,
        9: None,
    }
    # The store's newest call may be later than any call given.
    assert first_contact_resolution(contacts[5:6], 7, newest=DAY0 + 40 * day) == {6: True}


def test_welch_interval_by_hand() -> None:
    # Passing CSAT 5,4,5,4: mean 4.5, variance (4 x 0.25) / 3 = 1/3; failing 2,3,1: mean 2.0,
    # variance (0 + 1 + 1) / 2 = 1. se = sqrt(1/3/4 + 1/3) = sqrt(5/12) = 0.645497.
    # Welch df = (5/12)^2 / ((1/12)^2 / 3 + (1/3)^2 / 2) = (25/144) / (25/432) = 3; t(0.975, 3) = 3.182446.
    # Half width 3.182446 x 0.645497 = 2.054260: difference 2.5, interval 0.445740 to 4.554260.
    d = welch_difference([5, 4, 5, 4], [2, 3, 1])
    assert (d.n_pass, d.n_fail, d.pass_value, d.fail_value, d.difference) == (4, 3, 4.5, 2.0, 2.5)
    assert d.low == pytest.approx(0.445740, abs=1e-5) and d.high == pytest.approx(4.554260, abs=1e-5)
    assert welch_difference([5], [1, 2]).low is None  # one call cannot show a spread
    assert welch_difference([], [1, 2]).difference is None


def test_proportion_difference_by_hand() -> None:
    # 3 of 4 vs 1 of 3. Wilson 95%: 3/4 -> (0.300636, 0.954414); 1/3 -> (0.061490, 0.792345).
    # d = 0.75 - 0.333333 = 0.416667; low = d - sqrt(0.449364^2 + 0.459012^2) = d - 0.642355 = -0.225688;
    # high = d + sqrt(0.204414^2 + 0.271843^2) = d + 0.340123 = 0.756790 (Newcombe's method 10).
    d = proportion_difference([True, True, True, False], [True, False, False])
    assert d.difference == pytest.approx(0.416667, abs=1e-6)
    assert d.low == pytest.approx(-0.225688, abs=1e-5) and d.high == pytest.approx(0.756790, abs=1e-5)


def test_criterion_outcomes_from_the_store_with_a_reviewers_result(db_url: str, tmp_path: Path) -> None:
    ids = _seed(db_url, tmp_path)
    _import(db_url, _csv(tmp_path, GOOD))
    with session_factory(db_url)() as s:
        rows = {r.call_id: r for r in outcome_rows(s, window_days=7)}
    # FCR (newest call day 28): K1 calls on day 0 and 4 -> C-1 repeat; the phone number on day 1 and
    # day 5 (national and international form) -> C-2 repeat; C-3, C-5 (4 + 7 <= 28), C-6 resolved;
    # C-4 has no customer; C-7's window is still open.
    assert {ext: rows[cid].fcr for ext, cid in ids.items()} == {
        "C-1": False,
        "C-2": False,
        "C-3": True,
        "C-4": None,
        "C-5": True,
        "C-6": True,
        "C-7": None,
    }
    (table,) = criterion_outcomes(rows.values())
    assert (table.rubric_id, table.criterion_id, table.name, table.calls, table.human) == (
        "rater",
        "empathy",
        "Shows empathy",
        7,
        0,
    )
    assert (table.csat.pass_value, table.csat.fail_value, table.csat.difference) == (4.5, 2.0, 2.5)
    assert table.csat.low == pytest.approx(0.445740, abs=1e-5)
    # FCR known: pass C-1 F, C-2 F, C-3 T -> 1/3; fail C-5 T, C-6 T -> 2/2. Survey: 4/4 vs 0/3.
    assert (table.fcr.n_pass, table.fcr.n_fail) == (3, 2)
    assert table.fcr.difference == pytest.approx(1 / 3 - 1)
    assert (table.resolved.pass_value, table.resolved.fail_value) == (1.0, 0.0)

    # A reviewer finds C-7 did show empathy: the standing review's result counts, and says so.
    with session_scope(db_url) as s:
        qa = s.scalar(select(User).where(User.username == "qa"))
        review = Review(call_id=ids["C-7"], reviewer_id=qa.id, status="submitted", standing=True)
        review.submitted_at = DAY0
        review.decisions.append(
            CriterionDecision(
                rubric_id="rater",
                criterion_id="empathy",
                decision="override",
                automatic_result="fail",
                human_result="pass",
                decided_by_id=qa.id,
            )
        )
        s.add(review)
    with session_factory(db_url)() as s:
        (table,) = criterion_outcomes(outcome_rows(s, window_days=7))
    # Passing now 5,4,5,4,1 (mean 3.8), failing 2,3 (mean 2.5).
    assert (table.csat.n_pass, table.csat.n_fail, table.human) == (5, 2, 1)
    assert table.csat.pass_value == pytest.approx(3.8) and table.csat.fail_value == 2.5


def test_complaint_reasons_per_iso_week() -> None:
    assert complaint_terms("My [CARD] broadband is down again!") == {"broadband", "down", "broadband down"}
    rows = [
        OutcomeRow(1, DAY0, complaint=True, complaint_quotes=["broadband down", "broadband down again"]),
        OutcomeRow(2, DAY0 + dt.timedelta(days=2), complaint=True, complaint_quotes=["broadband down today"]),
        OutcomeRow(3, DAY0 + dt.timedelta(days=3), complaint=True, complaint_quotes=["engineer never came"]),
        OutcomeRow(4, DAY0 + dt.timedelta(days=7), complaint=True, complaint_quotes=["refund please"]),
        OutcomeRow(5, DAY0, complaint=False, complaint_quotes=[]),
    ]
    weeks = complaint_reasons(rows, top=3)
    assert [(w.week, w.calls) for w in weeks] == [("2026-W11", 1), ("2026-W10", 3)]
    # "broadband down" in two calls (counted once per call) hides "broadband" and "down" (also two).
    assert weeks[1].top == [("broadband down", 2), ("down today", 1), ("engineer never", 1)]
    assert weeks[0].top == [("refund", 1)]


def test_cli_import_dry_run_json_report_and_errors(db_url: str, tmp_path: Path, monkeypatch) -> None:
    from click.testing import CliRunner

    from qa_scoring import config
    from qa_scoring.cli import main

    _seed(db_url, tmp_path)
    path = _csv(tmp_path, GOOD + "C-999,5,,\n")
    monkeypatch.setenv("QA_SCORING_DATABASE_URL", db_url)
    config.get_settings.cache_clear()
    try:
        dry = CliRunner().invoke(main, ["outcomes", "import", "--dry-run", str(path)])
        assert dry.exit_code == 0, dry.output
        assert "dry run: nothing written" in dry.output
        assert "rows 8, added 7, updated 0, unchanged 0, unmatched 1" in dry.output
        assert "line 9: C-999: no call" in dry.output
        assert _stored(db_url) == {}

        result = CliRunner().invoke(main, ["outcomes", "import", "--json", str(path)])
        assert result.exit_code == 0, result.output
        data = json.loads(result.output)
        assert (data["rows"], data["added"], data["unmatched_count"], data["dry_run"]) == (8, 7, 1, False)
        assert data["unmatched"][0]["line"] == 9

        again = CliRunner().invoke(main, ["outcomes", "import", str(path)])
        assert "added 0, updated 0, unchanged 7, unmatched 1" in again.output

        report = CliRunner().invoke(main, ["outcomes", "report"])
        assert report.exit_code == 0, report.output
        assert "rater / empathy (7 calls, 0 on a reviewer's result)" in report.output
        assert "CSAT      n 4/3, 4.50 vs 2.00, diff +2.50 (+0.45 to +4.55)" in report.output

        bad = tmp_path / "bad.csv"
        bad.write_text("call,comment\nC-1,great\n", encoding="utf-8")
        failed = CliRunner().invoke(main, ["outcomes", "import", str(bad)])
        assert failed.exit_code != 0 and f"{bad}: no outcome column" in failed.output
    finally:
        config.get_settings.cache_clear()
