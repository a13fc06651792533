"""Transcript-style rewrites (qa_scoring/behaviours/styles.py): each style does what it says, keeps the tags
and call labels true to their definition, and is deterministic for a seed."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import PROJECT_ROOT

from qa_scoring.behaviours.labelled import LabelledCall, as_asr_style, load_dir
from qa_scoring.behaviours.spec import BEHAVIOUR_IDS, WHO
from qa_scoring.behaviours.styles import (
    FILLER_RATES,
    INNER_FILLERS,
    OPENING_FILLERS,
    SOUND_ALIKE,
    SOUND_ALIKES,
    STYLES,
    restyle,
    restyled,
)
from qa_scoring.transcript import Event, Transcript

TURNS = [
    ("agent", "Good morning, you're through to Northwave, my name's Priya. How can I help?", {"greeting"}),
    ("customer", "I was charged £20 twice on the 3rd and I'm really fed up with it.", {"complaint"}),
    ("customer", "It's the second time this year.", {"complaint"}),
    ("agent", "I'm so sorry about that. Can I put you on hold for two minutes while I check?", {"apology"}),
    ("customer", "Yes, fine.", set()),
    ("agent", "[on hold] Thanks for holding. The second payment of ninety pounds was an error.", {"thanks"}),
    ("customer", "So what happens now, because I—", set()),
    ("agent", "Look, I've refunded it... it's back in five working days.", {"resolution", "unprofessional"}),
    ("customer", "[music]", set()),
    ("agent", "Anything else I can do? Thanks for calling, bye.", {"further_help", "closing", "thanks"}),
]  # fmt: skip


def _call() -> LabelledCall:
    transcript = Transcript.from_dict(
        {"turns": [{"speaker": s, "text": t} for s, t, _ in TURNS]}, call_id="style-test"
    )
    transcript.events = [
        Event(kind="hold", source="marker", turn=5),
        Event(kind="hold", source="music", turn=9),
    ]
    tags = [set(t) for _, _, t in TURNS]
    return LabelledCall(
        Path("style-test.json"), transcript, tags, _labels(transcript, tags), "0" * 64, "telecom"
    )


def _labels(transcript: Transcript, tags: list[set[str]]) -> dict[str, bool]:
    """The definition: true iff some turn of the behaviour's speaker is tagged with it."""
    return {
        b: any(b in t and transcript.turns[i].role == WHO[b] for i, t in enumerate(tags))
        for b in BEHAVIOUR_IDS
    }


def _texts(call: LabelledCall) -> list[str]:
    return [t.text for t in call.transcript.turns]


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


@pytest.mark.parametrize("style", STYLES)
def test_every_style_keeps_labels_true_and_is_deterministic(style: str) -> None:
    call = _call()
    out = restyle(call, style, seed=3)
    assert len(out.tags) == len(out.transcript.turns)
    assert _labels(out.transcript, out.tags) == call.labels == out.labels
    assert _texts(restyle(call, style, seed=3)) == _texts(out)
    assert _texts(call) == [t for _, t, _ in TURNS], "the original call must not be changed in place"
    assert out.sha256 == call.sha256 and out.industry == "telecom"


def test_every_style_keeps_labels_true_on_the_project_calls() -> None:
    calls = load_dir(PROJECT_ROOT / "data" / "labelled")[::6]
    for style in STYLES:
        for call, out in zip(calls, restyled(calls, style), strict=True):
            assert _labels(out.transcript, out.tags) == call.labels, (style, call.path.name)


def test_random_styles_differ_with_the_seed() -> None:
    calls = load_dir(PROJECT_ROOT / "data" / "labelled")[:10]
    for style in ("fillers", "split_merge", "mishearing"):
        assert [_texts(c) for c in restyled(calls, style, 0)] != [
            _texts(c) for c in restyled(calls, style, 1)
        ]


def test_lowercase_drops_case_and_punctuation_but_keeps_words_digits_and_markers() -> None:
    out = restyle(_call(), "lowercase")
    for before, after in zip(TURNS, _texts(out), strict=True):
        speech = re.sub(r"\[[a-z ]+\]", "", after)
        assert speech == speech.lower() and not re.search(r"[^\w' ]", speech), after
        assert _words(after) == _words(before[1])
    assert _texts(out)[5].startswith("[on hold] thanks for holding")
    assert "20" in _texts(out)[1] and "i—" not in _texts(out)[6]


def test_fillers_add_hesitations_without_losing_or_reordering_words() -> None:
    calls = load_dir(PROJECT_ROOT / "data" / "labelled")[:20]
    fillers = {w for f in OPENING_FILLERS + INNER_FILLERS for w in f.split()}
    added = 0
    for call, out in zip(calls, restyled(calls, "fillers"), strict=True):
        for before, after in zip(_texts(call), _texts(out), strict=True):
            old, new = _words(before), _words(after)
            added += len(new) - len(old)
            # removing the fillers and the repeated false start leaves the original words in order
            it = iter(new)
            assert all(w in it for w in old), (before, after)
            assert not set(new) - set(old) - fillers, (before, after)
            assert after.split()[-1].lower() == before.split()[-1].lower(), (
                "a cut-off turn must end as it did"
            )
    turns = sum(len(c.transcript.turns) for c in calls)
    assert added > turns * (FILLER_RATES["opening"] + FILLER_RATES["inner"]) * 0.7
    assert any(re.search(r"\b(\w+)- \1\b", t, re.I) for c in restyled(calls, "fillers") for t in _texts(c))


