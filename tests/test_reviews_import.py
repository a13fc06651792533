"""``qa-scoring reviews import``: past evaluations from a CSV become submitted reviews in the real
store (SQLite, and PostgreSQL where the test says ``db_url``), idempotently and audited."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from store_seed import agent_named, store_scored_call

from qa_scoring.review.decisions import Edit, accept_remaining, submit
from qa_scoring.review.imports import (
    IMPORT_ACTOR,
    ImportFileError,
    import_reviews,
    parse_date,
    parse_result,
)
from qa_scoring.review.stats import prescore_agreement
from qa_scoring.scored_call import CriterionResult, ReviewPriority, ScorecardResult, ScoredCall
from qa_scoring.store.db import session_factory, session_scope
from qa_scoring.store.models import AuditEntry, Call, CriterionDecision, Review, User
from qa_scoring.store.users import create_user, password_matches

HEADER = "call,rubric,criterion,result,reviewer,date,reason\n"
RECORDING = "2024-03-05_0932_A1.wav"


def _scored(call_id: str) -> ScoredCall:
    """Two rubrics that share the criterion ``greeting`` (so it needs its rubric named)."""

    def crit(cid: str, result: str) -> CriterionResult:
        return CriterionResult(cid, cid.title(), result, 1.0, 0.9)  # type: ignore[arg-type]

    rater = ScorecardResult(
        "rater", "RATER", "1", True, 50.0, criteria=[crit("greeting", "pass"), crit("empathy", "fail")]
    )
    default = ScorecardResult(
        "default", "Default", "1", True, 100.0, criteria=[crit("greeting", "pass"), crit("closing", "pass")]
    )
    return ScoredCall(call_id, {}, {}, {"rater": rater, "default": default}, ReviewPriority(True, 0.5))


def _seed(url: str, tmp_path: Path) -> dict[str, int]:
    """Three scored calls (one known by its recording's file name), one never scored, one officer."""
    recording = tmp_path / "recordings" / RECORDING
    recording.parent.mkdir(parents=True, exist_ok=True)
    recording.write_bytes(b"RIFF-not-really-audio")
    ids = {}
    with session_scope(url) as s:
        agent = agent_named(s, "A1", "Sarah Jones", "Team A")
        for ext in ("CALL-001", "CALL-002"):
            doc = {"call_id": ext, "turns": []}
            ids[ext] = store_scored_call(
                s, document=doc, scored=_scored(ext), agent=agent, external_id=ext
            ).id
        doc = {"call_id": "PBX-77", "turns": []}
        ids["PBX-77"] = store_scored_call(
            s, document=doc, scored=_scored("PBX-77"), agent=agent, audio_path=recording, external_id="PBX-77"
        ).id
        pending = Call(
            audio_path="/recordings/never.wav", content_sha256="0" * 64, size_bytes=1, external_id="CALL-404"
        )
        s.add(pending)
        create_user(s, "qa", "qa-demo-pass", "qa_officer", display_name="Quinn Adams")
        s.flush()
        ids["CALL-404"] = pending.id
    return ids


def _csv(tmp_path: Path, body: str, name: str = "scores-2024.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def _import(url: str, path: Path):
    with session_factory(url)() as s:
        report = import_reviews(s, path)
        s.commit()
    return report


def _counts(url: str) -> dict[str, int]:
    with session_factory(url)() as s:
        return {
            model.__name__: s.scalar(select(func.count(model.id)))
            for model in (Review, CriterionDecision, AuditEntry, User)
        }


def _ui_review(url: str, call_id: int) -> int:
    """A review made through the UI's own functions: every criterion accepted, then submitted."""
    with session_factory(url)() as s:
        call, user = s.get(Call, call_id), s.scalar(select(User).where(User.username == "qa"))
        review, _ = accept_remaining(s, call, user, Edit(None, None))
        assert review is not None
        submit(s, call, user, Edit(review.id, review.version_id))
        s.commit()
        return review.id


GOOD_ROWS = (
    "CALL-001,rater,greeting,Fail,qa,2024-03-05,did not give their name\n"  # line 2: override
    "CALL-001,rater,empathy,NO,Quinn Adams,2024-03-05,\n"  # line 3: accept (automatic fail)
    "CALL-001,,closing,met,qa,2024-03-05,\n"  # line 4: the only rubric with closing; accept
    "CALL-002,default,greeting,pass,Jane  Smith,2024-04-01T10:30:00,\n"  # line 5: a new user
)


def test_import_stores_submitted_reviews_with_accept_and_override(db_url: str, tmp_path: Path) -> None:
    ids = _seed(db_url, tmp_path)
    report = _import(db_url, _csv(tmp_path, GOOD_ROWS))
    assert (report.rows, report.imported, report.updated, report.unchanged) == (4, 4, 0, 0)
    assert report.unmapped == [] and report.reviews_created == 2 and report.reviews_standing == 2
    with session_factory(db_url)() as s:
        review = s.scalars(select(Review).where(Review.call_id == ids["CALL-001"])).one()
        assert review.status == "submitted" and review.standing
        assert review.reviewer.username == "qa"  # the display name found the same officer
        assert review.submitted_at.isoformat() == "2024-03-05T00:00:00+00:00"
        decided = {
            (d.rubric_id, d.criterion_id): (d.decision, d.automatic_result, d.human_result, d.reason)
            for d in review.decisions
        }
        assert decided == {
            ("rater", "greeting"): ("override", "pass", "fail", "did not give their name"),
            ("rater", "empathy"): ("accept", "fail", "fail", ""),
            ("default", "closing"): ("accept", "pass", "pass", ""),
        }
        assert review.final_scores == {"rater": 0.0, "default": 100.0}  # undecided greeting: automatic
        # A reviewer nobody has becomes an inactive QA officer without a password.
        jane = s.scalar(select(User).where(User.display_name == "Jane Smith"))
        assert jane is not None and report.users_created == [jane.username] == ["jane.smith"]
        assert (jane.role, jane.active, jane.password_hash) == ("qa_officer", False, "")
        assert not password_matches(jane, "")
        other = s.scalars(select(Review).where(Review.call_id == ids["CALL-002"])).one()
        assert other.reviewer_id == jane.id and other.submitted_at.hour == 10
        # Every change is the import's, with the file and line in the reason.
        entries = s.scalars(select(AuditEntry).where(AuditEntry.entity == "criterion_decisions")).all()
        assert len(entries) == 4 and {e.actor for e in entries} == {IMPORT_ACTOR}
        override = next(e for e in entries if e.action == "override")
        assert override.reason == "imported from scores-2024.csv line 2"
        assert override.new_value["result"] == "fail" and override.old_value["result"] == "pass"
        actions = {(e.entity, e.action) for e in s.scalars(select(AuditEntry))}
        assert {
            ("users", "create"),
            ("reviews", "create"),
            ("reviews", "submit"),
            ("reviews", "stand"),
        } <= actions
        assert set(s.scalars(select(AuditEntry.actor))) == {IMPORT_ACTOR}
        # Imported decisions count where the UI's do: pre-score against human agreement.
        agreement = {(a.rubric_id, a.criterion_id): a for a in prescore_agreement(s)}
        assert agreement[("rater", "greeting")].agreement == 0.0
        assert agreement[("rater", "empathy")].agreement == 1.0


def test_an_import_never_replaces_a_newer_standing_review(db_url: str, tmp_path: Path) -> None:
    ids = _seed(db_url, tmp_path)
    newer = _ui_review(db_url, ids["CALL-001"])  # submitted now, after the sheet's 2024 date
    older = _ui_review(db_url, ids["CALL-002"])
    with session_factory(db_url)() as s:
        s.get(Review, older).submitted_at = parse_date("2023-12-31")
        s.commit()
    report = _import(db_url, _csv(tmp_path, GOOD_ROWS))
    assert report.reviews_created == 2 and report.reviews_standing == 1
    with session_factory(db_url)() as s:
        standing = {
            r.call_id: r.id
            for r in s.scalars(select(Review).where(Review.standing, Review.call_id.in_(ids.values())))
        }
        assert standing[ids["CALL-001"]] == newer  # the UI's newer decision stands
        imported = s.scalars(
            select(Review).where(Review.call_id == ids["CALL-002"], Review.id != older)
        ).one()
        assert standing[ids["CALL-002"]] == imported.id  # the older UI review gave way
        stand = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "stand", AuditEntry.actor == IMPORT_ACTOR)
        ).one()
        assert (
            stand.old_value == {"standing_review": older}
            and stand.new_value["standing_review"] == imported.id
        )


