"""SRT, VTT, RTTM and TXT renderings of a transcript; JSON round-trips."""

from __future__ import annotations

import pytest

from qa_scoring.transcribe.render import render, to_rttm, to_srt, to_txt, to_vtt
from qa_scoring.transcript import Overlap, Transcript, Turn, Word


@pytest.fixture
def transcript() -> Transcript:
    return Transcript(
        call_id="call 7",
        turns=[
            Turn(
                "left", "agent", "Thanks for calling, how can I help?", 0.5, 2.25, [Word("Thanks", 0.5, 0.8)]
            ),
            Turn("right", "customer", "My bill --> is wrong.", 3723.004, 3725.5, overlap=True),
        ],
        duration=3730.0,
        overlaps=[Overlap(3723.1, 3723.5, ["left", "right"])],
    )


def test_srt(transcript: Transcript) -> None:
    assert to_srt(transcript) == (
        "1\n00:00:00,500 --> 00:00:02,250\nAgent: Thanks for calling, how can I help?\n\n"
        "2\n01:02:03,004 --> 01:02:05,500\nCustomer: My bill --> is wrong.\n"
    )


def test_vtt(transcript: Transcript) -> None:
    text = to_vtt(transcript)
    assert text.startswith("WEBVTT\n\n00:00:00.500 --> 00:00:02.250\n<v Agent>Thanks for calling")
    assert "<v Customer>My bill -> is wrong." in text  # a cue must not contain "-->"


def test_rttm(transcript: Transcript) -> None:
    assert to_rttm(transcript).splitlines() == [
        "SPEAKER call_7 1 0.500 1.750 <NA> <NA> left <NA> <NA>",
        "SPEAKER call_7 1 3723.004 2.496 <NA> <NA> right <NA> <NA>",
    ]


def test_txt(transcript: Transcript) -> None:
    assert to_txt(transcript).splitlines() == [
        "[00:00:00] Agent: Thanks for calling, how can I help?",
        "[01:02:03] Customer (overtalk): My bill --> is wrong.",
    ]


def test_json_round_trip(transcript: Transcript) -> None:
    import json

    again = Transcript.from_dict(json.loads(render(transcript, "json")))
    assert again == transcript
    with pytest.raises(ValueError, match="unknown transcript format"):
        render(transcript, "docx")
