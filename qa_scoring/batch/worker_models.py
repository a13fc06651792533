"""The models a worker process holds: loaded once per process, then reused for every call.

Loading Whisper, pyannote and the rubric models takes seconds to tens of seconds; doing it per
call would dominate a night's batch. The local pool calls :func:`init_worker` as its process
initializer and the Celery worker calls it on ``worker_process_init``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from qa_scoring.config import Settings, get_settings

if TYPE_CHECKING:  # imported for real only when the models are loaded (torch, ctranslate2)
    from qa_scoring.scorer import Scorer
    from qa_scoring.transcribe.pipeline import SpeechPipeline


@dataclass
class WorkerModels:
    pipeline: SpeechPipeline
    scorer: Scorer  # every rubric; each batch run picks its own when scoring


_settings: Settings | None = None
_models: WorkerModels | None = None
_models_key: tuple[object, ...] | None = None

# Settings that change what the loaded models are; anything else can change without a reload.
MODEL_FIELDS = (
    "models_dir", "asr_model", "device", "asr_compute_type", "asr_beam_size", "asr_threads", "language",
    "asr_condition_on_previous_text", "asr_vad",
    "num_speakers", "channel_roles", "organisation_names", "rubrics_dir", "max_duration_s", "max_file_mb",
    "diarise_threads",
)  # fmt: skip


def _key(settings: Settings) -> tuple[object, ...]:
    return tuple(getattr(settings, name) for name in MODEL_FIELDS)


def usable_cores() -> int:
    """Cores this process may run on (respects taskset/cgroup CPU sets, unlike os.cpu_count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def configure_threads(threads: int) -> None:
    """Pin the numeric libraries to ``threads`` so N workers on N cores do not oversubscribe.

    Set before torch/ctranslate2 are imported (they read the variables at import time) and
    again through torch's API in case something imported it already.
    """
    if threads <= 0:
        return
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "CT2_NUM_THREADS"):
        os.environ[name] = str(threads)
    import torch

    torch.set_num_threads(threads)


def init_worker(settings: Settings | None = None, threads: int = 0, load: bool = True) -> None:
    """Remember the settings for this process and load the models (the pool's initializer)."""
    global _settings, _models
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    settings = settings or get_settings()
    if threads > 0:
        settings = replace(settings, asr_threads=threads)
        configure_threads(threads)
    _settings = settings
    if _models is not None and _models_key != _key(settings):
        _models = None  # same process, different model settings (tests, or a re-configured worker)
    from qa_scoring.store.db import dispose_engines

    dispose_engines()  # never share a parent's pooled connections
    if load:
        models()


def worker_settings() -> Settings:
    return _settings or get_settings()


def models() -> WorkerModels:
    """This process's models, loaded on first use."""
    global _models, _models_key
    if _models is None:
        from qa_scoring.scorer import Scorer
        from qa_scoring.transcribe.pipeline import SpeechPipeline

        settings = worker_settings()
        _models = WorkerModels(pipeline=SpeechPipeline.load(settings), scorer=Scorer.load(settings))
        _models_key = _key(settings)
    return _models