def test_a_second_import_adds_nothing_and_a_changed_result_updates_audited(
    db_url: str, tmp_path: Path
) -> None:
    _seed(db_url, tmp_path)
    path = _csv(tmp_path, GOOD_ROWS)
    _import(db_url, path)
    before = _counts(db_url)
    again = _import(db_url, path)
    assert (again.imported, again.updated, again.unchanged, again.reviews_created) == (0, 0, 4, 0)
    assert again.users_created == [] and _counts(db_url) == before

    # The sheet was corrected: greeting passed after all (now the automatic result: an accept).
    path.write_text(HEADER + GOOD_ROWS.replace("greeting,Fail,qa", "greeting,pass,qa"), encoding="utf-8")
    fixed = _import(db_url, path)
    assert (fixed.imported, fixed.updated, fixed.unchanged) == (0, 1, 3)
    after = _counts(db_url)
    assert after["Review"] == before["Review"] and after["CriterionDecision"] == before["CriterionDecision"]
    with session_factory(db_url)() as s:
        d = s.scalars(
            select(CriterionDecision).where(
                CriterionDecision.rubric_id == "rater", CriterionDecision.criterion_id == "greeting"
            )
        ).one()
        assert (d.decision, d.human_result, d.reason) == ("accept", "pass", "did not give their name")
        assert d.review.final_scores["rater"] == 50.0
        entry = s.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity == "criterion_decisions", AuditEntry.entity_id == str(d.id))
            .order_by(AuditEntry.id.desc())
        ).first()
        assert entry.actor == IMPORT_ACTOR and entry.action == "accept"
        assert entry.old_value["result"] == "fail" and entry.new_value["result"] == "pass"
        assert entry.reason == "re-imported from scores-2024.csv line 2: the sheet changed"
        review_update = s.scalars(
            select(AuditEntry).where(AuditEntry.entity == "reviews", AuditEntry.action == "update")
        ).one()
        assert review_update.old_value == {"final_scores": {"rater": 0.0, "default": 100.0}}


