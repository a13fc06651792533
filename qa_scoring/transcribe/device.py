"""Where the speech models run: the ``device`` setting (``auto``, ``cpu`` or ``cuda``) made concrete.

The two speech engines find a GPU in different ways: CTranslate2 (faster-whisper) has its own CUDA
build and asks the driver, torch (the diariser's networks) only sees one if its own build has CUDA.
A CPU machine needs neither CUDA library: both questions are answered "none" without loading one.
``auto`` uses a GPU where the engine sees one; ``cuda`` insists for the recogniser, the part that
carries the cost, and says so when there is none.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


class DeviceError(RuntimeError):
    """The ``device`` setting asks for a GPU that is not there; the message says what was found."""


def cuda_devices() -> int:
    """GPUs CTranslate2 can use (0 on a CPU build or a machine without a driver)."""
    import ctranslate2

    try:
        return int(ctranslate2.get_cuda_device_count())
    except RuntimeError:  # a CUDA build whose driver is missing
        return 0


def asr_device(wanted: str) -> str:
    """The device faster-whisper runs on for the ``device`` setting (checked by the settings loader)."""
    if wanted == "cpu":
        return "cpu"
    found = cuda_devices()
    if wanted == "cuda" and found == 0:
        raise DeviceError(
            "device = cuda, but CTranslate2 sees no CUDA GPU (no driver, or a CPU-only build); "
            "use device = auto or cpu"
        )
    return "cuda" if found else "cpu"


def asr_compute_type(setting: str, device: str) -> str:
    """``auto``: int8 on a CPU (the fastest there at the same accuracy), float16 on a GPU."""
    if setting != "auto":
        return setting
    return "float16" if device == "cuda" else "int8"


def torch_device(wanted: str) -> str:
    """The device for the diariser's torch networks: a GPU only where this torch build has CUDA."""
    if wanted == "cpu":
        return "cpu"
    import torch

    if torch.cuda.is_available():
        return "cuda"
    if wanted == "cuda":
        log.warning("device = cuda: this torch build has no CUDA, so the diariser runs on the CPU")
    return "cpu"
