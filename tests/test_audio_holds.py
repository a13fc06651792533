"""Holds found in the audio: hold music and long silences become transcript events.

The finder is checked two ways: on synthetic arrays (fast, every rule on its own), and through the
real pipeline on real recordings from ../shared with a hold put in at a turn boundary - music or
silence with a little line noise, synthesised by sox - where the hold must come back once, in the
right place, with the right resuming turn, and an untouched recording must give none.
"""

from __future__ import annotations

import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest
from conftest import shared_path

from qa_scoring.transcribe.audio import SAMPLE_RATE, decode
from qa_scoring.transcribe.holds import (
    find_holds,
    place_holds,
    scan_audio,
    spectral_flux_db,
    without_music,
)
from qa_scoring.transcribe.render import to_srt, to_txt
from qa_scoring.transcript import Event, Transcript, Turn, Word

TOLERANCE_S = 1.5
RNG_SEED = 7

# --------------------------------------------------------------------------- synthetic arrays


def _speech_like(seconds: float, rng: np.random.Generator, level: float = 0.05) -> np.ndarray:
    """A stand-in for speech: noise shaped by a moving formant-like filter, in 4 Hz syllables with pauses."""
    n = int(seconds * SAMPLE_RATE)
    noise = rng.standard_normal(n)
    out = np.zeros(n)
    block = int(0.08 * SAMPLE_RATE)
    for a in range(0, n, block):
        # a new spectral shape every 80 ms, as formants move
        centre = rng.uniform(300, 3000)
        spectrum = np.fft.rfft(noise[a : a + block])
        freqs = np.fft.rfftfreq(len(noise[a : a + block]), 1 / SAMPLE_RATE)
        spectrum *= np.exp(-(((freqs - centre) / 400) ** 2))
        out[a : a + block] = np.fft.irfft(spectrum, len(noise[a : a + block]))
    t = np.arange(n) / SAMPLE_RATE
    syllables = np.clip(np.sin(2 * np.pi * 4 * t), 0, None)
    phrases = (np.sin(2 * np.pi * 0.4 * t) > -0.6).astype(float)  # a pause every 2.5 s
    out *= syllables * phrases
    return level * out / (np.abs(out).max() + 1e-9)


def _chords(seconds: float, rng: np.random.Generator, level: float = 0.05) -> np.ndarray:
    """Music: notes with harmonics, each held 0.5-1.5 s and decaying, over a sustained pad."""
    n = int(seconds * SAMPLE_RATE)
    out = np.zeros(n)
    a = 0
    while a < n:
        length = min(n - a, int(rng.uniform(0.5, 1.5) * SAMPLE_RATE))
        t = np.arange(length) / SAMPLE_RATE
        root = 220 * 2 ** (rng.integers(0, 12) / 12)
        note = np.zeros(length)
        for interval in (1.0, 2 ** (4 / 12), 2 ** (7 / 12)):
            for harmonic, weight in ((1, 1.0), (2, 0.5), (3, 0.25)):
                note += weight * np.sin(2 * np.pi * root * interval * harmonic * t)
        out[a : a + length] = note * (0.4 + 0.6 * np.exp(-2 * t))
        a += length
    return level * out / np.abs(out).max()


def _floor(n: int, rng: np.random.Generator, level: float = 3e-4) -> np.ndarray:
    return level * rng.standard_normal(n)


def _words(start: float, end: float, probability: float = 0.9) -> list[Word]:
    return [
        Word("word", round(t, 2), round(t + 0.3, 2), probability) for t in np.arange(start, end - 0.3, 0.4)
    ]


def _call(parts: list[tuple[str, float]], rng: np.random.Generator) -> tuple[np.ndarray, list[float]]:
    """Concatenate ("speech" | "music" | "quiet" | "noise", seconds) parts over a line noise floor."""
    pieces, edges, t = [], [], 0.0
    for kind, seconds in parts:
        n = int(seconds * SAMPLE_RATE)
        if kind == "speech":
            pieces.append(_speech_like(seconds, rng))
        elif kind == "music":
            pieces.append(_chords(seconds, rng))
        elif kind == "noise":  # loud line noise: audible, but no music
            pieces.append(0.02 * rng.standard_normal(n))
        else:
            pieces.append(np.zeros(n))
        t += seconds
        edges.append(t)
    signal = np.concatenate(pieces)
    return (signal + _floor(len(signal), rng)).astype(np.float32), edges