def test_unmapped_rows_are_reported_by_line_and_the_rest_imported(sqlite_url: str, tmp_path: Path) -> None:
    _seed(sqlite_url, tmp_path)
    body = (
        'CALL-001,rater,empathy,fail,qa,2024-03-05,"a reason\nover two lines"\n'  # lines 2-3: fine
        "CALL-999,rater,empathy,fail,qa,2024-03-05,\n"  # 4
        "CALL-001,rater,warmth,fail,qa,2024-03-05,\n"  # 5
        "CALL-001,,greeting,fail,qa,2024-03-05,\n"  # 6: two rubrics have greeting
        "CALL-001,rater,greeting,maybe,qa,2024-03-05,\n"  # 7
        "CALL-001,rater,greeting,pass,qa,05/03/2024,\n"  # 8
        "CALL-404,rater,greeting,pass,qa,2024-03-05,\n"  # 9: never scored
        "\n"  # 10: blank, not a row
        "CALL-001,nps,greeting,pass,qa,2024-03-05,\n"  # 11
        "CALL-001,rater,empathy,pass,qa,2024-03-05,\n"  # 12: the same criterion as line 2 again
        "CALL-002,rater,empathy,fail,,2024-03-05,\n"  # 13
    )
    report = _import(sqlite_url, _csv(tmp_path, body))
    assert (report.rows, report.imported, len(report.unmapped)) == (10, 1, 9)
    reasons = {u.line: u.reason for u in report.unmapped}
    assert list(reasons) == [4, 5, 6, 7, 8, 9, 11, 12, 13]  # line 2-3 imported, 10 blank
    assert "no call with external id or recording file name 'CALL-999'" in reasons[4]
    assert "no criterion 'warmth' in rubric 'rater'" in reasons[5]
    assert "is in several rubrics (default, rater): fill in rubric" in reasons[6]
    assert "result 'maybe'" in reasons[7]
    assert "date '05/03/2024'" in reasons[8]
    assert "has not been scored" in reasons[9]
    assert "rubric 'nps' is not on this call's scorecards" in reasons[11]
    assert "repeats line 2" in reasons[12]
    assert "no reviewer" in reasons[13]
    assert report.users_created == []  # unmapped rows create nobody


