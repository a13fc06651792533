"""Holds and talking over, read from what a call carries: audio events, timing and the words.

No trained model is needed: both are found by ``holds`` and ``talk_over`` before any classifier runs.
The sentences are written here for the purpose, not taken from a measured set.
"""

from __future__ import annotations

from qa_scoring.behaviours import text
from qa_scoring.behaviours.holds import find_holds
from qa_scoring.behaviours.talk_over import talk_over_turns
from qa_scoring.rubric.metrics import compute_metrics
from qa_scoring.transcript import Event, Transcript


def _call(turns: list[tuple], method: str = "given", events: list[dict] | None = None) -> Transcript:
    """Turns as (speaker, text) or (speaker, text, start, end)."""
    rows = []
    for turn in turns:
        row = {"speaker": turn[0], "text": turn[1]}
        if len(turn) == 4:
            row.update(start=turn[2], end=turn[3])
        rows.append(row)
    doc = {"turns": rows, "diarisation": {"method": method}, "events": events or []}
    return Transcript.from_dict(doc)


def _music_hold_call(turns: list[tuple], music: tuple[float, float], turn: int = 2) -> Transcript:
    """A timed call (one channel a speaker) whose audio found hold music from ``music[0]`` to
    ``music[1]``; ``turn`` resumes the call after it."""
    event = {"kind": "hold", "source": "music", "start": music[0], "end": music[1], "turn": turn}
    return _call(turns, method="channel", events=[event])


def _talk_over(call: Transcript) -> list[int]:
    return [int(i) for i in talk_over_turns(call, [text.canonical(t.text) for t in call.turns]).nonzero()[0]]


# ----------------------------------------------------------------------------- holds

WORDS_ONLY_HOLD = [
    ("agent", "let me look into that for you"),
    ("customer", "ok"),
    ("agent", "would you mind if i pop you on hold for a couple of minutes"),
    ("customer", "no that's fine"),
    ("agent", "thank you so much for holding i've got the answer now"),
    ("customer", "great"),
]


def test_a_hold_found_from_the_agents_words_alone() -> None:
    holds = find_holds(_call(WORDS_ONLY_HOLD))
    assert [(h.source, h.turn) for h in holds] == [("words", 4)]


def test_an_announced_hold_resumes_after_the_thanks_for_agreeing() -> None:
    call = _call(
        [
            ("agent", "Can I put you on hold while I check with the warehouse?"),
            ("customer", "Yes, go ahead."),
            ("agent", "Thank you."),
            ("agent", "Right, the parcel left this morning."),
        ]
    )
    assert [(h.source, h.turn) for h in find_holds(call)] == [("words", 3)]


def test_bear_with_me_while_talking_on_is_not_a_hold() -> None:
    call = _call(
        [
            ("agent", "Bear with me, I'm just typing that in. So the new address is the flat?"),
            ("customer", "That's right."),
            ("agent", "Lovely, that's updated."),
        ]
    )
    assert find_holds(call) == []


def test_marker_audio_and_words_for_one_hold_count_once() -> None:
    call = _music_hold_call(
        [
            ("agent", "Is it alright if I place you on hold?", 0.0, 3.0),
            ("customer", "Sure.", 3.2, 3.6),
            ("agent", "Thanks for waiting, I have it here.", 40.0, 43.0),
        ],
        music=(4.0, 39.5),
    )
    holds = find_holds(call)
    assert [(h.source, h.turn) for h in holds] == [("music", 2)]
    assert holds[0].duration == 35.5


def test_markers_in_other_transcribers_styles() -> None:
    for marker in ("[on hold]", "(hold music)", "*caller on hold*", "[music playing]"):
        call = _call(
            [("agent", "Can I pop you on hold?"), ("customer", "Yes."), ("agent", f"{marker} Hiya.")]
        )
        assert [(h.source, h.turn) for h in find_holds(call)] == [("marker", 2)], marker


