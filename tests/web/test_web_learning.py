"""Learning from reviewers end to end: calls scored by the real model, decided through the review
UI's endpoints, ``qa-scoring learn``, and the version in use scoring the next call."""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from model_copies import models_copy
from shared_data import shared_path
from webhelp import accept_rest_and_submit, decide, login

from qa_scoring.config import PROJECT_ROOT

REVIEWED = 18  # dev calls reviewed: enough for a few held-out calls
IMPORTED = 6  # of which the last ones come from a spreadsheet of past evaluations
PROJECT_CALLS = 30  # labelled calls kept in training (a subset keeps the test fast)


@pytest.fixture
def reviewed_store(tmp_path, web_scorer, monkeypatch):
    """A store of dev calls scored by the real model; returns settings, call ids and gold labels."""
    from store_seed import agent_named, store_scored_call

    from qa_scoring import config
    from qa_scoring.demo_users import seed_demo_users
    from qa_scoring.store.db import dispose_engines, session_scope
    from qa_scoring.transcript import Transcript

    url = f"sqlite:///{tmp_path / 'qa.sqlite3'}"
    models = models_copy(tmp_path)
    for key, value in {
        "QA_SCORING_DATABASE_URL": url,
        "QA_SCORING_MODELS_DIR": str(models),
        "QA_SCORING_DATA_DIR": str(tmp_path / "data"),
        "QA_SCORING_SECRET_KEY": "test-secret",
    }.items():
        monkeypatch.setenv(key, value)
    config.get_settings.cache_clear()
    calls: dict[int, dict[str, bool]] = {}
    with session_scope(url) as session:
        agent = agent_named(session, "A100", "Sarah Jones", "Team A")
        for k in range(1, REVIEWED + 1):
            data = json.loads(
                shared_path("data", "calls", "dev", f"dev-{k:03d}.json").read_text(encoding="utf-8")
            )
            t = Transcript.from_dict(data)
            call = store_scored_call(
                session,
                document=t.to_dict(),
                scored=web_scorer.score(t),
                agent=agent,
                started_at=dt.datetime(2026, 11, 2, 9, k, tzinfo=dt.UTC),
            )
            calls[call.id] = (call.external_id, data["labels"])
        seed_demo_users(session)
    dispose_engines()
    labelled = tmp_path / "labelled"
    labelled.mkdir()
    for k in range(1, PROJECT_CALLS + 1):
        shutil.copy(PROJECT_ROOT / "data" / "labelled" / f"lab-{k:03d}.json", labelled)
    yield config.get_settings(), calls, labelled
    dispose_engines()
    config.get_settings.cache_clear()


def _gold_results(app, rubrics, call_id: int, gold: dict[str, bool]) -> list[tuple[str, str, str, str]]:
    """(rubric, criterion, automatic result, right result) of every single-behaviour criterion."""
    from sqlalchemy import select

    from qa_scoring.store.models import CriterionResult, Scorecard
    from web.db import get_db

    stmt = (
        select(Scorecard.rubric_id, CriterionResult)
        .join(CriterionResult.scorecard)
        .where(Scorecard.call_id == call_id, Scorecard.applicable)
    )
    with app.app_context():
        crits = [(rid, c.criterion_id, c.result) for rid, c in get_db().execute(stmt).all()]
    out = []
    for rubric_id, criterion_id, automatic in crits:
        test = next(c for c in rubrics[rubric_id].criteria if c.id == criterion_id).test
        if test.metric or len(test.behaviours) != 1 or automatic == "na":
            continue
        b = test.behaviours[0]
        if gold.get(b) is None:  # a behaviour the dev set has no label for (an optional one)
            continue
        out.append((rubric_id, criterion_id, automatic, "pass" if gold[b] != (b in test.absent) else "fail"))
    return out