def _labelled(spans: list[tuple[float, float, str]]) -> list[tuple[Word, str]]:
    return [(w, speaker) for a, b, speaker in spans for w in _words(a, b)]


def _turns(labelled: list[tuple[Word, str]]) -> list[Turn]:
    from qa_scoring.transcribe.assign import build_turns

    return build_turns(sorted(labelled, key=lambda lw: lw[0].start))


def test_spectral_flux_tells_music_from_speech_and_noise() -> None:
    rng = np.random.default_rng(RNG_SEED)
    music = float(np.median(spectral_flux_db(_chords(10, rng).astype(np.float32))))
    speech = float(np.median(spectral_flux_db(_speech_like(10, rng).astype(np.float32))))
    noise = float(
        np.median(spectral_flux_db((0.02 * rng.standard_normal(10 * SAMPLE_RATE)).astype(np.float32)))
    )
    assert music < 3.0 < min(speech, noise)


def test_music_and_silence_between_turns_are_holds() -> None:
    rng = np.random.default_rng(RNG_SEED)
    signal, edges = _call(
        [
            ("speech", 6),
            ("music", 15),
            ("speech", 6),
            ("quiet", 25),
            ("speech", 6),
            ("music", 7),
            ("speech", 5),
        ],
        rng,
    )
    labelled = _labelled(
        [(0, 6, "A"), (edges[1], edges[2], "B"), (edges[3], edges[4], "A"), (edges[5], edges[6], "B")]
    )
    result = find_holds(scan_audio([signal], min_music_s=10), labelled, min_silence_s=20)
    turns = _turns(result.words)
    holds = place_holds(result.events, turns)
    assert [h.source for h in holds] == ["music", "silence"]  # the 7 s tune is no hold
    music, silence = holds
    assert abs(music.start - 6) <= TOLERANCE_S and abs(music.end - 21) <= TOLERANCE_S
    assert abs(silence.start - 27) <= TOLERANCE_S and abs(silence.end - 52) <= TOLERANCE_S
    # each hold points at the turn that resumes the call
    assert turns[music.turn].speaker == "B" and abs(turns[music.turn].start - 21) < 0.5
    assert turns[silence.turn].speaker == "A" and abs(turns[silence.turn].start - 52) < 0.5
    assert result.dropped == 0


def test_words_invented_over_music_are_dropped_and_do_not_split_the_hold() -> None:
    rng = np.random.default_rng(RNG_SEED)
    signal, _ = _call([("speech", 6), ("music", 25), ("speech", 6)], rng)
    labelled = _labelled([(0, 6, "A"), (31, 37, "B")])
    invented = [Word("Thank", 15.0, 15.3, 0.31), Word("you.", 15.3, 15.6, 0.42), Word("♪", 22.0, 24.0, 0.9)]
    labelled += [(w, "B") for w in invented]
    result = find_holds(scan_audio([signal], min_music_s=10), labelled, min_silence_s=20)
    assert result.dropped == 3
    assert not any(w in invented for w, _ in result.words)
    turns = _turns(result.words)
    holds = place_holds(result.events, turns)
    assert len(holds) == 1 and holds[0].source == "music"
    assert abs(holds[0].start - 6) <= TOLERANCE_S and abs(holds[0].end - 31) <= TOLERANCE_S
    assert turns[holds[0].turn].start == pytest.approx(31, abs=0.5)


def test_a_confident_word_over_music_is_kept() -> None:
    rng = np.random.default_rng(RNG_SEED)
    signal, _ = _call([("speech", 6), ("music", 25), ("speech", 6)], rng)
    hello = Word("Hello?", 29.0, 29.5, 0.93)
    labelled = _labelled([(0, 6, "A"), (31, 37, "B")]) + [(hello, "A")]
    result = find_holds(scan_audio([signal], min_music_s=10), labelled, min_silence_s=20)
    assert result.dropped == 0
    holds = place_holds(result.events, _turns(result.words))
    assert len(holds) == 1 and holds[0].end <= 29.0  # the hold ends where the caller speaks


