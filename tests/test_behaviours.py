"""Behaviour detection: text normalisation, cue rules with negation and vetoes, the embedding model,
speaker attribution, hold etiquette, and a real cross-validated measurement on the dev calls.

The unit sentences are written here, not taken from the dev set. The models are loaded and the
calls featurised once per session (the expensive part); the cross-validated measurement is real:
every fold's classifiers are trained without its calls.
"""

from __future__ import annotations

import numpy as np
import pytest

from qa_scoring.config import Settings
from qa_scoring.rubric import rules, text
from qa_scoring.rubric.behaviours import BEHAVIOUR_IDS, WHO, BehaviourDetector, ModelMissingError
from qa_scoring.rubric.labelled import as_asr_style, load_dir
from qa_scoring.transcript import Transcript
from tests.conftest import shared_path

# Measured 5-fold grouped CV on dev (dev calls only; macro-F1 0.896 written) gives the figures in
# the report; the floors sit a little below so noise from new training calls does not flake.
MACRO_F1_FLOOR = 0.86
ASR_DROP_MAX = 0.05


def flags(sentence: str) -> dict[str, float]:
    return rules.turn_flags(rules.parse([text.canonical(sentence)])[0])


# ----------------------------------------------------------------------------- text


def test_asr_style_lowercases_strips_punctuation_and_speaks_numbers() -> None:
    assert text.asr_style("Your refund of £12.50 goes out on the 3rd, OK?") == (
        "your refund of twelve pounds fifty goes out on the three ok"
    )
    assert text.asr_style("Ref 40921337.") == "ref four oh nine two one three three seven"
    assert text.asr_style("[on hold] Right, I'm back.") == "[music] right i'm back"


def test_markers_for_hold_and_cut_off() -> None:
    assert text.hold_marker("[music] hiya") and text.hold_marker("[On hold] Hello again")
    assert not text.hold_marker("I'll put you on hold")
    assert text.cut_off("But the thing is I—") and not text.cut_off("That is all.")
    assert text.canonical("[on hold] Back now.") == "back now"


# ----------------------------------------------------------------------------- rules


@pytest.mark.parametrize(
    "sentence",
    [
        "I'm really sorry that the engineer never turned up.",
        "i do apologise for the mix up with your bill",
        "Apologies, that should never have been charged.",
    ],
)
def test_real_apologies_pass_the_apology_gate(sentence: str) -> None:
    assert flags(sentence)["apology_clean"] == 1.0


@pytest.mark.parametrize(
    "sentence",
    [
        "Sorry, could you say that again?",
        "sorry you're breaking up a bit there",
        "Sorry, what was the postcode?",
        "I'm sorry to hear about your father.",
        "Well, I'm sorry you feel that way.",
        "I'm not going to apologise for the policy.",
        "i am not sorry about that at all",
    ],
)
def test_non_apologies_are_vetoed(sentence: str) -> None:
    assert flags(sentence)["apology_clean"] == 0.0


def test_sorry_to_hear_is_marked_as_empathy() -> None:
    assert flags("oh i'm so sorry to hear that")["sorry_empathy"] == 1.0


def test_negated_recording_disclosure_does_not_fire() -> None:
    assert flags("Just to let you know, calls are recorded for quality purposes.")["recording"] == 1.0
    assert flags("this line isn't recorded by us")["recording"] == 0.0


def test_thanks_for_nothing_is_not_thanks() -> None:
    assert flags("Cheers for sorting that.")["thanks"] == 1.0
    assert flags("well thanks for nothing then")["thanks"] == 0.0


def test_hold_ask_needs_permission_not_an_order() -> None:
    assert flags("Would you mind if I put you on hold for two minutes?")["hold_ask"] == 1.0
    assert flags("are you okay to hold while i ring the depot")["hold_ask"] == 1.0
    assert flags("Hold on.")["hold_ask"] == 0.0
    assert flags("one sec")["hold_ask"] == 0.0


def test_greeting_needs_politeness_and_a_name() -> None:
    assert (
        flags("Good afternoon, you're through to Brightwater Energy, Sam speaking.")["greeting_full"] == 1.0
    )
    assert flags("hello")["greeting_full"] == 0.0


# ----------------------------------------------------------------------------- embeddings


@pytest.fixture(scope="session")
def embedder():
    from qa_scoring.rubric.embed import get_embedder

    return get_embedder()


def test_embeddings_rank_paraphrases_above_unrelated(embedder) -> None:
    v = embedder.encode(
        [
            "I'm terribly sorry about the delay to your order.",
            "Apologies that your parcel is running late.",
            "Can you confirm your date of birth for security?",
            "The football was great on Saturday.",
        ]
    )
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-4)
    sims = v @ v.T
    assert sims[0, 1] > sims[0, 2] and sims[0, 1] > sims[0, 3]
    assert sims[2, 0] < 0.5


def test_quantised_model_stays_close_to_float(embedder) -> None:
    from qa_scoring.rubric.embed import Embedder

    float_model = Embedder(embedder.folder, quantize=False)
    sentences = ["leave it with me and I'll ring you back on Friday", "is there anything else I can do"]
    cos = np.sum(float_model.encode(sentences) * embedder.encode(sentences), axis=1)
    # measured 0.89-0.91 on these two: int8 moves the vectors, so training and scoring share it
    assert (cos > 0.85).all()


