"""Decoding of every common container, rate and layout, and a clear error for each kind of bad input."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import soundfile as sf
from conftest import shared_path

from qa_scoring.transcribe.audio import SAMPLE_RATE, AudioError, channels_identical, load_audio
from qa_scoring.transcribe.pipeline import detect_layout


def tone_pair(rate: int, seconds: float = 2.0) -> np.ndarray:
    """Two different signals (440 Hz left, 1 kHz bursts right), shape (samples, 2)."""
    t = np.arange(int(rate * seconds)) / rate
    left = 0.3 * np.sin(2 * np.pi * 440 * t)
    right = 0.3 * np.sin(2 * np.pi * 1000 * t) * (np.sin(2 * np.pi * 1.5 * t) > 0)
    return np.stack([left, right], axis=1).astype(np.float32)


def encode(path: Path, codec: str, data: np.ndarray, rate: int) -> Path:
    """Write ``data`` (samples, channels) with FFmpeg through PyAV, the way recorders would."""
    channels = data.shape[1]
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate, layout="stereo" if channels == 2 else "mono")
        fmt = stream.codec_context.codec.audio_formats[0].name
        frame_size = stream.codec_context.frame_size or 1024
        pcm = np.clip(data, -1, 1)
        for offset in range(0, len(pcm), frame_size):
            chunk = pcm[offset : offset + frame_size]
            if fmt.startswith("s16"):
                arr = (chunk * 32767).astype(np.int16)
            elif fmt.startswith("s32"):
                arr = (chunk * 2147483647).astype(np.int32)
            else:
                arr = chunk.astype(np.float32)
            arr = arr.T.copy() if fmt.endswith("p") else arr.reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(arr, format=fmt, layout="stereo" if channels == 2 else "mono")
            frame.sample_rate = rate
            frame.pts = offset
            frame.time_base = Fraction(1, rate)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


@pytest.mark.parametrize(
    ("suffix", "codec", "rate", "decoded_rate"),
    [
        (".mp3", "libmp3lame", 8000, 8000),
        (".flac", "flac", 44100, 44100),
        (".ogg", "libopus", 48000, 48000),
        (".opus", "libopus", 24000, 48000),  # Opus always decodes at 48 kHz
        (".m4a", "aac", 16000, 16000),
        (".wav", "pcm_s16le", 11025, 11025),
        (".mp3", "libmp3lame", 44100, 44100),
    ],
)
def test_containers_decode_to_16k_stereo(
    tmp_path: Path, suffix: str, codec: str, rate: int, decoded_rate: int
) -> None:
    path = encode(tmp_path / f"call{suffix}", codec, tone_pair(rate), rate)
    audio = load_audio(path)
    assert audio.source_channels == 2
    assert audio.source_rate == decoded_rate
    assert len(audio.channels) == 2 and all(ch.dtype == np.float32 for ch in audio.channels)
    assert audio.duration == pytest.approx(2.0, abs=0.1)  # codec priming may add a few ms
    # The 440 Hz tone stays on the left: its spectrum peaks at 440 Hz after resampling.
    spectrum = np.abs(np.fft.rfft(audio.channels[0][:SAMPLE_RATE]))
    assert np.argmax(spectrum) == pytest.approx(440, abs=3)
    assert not channels_identical(*audio.channels)
    assert detect_layout(audio).by_channel


@pytest.mark.parametrize("rate", [8000, 11025, 16000, 44100, 48000])
def test_wav_mono_any_rate(tmp_path: Path, rate: int) -> None:
    path = tmp_path / "mono.wav"
    sf.write(path, tone_pair(rate, 1.5)[:, 0], rate, subtype="PCM_16")
    audio = load_audio(path)
    assert len(audio.channels) == 1
    assert len(audio.channels[0]) == pytest.approx(1.5 * SAMPLE_RATE, abs=32)
    assert not detect_layout(audio).by_channel


def test_narrowband_8k_keeps_level(tmp_path: Path) -> None:
    """Upsampling 8 kHz must not lose level (the VAD and the silence gate work on levels)."""
    path = tmp_path / "narrow.wav"
    sf.write(path, tone_pair(8000, 2.0)[:, 0], 8000, subtype="PCM_16")
    rms = float(np.sqrt(np.mean(load_audio(path).channels[0][1000:-1000] ** 2)))
    assert rms == pytest.approx(0.3 / np.sqrt(2), rel=0.05)


def test_duplicated_channels_are_mono(tmp_path: Path) -> None:
    data = tone_pair(8000)[:, :1]
    path = tmp_path / "dup.wav"
    sf.write(path, np.concatenate([data, 0.8 * data], axis=1), 8000, subtype="PCM_16")
    audio = load_audio(path)
    assert audio.source_channels == 2
    layout = detect_layout(audio)
    assert not layout.by_channel and "same signal" in layout.note


def test_shifted_copy_is_mono(tmp_path: Path) -> None:
    """The same signal a few samples apart (two taps of one line) is still one mixed stream."""
    rng = np.random.default_rng(5)
    speech = tone_pair(16000, 3.0)[:, 1] + 0.05 * rng.standard_normal(48000).astype(np.float32)
    shifted = np.concatenate([np.zeros(7, dtype=np.float32), speech[:-7]])
    path = tmp_path / "taps.wav"
    sf.write(path, np.stack([speech, 0.7 * shifted], axis=1), 16000, subtype="PCM_16")
    assert not detect_layout(load_audio(path)).by_channel


def test_one_silent_channel_is_mono(tmp_path: Path) -> None:
    data = tone_pair(8000)
    data[:, 1] = 0
    path = tmp_path / "half.wav"
    sf.write(path, data, 8000, subtype="PCM_16")
    layout = detect_layout(load_audio(path))
    assert not layout.by_channel and "silent right" in layout.note


def test_real_files_layout() -> None:
    jfk = load_audio(shared_path("data", "audio", "faster-whisper", "jfk.flac"))
    assert jfk.source_rate == 44100 and jfk.source_channels == 2
    assert not detect_layout(jfk).by_channel  # a mono speech saved as stereo
    woz = load_audio(shared_path("data", "audio", "spokenwoz", "MUL1011.opus"))
    assert detect_layout(woz).by_channel
    call = load_audio(shared_path("data", "audio", "real-calls", "1755884171.51632_EN_Support_Billing.mp3"))
    assert call.source_rate == 8000 and len(call.channels) == 1
    assert call.duration == pytest.approx(836.2, abs=1.0)


# ----------------------------------------------------------------------------------------------- bad input


def assert_refused(path: Path, message: str, **limits: float) -> None:
    """``load_audio`` refuses the file: an AudioError whose text (naming the file) matches ``message``."""
    with pytest.raises(AudioError, match=message):
        load_audio(path, **limits)


def test_missing_file(tmp_path: Path) -> None:
    assert_refused(tmp_path / "nope.wav", r"nope\.wav: no such file")


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp3"
    path.write_bytes(b"")
    assert_refused(path, r"empty\.mp3: empty file")


def test_corrupt_bytes(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.wav"
    path.write_bytes(np.random.default_rng(1).bytes(4000))
    assert_refused(path, r"corrupt\.wav: not a readable audio file")


def test_zero_length_audio(tmp_path: Path) -> None:
    path = tmp_path / "zero.wav"
    sf.write(path, np.zeros((0, 1), dtype=np.float32), 8000, subtype="PCM_16")
    assert_refused(path, r"zero\.wav: contains no audio samples")


def test_too_short(tmp_path: Path) -> None:
    path = tmp_path / "blip.wav"
    sf.write(path, tone_pair(8000, 0.3)[:, 0], 8000, subtype="PCM_16")
    assert_refused(path, r"blip\.wav: too short \(0\.30 s")


def test_silent(tmp_path: Path) -> None:
    path = tmp_path / "dead.flac"
    sf.write(path, np.zeros((16000 * 3, 2), dtype=np.float32), 16000)
    assert_refused(path, r"dead\.flac: silent")


def test_too_long_and_too_large(tmp_path: Path) -> None:
    path = tmp_path / "long.wav"
    sf.write(path, tone_pair(8000, 3.0)[:, 0], 8000, subtype="PCM_16")
    assert_refused(path, r"long\.wav: too long", max_duration=2.0)
    assert_refused(path, r"long\.wav: too large", max_bytes=1000)


def test_text_file_is_not_audio(tmp_path: Path) -> None:
    path = tmp_path / "notes.m4a"
    path.write_text("this is not audio\n" * 50)
    assert_refused(path, r"notes\.m4a: not a readable audio file")


def test_junk_after_the_last_frame_is_tolerated_by_transcription_and_redaction(tmp_path):
    """Recorders often pad or truncate the tail; both readers of a recording must accept the same files."""
    from qa_scoring.redact.audio import decode_native

    source = Path(__file__).parents[1] / "samples" / "calls" / "energy-meter-reading.mp3"
    padded = tmp_path / "padded.mp3"
    padded.write_bytes(source.read_bytes() + b"\0")
    audio = load_audio(padded)
    samples, rate = decode_native(padded)
    assert rate == audio.source_rate == 8000
    assert abs(samples.shape[1] / rate - audio.duration) < 0.1
    assert audio.duration > 55