def test_line_noise_and_short_silences_are_no_holds() -> None:
    rng = np.random.default_rng(RNG_SEED)
    signal, _ = _call([("speech", 6), ("noise", 15), ("speech", 6), ("quiet", 12), ("speech", 6)], rng)
    labelled = _labelled([(0, 6, "A"), (21, 27, "B"), (39, 45, "A")])
    result = find_holds(scan_audio([signal], min_music_s=10), labelled, min_silence_s=20)
    assert result.events == []


def test_silence_needs_every_channel_quiet() -> None:
    rng = np.random.default_rng(RNG_SEED)
    left, _ = _call([("speech", 6), ("quiet", 25), ("speech", 6)], rng)
    right, _ = _call([("quiet", 6), ("noise", 25), ("quiet", 6)], rng)
    labelled = _labelled([(0, 6, "left"), (31, 37, "left")])
    assert find_holds(scan_audio([left, right], 10), labelled, 20).events == []
    quiet_right, _ = _call([("quiet", 37)], rng)
    holds = find_holds(scan_audio([left, quiet_right], 10), labelled, 20).events
    assert [h.source for h in holds] == ["silence"]


def test_music_on_one_channel_of_a_stereo_call() -> None:
    rng = np.random.default_rng(RNG_SEED)
    agent, _ = _call([("speech", 6), ("music", 20), ("quiet", 6)], rng)
    customer, _ = _call([("quiet", 26), ("speech", 6)], rng)
    labelled = _labelled([(0, 6, "left"), (26, 32, "right")])
    holds = find_holds(scan_audio([agent, customer], 10), labelled, 20).events
    assert [h.source for h in holds] == ["music"]


def test_a_limit_of_zero_turns_a_source_off() -> None:
    rng = np.random.default_rng(RNG_SEED)
    signal, _ = _call([("speech", 6), ("music", 15), ("speech", 6), ("quiet", 25), ("speech", 6)], rng)
    labelled = _labelled([(0, 6, "A"), (21, 27, "B"), (52, 58, "A")])
    assert [e.source for e in find_holds(scan_audio([signal], 0), labelled, 20).events] == ["silence"]
    assert [e.source for e in find_holds(scan_audio([signal], 10), labelled, 0).events] == ["music"]


def test_before_the_first_word_or_after_the_last_is_no_hold() -> None:
    rng = np.random.default_rng(RNG_SEED)
    signal, _ = _call([("music", 15), ("speech", 6), ("quiet", 25)], rng)
    labelled = _labelled([(15, 21, "A")])
    result = find_holds(scan_audio([signal], 10), labelled, 20)
    assert sorted(e.source for e in result.events) == ["music", "silence"]  # in the audio...
    assert place_holds(result.events, _turns(result.words)) == []  # ...but queue music and a line left open


def test_without_music_silences_only_the_music() -> None:
    rng = np.random.default_rng(RNG_SEED)
    signal, _ = _call([("speech", 6), ("music", 15), ("speech", 6)], rng)
    stretches = scan_audio([signal], 10).music_stretches
    assert len(stretches) == 1
    quiet = without_music(signal, stretches)
    a, b = (int(s * SAMPLE_RATE) for s in stretches[0])
    assert not quiet[a:b].any() and np.array_equal(quiet[:a], signal[:a]) and signal[a:b].any()


def test_holds_in_txt_and_srt() -> None:
    transcript = Transcript(
        call_id="c",
        turns=[
            Turn("left", "agent", "Let me put you on hold.", 1.0, 3.0),
            Turn("left", "agent", "Thanks for holding.", 75.5, 77.0),
        ],
        events=[Event("hold", "music", 3.5, 75.2, 1)],
    )
    assert to_txt(transcript).splitlines() == [
        "[00:00:01] Agent: Let me put you on hold.",
        "[hold: music 0:04-1:15]",
        "[00:01:15] Agent: Thanks for holding.",
    ]
    assert "2\n00:00:03,500 --> 00:01:15,200\n[hold: music 0:04-1:15]\n" in to_srt(transcript)