# ----------------------------------------------------------------------------- data and models


@pytest.fixture(scope="session")
def dev_calls():
    return load_dir(shared_path("data", "calls", "dev"))


@pytest.fixture(scope="session")
def dev_items(dev_calls, embedder):
    from qa_scoring.rubric import measure

    return measure.featurise(dev_calls, embedder)


@pytest.fixture(scope="session")
def detector(dev_items, embedder) -> BehaviourDetector:
    """Trained on the dev calls (already featurised for the CV test) to keep the suite fast; the
    attribution tests below use sentences written here, not dev sentences."""
    from qa_scoring.rubric import measure

    return BehaviourDetector(measure.fit(dev_items), embedder)


@pytest.fixture(scope="session")
def cv_written(dev_items):
    from qa_scoring.rubric import measure

    preds = measure.cross_validate(dev_items, folds=5)
    return measure.scores([i.call.labels for i in dev_items], preds)


def _call(turns: list[tuple[str, str]], timed: bool = False) -> Transcript:
    rows = []
    t = 0.0
    for speaker, line in turns:
        row = {"speaker": speaker, "text": line}
        if timed:
            if line == "<hold>":
                t += 45.0
                continue
            row.update(start=t, end=t + 3.0)
            t += 3.5
        rows.append(row)
    return Transcript.from_dict({"turns": rows})


def test_spec_matches_the_shared_contract() -> None:
    import yaml

    spec = yaml.safe_load(shared_path("spec", "behaviours.yaml").read_text())["behaviours"]
    assert BEHAVIOUR_IDS == tuple(spec) and WHO == {b: v["who"] for b, v in spec.items()}


def test_missing_model_says_how_to_build_it(tmp_path) -> None:
    with pytest.raises(ModelMissingError, match="qa-scoring train data/labelled"):
        BehaviourDetector.load(Settings(models_dir=tmp_path))


def test_customer_thanks_and_apologies_are_not_the_agents(detector) -> None:
    call = _call(
        [
            ("agent", "Hello, Northgate Water, Priya speaking."),
            ("customer", "Hi, sorry to bother you, thanks for picking up. My water bill looks wrong."),
            ("agent", "What's the account number?"),
            ("customer", "It's four four one two. Sorry, thank you so much."),
            ("agent", "Right, it's been updated."),
            ("customer", "Thanks, I'm sorry for the trouble, bye."),
        ]
    )
    result = detector.detect(call)
    assert set(result) == set(BEHAVIOUR_IDS)
    assert not result["thanks"].present and not result["apology"].present
    for res in result.values():
        assert all(ev.speaker == "agent" for ev in res.evidence) or res is result["complaint"]


def test_agent_thanks_and_apology_found_with_evidence(detector) -> None:
    call = _call(
        [
            ("agent", "Good morning, Northgate Water, you're speaking to Priya."),
            ("customer", "My bill has doubled and nobody has explained why. I'm really unhappy."),
            (
                "agent",
                "I'm really sorry about that, that must be so worrying. Thank you for bearing with us.",
            ),
            ("customer", "Okay."),
        ]
    )
    result = detector.detect(call)
    assert result["apology"].present and result["thanks"].present and result["complaint"].present
    assert result["apology"].evidence[0].turn_index == 2 and result["apology"].evidence[0].speaker == "agent"
    assert result["complaint"].evidence[0].speaker == "customer"


def test_hold_etiquette_from_a_long_silence_in_a_timed_call(detector) -> None:
    polite = [
        ("agent", "Is it okay if I put you on hold for a minute while I check?"),
        ("customer", "Sure."),
        ("<hold>", "<hold>"),
        ("agent", "Thanks so much for waiting. I've found it."),
    ]
    result = detector.detect(_call(polite, timed=True))["hold_etiquette"]
    assert result.present
    assert [e.turn_index for e in result.evidence] == [0, 2] and result.evidence[1].start is not None
    rude = [
        ("agent", "Hang on."),
        ("customer", "Okay."),
        ("<hold>", "<hold>"),
        ("agent", "Thanks for waiting."),
    ]
    assert not detector.detect(_call(rude, timed=True))["hold_etiquette"].present
    no_hold = [
        ("agent", "Is it okay if I put you on hold?"),
        ("customer", "Sure."),
        ("agent", "Thanks, found it."),
    ]
    assert not detector.detect(_call(no_hold, timed=True))["hold_etiquette"].present


def test_cross_validated_macro_f1_on_dev(cv_written) -> None:
    assert cv_written["macro_f1"] >= MACRO_F1_FLOOR, cv_written


def test_asr_style_costs_at_most_five_points(dev_calls, embedder, cv_written) -> None:
    from qa_scoring.rubric import measure

    asr_items = measure.featurise([as_asr_style(c) for c in dev_calls], embedder)
    preds = measure.cross_validate(asr_items, folds=5)
    asr = measure.scores([c.labels for c in dev_calls], preds)
    assert cv_written["macro_f1"] - asr["macro_f1"] <= ASR_DROP_MAX, (cv_written["macro_f1"], asr["macro_f1"])