def _review_to_gold(client, token: str, app, rubrics, call_id: int, gold: dict[str, bool]) -> int:
    """Override every single-behaviour criterion the pre-score got wrong, accept the rest, submit."""
    state = {"review_id": 0, "version": 0}
    overrides = 0
    for rubric_id, criterion_id, automatic, right in _gold_results(app, rubrics, call_id, gold):
        if right == automatic:
            continue
        crit = type("Crit", (), {"rubric_id": rubric_id, "criterion_id": criterion_id})
        resp = decide(
            client, token, f"/calls/{call_id}/decisions", crit, state["review_id"], state["version"],
            "override", result=right, reason="heard it on the call",
        )  # fmt: skip
        assert resp.status_code == 200, resp.json
        state = {"review_id": resp.json["review_id"], "version": resp.json["version"]}
        overrides += 1
    _, submitted = accept_rest_and_submit(client, call_id, token, state)
    assert submitted.status_code == 200, submitted.json
    return overrides


def test_reviewers_decisions_train_a_new_version_that_scores_the_next_call(reviewed_store, tmp_path):
    from click.testing import CliRunner

    from qa_scoring.behaviours.versions import ModelVersions
    from qa_scoring.cli import main
    from qa_scoring.rubric.rubric import load_rubrics
    from qa_scoring.scorer import Scorer
    from qa_scoring.store.db import dispose_engines
    from qa_scoring.transcript import Transcript
    from web import create_app

    settings, calls, labelled = reviewed_store
    before = ModelVersions(settings.models_dir).active()
    app = create_app({"SETTINGS": settings, "TESTING": True})
    client = app.test_client()
    token = login(client, "qa")
    rubrics = load_rubrics(settings.rubrics_dir)
    in_ui = list(calls.items())[: REVIEWED - IMPORTED]
    overrides = sum(_review_to_gold(client, token, app, rubrics, cid, gold) for cid, (_, gold) in in_ui)
    assert overrides > 0  # the model in use is wrong somewhere on these calls, or nothing is learnt
    sheet = tmp_path / "past-evaluations.csv"
    with sheet.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["call", "rubric", "criterion", "result", "reviewer", "date", "reason"])
        for cid, (external_id, gold) in list(calls.items())[REVIEWED - IMPORTED :]:
            for rubric_id, criterion_id, _, right in _gold_results(app, rubrics, cid, gold):
                writer.writerow([external_id, rubric_id, criterion_id, right, "Jane Smith", "2026-10-01", ""])
    dispose_engines()
    imported = CliRunner().invoke(main, ["reviews", "import", str(sheet), "--json"])
    assert imported.exit_code == 0, imported.output
    sheet_report = json.loads(imported.output)
    assert sheet_report["unmapped_count"] == 0 and sheet_report["reviews_standing"] == IMPORTED

    result = CliRunner().invoke(main, ["learn", "--labelled", str(labelled), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["current_version"] == before
    assert report["reviewed_calls"] == len(calls)
    assert report["trained_on_reviewed"] + report["held_out_reviewed"] == len(calls)
    assert report["project"]["n"] == PROJECT_CALLS
    assert report["reason"]

    exported = sorted((Path(report["folder"]) / "reviewed").glob("reviewed-*.json"))
    assert len(exported) == len(calls)
    doc = json.loads(exported[0].read_text(encoding="utf-8"))
    assert doc["labels"]["greeting"] in (True, False)  # the default rubric decides the greeting
    assert any(t["behaviours"] for t in doc["turns"]) or not any(v for v in doc["labels"].values())

    versions = ModelVersions(settings.models_dir)
    kept = {r.version: r for r in versions.history()}
    assert set(kept) == {before, report["candidate_version"]}
    assert kept[report["candidate_version"]].promoted == report["promoted"]
    in_use = report["candidate_version"] if report["promoted"] else before
    assert versions.active() == in_use

    data = json.loads(shared_path("data", "calls", "dev", "dev-030.json").read_text(encoding="utf-8"))
    scored = Scorer.load(settings).score(Transcript.from_dict(data))
    assert scored.models["behaviours"]["version"] == in_use

    rolled = CliRunner().invoke(main, ["models", "behaviours", "use", report["candidate_version"]])
    assert rolled.exit_code == 0, rolled.output
    assert (
        Scorer.load(settings).score(Transcript.from_dict(data)).models["behaviours"]["version"]
        == (report["candidate_version"])
    )
