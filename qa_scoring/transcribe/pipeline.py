"""From a recording to a :class:`~qa_scoring.transcript.Transcript`: decode, recognise, diarise, name roles.

:class:`SpeechPipeline` is built once per process (the CLI, each batch worker) because loading the
models costs more than a short call; :meth:`SpeechPipeline.transcribe_file` is then called per
call. The pyannote diariser is loaded only when the first mono call needs it, so a contact
centre recording in stereo never pays for it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa_scoring import __version__
from qa_scoring.config import Settings, get_settings
from qa_scoring.transcribe.asr import AsrResult, Recogniser
from qa_scoring.transcribe.assign import (
    LabelledWord,
    assign_words,
    build_turns,
    find_overlaps,
    mark_overlaps,
    segments_from_words,
)
from qa_scoring.transcribe.audio import (
    SAMPLE_RATE,
    Audio,
    AudioError,
    channels_identical,
    is_silent,
    load_audio,
)
from qa_scoring.transcribe.channels import CHANNEL_LABELS, apply_mask, channel_masks, keep_dominant_words
from qa_scoring.transcribe.holds import find_holds, place_holds, scan_audio, without_music
from qa_scoring.transcribe.roles import apply_roles, decide_roles, split_names
from qa_scoring.transcribe.segments import SpeechSegment
from qa_scoring.transcript import Transcript

BLEED_MARGIN_DB = 12.0


@dataclass
class Layout:
    """How the speakers sit in the file: one per channel, or all in one signal."""

    by_channel: bool
    signal: np.ndarray | None  # the single signal to use when not by channel
    note: str


def detect_layout(audio: Audio) -> Layout:
    """Stereo is diarised by channel only when both channels are live and carry different signals."""
    if len(audio.channels) == 1:
        return Layout(False, audio.channels[0], "mono recording")
    left, right = audio.channels
    if channels_identical(left, right):
        return Layout(False, audio.mono, "stereo file with the same signal on both channels")
    silent = [is_silent(ch) for ch in audio.channels]
    if silent[0] or silent[1]:
        live = right if silent[0] else left
        return Layout(False, live, f"stereo file with a silent {'left' if silent[0] else 'right'} channel")
    return Layout(True, None, "one party per channel")


class SpeechPipeline:
    def __init__(self, settings: Settings, recogniser: Recogniser) -> None:
        self.settings = settings
        self.recogniser = recogniser
        self._diariser: Any = None
        # Seconds per stage of the last call (decode, asr, diarise, holds, assemble): for benchmarks
        # and batch logs.
        self.last_timings: dict[str, float] = {}

    @classmethod
    def load(cls, settings: Settings | None = None) -> SpeechPipeline:
        settings = settings or get_settings()
        return cls(settings, Recogniser.load(settings))

    @property
    def diariser(self) -> Any:
        if self._diariser is None:
            from qa_scoring.transcribe.diarise import Diariser

            self._diariser = Diariser.load(self.settings)
        return self._diariser

    def transcribe_file(self, path: str | Path, call_id: str | None = None) -> Transcript:
        """Transcribe one recording. Raises :class:`AudioError` (file + reason) for unusable input."""
        path = Path(path)
        self.last_timings = {"asr": 0.0, "diarise": 0.0}
        started = time.perf_counter()
        audio = load_audio(
            path,
            max_duration=self.settings.max_duration_s,
            max_bytes=int(self.settings.max_file_mb * 1e6),
        )
        layout = detect_layout(audio)
        self.last_timings["decode"] = time.perf_counter() - started
        scanning = time.perf_counter()
        scan = scan_audio(
            audio.channels if layout.by_channel else [layout.signal],
            min_music_s=self.settings.audio_hold_min_music_s,
        )
        self.last_timings["holds"] = time.perf_counter() - scanning
        if layout.by_channel:
            labelled, segments, diarisation = self._by_channel(audio)
        else:
            assert layout.signal is not None
            labelled, segments, diarisation = self._single_signal(layout.signal, scan.music_stretches)
        diarisation["layout"] = layout.note
        if not labelled:
            raise AudioError(path, "no speech recognised")
        scanning = time.perf_counter()
        holds = find_holds(scan, labelled, min_silence_s=self.settings.audio_hold_min_silence_s)
        self.last_timings["holds"] += time.perf_counter() - scanning
        if holds.dropped:
            diarisation["music_words_dropped"] = holds.dropped
            labelled = holds.words
            if not labelled:
                raise AudioError(path, "no speech recognised (only words invented over music)")
            if layout.by_channel:  # the words are the speaker activity there
                segments = segments_from_words(labelled)
        assembling = time.perf_counter()
        turns = build_turns(labelled)
        events = place_holds(holds.events, turns)
        overlaps = find_overlaps(segments)
        mark_overlaps(turns, overlaps)
        decision = decide_roles(
            turns,
            CHANNEL_LABELS if layout.by_channel else None,
            self.settings.channel_roles,
            split_names(self.settings.organisation_names),
        )
        apply_roles(turns, decision)
        self.last_timings["assemble"] = time.perf_counter() - assembling
        return Transcript(
            call_id=call_id or path.stem,
            turns=turns,
            duration=round(audio.duration, 3),
            sample_rate=audio.source_rate,
            channels=audio.source_channels,
            source=str(path),
            language=self.settings.language or None,
            diarisation=diarisation,
            roles=decision.as_dict(),
            models=self._models(diarisation),
            overlaps=overlaps,
            events=events,
        )

    def _by_channel(self, audio: Audio) -> tuple[list[LabelledWord], list[SpeechSegment], dict[str, Any]]:
        levels, masks = channel_masks(audio.channels, BLEED_MARGIN_DB)
        labelled: list[LabelledWord] = []
        dropped = 0
        for c, label in enumerate(CHANNEL_LABELS):
            result = self._recognise(apply_mask(audio.channels[c], masks[c]))
            kept = keep_dominant_words(result.words, c, levels, BLEED_MARGIN_DB)
            dropped += len(result.words) - len(kept)
            labelled.extend((w, label) for w in kept)
        labelled.sort(key=lambda lw: lw[0].start)
        diarisation = {
            "method": "channel",
            "speakers": list(CHANNEL_LABELS),
            "bleed_margin_db": BLEED_MARGIN_DB,
            "bleed_words_dropped": dropped,
        }
        return labelled, segments_from_words(labelled), diarisation

    def _single_signal(
        self, signal: np.ndarray, music: list[tuple[float, float]]
    ) -> tuple[list[LabelledWord], list[SpeechSegment], dict[str, Any]]:
        """ASR, then pyannote on the signal with its hold music silenced (music would be clustered
        as one of the speakers)."""
        result = self._recognise(signal)
        if not result.words:
            return [], [], {"method": "single"}
        if self.settings.num_speakers == 1:
            labelled = [(w, "SPEAKER_00") for w in result.words]
            return labelled, segments_from_words(labelled), {"method": "single", "speakers": ["SPEAKER_00"]}
        diariser = self.diariser  # loading (first mono call only) is not diarisation time
        started = time.perf_counter()
        speakers = self.settings.num_speakers or None
        segments = list(diariser(without_music(signal, music), SAMPLE_RATE, num_speakers=speakers))
        self.last_timings["diarise"] += time.perf_counter() - started
        labelled = assign_words(result.words, segments)
        speakers = sorted({s for _, s in labelled})
        diarisation = {
            "method": "pyannote",
            "num_speakers": self.settings.num_speakers,
            "speakers": speakers,
        }
        return labelled, segments, diarisation

    def _recognise(self, signal: np.ndarray) -> AsrResult:
        started = time.perf_counter()
        result = self.recogniser(signal)
        self.last_timings["asr"] += time.perf_counter() - started
        return result

    def _models(self, diarisation: dict[str, Any]) -> dict[str, Any]:
        import faster_whisper

        models: dict[str, Any] = {
            "asr": {
                "name": self.recogniser.name,
                "version": self.recogniser.version,
                "compute_type": self.recogniser.compute_type,
                "device": self.recogniser.device,
                "beam_size": self.settings.asr_beam_size,
                "condition_on_previous_text": self.settings.asr_condition_on_previous_text,
                "vad": self.settings.asr_vad,
            },
            "software": {"qa-scoring": __version__, "faster-whisper": faster_whisper.__version__},
        }
        if diarisation.get("method") == "pyannote":
            models["diarisation"] = {"name": self.diariser.name, "version": self.diariser.version}
        elif diarisation.get("method") == "channel":
            models["diarisation"] = {"name": "channel-energy", "version": __version__}
        return models