# --------------------------------------------------------------------------- real audio, made with sox


def _sox(*args: object) -> None:
    sox = shutil.which("sox")
    assert sox, "sox is needed to synthesise hold music (make system-deps, or apt-get install sox)"
    subprocess.run([sox, *map(str, args)], check=True, capture_output=True)


def _synth_music(path: Path, seconds: float, style: str) -> None:
    """Hold music: a chord progression, plucked arpeggios over a pad ("pluck") or held chords with
    tremolo ("organ"), squeezed into the telephone band through 8 kHz."""
    work = path.parent / f"{path.stem}-parts"
    work.mkdir()
    chords = [
        ("C4", "E4", "G4"),
        ("A3", "C4", "E4"),
        ("F3", "A3", "C4"),
        ("G3", "B3", "D4"),
        ("E4", "G4", "B4"),
    ]
    bars = []
    for i, notes in enumerate(chords):
        voices = []
        for k, note in enumerate(notes):
            voice = work / f"{i}-{k}.wav"
            if style == "pluck":
                _sox("-n", "-r", SAMPLE_RATE, "-c", 1, voice, "synth", 1.6, "pluck", note, "delay", 0.2 * k)
            else:
                _sox("-n", "-r", SAMPLE_RATE, "-c", 1, voice, "synth", 2.0, "sine", note, "vol", 0.5)
            voices.append(voice)
        if style == "pluck":
            pad = work / f"{i}-pad.wav"
            _sox("-n", "-r", SAMPLE_RATE, "-c", 1, pad, "synth", 1.6, "triangle", notes[0], "vol", 0.3)
            voices.append(pad)
        bar = work / f"bar{i}.wav"
        effects = ["trim", 0, 1.6] if style == "pluck" else ["fade", "t", 0.1, 2.0, 0.1, "tremolo", 5, 30]
        _sox("-m", *voices, bar, *effects)
        bars.append(bar)
    loop = work / "loop.wav"
    _sox(*bars, loop)
    narrow = work / "narrow.wav"
    _sox(*[loop] * int(np.ceil(seconds / 8) + 1), "-r", 8000, narrow, "trim", 0, seconds, "sinc", "300-3400")
    _sox(narrow, "-r", SAMPLE_RATE, "-b", 16, path, "norm", -14)


def _synth_line_noise(path: Path, seconds: float) -> None:
    """A quiet line: band-limited pink noise around -65 dBFS, as a held call's dead air sounds."""
    _sox(
        "-n",
        "-r",
        SAMPLE_RATE,
        "-c",
        1,
        "-b",
        16,
        path,
        "synth",
        seconds,
        "pinknoise",
        "sinc",
        "300-3400",
        "vol",
        0.005,
    )


def _read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path)) as f:
        assert f.getframerate() == SAMPLE_RATE and f.getnchannels() == 1
        return np.frombuffer(f.readframes(f.getnframes()), dtype="<i2").astype(np.float32) / 32768


