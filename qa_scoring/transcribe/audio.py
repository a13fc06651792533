"""Read a recording of any common container into 16 kHz float32 channels, or say clearly why not.

Everything downstream (Silero VAD, Whisper, pyannote) wants 16 kHz mono float32, but the channel
layout carries the diarisation for stereo calls, so channels are kept apart here and only mixed
when they carry the same signal. Bad input is common in a nightly batch (truncated uploads, empty
files, dead lines), so each failure is an :class:`AudioError` that names the file and the reason,
and the caller can carry on with the other calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

SAMPLE_RATE = 16000
# Shorter than this cannot hold a greeting, let alone a call; Whisper also hallucinates on slivers.
MIN_DURATION_S = 1.0
# Peak below -60 dBFS: a dead line or a muted recorder, nothing to transcribe.
SILENCE_PEAK = 10 ** (-60 / 20)


class AudioError(ValueError):
    """A recording that cannot be used. ``str()`` is one line: ``<file>: <reason>``."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


@dataclass
class Audio:
    """Decoded recording: one 16 kHz float32 array per source channel (at most two)."""

    path: str
    channels: list[np.ndarray]
    source_rate: int
    source_channels: int
    codec: str

    @property
    def duration(self) -> float:
        return len(self.channels[0]) / SAMPLE_RATE

    @property
    def mono(self) -> np.ndarray:
        """The mix of all channels, for ASR and diarisation of a single-stream call."""
        if len(self.channels) == 1:
            return self.channels[0]
        return np.mean(np.stack(self.channels), axis=0).astype(np.float32)


def load_audio(
    path: str | Path,
    min_duration: float = MIN_DURATION_S,
    max_duration: float | None = None,
    max_bytes: int | None = None,
) -> Audio:
    """Decode ``path`` to 16 kHz float32, one array per channel (more than two channels are mixed).

    Raises :class:`AudioError` for a missing, empty, unreadable, too-short, too-long, too-large or
    silent file. The size and duration limits are checked before decoding, so a runaway file
    cannot fill a worker's memory.
    """
    path = Path(path)
    if not path.exists():
        raise AudioError(path, "no such file")
    if path.is_dir():
        raise AudioError(path, "is a directory, not a recording")
    if path.stat().st_size == 0:
        raise AudioError(path, "empty file (0 bytes)")
    if max_bytes is not None and path.stat().st_size > max_bytes:
        raise AudioError(
            path, f"too large ({path.stat().st_size / 1e6:.0f} MB; limit {max_bytes / 1e6:.0f} MB)"
        )
    audio = _decode(path, max_duration)
    if audio.duration == 0:
        raise AudioError(path, "contains no audio samples")
    if max_duration is not None and audio.duration > max_duration:
        raise AudioError(path, f"too long ({audio.duration:.0f} s; limit {max_duration:.0f} s)")
    if audio.duration < min_duration:
        raise AudioError(path, f"too short ({audio.duration:.2f} s; at least {min_duration:g} s needed)")
    peak = max(float(np.max(np.abs(ch))) for ch in audio.channels)
    if peak < SILENCE_PEAK:
        level = 20 * np.log10(peak) if peak > 0 else float("-inf")
        raise AudioError(path, f"silent (peak level {level:.0f} dBFS)")
    return audio


@dataclass
class Decoded:
    """All samples of a recording's first audio stream, as float32 ``(channels, samples)`` at ``rate``."""

    samples: np.ndarray
    rate: int
    source_rate: int
    source_channels: int
    codec: str


