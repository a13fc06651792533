"""Agent/customer decision from cue phrases, checked on labelled calls with the roles hidden."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import PROJECT_ROOT, shared_path

from qa_scoring.config import ConfigError
from qa_scoring.transcribe.roles import apply_roles, decide_from_content, decide_roles, parse_channel_roles
from qa_scoring.transcript import Turn


def hidden_roles(path: Path) -> list[tuple[str, Turn]]:
    """The call's turns under anonymous labels, with the true role kept aside."""
    data = json.loads(path.read_text(encoding="utf-8"))
    labels = {"agent": "SPEAKER_01", "customer": "SPEAKER_00"}
    out, t = [], 0.0
    for turn in data["turns"]:
        if turn["speaker"] not in labels:
            continue
        length = len(turn["text"]) / 15
        out.append((turn["speaker"], Turn(labels[turn["speaker"]], "unknown", turn["text"], t, t + length)))
        t += length + 0.5
    return out


def labelled_calls() -> list[Path]:
    calls = sorted(shared_path("data", "calls", "dev").glob("*.json"))
    calls += sorted((PROJECT_ROOT / "data" / "labelled").glob("*.json"))
    assert len(calls) >= 40
    return calls


def test_roles_on_labelled_calls() -> None:
    correct, confident, confident_correct = 0, 0, 0
    for path in labelled_calls():
        pairs = hidden_roles(path)
        decision = decide_from_content([t for _, t in pairs])
        ok = all(decision.speakers[t.speaker] == role for role, t in pairs)
        correct += ok
        if decision.confidence >= 0.75:
            confident += 1
            confident_correct += ok
    total = len(labelled_calls())
    assert correct / total >= 0.95
    # When the cues are clear the decision must be right; unclear calls carry a low confidence.
    assert confident >= 0.7 * total
    assert confident_correct == confident


def test_cues_outweigh_who_speaks_first() -> None:
    """An outbound call: the customer answers first, the agent introduces the company."""
    turns = [
        Turn("A", "unknown", "Hello?", 0.0, 0.5),
        Turn("B", "unknown", "Hi, this is Sam calling from Northwind Energy about your account.", 1.0, 4.0),
        Turn("A", "unknown", "Oh right, I was calling about my bill last week actually.", 4.5, 7.0),
        Turn("B", "unknown", "Let me check that for you. Can I take your postcode please?", 7.5, 10.0),
    ]
    decision = decide_from_content(turns, ["Northwind Energy"])
    assert decision.speakers == {"A": "customer", "B": "agent"}
    assert decision.confidence > 0.9
    apply_roles(turns, decision)
    assert [t.role for t in turns] == ["customer", "agent", "customer", "agent"]


def test_taking_details_down_is_the_agents_not_a_customer_who_wrote_in() -> None:
    """ "I've written that down" is the agent noting details; "I've written to you" is a customer."""
    turns = [
        Turn("A", "unknown", "I need a table for two on Friday.", 0.0, 2.0),
        Turn("B", "unknown", "Okay, I have written down your name, please go ahead.", 2.5, 5.0),
        Turn("A", "unknown", "And I've written to you twice about the deposit already.", 5.5, 8.0),
    ]
    assert decide_from_content(turns).speakers == {"A": "customer", "B": "agent"}


def test_organisation_name_in_opening_marks_agent() -> None:
    turns = [
        Turn("X", "unknown", "Good afternoon, Harbour Bank.", 0.0, 2.0),
        Turn("Y", "unknown", "Hello there.", 2.5, 3.0),
    ]
    without = decide_from_content(turns)
    with_org = decide_from_content(turns, ["harbour bank"])
    assert with_org.speakers["X"] == "agent"
    assert with_org.confidence > without.confidence


def test_no_cues_means_low_confidence() -> None:
    turns = [Turn("X", "unknown", "Right.", 0.0, 1.0), Turn("Y", "unknown", "Okay then.", 1.5, 2.5)]
    assert decide_from_content(turns).confidence < 0.65


def test_channel_map_wins_and_is_validated() -> None:
    turns = [Turn("left", "unknown", "How can I help?", 0.0, 1.0), Turn("right", "unknown", "Hi.", 1.0, 2.0)]
    decision = decide_roles(turns, ("left", "right"), "customer,agent")
    assert decision.method == "channel-map" and decision.confidence == 1.0
    assert decision.speakers == {"left": "customer", "right": "agent"}
    assert decide_roles(turns, None, "customer,agent").method == "content"  # mono: the map does not apply
    with pytest.raises(ConfigError, match="channel_roles"):
        parse_channel_roles("agent", ("left", "right"))
    with pytest.raises(ConfigError, match="channel_roles"):
        parse_channel_roles("agent,boss", ("left", "right"))


def test_sample_call_truth_roles() -> None:
    """The TTS sample calls' scripted text: every one decided correctly from content alone."""
    truths = sorted((PROJECT_ROOT / "samples" / "calls").glob("*.truth.json"))
    assert truths, "samples/calls/*.truth.json missing"
    for path in truths:
        pairs = hidden_roles(path)
        decision = decide_from_content([t for _, t in pairs])
        assert all(decision.speakers[t.speaker] == role for role, t in pairs), path.name
