"""Speech recognition with faster-whisper, set up for narrowband call audio and guarded against hallucination.

The model is loaded once per process (:meth:`Recogniser.load`) and reused for every call and
channel: loading costs more than transcribing a short call. Decoding options are chosen for
calls, not podcasts: Silero VAD to skip holds and dead air, word timestamps for diarisation and
evidence, and post-filters (:mod:`qa_scoring.transcribe.guards`) for what the decoder thresholds let
through. Conditioning on previous text and the VAD preset are settings, because which is best
depends on the model (measured on the real calls in docs/asr-ladder.md).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from qa_scoring.config import Settings, get_settings
from qa_scoring.transcribe.device import asr_compute_type, asr_device
from qa_scoring.transcribe.guards import SilenceGate, remove_repetition_loops, remove_words_in_silence
from qa_scoring.transcript import Word

# Silero VAD presets (setting ``asr_vad``). "telephone": the threshold a little below the default
# (0.5) because upsampled 8 kHz speech scores lower, and the padding keeps word onsets that the VAD
# clips; it suits tiny.en. "faster-whisper": the library's own defaults, whose longer chunks give a
# conditioned base model more context.
VAD_PRESETS: dict[str, dict[str, Any]] = {
    "faster-whisper": {},
    "telephone": {
        "threshold": 0.4,
        "min_speech_duration_ms": 150,
        "min_silence_duration_ms": 700,
        "speech_pad_ms": 300,
    },
}
COMPRESSION_RATIO_THRESHOLD = 2.4
LOG_PROB_THRESHOLD = -1.0
NO_SPEECH_THRESHOLD = 0.6
HALLUCINATION_SILENCE_THRESHOLD = 2.0


@dataclass
class AsrSegment:
    start: float
    end: float
    text: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    words: list[Word] = field(default_factory=list)


@dataclass
class AsrResult:
    words: list[Word]
    segments: list[AsrSegment]
    language: str
    speech_duration: float  # what the VAD passed to the decoder, seconds


def resolve_model_folder(name: str, settings: Settings) -> Path:
    """A model folder from a path or from the model store (``qa-scoring models install``)."""
    candidate = Path(name).expanduser()
    if candidate.is_dir():
        return candidate
    from qa_scoring.model_store import model_path

    return Path(model_path(name, settings))


def model_fingerprint(folder: Path) -> str:
    """A short, stable id of the model files, so a transcript records exactly which weights made it."""
    digest = hashlib.sha1()
    for name in ("config.json", "vocabulary.txt", "vocabulary.json", "tokenizer.json"):
        f = folder / name
        if f.is_file():
            digest.update(f.read_bytes())
    weights = folder / "model.bin"
    if weights.is_file():
        digest.update(str(weights.stat().st_size).encode())
    return digest.hexdigest()[:12]


class Recogniser:
    """faster-whisper with the call-audio settings; call it on 16 kHz float32 mono."""

    def __init__(
        self, model: Any, name: str, version: str, settings: Settings, device: str, compute_type: str
    ) -> None:
        self.model = model
        self.name = name
        self.version = version
        self.settings = settings
        self.device = device  # as resolved from the settings: what the transcript records
        self.compute_type = compute_type

    @classmethod
    def load(cls, settings: Settings | None = None) -> Recogniser:
        from faster_whisper import WhisperModel

        settings = settings or get_settings()
        folder = resolve_model_folder(settings.asr_model, settings)
        threads = settings.asr_threads or os.cpu_count() or 1
        device = asr_device(settings.device)
        compute_type = asr_compute_type(settings.asr_compute_type, device)
        model = WhisperModel(str(folder), device=device, compute_type=compute_type, cpu_threads=threads)
        import faster_whisper

        version = f"{model_fingerprint(folder)} (faster-whisper {faster_whisper.__version__})"
        return cls(model, Path(settings.asr_model).name, version, settings, device, compute_type)

    def transcribe_options(self) -> dict[str, Any]:
        return {
            "language": self.settings.language or None,
            "beam_size": self.settings.asr_beam_size,
            "word_timestamps": True,
            "vad_filter": True,
            "vad_parameters": dict(VAD_PRESETS[self.settings.asr_vad]),
            "condition_on_previous_text": self.settings.asr_condition_on_previous_text,
            "compression_ratio_threshold": COMPRESSION_RATIO_THRESHOLD,
            "log_prob_threshold": LOG_PROB_THRESHOLD,
            "no_speech_threshold": NO_SPEECH_THRESHOLD,
            "hallucination_silence_threshold": HALLUCINATION_SILENCE_THRESHOLD,
        }

    def __call__(self, audio: np.ndarray) -> AsrResult:
        raw, info = self.model.transcribe(audio, **self.transcribe_options())
        gate = SilenceGate(audio)
        segments: list[AsrSegment] = []
        for seg in raw:
            if seg.compression_ratio > COMPRESSION_RATIO_THRESHOLD:
                continue  # every temperature failed: a loop that the word filter would only shorten
            if gate.silent(seg.start, seg.end):
                continue  # a whole segment on dead air ("Thank you." on a hold) is invented
            words = [
                Word(
                    text=w.word.strip(),
                    start=round(w.start, 3),
                    end=round(w.end, 3),
                    probability=round(w.probability, 3),
                )
                for w in (seg.words or [])
                if w.word.strip()
            ]
            segments.append(
                AsrSegment(
                    seg.start,
                    seg.end,
                    seg.text.strip(),
                    seg.avg_logprob,
                    seg.no_speech_prob,
                    seg.compression_ratio,
                    words,
                )
            )
        words = [w for s in segments for w in s.words]
        words = remove_repetition_loops(words)
        words = remove_words_in_silence(words, gate)
        return AsrResult(
            words=words,
            segments=segments,
            language=info.language,
            speech_duration=float(getattr(info, "duration_after_vad", info.duration)),
        )
