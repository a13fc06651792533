"""Criteria in plain words: the rubric format, the matcher, scoring, and trying a draft on a store."""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from pathlib import Path

import pytest
from rubric_texts import CALLBACK
from shared_data import shared_path

from qa_scoring.rubric.rubric import RubricError, load_rubric


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "draft.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _errors(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(RubricError) as caught:
        load_rubric(_write(tmp_path, text))
    return caught.value.errors


def test_a_criterion_in_plain_words_loads(tmp_path):
    criterion = load_rubric(_write(tmp_path, CALLBACK)).criteria[0]
    assert criterion.says.who == "agent" and criterion.says.when == "anywhere"
    assert len(criterion.says.examples) == 5 and criterion.says.near_misses == (
        "could you call us back later",
    )


@pytest.mark.parametrize(
    ("change", "line", "message"),
    [
        (("who: agent", "who: caller"), 10, "'who' must be one of agent, customer"),
        (("who: agent", "who: agent\n          when: closin"), 11, "did you mean 'closing'"),
        (("          near_misses:", "          tone: x\n          near_misses:"), 17, "key 'tone'"),
        (
            ("            - could you call us back later", "            - I'll phone you back before five"),
            17,
            "both an example and a near miss",
        ),
    ],
)  # fmt: skip
def test_validation_errors_name_the_line(tmp_path, change, line, message):
    errors = _errors(tmp_path, CALLBACK.replace(*change))
    assert any(e.startswith(f"{tmp_path / 'draft.yaml'}:{line}:") and message in e for e in errors), errors


def test_too_few_examples_is_an_error(tmp_path):
    text = CALLBACK.split("            - we can ring")[0] + "          near_misses: []\n"
    errors = _errors(tmp_path, text)
    assert any("give 3-30 example phrases" in e and "not 1" in e for e in errors), errors


@pytest.fixture(scope="module")
def detector():
    from qa_scoring.behaviours import BehaviourDetector

    return BehaviourDetector.load()


def test_matches_the_words_not_negated_and_not_near_misses(tmp_path, detector):
    from qa_scoring.behaviours.text import canonical

    matcher = detector.phrase_matcher(load_rubric(_write(tmp_path, CALLBACK)).criteria[0].says)
    hit = matcher.score_text(canonical("No problem, I'll ring you back tomorrow once I've spoken to them."))
    assert hit[0] >= matcher.threshold and hit[1] == ""
    assert (
        matcher.score_text(canonical("I'm afraid I can't call you back, we don't do callbacks."))[1]
        == "negated"
    )
    assert matcher.score_text(canonical("Could you call us back later on?"))[1] == "near miss"
    assert matcher.score_text(canonical("Thanks for calling, have a lovely day."))[0] < matcher.threshold


def test_a_word_the_example_negates_too_is_no_negation(detector):
    """ "If this isn't sorted I'm leaving" says the criterion with a negation in it; a turn that
    negates the same word agrees with the example, while one that negates the leaving does not."""
    from qa_scoring.behaviours.phrases import PhraseSpec
    from qa_scoring.behaviours.text import canonical

    spec = PhraseSpec(
        "customer",
        (
            "if this isn't sorted I'm cancelling my contract",
            "I'm going to switch to another supplier",
            "that's it I'm closing my account",
            "I'll take my business elsewhere",
            "I'm seriously thinking of leaving you",
        ),
    )
    matcher = detector.phrase_matcher(spec)
    agrees = matcher.score_text(canonical("If it isn't sorted by Friday I'm cancelling the contract."))
    assert agrees[0] >= matcher.threshold and agrees[1] == ""
    refuses = matcher.score_text(canonical("It's sorted now, so I'm not cancelling the contract."))
    assert refuses[1] == "negated"


def _call(*turns: tuple[str, str]):
    from qa_scoring.transcript import Transcript

    return Transcript.from_dict(
        {
            "turns": [
                {"speaker": s, "text": t, "start": 5.0 * i, "end": 5.0 * i + 4}
                for i, (s, t) in enumerate(turns)
            ]
        }
    )


def test_the_scorecard_carries_the_quote_and_its_time(tmp_path):
    from qa_scoring.config import load_settings
    from qa_scoring.scorer import Scorer

    rubrics = tmp_path / "rubrics"
    rubrics.mkdir()
    _write(rubrics, CALLBACK)
    settings = load_settings(environ={"QA_SCORING_RUBRICS_DIR": str(rubrics)})
    scorer = Scorer.load(settings)
    offered = _call(
        ("agent", "Good morning, Harbour Energy, this is Priya."),
        ("customer", "Hi, my boiler's still not been looked at."),
        ("agent", "I'm sorry about that. I'll chase the engineers and give you a ring back this afternoon."),
        ("customer", "Okay, thanks."),
    )
    refused = _call(
        ("agent", "Good morning, Harbour Energy, this is Priya."),
        ("customer", "Can you ring me back later?"),
        ("agent", "I'm afraid I can't call you back, you'll need to phone us."),
    )
    card = scorer.score(offered).scorecards["draft"].criteria[0]
    assert card.result == "pass"
    assert card.evidence[0].turn_index == 2 and card.evidence[0].start == 10.0
    assert "give you a ring back" in card.evidence[0].quote
    assert scorer.score(refused).scorecards["draft"].criteria[0].result == "fail"


