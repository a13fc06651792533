"""The admin "Model" page: the behaviour model in use, the kept versions, the agreement of each
version's pre-scores with the reviewers, rolling back to a kept version, and learning started as a
background job (one at a time)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from model_copies import models_copy, retagged
from webhelp import accept_rest_and_submit, login

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def models(web_settings, tmp_path: Path) -> Path:
    """The installed models, the behaviour model copied (using a version replaces it), the rest linked."""
    models = models_copy(tmp_path)
    web_settings.models_dir = models
    return models


def _second_version(models: Path, tmp_path: Path) -> tuple[str, str]:
    """Keep the model in use, and a copy of it under another version name; returns both names."""
    from qa_scoring.behaviours.versions import ModelVersions, VersionRecord

    versions = ModelVersions(models)
    first = versions.keep_active()
    second = f"{first}-test2"
    copy = retagged(models / "behaviours", second, tmp_path / "candidate")
    figures = {
        "reviewed": {"current": 0.81, "candidate": 0.84, "n": 57},
        "project": {"current": 0.968, "candidate": 0.966, "n": 320},
    }
    versions.keep(
        copy,
        VersionRecord(
            second,
            "2099-01-01T00:00:00+00:00",
            "learn",
            {"project_calls": 320, "reviewed_calls": 12},
            figures,
            promoted=False,
            reason="a test candidate",
        ),
    )
    return first, second


def _audit(app, action: str) -> list:
    from sqlalchemy import select

    from qa_scoring.store.models import AuditEntry
    from web.db import get_db

    with app.app_context():
        return list(
            get_db().scalars(
                select(AuditEntry).where(AuditEntry.entity == "behaviour_model", AuditEntry.action == action)
            )
        )


@pytest.mark.parametrize("role", ["qa", "leader", "agent"])
def test_the_model_page_is_for_admins_only(app, role):
    client = app.test_client()
    token = login(client, role)
    assert client.get("/admin/model").status_code == 403
    assert client.post("/admin/model/learn", data={"csrf_token": token}).status_code == 403
    form = {"csrf_token": token, "version": "x", "reason": "y"}
    assert client.post("/admin/model/use", data=form).status_code == 403


def test_anonymous_is_sent_to_login(client):
    assert client.get("/admin/model").status_code == 302
    assert client.post("/admin/model/use", data={"version": "x", "reason": "y"}).status_code in (400, 401)


def test_the_page_shows_the_model_in_use_versions_and_agreement(client, models, tmp_path, web_seed):
    from qa_scoring.behaviours.versions import ModelVersions

    active = ModelVersions(models).active()
    login(client, "admin")
    html = client.get("/admin/model").get_data(as_text=True)
    assert f"Model in use: <strong>{active}</strong>" in html
    assert "No versions kept yet" in html and "No submitted reviews yet" in html
    assert 'href="/admin/model"' in html  # the nav link
    assert "Refresh" not in client.get("/admin/model").headers

    first, second = _second_version(models, tmp_path)
    qa = client.application.test_client()
    token = login(qa, "qa")
    _, done = accept_rest_and_submit(qa, web_seed.timed_call, token, {"review_id": 0, "version": 0})
    assert done.status_code == 200, done.json
    html = client.get("/admin/model").get_data(as_text=True)
    assert html.index(second) < html.index(f"{first} <strong>(in use)</strong>")  # newest first
    assert "0.810 &rarr; 0.840" in html and "(n 57)" in html  # reviewed-call agreement
    assert "0.968 &rarr; 0.966" in html and "(n 320)" in html  # project macro-F1
    assert "a test candidate" in html and "320 project calls, 12 reviewed calls" in html
    assert "Per criterion" in html and "<details>" in html  # agreement of the one review's decisions
    # the pooled kappa of the review's decisions, all accepted; how many depends on what the model applied
    pooled = re.search(r"<td>1\.000 <span[^>]*>\[1\.00, 1\.00\]</span></td>\s*<td>(\d+)</td>", html)
    assert pooled and int(pooled.group(1)) > 20
    details = html[html.index("Per criterion (") :]
    rows = re.findall(r"<tr><td>[a-z_]+/[a-z_]+</td><td>.*?</td><td>(\d+)</td>", details)
    assert f"Per criterion ({pooled.group(1)})" in html and sum(map(int, rows)) == int(pooled.group(1))
    assert "(too few decisions for an interval)" in details


def test_using_a_version_switches_it_and_is_audited(app, client, models, tmp_path):
    from qa_scoring.behaviours.versions import ModelVersions

    first, second = _second_version(models, tmp_path)
    versions = ModelVersions(models)
    assert versions.active() == first
    token = login(client, "admin")
    assert client.post("/admin/model/use", data={"version": second}).status_code == 400  # no CSRF token

    resp = client.post("/admin/model/use", data={"csrf_token": token, "version": second, "reason": "  "})
    assert resp.status_code == 302
    assert versions.active() == first and not _audit(app, "use")
    assert "say why" in client.get("/admin/model").get_data(as_text=True)

    form = {"csrf_token": token, "version": "no-such-version", "reason": "try"}
    assert client.post("/admin/model/use", data=form).status_code == 302
    assert versions.active() == first and not _audit(app, "use")

    form = {"csrf_token": token, "version": second, "reason": "the candidate agrees more with QA"}
    assert client.post("/admin/model/use", data=form).status_code == 302
    assert versions.active() == second
    html = client.get("/admin/model").get_data(as_text=True)
    assert "new scores use it" in html and "Human decisions" in html
    assert f"Model in use: <strong>{second}</strong>" in html
    (entry,) = _audit(app, "use")
    assert entry.actor == "admin" and entry.entity_id == second
    assert entry.old_value == {"version": first} and entry.new_value == {"version": second}
    assert entry.reason == "the candidate agrees more with QA"

    form = {"csrf_token": token, "version": first, "reason": "roll back"}
    assert client.post("/admin/model/use", data=form).status_code == 302
    assert versions.active() == first and len(_audit(app, "use")) == 2


def _job_record(web_settings) -> dict:
    return json.loads((Path(web_settings.data_dir) / "learning" / "job" / "job.json").read_text())


def _wait_not_running(client, seconds: float = 20.0) -> str:
    deadline = time.monotonic() + seconds
    while True:
        html = client.get("/admin/model").get_data(as_text=True)
        if "Learning running since" not in html or time.monotonic() > deadline:
            return html
        time.sleep(0.2)


def test_learning_runs_as_one_background_job(app, client, web_settings, web_seed, monkeypatch):
    from qa_scoring import learn_job

    monkeypatch.setenv("QA_SCORING_SECRET_KEY", "not-for-the-job")

    # A reviewed call, so the job has something to learn from and runs for minutes (it is ended
    # below long before it would finish).
    qa = app.test_client()
    token = login(qa, "qa")
    _, done = accept_rest_and_submit(qa, web_seed.timed_call, token, {"review_id": 0, "version": 0})
    assert done.status_code == 200, done.json

    token = login(client, "admin")
    assert client.post("/admin/model/learn").status_code == 400  # no CSRF token
    try:
        assert client.post("/admin/model/learn", data={"csrf_token": token}).status_code == 302
        pid = _job_record(web_settings)["pid"]
        resp = client.get("/admin/model")
        html = resp.get_data(as_text=True)
        assert "Learning started" in html
        assert "Learning running since" in html and "(started by admin)" in html
        assert resp.headers["Refresh"] == "5"
        assert 'action="/admin/model/learn"' not in html

        assert client.post("/admin/model/learn", data={"csrf_token": token}).status_code == 302
        html = client.get("/admin/model").get_data(as_text=True)
        assert "Not started: learning is already running" in html
        assert _job_record(web_settings)["pid"] == pid
        (entry,) = _audit(app, "learn")
        assert entry.actor == "admin" and entry.new_value["pid"] == pid

        # The job is the learn command with this app's settings.
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        assert b"learn" in cmdline and any(b"qa_scoring.cli" in part for part in cmdline)
        env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        assert f"QA_SCORING_DATABASE_URL={web_settings.database_url}".encode() in env
        assert f"QA_SCORING_MODELS_DIR={web_settings.models_dir}".encode() in env
        assert f"QA_SCORING_DATA_DIR={web_settings.data_dir}".encode() in env
        assert not any(part.startswith(b"QA_SCORING_SECRET_KEY=") for part in env)

        os.kill(pid, signal.SIGTERM)
        html = _wait_not_running(client)
        assert "Learning running since" not in html
        assert "ended without a report" in html and 'action="/admin/model/learn"' in html
        assert "Refresh" not in client.get("/admin/model").headers

        # A job whose process is gone does not block the next one.
        assert client.post("/admin/model/learn", data={"csrf_token": token}).status_code == 302
        second = _job_record(web_settings)["pid"]
        assert second != pid and "Learning running since" in client.get("/admin/model").get_data(as_text=True)
        assert len(_audit(app, "learn")) == 2
    finally:
        learn_job.stop(web_settings)
    assert "Learning running since" not in client.get("/admin/model").get_data(as_text=True)


def test_a_job_that_fails_shows_what_it_printed(client, web_settings):
    """With no reviewed call the learn command stops at once: the page says so, in its words. (It
    also shows that the job reads this app's store: the seeded store has calls but no reviews.)"""
    token = login(client, "admin")
    try:
        assert client.post("/admin/model/learn", data={"csrf_token": token}).status_code == 302
        html = _wait_not_running(client, 120.0)
    finally:
        from qa_scoring import learn_job

        learn_job.stop(web_settings)
    assert "ended without a report</strong> (exit status 1)" in html
    assert "no reviewed call decides a behaviour yet" in html


def test_a_finished_job_by_another_process_shows_its_report(client, web_settings):
    """A job.json left by another process whose job is gone: not running, not blocking, and the
    report the job wrote (not an older one) is shown."""
    from qa_scoring import learn_job

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    folder = learn_job.job_dir(web_settings)
    folder.mkdir(parents=True)
    record = {"pid": gone.pid, "started_at": "2026-03-01T10:00:00+00:00", "started_by": "admin2"}
    (folder / "job.json").write_text(json.dumps(record))
    job = learn_job.current(web_settings)
    assert job is not None and not job.running and job.report is None
    assert learn_job.stop(web_settings) is False

    learning = Path(web_settings.data_dir) / "learning"
    for stamp, version in (("20260301T095959Z", "older"), ("20260301T100003Z", "v-candidate")):
        (learning / stamp).mkdir()
        report = {
            "current_version": "v-current",
            "candidate_version": version,
            "reviewed_calls": 40,
            "trained_on_reviewed": 28,
            "held_out_reviewed": 12,
            "skipped": {"call under an open dispute": 1},
            "reviewed": {"current": 0.9, "candidate": 0.93, "n": 180},
            "project": {"current": 0.968, "candidate": 0.967, "n": 320},
            "promoted": True,
            "reason": "agrees with the reviewers more",
            "folder": str(learning / stamp),
            "seconds": {"total": 150.0},
        }
        (learning / stamp / "report.json").write_text(json.dumps(report))
    assert learn_job.current(web_settings).report["candidate_version"] == "v-candidate"
    login(client, "admin")
    html = client.get("/admin/model").get_data(as_text=True)
    assert "Learning running since" not in html and 'action="/admin/model/learn"' in html
    assert "Last learning job: started 2026-03-01T10:00:00+00:00 by admin2" in html
    assert "v-candidate (compared with v-current)" in html and "promoted</strong>: agrees" in html
    assert "0.900 &rarr; 0.930" in html and "1 × call under an open dispute" in html
