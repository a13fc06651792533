"""Vulnerable customers end to end: the trained model reads the signs in the customer's words, the UK
compliance card checks the agent's response, and the call is flagged for review (issue 15, part 3).

The call in tests/data was written for this test, not taken from the training data. The browser side
(the flagged call in the review queue) is in tests/web/test_web_browser.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import PROJECT_ROOT

from qa_scoring.cli import main
from qa_scoring.config import load_settings

CALL = PROJECT_ROOT / "tests" / "data" / "vulnerable-call.json"


@pytest.fixture(scope="module", autouse=True)
def trained_model() -> None:
    if not (load_settings(environ={}).models_dir / "behaviours" / "metadata.json").is_file():
        pytest.fail("no trained behaviour model: run `make models` first")


def _score(path: Path) -> dict:
    result = CliRunner().invoke(main, ["score", str(path), "--rubric", "uk_compliance"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_score_finds_the_signs_checks_the_response_and_flags_the_call() -> None:
    data = _score(CALL)
    signs = data["behaviours"]["vulnerability"]
    assert signs["present"], signs
    # Evidence is the customer's own words, so a reviewer can hear them.
    assert signs["evidence"] and all(e["speaker"] == "customer" for e in signs["evidence"])
    assert any("passed away" in e["quote"] or "can't afford" in e["quote"] for e in signs["evidence"])
    support = data["behaviours"]["vulnerability_support"]
    assert support["present"] and all(e["speaker"] == "agent" for e in support["evidence"])
    criteria = {c["id"]: c for c in data["scorecards"]["uk_compliance"]["criteria"]}
    assert criteria["vulnerable_customer_supported"]["result"] == "pass"
    assert data["review"]["needs_review"]
    assert any(r.startswith("vulnerable customer") for r in data["review"]["reasons"])


def test_a_routine_call_is_not_a_vulnerable_customer(tmp_path: Path) -> None:
    routine = {
        "call_id": "routine",
        "turns": [
            {"speaker": "agent", "text": "Hello, Brookfield Energy, Sam speaking. How can I help?"},
            {"speaker": "customer", "text": "Hi, I'd like to give a meter reading, it's 04512."},
            {"speaker": "agent", "text": "Thanks, that's 04512 on the gas meter. That's logged for you."},
            {"speaker": "customer", "text": "Great, and I'm dying to know if my new tariff has started."},
            {
                "speaker": "agent",
                "text": "It started on the first, you'll see it on the next bill. Anything else?",
            },
            {"speaker": "customer", "text": "No, that's it, cheers."},
            {"speaker": "agent", "text": "Thanks for calling, have a lovely day."},
        ],
    }
    path = tmp_path / "routine.json"
    path.write_text(json.dumps(routine), encoding="utf-8")
    data = _score(path)
    assert not data["behaviours"]["vulnerability"]["present"]
    criteria = {c["id"]: c for c in data["scorecards"]["uk_compliance"]["criteria"]}
    assert criteria["vulnerable_customer_supported"]["result"] == "na"
    assert not any(r.startswith("vulnerable customer") for r in data["review"]["reasons"])
