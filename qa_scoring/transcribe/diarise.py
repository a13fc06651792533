"""Who spoke when on a mono recording: the installed pyannote pipeline, loaded once, fed audio in memory.

Stereo calls are split by channel elsewhere; this is for the mono case (one mixed line). The pipeline comes
from ``qa-scoring models install`` (folder ``pyannote-diarisation``: segmentation-3.0 + CAM++ embeddings +
agglomerative clustering) and is loaded from local files only; see ``pyannote_env`` for how pyannote is kept
offline, silent and clear of the CUDA-only native libraries.
"""

from __future__ import annotations

import io
import logging
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import Any

import numpy as np

from qa_scoring.config import Settings, get_settings
from qa_scoring.model_store import model_path
from qa_scoring.transcribe.device import torch_device
from qa_scoring.transcribe.segments import SpeechSegment

log = logging.getLogger(__name__)

MODEL_NAME = "pyannote-diarisation"


class DiarisationError(ValueError):
    """Audio the diariser cannot use (wrong shape, empty, not finite); the message says what is wrong."""


@contextmanager
def _third_party_chatter_to_log() -> Iterator[None]:
    """pyannote's notes on a call ("Found only 1 clusters", printed; a UserWarning when a short call
    has fewer speakers than asked) are expected on one-speaker stretches and tell a user nothing
    they can act on: they go to the log at debug level instead of the terminal."""
    printed = io.StringIO()
    with warnings.catch_warnings(record=True) as caught, redirect_stdout(printed):
        warnings.simplefilter("always")
        yield
    for line in printed.getvalue().splitlines():
        if line.strip():
            log.debug("pyannote: %s", line.strip())
    for warning in caught:
        log.debug("pyannote %s: %s", warning.category.__name__, " ".join(str(warning.message).split()))


class Diariser:
    """A loaded pyannote diarisation pipeline. ``Diariser.load()`` once, then call it per recording."""

    name = MODEL_NAME

    def __init__(self, pipeline: Any, path: Path, default_num_speakers: int | None, threads: int = 1) -> None:
        self._pipeline = pipeline
        self.path = path
        self.default_num_speakers = default_num_speakers
        self.threads = threads  # torch intra-op threads while diarising; 0: leave torch's setting alone
        self._lock = threading.Lock()  # one torch pipeline object: calls from threads take turns
        import pyannote.audio

        # Recorded in each transcript's models block, so a figure can be traced to the exact set-up.
        self.version = (
            f"pyannote.audio {pyannote.audio.__version__}; segmentation-3.0 + CAM++ (3D-Speaker); "
            f"{pipeline.klustering} threshold {getattr(pipeline.clustering, 'threshold', '?')}"
        )

    @property
    def pipeline(self) -> Any:
        """The underlying pyannote pipeline (for benchmarks and tuning)."""
        return self._pipeline

    @classmethod
    def load(cls, settings: Settings | None = None) -> Diariser:
        """Load the installed pipeline (a few seconds: torch, pyannote and two small networks)."""
        settings = settings or get_settings()
        folder = model_path(MODEL_NAME, settings)
        from qa_scoring.transcribe.pyannote_env import import_pyannote

        pyannote_audio = import_pyannote()
        pipeline = pyannote_audio.Pipeline.from_pretrained(folder)
        if pipeline is None:
            raise RuntimeError(f"{folder}: pyannote could not build a pipeline from this folder")
        device = torch_device(settings.device)
        if device != "cpu":
            import torch

            pipeline.to(torch.device(device))
        return cls(pipeline, Path(folder), settings.num_speakers or None, settings.diarise_threads)

    def __call__(
        self,
        waveform: np.ndarray,
        sample_rate: int,
        num_speakers: int | None = None,
        min_speakers: int | None = None,
        max_speakers: int | None = None,
    ) -> list[SpeechSegment]:
        """Speaker segments of a mono float waveform, sorted by start; overlapping speech keeps both speakers.

        ``num_speakers`` defaults to the ``num_speakers`` setting (2: agent and customer) unless the caller
        gives a range with ``min_speakers``/``max_speakers``. Labels are ``SPEAKER_00``, ``SPEAKER_01``...
        """
        import torch

        audio = np.asarray(waveform)
        if audio.ndim == 2 and 1 in audio.shape:
            audio = audio.reshape(-1)
        if audio.ndim != 1:
            raise DiarisationError(f"expected a mono waveform (1-D array), got shape {audio.shape}")
        if audio.size == 0:
            raise DiarisationError("empty waveform")
        if sample_rate <= 0:
            raise DiarisationError(f"invalid sample rate {sample_rate}")
        audio = audio.astype(np.float32, copy=False)
        if not np.isfinite(audio).all():
            raise DiarisationError("waveform contains NaN or infinite samples")
        if num_speakers is None and min_speakers is None and max_speakers is None:
            num_speakers = self.default_num_speakers
        file = {
            "waveform": torch.from_numpy(np.ascontiguousarray(audio))[None],
            "sample_rate": int(sample_rate),
        }
        with self._lock, torch.inference_mode(), _third_party_chatter_to_log():
            # torch's thread count is process-wide: set it for this call only and put it back, so the
            # rest of the process (a batch worker's own setting) is unaffected.
            previous = torch.get_num_threads()
            if self.threads > 0:
                torch.set_num_threads(self.threads)
            try:
                output = self._pipeline(
                    file, num_speakers=num_speakers, min_speakers=min_speakers, max_speakers=max_speakers
                )
            finally:
                torch.set_num_threads(previous)
        annotation = getattr(output, "speaker_diarization", output)
        segments = [
            SpeechSegment(start=float(turn.start), end=float(turn.end), speaker=str(label))
            for turn, _, label in annotation.itertracks(yield_label=True)
        ]
        return sorted(segments, key=lambda s: (s.start, s.end, s.speaker))
