"""Batch scoring with the real models on short real calls: results, bad input, retries, re-score, export."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from pathlib import Path

from batch_helpers import SAMPLE_CALLS, batch_settings, short_calls
from sqlalchemy import func, select

from qa_scoring.batch.options import BatchOptions
from qa_scoring.batch.runner import run_batch
from qa_scoring.export import ExportFilter, export
from qa_scoring.store.db import session_factory
from qa_scoring.store.models import (
    AuditEntry,
    BatchRun,
    Call,
    CriterionDecision,
    Job,
    Review,
    Scorecard,
    Transcript,
    User,
    utcnow,
)

LIMITS = {"max_duration_s": 30.0, "review_sample_rate": 0.5}


def _bad_inputs(folder: Path, good: Path) -> dict[str, Path]:
    from qa_scoring.redact.audio import decode_native

    folder.mkdir(parents=True, exist_ok=True)
    bad = {
        "corrupt": folder / "corrupt.wav",
        "text": folder / "notes.wav",
        "empty": folder / "empty.wav",
        "duplicate": folder / "copy.wav",
        "long": folder / "long.wav",
    }
    bad["corrupt"].write_bytes(b"RIFF\x24\x08\x00\x00WAVEfmt " + bytes(range(256)) * 40)
    bad["text"].write_text("Agent notes: customer called about a lost card.\n" * 20)
    bad["empty"].write_bytes(b"")
    shutil.copyfile(good, bad["duplicate"])
    import soundfile as sf

    data, rate = decode_native(SAMPLE_CALLS / "bank-card-lost.ogg")
    sf.write(str(bad["long"]), data[:, : 45 * rate].T.copy(), rate, subtype="PCM_16")  # 45 s > 30 s limit
    return bad


def test_batch_scores_stores_and_reports_bad_input(sqlite_url: str, tmp_path: Path) -> None:
    good = short_calls(tmp_path / "in", 2)
    (tmp_path / "in" / "call-00.wav.json").write_text(json.dumps({"agent": "A1", "team": "Cards"}))
    bad = _bad_inputs(tmp_path / "in" / "x-bad", good[0])  # sorts after the good calls
    settings = batch_settings(tmp_path, sqlite_url, **LIMITS)

    result = run_batch(settings, BatchOptions(paths=[str(tmp_path / "in")], workers=1, progress=False))
    report = result.report

    assert report["scored"] == 2, report["failed"]
    failed = {Path(f["path"]).name: f for f in report["failed"]}
    assert set(failed) == {"corrupt.wav", "notes.wav", "long.wav"}
    assert "not a readable audio file" in failed["corrupt.wav"]["reason"]
    assert "not a readable audio file" in failed["notes.wav"]["reason"]
    assert "over max_duration_s=30" in failed["long.wav"]["reason"]
    assert all(str(bad["corrupt"].parent) in f["reason"] for f in failed.values())  # names the file
    assert all(f["attempts"] == 1 for f in failed.values())  # bad files are not retried
    assert report["ingest"]["errors"] == [{"path": str(bad["empty"]), "reason": "empty file (0 bytes)"}]
    assert len(report["ingest"]["duplicates"]) == 1 and "copy.wav" in report["ingest"]["duplicates"][0]
    assert report["audio_hours"] > 0 and report["real_time_factor"] > 0
    assert report["scores"], "no rubric distribution in the report"
    for stats in report["scores"].values():
        assert stats["n"] + stats["not_applicable"] == 2
        if stats["n"]:
            assert (
                stats["q1"] <= stats["median"] <= stats["q3"]
                and sum(stats["histogram"].values()) == stats["n"]
            )
    assert report["review"]["flagged"] >= 1  # every agent gets at least one call reviewed

    factory = session_factory(sqlite_url)
    with factory() as s:
        scored = s.scalars(select(Call).where(Call.status == "scored")).all()
        assert len(scored) == 2
        for call in scored:
            assert [t.version for t in call.transcripts] == [1]
            assert call.redacted_audio_path and Path(call.redacted_audio_path).is_file()
            assert call.duration and 11 < call.duration < 13
            assert call.transcripts[0].document["turns"] and call.transcripts[0].scoring["scorecards"]
        agents = {c.agent.external_id for c in scored}
        assert agents == {"A1", "unknown"}
        cards = s.scalars(select(Scorecard)).all()
        assert cards and all(c.criteria for c in cards if c.applicable)

    # Nothing left: a re-run finds no work and stores nothing twice.
    again = run_batch(settings, BatchOptions(workers=1, progress=False))
    assert again.report["calls"] == 0
    with factory() as s:
        assert s.scalar(select(func.count(Transcript.id))) == 2

    # A human review, then a re-score: new transcript version and scorecards, review untouched.
    with factory.begin() as s:
        call = s.scalars(select(Call).where(Call.status == "scored").order_by(Call.id)).first()
        card = s.scalars(select(Scorecard).where(Scorecard.call_id == call.id, Scorecard.applicable)).first()
        crit = card.criteria[0]
        flipped = "fail" if crit.result != "fail" else "pass"
        qa = User(username="qa1", role="qa_officer")
        s.add(qa)
        s.flush()
        review = Review(
            call_id=call.id,
            reviewer_id=qa.id,
            status="submitted",
            submitted_at=utcnow(),
            final_scores={card.rubric_id: 42.0},
        )
        review.decisions.append(
            CriterionDecision(
                rubric_id=card.rubric_id,
                criterion_id=crit.criterion_id,
                decision="override",
                automatic_result=crit.result,
                human_result=flipped,
                reason="heard it at 0:07",
                decided_by_id=qa.id,
            )
        )
        s.add(review)
        target = (call.id, call.audio_path, card.rubric_id, crit.criterion_id, crit.result)
    rescore = run_batch(settings, BatchOptions(paths=[target[1]], rescore=True, workers=1, progress=False))
    assert rescore.report["scored"] == 1
    with factory() as s:
        call = s.get(Call, target[0])
        assert [t.version for t in call.transcripts] == [1, 2]
        assert {c.transcript_version for c in call.scorecards} == {1, 2}
        assert s.scalars(select(AuditEntry.action).where(AuditEntry.entity_id == str(target[0]))).all() == [
            "rescore"
        ]
        decision = s.scalars(select(CriterionDecision)).one()
        assert (decision.human_result, decision.reason) == (flipped, "heard it at 0:07")

        rows = list(csv.DictReader(io.StringIO(export(s, "csv", ExportFilter()))))
        assert {r["transcript_version"] for r in rows if r["call_id"] == str(target[0])} == {"2"}
        mine = [r for r in rows if r["call_id"] == str(target[0]) and r["rubric_id"] == target[2]]
        row = next(r for r in mine if r["criterion_id"] == target[3])
        assert (row["human_result"], row["final_result"], row["human_decision"]) == (
            flipped,
            flipped,
            "override",
        )
        assert row["final_score"] == "42.0" and row["auto_score"] != ""
        assert row["recording"] == Path(target[1]).name and row["status"] == "scored" and row["error"] == ""
        assert row["evidence"] == ""  # only on request
        with_evidence = list(csv.DictReader(io.StringIO(export(s, "csv", ExportFilter(evidence=True)))))
        quotes = [r["evidence"] for r in with_evidence if r["auto_result"] == "pass" and r["evidence"]]
        assert quotes and all(re.match(r"(agent|customer|unknown)( \d+:\d\d)?: ", q) for q in quotes)
        other = next(r for r in rows if r["call_id"] != str(target[0]))
        assert other["human_result"] == "" and other["final_result"] == other["auto_result"]
        assert {r["agent"] for r in rows} == {"A1", "unknown"}
        only_a1 = json.loads(export(s, "json", ExportFilter(agent="A1")))["calls"]
        assert len(only_a1) == 1 and only_a1[0]["agent"] == "A1" and only_a1[0]["scorecards"][0]["criteria"]


def test_transient_failure_is_retried_a_bounded_number_of_times(sqlite_url: str, tmp_path: Path) -> None:
    calls = short_calls(tmp_path / "in", 1)
    settings = batch_settings(tmp_path, sqlite_url, max_attempts=2, **LIMITS)
    settings.data_dir.mkdir(parents=True)
    (settings.data_dir / "redacted").write_text("a file where the redacted-audio folder should be")

    report = run_batch(settings, BatchOptions(paths=[str(calls[0])], workers=1, progress=False)).report

    assert report["scored"] == 0 and len(report["failed"]) == 1
    assert report["failed"][0]["attempts"] == 2
    # The failed call is in the export, named, with its error.
    with session_factory(sqlite_url)() as s:
        rows = list(csv.DictReader(io.StringIO(export(s, "csv", ExportFilter()))))
    assert [(r["recording"], r["status"]) for r in rows] == [(calls[0].name, "failed")]
    assert rows[0]["error"]
    assert (
        "FileExistsError" in report["failed"][0]["reason"] or "NotADirectory" in report["failed"][0]["reason"]
    )
    with session_factory(sqlite_url)() as s:
        job = s.scalars(select(Job)).one()
        assert (job.state, job.attempts) == ("failed", 2)
        assert s.scalars(select(Call)).one().status == "failed"
        assert s.scalar(select(func.count(Transcript.id))) == 0


def test_pool_whose_workers_cannot_start_stops_with_a_clear_error(sqlite_url: str, tmp_path: Path) -> None:
    """Workers that die while loading models must not spin forever or drop calls: the run fails
    with a message, and every call stays pending for the next run."""
    import pytest

    calls = short_calls(tmp_path / "in", 2, seconds=4.0)
    settings = batch_settings(tmp_path, sqlite_url, asr_model="no-such-model", **LIMITS)
    with pytest.raises(RuntimeError, match="died before finishing any call"):
        run_batch(settings, BatchOptions(paths=[str(tmp_path / "in")], workers=2, progress=False))
    with session_factory(sqlite_url)() as s:
        assert [j.state for j in s.scalars(select(Job))] == ["pending"] * len(calls)
        assert s.scalars(select(BatchRun.status)).all() == ["failed"]
        assert {c.status for c in s.scalars(select(Call))} == {"pending"}


def test_redaction_off_stores_the_call_as_heard_and_says_so(sqlite_url: str, tmp_path: Path) -> None:
    settings = batch_settings(tmp_path, sqlite_url, redact=False, **LIMITS)
    short_calls(tmp_path / "in", 1, seconds=10.0)
    said: list[str] = []
    result = run_batch(settings, BatchOptions(paths=[str(tmp_path / "in")], progress=False), echo=said.append)
    assert result.report["scored"] == 1
    assert any("redaction is OFF" in line for line in said)
    with session_factory(sqlite_url)() as s:
        call = s.scalars(select(Call)).one()
        transcript = s.scalars(select(Transcript)).one()
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "redaction_off")).one()
    assert call.redacted_audio_path is None and transcript.redaction_spans == []
    assert entry.entity == "batch_runs" and entry.entity_id == str(result.run_id)
    assert not (tmp_path / "var" / "redacted").exists()
