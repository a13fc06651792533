"""Ingest: metadata from sidecar, manifest and file name; idempotent by content; bad files reported."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from conftest import shared_path
from sqlalchemy import func, select

from qa_scoring.ingest import ingest_paths
from qa_scoring.store.db import session_factory
from qa_scoring.store.models import Agent, AuditEntry, Call


def _recordings(folder: Path) -> dict[str, Path]:
    """Three distinct real recordings copied under ``folder`` (content hashes differ)."""
    folder.mkdir(parents=True, exist_ok=True)
    sources = {
        "a": shared_path("data", "audio", "pyannote-sample", "sample.wav"),
        "b": shared_path("data", "audio", "faster-whisper", "stereo_diarization.wav"),
        "c": shared_path("data", "audio", "faster-whisper", "jfk.flac"),
    }
    out = {}
    for key, src in sources.items():
        out[key] = folder / src.name
        shutil.copyfile(src, out[key])
    return out


def test_metadata_sources_and_idempotence(db_url: str, tmp_path: Path) -> None:
    files = _recordings(tmp_path / "calls" / "nested")
    renamed = files["c"].with_name("A042_20250103-101500_C99.flac")
    files["c"].rename(renamed)
    (files["a"].parent / "sample.wav.json").write_text(
        json.dumps(
            {
                "agent_id": "A007",
                "team": "Billing",
                "direction": "inbound",
                "start_time": "2025-01-02T09:30:00",
                "call_id": "X1",
                "crm_ticket": "T-5",
            }
        )
    )
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("file,agent,queue,date\nstereo_diarization.wav,A008,sales,20250102\n")
    factory = session_factory(db_url)
    with factory.begin() as s:
        report = ingest_paths(
            s, [tmp_path / "calls"], manifest=manifest, pattern="{agent}_{date}_{callid}.flac"
        )
    assert len(report.added) == 3 and not report.errors and not report.warnings
    with factory() as s:
        calls = {Path(c.audio_path).name: c for c in s.scalars(select(Call))}
        sidecar = calls["sample.wav"]
        assert (sidecar.agent.external_id, sidecar.team.name, sidecar.direction) == (
            "A007",
            "Billing",
            "inbound",
        )
        assert sidecar.external_id == "X1" and sidecar.extra["crm_ticket"] == "T-5"
        assert sidecar.started_at.isoformat() == "2025-01-02T09:30:00+00:00"
        assert (
            calls["stereo_diarization.wav"].agent.external_id,
            calls["stereo_diarization.wav"].queue,
        ) == ("A008", "sales")
        by_name = calls[renamed.name]
        assert (by_name.agent.external_id, by_name.external_id) == ("A042", "C99")
        assert by_name.started_at.isoformat() == "2025-01-03T10:15:00+00:00"
        assert all(c.status == "pending" for c in calls.values())

    # Re-ingest: nothing new. Move a file: same call, new path.
    moved = tmp_path / "archive" / "sample.wav"
    moved.parent.mkdir()
    files["a"].rename(moved)
    with factory.begin() as s:
        again = ingest_paths(s, [tmp_path / "calls", tmp_path / "archive"])
    assert again.added == [] and len(again.moved) == 1 and len(again.unchanged) == 2
    with factory() as s:
        assert s.scalar(select(func.count(Call.id))) == 3
        assert s.scalars(select(Call).where(Call.id == again.moved[0][0])).one().audio_path == str(moved)
        entry = s.scalars(select(AuditEntry)).one()
        assert (entry.action, entry.new_value, entry.actor) == (
            "move",
            {"audio_path": str(moved)},
            "system",
        )


def test_bad_files_duplicates_and_missing_metadata(sqlite_url: str, tmp_path: Path) -> None:
    files = _recordings(tmp_path / "in")
    (tmp_path / "in" / "empty.wav").write_bytes(b"")
    shutil.copyfile(files["b"], tmp_path / "in" / "copy-of-stereo.wav")
    factory = session_factory(sqlite_url)
    with factory.begin() as s:
        report = ingest_paths(s, [tmp_path / "in", tmp_path / "missing-folder"], max_file_mb=1.0)
    reasons = {Path(p.path).name: p.reason for p in report.errors}
    assert reasons["empty.wav"] == "empty file (0 bytes)"
    assert "1.1 MB, over the limit of 1 MB (setting max_file_mb)" in reasons["jfk.flac"]
    assert reasons["missing-folder"] == "no such file or folder"
    # The duplicate is reported once and registered once.
    assert len(report.duplicates) == 1 and "same content as" in report.duplicates[0].reason
    # No metadata anywhere: stored under the unknown agent, with a warning line per call.
    assert len(report.added) == 2
    assert sum("stored as 'unknown'" in w.reason for w in report.warnings) == 2
    with factory() as s:
        assert s.scalars(select(Agent.external_id)).all() == ["unknown"]
        assert s.scalar(select(func.count(Call.id))) == 2
    assert any("duplicate" in line for line in report.lines())


def test_cli_ingest(tmp_path: Path, monkeypatch) -> None:
    from click.testing import CliRunner

    from qa_scoring import config
    from qa_scoring.cli import main

    _recordings(tmp_path / "in")
    monkeypatch.setenv("QA_SCORING_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("QA_SCORING_DATABASE_URL", raising=False)
    config.get_settings.cache_clear()
    try:
        result = CliRunner().invoke(main, ["ingest", str(tmp_path / "in"), "--pattern", "{agent}.wav"])
        assert result.exit_code == 0, result.output
        assert "ingest: 3 new" in result.output
        assert (tmp_path / "var" / "qa-scoring.sqlite3").is_file()  # schema created on first use
    finally:
        config.get_settings.cache_clear()
        from qa_scoring.store.db import dispose_engines

        dispose_engines()


def test_a_night_without_metadata_is_one_line_not_hundreds(sqlite_url: str, tmp_path: Path) -> None:
    import logging

    import numpy as np
    import soundfile as sf

    folder = tmp_path / "night"
    folder.mkdir()
    rng = np.random.default_rng(7)
    for i in range(40):  # distinct content, so 40 calls without an agent
        sf.write(str(folder / f"call-{i:03d}.wav"), rng.normal(0, 0.1, 800).astype("float32"), 8000)
    with session_factory(sqlite_url).begin() as s:
        report = ingest_paths(s, [folder])
    lines = report.lines(where="/var/log/qa-scoring.log")
    assert len(report.warnings) == 40 and len(report.to_dict()["warnings"]) == 40  # all kept
    summary = [line for line in lines if "warning" in line]
    assert summary == [
        "  warning: 40 recordings have no agent in their metadata; stored as 'unknown'; "
        "see /var/log/qa-scoring.log"
    ]
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logging.getLogger("qa_scoring.ingest").addHandler(handler)
    try:
        report.log()
    finally:
        logging.getLogger("qa_scoring.ingest").removeHandler(handler)
    assert len(records) == 40 and "call-000.wav" in records[0].getMessage()