def test_split_merge_keeps_the_words_in_order_and_the_tags_with_them() -> None:
    call = _call()
    out = restyle(call, "split_merge", seed=0)
    assert _words(" ".join(_texts(out))) == _words(" ".join(_texts(call)))
    # over a few seeds both things happen: a pair of one speaker's turns merged, a long turn split
    merged = split = False
    for seed in range(6):
        out = restyle(call, "split_merge", seed=seed)
        texts = _texts(out)
        if any(t.startswith("I was charged") and "second time this year" in t for t in texts):
            merged = True
            turn = next(i for i, t in enumerate(texts) if t.startswith("I was charged"))
            assert out.tags[turn] == {"complaint"}
        halves = [
            i
            for i, t in enumerate(texts)
            if t.endswith("Can I put you on hold for two minutes while I check?")
        ]
        if halves and not texts[halves[0]].startswith("I'm so sorry"):
            split = True
            first = halves[0] - 1
            assert texts[first].startswith("I'm so sorry") and out.tags[first] == out.tags[halves[0]] == {
                "apology"
            }
        # the hold marker still opens a turn, and the events point at that turn
        marker = next(i for i, t in enumerate(texts) if t.startswith("[on hold]"))
        assert out.transcript.events[0].turn == marker
        assert texts[out.transcript.events[1].turn].startswith("Anything else")
    assert merged and split


def test_split_merge_never_merges_across_a_hold_marker_or_a_cut_off() -> None:
    for seed in range(10):
        texts = _texts(restyle(_call(), "split_merge", seed=seed))
        assert not any("[on hold]" in t and not t.startswith("[on hold]") for t in texts)
        assert not any("I— " in t for t in texts)


def test_sound_alike_table_is_general_and_symmetric() -> None:
    assert len(SOUND_ALIKES) >= 100
    for a, b in SOUND_ALIKES:
        assert a != b and b in SOUND_ALIKE[a] and a in SOUND_ALIKE[b]
    negations = {"can", "can't", "will", "won't", "do", "don't", "is", "isn't", "not"}
    assert not any({a, b} <= negations or {a, b} == {"want", "won't"} for a, b in SOUND_ALIKES)


def test_mishearing_swaps_only_sound_alikes_and_leaves_markers() -> None:
    calls = load_dir(PROJECT_ROOT / "data" / "labelled")[:30]
    swapped = total = 0
    for call, out in zip(calls, restyled(calls, "mishearing"), strict=True):
        for before, after in zip(_texts(call), _texts(out), strict=True):
            assert re.findall(r"\[[^\]]*\]", before) == re.findall(r"\[[^\]]*\]", after)
            old, new = _words(before.replace("’", "'")), _words(after)
            total += len(old)
            if old != new:
                swapped += 1
                changed = set(new) - set(old)
                alikes = {w for alts in SOUND_ALIKE.values() for alt in alts for w in alt.split()}
                assert changed <= alikes, (before, after)
    assert swapped > 0 and 0.01 < swapped / total < 0.2


def test_numbers_words_and_digits() -> None:
    words = _texts(restyle(_call(), "numbers_words"))
    assert (
        "twenty pounds" in words[1]
        and "on the three and" in words[1]
        and not re.search(r"\d", " ".join(words))
    )
    digits = _texts(restyle(_call(), "numbers_digits"))
    assert "90 pounds" in digits[5]
    assert "for two minutes" in digits[3] and "in five working days" in digits[7], (
        "one-digit numbers stay words"
    )


def test_no_markers_removes_markers_dashes_and_ellipses() -> None:
    call = _call()
    out = restyle(call, "no_markers")
    texts = _texts(out)
    assert len(texts) == len(TURNS) - 1, "the marker-only turn goes"
    joined = " ".join(texts)
    assert not re.search(r"[\[\]—–…]|\.\.\.", joined)
    assert texts[5].startswith("Thanks for holding") and texts[6] == "So what happens now, because I"
    assert "refunded it it's back" in texts[7]
    assert [e.source for e in out.transcript.events] == ["music"], "holds read from markers go with them"
    assert out.transcript.events[0].turn == 8 and texts[8].startswith("Anything else")


def test_asr_style_is_the_existing_rewrite_and_unknown_styles_fail() -> None:
    call = _call()
    assert _texts(restyle(call, "asr_style")) == _texts(as_asr_style(call))
    assert restyled([call], "original")[0] is call
    with pytest.raises(ValueError, match="unknown style"):
        restyle(call, "shouting")
