"""Holds found in the audio: hold music, or a long silence on every channel, with nobody speaking.

Most calls never say "[on hold]" in the text, but the recording shows a hold plainly: either music
plays (the line is speech-free yet far from silent) or nobody makes a sound for a long time. This
module marks both from what the pipeline already has - the decoded signal and the recognised words
of every party - and returns them as :class:`~qa_scoring.transcript.Event` s for the transcript.

Telling music from speech and from line noise takes one cheap spectral cue on top of the level:
music holds its notes, so the short-time spectrum barely changes from one 20 ms frame to the next
(an energy-weighted spectral flux of 0.5-2.5 dB on synthesised music, also through a GSM codec with
added line noise), while speech glides between formants and pitches (4.5-9 dB on the real calls in
the test data) and noise is random from frame to frame (5-6 dB). Music is also continuous: it seldom
drops to the noise floor, which speech does between phrases. Both are judged over 2-second
windows, against the recording's own noise floor and speech level, never absolute levels.

Whisper tends to write something over music ("Thank you.", "♪"): such words have low probability or
no letters at all, and inside a music stretch they are dropped, so they neither form turns nor cut
the hold in two. Words the recogniser is sure of are kept (an agent speaking over fading music).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import binary_closing, median_filter, uniform_filter1d

from qa_scoring.transcribe.assign import LabelledWord
from qa_scoring.transcribe.audio import SAMPLE_RATE, frame_levels_db
from qa_scoring.transcript import Event, EventSource, Turn

FRAME_S = 0.02
HOP = int(SAMPLE_RATE * FRAME_S)
FFT_SIZE = 512  # 32 ms: resolves the harmonics of a held note at 16 kHz
BAND_HZ = (250.0, 3500.0)  # the telephone band, where any call recording has content
WINDOW_S = 2.0  # the stretch over which "steady and continuous" is judged
EDGE_FRAMES = 11  # a music stretch's edges are placed at this resolution (0.22 s) once it is found
# Music: median energy-weighted spectral flux in the window below this (dB; see the module doc).
MAX_MUSIC_FLUX_DB = 3.0
# Music: at least this share of the window's frames above the music level (speech pauses, music does not).
MIN_MUSIC_CONTINUITY = 0.9
# The music level: this far above the noise floor, and no more than MUSIC_BELOW_SPEECH_DB under the
# recording's speech level (hold music is played at a level a caller can hear).
MUSIC_ABOVE_FLOOR_DB = 15.0
MUSIC_BELOW_SPEECH_DB = 35.0
# Silence: under the noise floor plus this margin (as the ASR's silence gate judges it), or at least
# SILENCE_BELOW_SPEECH_DB under the speech level where the floor is digital zero.
SILENCE_ABOVE_FLOOR_DB = 10.0
SILENCE_BELOW_SPEECH_DB = 40.0
# A word in a music stretch below this probability is taken for the recogniser's invention.
MIN_WORD_PROBABILITY_IN_MUSIC = 0.5
# Gaps this short do not break a music stretch or a silence (a click, a beat between two tunes).
BRIDGE_S = 1.0
# Words hold the floor a little beyond their recognised edges (Whisper's timing is approximate).
WORD_PAD_S = 0.2


@dataclass
class HoldScan:
    """What :func:`find_holds` found: the holds (``turn`` still unset) and the words to build turns from."""

    events: list[Event]
    words: list[LabelledWord]
    dropped: int  # words taken for hallucinations over music


@dataclass
class _Levels:
    """Per-frame level of one signal, with its noise floor and speech level (dBFS)."""

    db: np.ndarray
    floor: float
    loud: float

    @classmethod
    def of(cls, signal: np.ndarray) -> _Levels:
        db = frame_levels_db(signal, FRAME_S)
        if len(db) == 0:
            return cls(db, -140.0, -140.0)
        return cls(db, float(np.percentile(db, 10)), float(np.percentile(db, 95)))

    @property
    def music_threshold(self) -> float:
        return max(self.floor + MUSIC_ABOVE_FLOOR_DB, self.loud - MUSIC_BELOW_SPEECH_DB)

    @property
    def silence_threshold(self) -> float:
        quiet = max(self.floor + SILENCE_ABOVE_FLOOR_DB, self.loud - SILENCE_BELOW_SPEECH_DB)
        return min(quiet, (self.floor + self.loud) / 2)  # never above speech on a quiet line


def spectral_flux_db(signal: np.ndarray, chunk_frames: int = 4096) -> np.ndarray:
    """Per 20 ms frame: how much the log spectrum changed since the previous frame, weighted by energy.

    Weighting by each bin's share of the frame's energy makes the measure follow the notes (or
    formants) rather than the noise between them. Computed in chunks so a long call never holds a
    full spectrogram in memory.
    """
    n = (len(signal) - FFT_SIZE) // HOP + 1
    if n <= 1:
        return np.zeros(max(n, 0), dtype=np.float32)
    freqs = np.fft.rfftfreq(FFT_SIZE, 1 / SAMPLE_RATE)
    band = (freqs >= BAND_HZ[0]) & (freqs <= BAND_HZ[1])
    window = np.hanning(FFT_SIZE).astype(np.float32)
    flux = np.zeros(n, dtype=np.float32)
    previous: np.ndarray | None = None
    offsets = np.arange(FFT_SIZE)[None, :]
    for first in range(0, n, chunk_frames):
        starts = HOP * np.arange(first, min(n, first + chunk_frames))[:, None]
        power = np.abs(np.fft.rfft(signal[starts + offsets] * window, axis=1))[:, band] ** 2 + 1e-10
        log = 10 * np.log10(power)
        if previous is not None:
            log_prev = np.vstack([previous, log[:-1]])
        else:
            log_prev = np.vstack([log[:1], log[:-1]])
        share = power / power.sum(axis=1, keepdims=True)
        flux[first : first + len(log)] = (np.abs(log - log_prev) * share).sum(axis=1)
        previous = log[-1:]
    return flux


def music_mask(signal: np.ndarray, levels: _Levels | None = None) -> np.ndarray:
    """Per frame: whether the 2 s around it sound like music (steady spectrum, continuous, audible)."""
    levels = levels or _Levels.of(signal)
    flux = spectral_flux_db(signal)
    n = min(len(flux), len(levels.db))
    if n == 0:
        return np.zeros(len(levels.db), dtype=bool)
    width = int(WINDOW_S / FRAME_S)
    audible = (levels.db[:n] > levels.music_threshold).astype(np.float32)
    continuous = uniform_filter1d(audible, width, mode="nearest") >= MIN_MUSIC_CONTINUITY
    steady = median_filter(flux[:n], size=width, mode="nearest") < MAX_MUSIC_FLUX_DB
    mask = np.zeros(len(levels.db), dtype=bool)
    mask[:n] = continuous & steady
    # A centred window starts deciding "music" up to half a window late (and stops as late):
    # move each edge to where the frames themselves stop sounding like music.
    local = np.zeros(len(levels.db), dtype=bool)
    steady_here = median_filter(flux[:n], size=EDGE_FRAMES, mode="nearest") < MAX_MUSIC_FLUX_DB
    local[:n] = (audible > 0) & steady_here
    reach = width // 2
    for a, b in _runs(mask[:n]):
        lo = a
        while lo > max(0, a - reach) and local[lo - 1]:
            lo -= 1
        hi = b
        while hi < min(n, b + reach) and local[hi]:
            hi += 1
        mask[lo:a] = True
        mask[b:hi] = True
        tail = max(a, b - reach)
        mask[tail:b] &= local[tail:b]  # trim a tail that ran on into speech
    return mask


def silence_mask(channels: Sequence[np.ndarray]) -> np.ndarray:
    """Per frame: whether every channel is at its own noise floor (a short click does not count)."""
    masks = []
    for ch in channels:
        levels = _Levels.of(ch)
        masks.append(levels.db < levels.silence_threshold)
    n = min(len(m) for m in masks)
    quiet = np.logical_and.reduce([m[:n] for m in masks]).astype(np.uint8)
    return median_filter(quiet, size=int(0.5 / FRAME_S) | 1, mode="nearest").astype(bool)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(first, end) frame index pairs of the True runs in ``mask``."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))


def _bridge(mask: np.ndarray, seconds: float) -> np.ndarray:
    size = int(seconds / FRAME_S)
    if size < 2 or not mask.any():
        return mask
    # pad so that closing does not eat runs touching the edges
    padded = np.pad(mask, size, mode="edge")
    return binary_closing(padded, structure=np.ones(size, dtype=bool))[size:-size]


def _frames(start: float, end: float, n: int) -> slice:
    return slice(max(0, int(start / FRAME_S)), min(n, int(np.ceil(end / FRAME_S))))


def _is_invented(word_text: str, probability: float) -> bool:
    return probability < MIN_WORD_PROBABILITY_IN_MUSIC or not any(ch.isalnum() for ch in word_text)


@dataclass
class AudioScan:
    """Per-frame music and silence of a recording, judged from the signal alone (no words needed).

    Made once per call, before recognition, so the diariser can be spared the music (hold music
    clustered as a "speaker" takes one of the expected speakers away from the real parties).
    """

    music: np.ndarray  # music-like frames, short gaps bridged
    quiet: np.ndarray  # frames at the noise floor on every channel
    min_music_s: float

    @property
    def music_stretches(self) -> list[tuple[float, float]]:
        """(start, end) seconds of music lasting at least ``min_music_s``."""
        if self.min_music_s <= 0:
            return []
        return [
            (a * FRAME_S, b * FRAME_S) for a, b in _runs(self.music) if (b - a) * FRAME_S >= self.min_music_s
        ]


def scan_audio(channels: Sequence[np.ndarray], min_music_s: float) -> AudioScan:
    """Music (on the mix of the channels: it may play on one line only) and silence (on every channel)."""
    mix = channels[0] if len(channels) == 1 else np.mean(np.stack(channels), axis=0)
    levels = _Levels.of(mix)
    n = len(levels.db)
    music = _bridge(music_mask(mix, levels), BRIDGE_S) if min_music_s > 0 else np.zeros(n, dtype=bool)
    quiet = silence_mask(channels)[:n]
    return AudioScan(music, np.pad(quiet, (0, n - len(quiet))), min_music_s)


def without_music(signal: np.ndarray, stretches: Sequence[tuple[float, float]]) -> np.ndarray:
    """``signal`` with the music stretches zeroed (a copy; the signal itself is left as it is)."""
    if not stretches:
        return signal
    out = signal.copy()
    for start, end in stretches:
        out[int(start * SAMPLE_RATE) : int(end * SAMPLE_RATE)] = 0.0
    return out


def find_holds(scan: AudioScan, words: Sequence[LabelledWord], min_silence_s: float) -> HoldScan:
    """Holds in a call from its audio scan and every party's recognised words.

    A hold is a stretch with no (kept) word of any party made of music and/or silence: ``music``
    when it holds at least ``scan.min_music_s`` of music, else ``silence`` when it lasts at least
    ``min_silence_s`` (a limit of 0 or less turns that source off).
    """
    n = len(scan.music)
    # Words in a long music stretch that the recogniser was unsure of are its inventions.
    in_music = np.zeros(n, dtype=bool)
    for start, end in scan.music_stretches:
        in_music[_frames(start, end, n)] = True
    kept: list[LabelledWord] = []
    for word, speaker in words:
        span = in_music[_frames(word.start, word.end, n)]
        if len(span) and span.mean() >= 0.5 and _is_invented(word.text, word.probability):
            continue
        kept.append((word, speaker))
    speech = np.zeros(n, dtype=bool)
    for word, _ in kept:
        speech[_frames(word.start - WORD_PAD_S, word.end + WORD_PAD_S, n)] = True
    candidate = _bridge((scan.music | scan.quiet) & ~speech, BRIDGE_S) & ~speech
    events: list[Event] = []
    for a, b in _runs(candidate):
        duration = (b - a) * FRAME_S
        music_s = float(scan.music[a:b].sum()) * FRAME_S
        if scan.min_music_s > 0 and music_s >= scan.min_music_s:
            source: EventSource = "music"
        elif min_silence_s > 0 and duration >= min_silence_s and scan.quiet[a:b].mean() >= 0.5:
            source = "silence"
        else:
            continue
        events.append(Event("hold", source, round(a * FRAME_S, 3), round(b * FRAME_S, 3)))
    return HoldScan(events, kept, len(words) - len(kept))


def place_holds(events: Sequence[Event], turns: Sequence[Turn]) -> list[Event]:
    """The holds that lie between two turns, each with ``turn`` set to the first turn after it.

    Music or silence before the first word is the queue or the ringing, and after the last word a
    line left open: neither is a hold the agent placed, so both are left out.
    """
    placed = []
    for event in events:
        assert event.start is not None and event.end is not None
        after = next((i for i, t in enumerate(turns) if t.start is not None and t.start >= event.start), None)
        if after is None or after == 0:
            continue
        event.turn = after
        placed.append(event)
    return placed