def test_try_lists_hits_on_a_real_store_and_writes_nothing(tmp_path, monkeypatch):
    from click.testing import CliRunner
    from sqlalchemy import func, select
    from store_seed import agent_named, store_scored_call

    from qa_scoring import config
    from qa_scoring.cli import main
    from qa_scoring.scorer import Scorer
    from qa_scoring.store.db import dispose_engines, session_scope
    from qa_scoring.store.models import AuditEntry, CriterionResult, Transcript

    url = f"sqlite:///{tmp_path / 'qa.sqlite3'}"
    monkeypatch.setenv("QA_SCORING_DATABASE_URL", url)
    config.get_settings.cache_clear()
    scorer = Scorer.load()
    calls = [
        json.loads(shared_path("data", "calls", "dev", f"dev-{k:03d}.json").read_text()) for k in range(1, 13)
    ]
    calls.append({"call_id": "callback-call", "turns": [
        {"speaker": "agent", "text": "Hello, Harbour Energy, Priya speaking."},
        {"speaker": "customer", "text": "My boiler still isn't fixed."},
        {"speaker": "agent", "text": "Let me chase it and I'll give you a ring back this afternoon."},
        {"speaker": "customer", "text": "Please don't call me back, I'll phone you."},
    ]})  # fmt: skip
    with session_scope(url) as session:
        agent = agent_named(session, "A1", "Sam", "Team")
        for k, data in enumerate(calls):
            from qa_scoring.transcript import Transcript as Doc

            doc = Doc.from_dict(data)
            store_scored_call(
                session, document=doc.to_dict(), scored=scorer.score(doc), agent=agent,
                started_at=dt.datetime(2026, 11, 2, 9, k, tzinfo=dt.UTC), external_id=data["call_id"],
            )  # fmt: skip

    def counts() -> tuple[int, int, int]:
        with session_scope(url) as session:
            return tuple(
                session.scalar(select(func.count()).select_from(m))
                for m in (Transcript, CriterionResult, AuditEntry)
            )

    before = counts()
    draft = _write(tmp_path, CALLBACK)
    result = CliRunner().invoke(main, ["rubrics", "try", str(draft), "--calls", "20", "--json"])
    assert result.exit_code == 0, result.output
    [tried] = json.loads(result.output)
    assert tried["criterion_id"] == "callback" and tried["calls"] == len(calls)
    hits = [h for h in tried["hits"] if h["call"] == "callback-call"]
    assert hits and hits[0]["turn"] == 2 and hits[0]["speaker"] == "agent"
    assert all(h["speaker"] == "agent" for h in tried["hits"])  # the customer's "call me back" never counts
    table = CliRunner().invoke(main, ["rubrics", "try", str(draft), "--calls", "5"])
    assert table.exit_code == 0 and "said in" in table.output
    assert counts() == before
    dispose_engines()
    config.get_settings.cache_clear()


def test_try_refuses_a_broken_draft_with_its_line(tmp_path):
    from click.testing import CliRunner

    from qa_scoring.cli import main

    draft = _write(tmp_path, CALLBACK.replace("who: agent", "who: caller"))
    result = CliRunner().invoke(main, ["rubrics", "try", str(draft)])
    assert result.exit_code != 0 and "draft.yaml:10:" in result.output


def test_a_word_close_to_an_example_word_earns_part_of_its_weight(tmp_path, detector):
    """ "Wednesday" is not in the examples, "Monday" is: with the word vectors the turn meets the example
    part of the way; with exact words only it gets nothing for that word."""
    from qa_scoring.behaviours.phrases import PhraseMatcher
    from qa_scoring.behaviours.text import canonical

    spec = load_rubric(_write(tmp_path, CALLBACK)).criteria[0].says
    soft = detector.phrase_matcher(spec)
    text = canonical("someone from the team will give you a ring back on Wednesday")
    exact_only = PhraseMatcher(spec, lambda _t: 1.0, None).score_text(text)[0]
    vectors = PhraseMatcher(spec, lambda _t: 1.0, soft.vectors)
    assert vectors.score_text(text)[0] > exact_only
    unrelated = canonical("the weather has been lovely all week")
    assert vectors.score_text(unrelated)[0] < vectors.threshold


@pytest.mark.parametrize(
    "said, is_time",
    [
        ("I'll ring you on Tuesday at ten.", True),
        ("You'll hear from us within 10 working days.", True),
        ("The engineer will be there first thing tomorrow.", True),
        ("I'll call you back by five o'clock.", True),
        ("I'll sort that out for you now.", False),
        ("Is there anything else I can help with?", False),
    ],
)
def test_a_time_said_any_way_is_one_term(said, is_time):
    from qa_scoring.behaviours.phrases import TIME_TERM, terms
    from qa_scoring.behaviours.text import canonical

    assert (TIME_TERM in terms(canonical(said))) is is_time
