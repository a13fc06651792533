"""Call metrics on hand-built timed transcripts, card numbers in spoken form, the sentiment cue."""

from __future__ import annotations

import pytest
from conftest import shared_path

from qa_scoring.rubric import sentiment
from qa_scoring.rubric.cards import find_card_numbers
from qa_scoring.rubric.metrics import compute_metrics
from qa_scoring.spoken_numbers import digit_runs, luhn_valid, to_digits
from qa_scoring.transcript import Overlap, Transcript


def timed(*turns: tuple[str, str, float, float]) -> Transcript:
    return Transcript.from_dict(
        {"turns": [{"speaker": s, "text": t, "start": a, "end": b} for s, t, a, b in turns]}, call_id="t"
    )


CALL = timed(
    ("agent", "Hello, you are through to Acme, Sam speaking", 1.5, 4.0),  # 0
    ("customer", "Hi, I am really fed up, my parcel is missing", 4.5, 8.0),  # 1
    ("agent", "Oh no. Can I pop you on hold while I check?", 7.5, 10.0),  # 2: 0.5 s overtalk
    ("customer", "ok", 10.2, 10.5),  # 3
    ("agent", "[on hold] Thanks for holding, it's found", 70.5, 73.0),  # 4: 60 s marked hold before
    ("customer", "oh right", 93.0, 94.0),  # 5: 20 s dead air before
    ("agent", "[music]", 95.0, 150.0),  # 6: marker-only turn: all hold
    ("agent", "Sorted, a replacement is on its way", 151.0, 154.0),  # 7
    ("customer", "brilliant, thanks so much", 154.5, 156.0),  # 8
)


def test_time_metrics_on_hand_built_call() -> None:
    m = compute_metrics(CALL).values
    assert m["duration"] == 156.0
    assert m["agent_talk_time"] == pytest.approx(2.5 + 2.5 + 2.5 + 3.0)
    assert m["customer_talk_time"] == pytest.approx(3.5 + 0.3 + 1.0 + 1.5)
    assert m["talk_to_listen_ratio"] == pytest.approx(round(10.5 / 6.3, 2))
    # gaps: 4.0-4.5, 10.0-10.2, [10.5-70.5 hold], 73-93 silence, [94-151 hold], 154-154.5
    assert m["silence_total"] == pytest.approx(0.5 + 0.2 + 20.0 + 0.5)
    assert m["longest_silence"] == 20.0
    assert m["hold_count"] == 2 and m["hold_time"] == pytest.approx(60.0 + 57.0)
    assert m["overtalk_count"] == 1 and m["overtalk_time"] == 0.5
    assert m["agent_first_response"] == 1.5
    agent_words = m["agent_words"]
    assert agent_words == 8 + 11 + 5 + 7  # the markers are not words
    assert m["agent_words_per_minute"] == pytest.approx(round(agent_words / (10.5 / 60), 2))


def test_metric_evidence_points_at_the_moment() -> None:
    ev = compute_metrics(CALL).evidence
    (gap,) = ev["longest_silence"]
    assert (gap.turn_index, gap.start, gap.end, gap.speaker) == (5, 73.0, 93.0, "customer")
    assert [e.turn_index for e in ev["hold_count"]] == [4, 6]
    assert ev["overtalk_count"][0].turn_index == 2


def test_unmarked_long_silence_is_a_hold_and_dead_air() -> None:
    call = timed(("agent", "one moment", 0.0, 1.0), ("agent", "right so where were we", 61.0, 62.0))
    m = compute_metrics(call, hold_min_silence=45.0).values
    assert m["hold_count"] == 1 and m["hold_time"] == 60.0 and m["longest_silence"] == 60.0
    assert compute_metrics(call, hold_min_silence=90.0).values["hold_count"] == 0
    # the agent's words show the same hold whatever the silence threshold
    thanked = timed(("agent", "one moment", 0.0, 1.0), ("agent", "thanks for waiting", 61.0, 62.0))
    assert compute_metrics(thanked, hold_min_silence=90.0).values["hold_count"] == 1