def test_a_file_without_the_required_columns_or_not_csv_is_a_clear_error(
    sqlite_url: str, tmp_path: Path
) -> None:
    _seed(sqlite_url, tmp_path)
    path = tmp_path / "old.csv"
    path.write_text("call,criterion,result,comment\nCALL-001,empathy,fail,x\n", encoding="utf-8")
    with session_factory(sqlite_url)() as s, pytest.raises(ImportFileError) as err:
        import_reviews(s, path)
    assert str(path) in str(err.value) and "missing required columns reviewer, date" in str(err.value)
    workbook = tmp_path / "scores.xlsx"
    workbook.write_bytes(b"PK\x03\x04" + bytes(range(256)))
    with session_factory(sqlite_url)() as s, pytest.raises(ImportFileError, match="not a CSV file"):
        import_reviews(s, workbook)
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with session_factory(sqlite_url)() as s, pytest.raises(ImportFileError, match="no header row"):
        import_reviews(s, empty)


def test_a_call_is_found_by_its_recording_file_name(sqlite_url: str, tmp_path: Path) -> None:
    ids = _seed(sqlite_url, tmp_path)
    # Excel's "CSV UTF-8" (a byte-order mark) with ";" between fields and capitalised headers.
    path = tmp_path / "excel.csv"
    text = (
        "Call;Criterion;Result;Reviewer;Date\n"
        f"{RECORDING};empathy;Not Met;qa;2024-03-05\n"
        f"C:\\exports\\{RECORDING};closing;N/A;qa;2024-03-05\n"
    )
    path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    report = _import(sqlite_url, path)
    assert report.unmapped == [] and report.imported == 2
    with session_factory(sqlite_url)() as s:
        review = s.scalars(select(Review).where(Review.call_id == ids["PBX-77"])).one()
        assert sorted((d.criterion_id, d.decision, d.human_result) for d in review.decisions) == [
            ("closing", "override", "na"),
            ("empathy", "accept", "fail"),
        ]


def test_result_and_date_words() -> None:
    assert [parse_result(w) for w in ("PASS", "yes", "Met", "not  met", "0", "1", "N/A", "partial")] == [
        "pass",
        "pass",
        "pass",
        "fail",
        "fail",
        "pass",
        "na",
        "partial",
    ]
    assert parse_result("maybe") is None and parse_result("") is None
    assert parse_date("2024-03-05T10:30:00+01:00").isoformat() == "2024-03-05T09:30:00+00:00"
    assert parse_date("2024-03-05 10:30").isoformat() == "2024-03-05T10:30:00+00:00"
    assert parse_date("5 March 2024") is None


def test_cli_import_dry_run_json_and_errors(db_url: str, tmp_path: Path, monkeypatch) -> None:
    from click.testing import CliRunner

    from qa_scoring import config
    from qa_scoring.cli import main

    _seed(db_url, tmp_path)
    path = _csv(tmp_path, GOOD_ROWS + "CALL-999,rater,empathy,fail,qa,2024-03-05,\n")
    monkeypatch.setenv("QA_SCORING_DATABASE_URL", db_url)
    config.get_settings.cache_clear()
    try:
        before = _counts(db_url)
        dry = CliRunner().invoke(main, ["reviews", "import", "--dry-run", str(path)])
        assert dry.exit_code == 0, dry.output
        assert "dry run: nothing written" in dry.output
        assert "rows 5, imported 4, updated 0, unchanged 0, unmapped 1" in dry.output
        assert "line 6: CALL-999: no call" in dry.output and "jane.smith" in dry.output
        assert _counts(db_url) == before  # not even the new user

        result = CliRunner().invoke(main, ["reviews", "import", "--json", str(path)])
        assert result.exit_code == 0, result.output
        data = json.loads(result.output)
        assert (data["rows"], data["imported"], data["unmapped_count"], data["dry_run"]) == (5, 4, 1, False)
        assert data["unmapped"][0]["line"] == 6 and data["users_created"] == ["jane.smith"]

        again = CliRunner().invoke(main, ["reviews", "import", str(path)])
        assert "imported 0, updated 0, unchanged 4, unmapped 1" in again.output

        bad = tmp_path / "bad.csv"
        bad.write_text("call,result\nCALL-001,pass\n", encoding="utf-8")
        failed = CliRunner().invoke(main, ["reviews", "import", str(bad)])
        assert failed.exit_code != 0
        assert "bad.csv: missing required columns criterion, reviewer, date" in failed.output
    finally:
        config.get_settings.cache_clear()
