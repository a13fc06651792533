"""Words to speakers to turns, overtalk and bleed rejection, on constructed timelines."""

from __future__ import annotations

import numpy as np

from qa_scoring.transcribe.assign import (
    assign_words,
    build_turns,
    find_overlaps,
    mark_overlaps,
    segments_from_words,
)
from qa_scoring.transcribe.channels import ChannelLevels, apply_mask, channel_masks, keep_dominant_words
from qa_scoring.transcribe.guards import SilenceGate, remove_repetition_loops, remove_words_in_silence
from qa_scoring.transcribe.segments import SpeechSegment
from qa_scoring.transcript import Word


def words(*spec: tuple[str, float, float]) -> list[Word]:
    return [Word(text, start, end, 0.9) for text, start, end in spec]


def test_words_follow_segments_and_nearest_edge() -> None:
    segs = [SpeechSegment(0.0, 2.0, "A"), SpeechSegment(2.2, 4.0, "B")]
    ws = words(("hello", 0.1, 0.5), ("there", 1.8, 2.15), ("hi", 2.3, 2.6), ("late", 4.3, 4.6))
    assert [s for _, s in assign_words(ws, segs)] == ["A", "A", "B", "B"]


def test_overtalk_keeps_the_sentence_with_its_speaker() -> None:
    # A talks 0-5 s, B talks 3-6 s; the word at 3.5 s is covered by both: A was mid-sentence.
    segs = [SpeechSegment(0.0, 5.0, "A"), SpeechSegment(3.0, 6.0, "B")]
    ws = words(("so", 2.8, 3.1), ("anyway", 3.3, 3.7), ("sorry", 5.2, 5.6))
    assert [s for _, s in assign_words(ws, segs)] == ["A", "A", "B"]


def test_backchannel_does_not_split_the_turn_and_is_marked() -> None:
    labelled = [
        (w, "A")
        for w in words(
            ("I", 0.0, 0.2),
            ("was", 0.3, 0.5),
            ("saying", 0.6, 1.0),
            ("that", 1.1, 1.4),
            ("it", 1.5, 1.7),
            ("broke", 1.8, 2.2),
        )
    ]
    labelled.append((Word("yeah", 1.0, 1.3), "B"))
    turns = build_turns(labelled)
    assert [(t.speaker, t.text) for t in turns] == [("A", "I was saying that it broke"), ("B", "yeah")]
    overlaps = find_overlaps(segments_from_words(labelled), min_duration=0.2)
    assert len(overlaps) == 1 and overlaps[0].speakers == ["A", "B"]
    mark_overlaps(turns, overlaps)
    assert [t.overlap for t in turns] == [True, True]


def test_turns_alternate_and_long_pause_splits() -> None:
    labelled = [
        (Word("hello", 0.0, 0.5), "A"),
        (Word("hi", 1.0, 1.3), "B"),
        (Word("how", 1.6, 1.8), "B"),
        (Word("fine", 2.5, 2.8), "A"),
        (Word("later", 9.0, 9.4), "A"),
    ]
    turns = build_turns(labelled)
    assert [(t.speaker, t.text) for t in turns] == [
        ("A", "hello"),
        ("B", "hi how"),
        ("A", "fine"),
        ("A", "later"),
    ]
    assert not find_overlaps(segments_from_words(labelled))


def test_repetition_loop_collapsed_but_normal_repeats_kept() -> None:
    loop = words(*[(w, i * 0.3, i * 0.3 + 0.2) for i, w in enumerate(["thank", "you."] * 6 + ["bye"])])
    assert [w.text for w in remove_repetition_loops(loop)] == ["thank", "you.", "bye"]
    normal = words(("no", 0, 0.1), ("no,", 0.2, 0.3), ("no", 0.4, 0.5), ("stop", 0.6, 0.9))
    assert [w.text for w in remove_repetition_loops(normal)] == ["no", "no,", "no", "stop"]


def test_unsure_words_in_silence_dropped() -> None:
    rng = np.random.default_rng(0)
    signal = (0.001 * rng.standard_normal(16000 * 4)).astype(np.float32)
    signal[:16000] += 0.3 * np.sin(2 * np.pi * 300 * np.arange(16000) / 16000).astype(np.float32)
    gate = SilenceGate(signal)
    ws = [Word("real", 0.2, 0.6, 0.3), Word("ghost", 2.0, 2.5, 0.2), Word("sure", 3.0, 3.4, 0.95)]
    assert [w.text for w in remove_words_in_silence(ws, gate)] == ["real", "sure"]


def speechlike(n: int, rng: np.random.Generator, on: list[tuple[float, float]]) -> np.ndarray:
    out = (0.0005 * rng.standard_normal(n)).astype(np.float32)
    for a, b in on:
        i, j = int(a * 16000), int(b * 16000)
        out[i:j] += (0.2 * rng.standard_normal(j - i)).astype(np.float32)
    return out


def test_bleed_is_masked_and_bleed_words_rejected() -> None:
    rng = np.random.default_rng(3)
    n = 16000 * 8
    left = speechlike(n, rng, [(0.5, 3.0), (6.0, 7.0)])
    right = speechlike(n, rng, [(3.5, 5.5), (6.2, 6.8)])  # genuine overtalk at 6.2-6.8
    left_with_bleed = left + 0.03 * right  # about -17 dB of the other party
    right_with_bleed = right + 0.03 * left
    levels, masks = channel_masks([left_with_bleed, right_with_bleed])
    frame = lambda t: int(t / 0.02)  # noqa: E731
    assert masks[0][frame(1.5)] and not masks[0][frame(4.5)]  # right's speech is bleed on left
    assert masks[1][frame(4.5)] and not masks[1][frame(1.5)]
    assert masks[0][frame(6.5)] and masks[1][frame(6.5)]  # overtalk kept on both
    masked = apply_mask(left_with_bleed, masks[0])
    assert np.all(masked[int(4.4 * 16000) : int(4.6 * 16000)] == 0)
    candidates = [Word("mine", 1.0, 1.4), Word("echo", 4.0, 4.4), Word("both", 6.3, 6.7)]
    kept = keep_dominant_words(candidates, 0, levels)
    assert [w.text for w in kept] == ["mine", "both"]
    assert isinstance(levels, ChannelLevels)