def _write_wav(path: Path, channels: list[np.ndarray]) -> Path:
    n = min(len(c) for c in channels)
    data = np.stack([c[:n] for c in channels], axis=1)
    with wave.open(str(path), "wb") as f:
        f.setnchannels(len(channels))
        f.setsampwidth(2)
        f.setframerate(SAMPLE_RATE)
        f.writeframes((np.clip(data, -1, 1) * 32767).astype("<i2").tobytes())
    return path


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Music (25 s plucked, 20 s organ) and 30 s of line noise, made once for the module."""
    folder = tmp_path_factory.mktemp("holds")
    _synth_music(folder / "pluck.wav", 25, "pluck")
    _synth_music(folder / "organ.wav", 20, "organ")
    _synth_line_noise(folder / "line.wav", 30)
    return folder


# pyannote-sample: Diane's turn ends at 21.5 s, Sheila answers at 21.9 s ("Well, there isn't that much
# difference"); the hold goes in between.
SAMPLE_INSERT_S = 21.7


def _with_insert(folder: Path, insert: str, name: str) -> tuple[Path, float]:
    sample = _read_wav(shared_path("data", "audio", "pyannote-sample", "sample.wav"))
    at = int(SAMPLE_INSERT_S * SAMPLE_RATE)
    filling = _read_wav(folder / insert)
    out = np.concatenate([sample[:at], filling, sample[at:]])
    return _write_wav(folder / name, [out]), len(filling) / SAMPLE_RATE


def _assert_one_hold(transcript: Transcript, source: str, start: float, end: float) -> Event:
    assert [e.source for e in transcript.events] == [source], transcript.events
    hold = transcript.events[0]
    assert hold.kind == "hold"
    assert abs(hold.start - start) <= TOLERANCE_S, (hold, start)
    assert abs(hold.end - end) <= TOLERANCE_S, (hold, end)
    turns = transcript.turns
    assert hold.turn is not None and 0 < hold.turn < len(turns)
    assert turns[hold.turn - 1].start < hold.start <= turns[hold.turn].start  # the first turn after it
    for turn in turns:  # no word is left inside the hold
        assert all(w.end <= hold.start + 0.3 or w.start >= hold.end - 0.3 for w in turn.words), turn.text
    return hold


def test_music_put_into_a_real_call_is_one_hold(speech_pipeline, made: Path) -> None:
    path, seconds = _with_insert(made, "pluck.wav", "with-music.wav")
    transcript = speech_pipeline.transcribe_file(path)
    hold = _assert_one_hold(transcript, "music", SAMPLE_INSERT_S, SAMPLE_INSERT_S + seconds)
    assert "difference" in transcript.turns[hold.turn].text  # Sheila resumes the call
    assert "[hold: music 0:2" in to_txt(transcript)


def test_silence_put_into_a_real_call_is_one_hold(speech_pipeline, made: Path) -> None:
    path, seconds = _with_insert(made, "line.wav", "with-silence.wav")
    transcript = speech_pipeline.transcribe_file(path)
    hold = _assert_one_hold(transcript, "silence", SAMPLE_INSERT_S, SAMPLE_INSERT_S + seconds)
    assert "difference" in transcript.turns[hold.turn].text


def test_the_untouched_call_has_no_hold(speech_pipeline) -> None:
    transcript = speech_pipeline.transcribe_file(
        shared_path("data", "audio", "pyannote-sample", "sample.wav")
    )
    assert transcript.events == []
    assert Transcript.from_dict(transcript.to_dict()).events == []


# SpokenWOZ MUL1011 (left = customer, right = agent): from 25 s to 70 s; the customer's turn ends at
# 44.5 s and the agent answers at 45.5 s. The agent's line plays music there, the customer's is quiet.
WOZ_FROM_S, WOZ_TO_S, WOZ_INSERT_S = 25.0, 70.0, 45.0


def test_music_on_the_agent_line_of_a_real_stereo_call(speech_pipeline, made: Path) -> None:
    decoded = decode(shared_path("data", "audio", "spokenwoz", "MUL1011.opus"), rate=SAMPLE_RATE)
    left, right = (ch[int(WOZ_FROM_S * SAMPLE_RATE) : int(WOZ_TO_S * SAMPLE_RATE)] for ch in decoded.samples)
    music = _read_wav(made / "organ.wav")
    at = int((WOZ_INSERT_S - WOZ_FROM_S) * SAMPLE_RATE)
    quiet = _read_wav(made / "line.wav")[: len(music)] * 0.5
    path = _write_wav(
        made / "woz-with-music.wav",
        [np.concatenate([left[:at], quiet, left[at:]]), np.concatenate([right[:at], music, right[at:]])],
    )
    transcript = speech_pipeline.transcribe_file(path)
    assert transcript.diarisation["method"] == "channel"
    start = WOZ_INSERT_S - WOZ_FROM_S
    hold = _assert_one_hold(transcript, "music", start, start + len(music) / SAMPLE_RATE)
    assert transcript.turns[hold.turn].speaker == "right"  # the agent comes back