def decode(
    path: str | Path,
    rate: int | None = None,
    max_channels: int | None = None,
    max_duration: float | None = None,
) -> Decoded:
    """Decode with PyAV (FFmpeg), resampled to ``rate`` (None: the source's own rate).

    The one decoder for the speech pipeline and the redacted copy, so both accept the same files:
    a truncated or junk-padded tail is common in recorders, so what decoded before it is kept and
    the file fails only when nothing decoded. More channels than ``max_channels`` are mixed to mono.
    """
    try:
        container = av.open(str(path), metadata_errors="ignore")
    except av.FFmpegError as exc:
        raise AudioError(path, f"not a readable audio file ({_ffmpeg_reason(exc)})") from None
    with container:
        streams = container.streams.audio
        if not streams:
            raise AudioError(path, "has no audio stream")
        stream = streams[0]
        declared = container.duration / av.time_base if container.duration else None
        if max_duration is not None and declared is not None and declared > max_duration:
            raise AudioError(path, f"too long ({declared:.0f} s; limit {max_duration:.0f} s)")
        source_channels = int(stream.codec_context.channels or 1)
        source_rate = int(stream.codec_context.sample_rate or 0)
        if source_channels == 1 or (max_channels is not None and source_channels > max_channels):
            layout = "mono"
        elif source_channels == 2:
            layout = "stereo"
        else:
            layout = stream.codec_context.layout.name
        out_rate = rate or source_rate
        if out_rate <= 0:
            raise AudioError(path, "has no sample rate")
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=out_rate)
        chunks: list[np.ndarray] = []
        try:
            for frame in container.decode(stream):
                frame.pts = None  # the resampler re-times; odd source timestamps must not stall it
                chunks.extend(out.to_ndarray() for out in resampler.resample(frame))
        except av.FFmpegError as exc:
            if not chunks:
                raise AudioError(path, f"not a readable audio file ({_ffmpeg_reason(exc)})") from None
        chunks.extend(out.to_ndarray() for out in resampler.resample(None))
        n_out = 1 if layout == "mono" else (2 if layout == "stereo" else source_channels)
        data = np.concatenate(chunks, axis=1) if chunks else np.zeros((n_out, 0), dtype=np.float32)
        return Decoded(
            samples=np.ascontiguousarray(data, dtype=np.float32),
            rate=out_rate,
            source_rate=source_rate,
            source_channels=source_channels,
            codec=stream.codec_context.name,
        )


def _decode(path: Path, max_duration: float | None = None) -> Audio:
    """16 kHz, at most two channels: what VAD, Whisper and pyannote take."""
    decoded = decode(path, rate=SAMPLE_RATE, max_channels=2, max_duration=max_duration)
    return Audio(
        path=str(path),
        channels=list(decoded.samples),
        source_rate=decoded.source_rate,
        source_channels=decoded.source_channels,
        codec=decoded.codec,
    )


def _ffmpeg_reason(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or str(exc)


def frame_levels_db(signal: np.ndarray, frame_s: float = 0.02) -> np.ndarray:
    """RMS level per frame in dBFS; the common currency of the energy checks (silence, bleed)."""
    hop = int(SAMPLE_RATE * frame_s)
    n = len(signal) // hop
    if n == 0:
        return np.zeros(0, dtype=np.float32)
    frames = signal[: n * hop].reshape(n, hop).astype(np.float64)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    return (20 * np.log10(np.maximum(rms, 1e-7))).astype(np.float32)


def channels_identical(left: np.ndarray, right: np.ndarray, threshold: float = 0.98) -> bool:
    """Whether two channels carry the same signal (a mono call saved as stereo).

    Uses the correlation of the samples: near 1 for a duplicated (or duplicated and rescaled)
    channel, low for two parties on separate lines even with some bleed, which is attenuated,
    filtered and mixed with the other party's own speech.
    """
    n = min(len(left), len(right))
    a = left[:n].astype(np.float64)
    b = right[:n].astype(np.float64)
    a -= a.mean()
    b -= b.mean()
    denom = np.sqrt(np.dot(a, a) * np.dot(b, b))
    if denom == 0:
        return bool(np.dot(a, a) == np.dot(b, b))
    if np.dot(a, b) / denom >= threshold:
        return True
    return envelopes_match(left[:n], right[:n])


def envelopes_match(left: np.ndarray, right: np.ndarray, max_diff_db: float = 3.0) -> bool:
    """Whether both channels rise and fall together: the same call recorded twice, perhaps shifted by a
    few samples or through different filters, which defeats a sample correlation. Two parties on
    separate lines take turns, so their level envelopes differ by tens of dB most of the time.
    """
    la, lb = frame_levels_db(left), frame_levels_db(right)
    la, lb = la - np.percentile(la, 95), lb - np.percentile(lb, 95)
    active = (la > -30) | (lb > -30)
    if active.sum() < 10:
        return False
    return bool(np.median(np.abs(la[active] - lb[active])) < max_diff_db)


def is_silent(signal: np.ndarray) -> bool:
    return len(signal) == 0 or float(np.max(np.abs(signal))) < SILENCE_PEAK