def test_overtalk_from_pipeline_overlaps_wins() -> None:
    call = timed(("agent", "a b", 0.0, 2.0), ("customer", "c d", 3.0, 4.0))
    call.overlaps = [
        Overlap(1.0, 1.8, ["SPEAKER_00", "SPEAKER_01"]),
        Overlap(3.0, 3.2, ["SPEAKER_00", "SPEAKER_01"]),
    ]
    m = compute_metrics(call).values
    assert m["overtalk_count"] == 2 and m["overtalk_time"] == pytest.approx(1.0)


def test_untimed_transcript_keeps_text_metrics() -> None:
    call = Transcript.load(shared_path("data", "calls", "dev", "dev-006.json"))
    m = compute_metrics(call).values
    for key in (
        "duration",
        "longest_silence",
        "overtalk_count",
        "agent_first_response",
        "agent_words_per_minute",
    ):
        assert m[key] is None
    assert m["hold_count"] == 1 and m["turn_count"] == 22
    assert m["agent_card_numbers"] == 0  # the customer says the card number, not the agent
    assert m["customer_sentiment_end"] > m["customer_sentiment_start"]


def test_interruptions_from_text() -> None:
    call = Transcript.from_dict({"turns": [
        {"speaker": "customer", "text": "My husband passed away and I just wanted to —"},
        {"speaker": "agent", "text": "Yeah, what's the account number then?"},
        {"speaker": "customer", "text": "It's one two three."},
    ]})  # fmt: skip
    m = compute_metrics(call)
    assert m.values["agent_interruptions"] == 1 and m.evidence["agent_interruptions"][0].turn_index == 1


def test_agent_reading_a_card_back_is_counted_and_masked() -> None:
    said = "four nine two nine, five two six oh, one eight one five, nine oh eight one"
    call = Transcript.from_dict({"turns": [
        {"speaker": "customer", "text": said},
        {"speaker": "agent", "text": "So that's 4929 5260 1815 9081, lovely."},
    ]})  # fmt: skip
    m = compute_metrics(call)
    assert m.values["agent_card_numbers"] == 1
    quote = m.evidence["agent_card_numbers"][0].quote
    assert "[card number ************9081]" in quote and "4929" not in quote


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("four nine two nine, five two six oh", "49295260"),
        ("double oh seven", "007"),
        ("triple five two", "5552"),
        ("D E twenty-two, three P B", "223"),
        ("sixty five pounds", "65"),
        ("four hundred and twelve", "412"),
        ("uh eight um one four", "814"),
        ("card 4929-5260", "49295260"),
    ],
)
def test_spoken_numbers(text: str, digits: str) -> None:
    assert to_digits(text) == digits


def test_spoken_number_spans_and_bare_oh() -> None:
    text = "Oh — okay. It's nine oh eight one then."
    (run,) = digit_runs(text)
    assert run.digits == "9081" and text[run.start : run.end] == "nine oh eight one"


def test_card_numbers_need_luhn() -> None:
    assert luhn_valid("4929526018159081") and not luhn_valid("4929526018159082")
    spoken = "it's four five three nine three oh one six six one three one eight six oh four"
    assert [c.digits for c in find_card_numbers(spoken)] == ["4539301661318604"]
    assert (
        find_card_numbers("four five three nine three oh one six six one three one eight six oh five") == []
    )
    # a card said straight into its expiry is still found
    assert find_card_numbers("4929 5260 1815 9081 oh eight twenty eight")[0].digits == "4929526018159081"
    assert find_card_numbers("my account is 12345678") == []


def test_sentiment_lexicon_with_negation() -> None:
    assert sentiment.score("this is ridiculous, I'm really fed up") < -0.5
    assert sentiment.score("I'm not happy") < 0 < sentiment.score("I'm happy")
    assert 0 < sentiment.score("not bad actually") < sentiment.score("brilliant, thank you")
    assert sentiment.score("thanks for nothing") < 0
    assert sentiment.score("the parcel is blue") == 0.0
    assert -1 <= sentiment.score("awful terrible useless disgusting " * 20) < -0.9