def test_in_a_timed_call_the_words_must_agree_with_the_timing() -> None:
    no_gap = [
        ("agent", "Is it ok if I put you on hold?", 0.0, 2.0),
        ("customer", "Sure.", 2.3, 2.6),
        ("agent", "Right, found it.", 3.0, 4.0),
    ]
    assert find_holds(_call(no_gap, method="channel")) == []
    gap = [*no_gap[:2], ("agent", "Right, found it.", 30.0, 31.0)]
    assert [h.turn for h in find_holds(_call(gap, method="channel"))] == [2]


def test_hold_metrics_use_every_source() -> None:
    words = compute_metrics(_call(WORDS_ONLY_HOLD)).values
    assert words["hold_count"] == 1 and words["hold_time"] is None  # untimed: no time metrics
    timed = _music_hold_call(
        [
            ("agent", "Can I pop you on hold a moment?", 0.0, 2.0),
            ("customer", "Yes.", 2.2, 2.5),
            ("agent", "Thanks for holding.", 32.5, 34.0),
            ("customer", "No problem.", 34.2, 35.0),
        ],
        music=(3.0, 32.0),
    )
    m = compute_metrics(timed)
    assert m.values["hold_count"] == 1 and m.values["hold_time"] == 30.0
    assert m.values["silence_total"] < 1.0  # hold music is not dead air
    assert m.evidence["hold_count"][0].quote.startswith("[hold (music, 29 s)]")


def test_event_round_trips_through_the_document() -> None:
    call = _call(
        [("agent", "Hello.")], events=[{"kind": "hold", "source": "silence", "start": 1.0, "end": 30.0}]
    )
    again = Transcript.from_dict(call.to_dict())
    assert again.events == [Event("hold", "silence", 1.0, 30.0, None)]
    assert call.to_dict()["schema_version"] == 2


# ----------------------------------------------------------------------------- talking over


def test_a_turn_ending_without_punctuation_is_never_talk_over() -> None:
    call = _call(
        [
            ("customer", "i rang last week and the engineer said he would come and"),
            ("agent", "yeah so let me have a look at the booking for you"),
        ]
    )
    assert _talk_over(call) == []


def test_a_dash_cut_off_needs_a_real_turn_not_an_acknowledgement() -> None:
    cut = ("customer", "I rang last week and the engineer said—")
    assert _talk_over(_call([cut, ("agent", "Yeah.")])) == []
    assert _talk_over(_call([cut, ("agent", "Not really, no.")])) == []
    assert _talk_over(_call([cut, ("agent", "Look, I've got your notes up, what's the postcode?")])) == [1]


def test_the_customer_protesting_or_a_transcriber_note_marks_talk_over() -> None:
    protest = _call(
        [
            ("customer", "The thing is the bill went up twice"),
            ("agent", "ok so what you need to do is go online"),
            ("customer", "can i just finish please"),
        ]
    )
    assert _talk_over(protest) == [1]
    noted = _call([("customer", "So the bill"), ("agent", "[crosstalk] you need to pay it by friday then")])
    assert _talk_over(noted) == [1]


def test_talk_over_from_timing_in_a_recorded_call() -> None:
    cut_off = [
        ("customer", "I was charged twice for the same order last month", 0.0, 4.0),
        ("agent", "Right, well, the system shows one payment, so that's not possible.", 3.2, 8.0),
    ]
    assert _talk_over(_call(cut_off, method="channel")) == [1]
    back_channel = [
        ("customer", "I was charged twice for the same order last month", 0.0, 4.0),
        ("agent", "Mm, okay.", 2.0, 2.6),
    ]
    assert _talk_over(_call(back_channel, method="channel")) == []
    customer_goes_on = [
        ("customer", "I was charged twice for the same order last month and again this month", 0.0, 9.0),
        ("agent", "Right, let me just check the payments on the account.", 3.2, 8.0),
    ]
    assert _talk_over(_call(customer_goes_on, method="channel")) == []
    # a dash from a machine transcript is no evidence when timing is there to tell
    dash = [
        ("customer", "I was charged twice-", 0.0, 2.0),
        ("agent", "Let me check the payments now.", 3.0, 5.0),
    ]
    assert _talk_over(_call(dash, method="channel")) == []
