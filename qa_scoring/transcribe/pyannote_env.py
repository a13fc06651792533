"""Make pyannote.audio importable and silent here: offline, no telemetry, no broken native libraries.

Every import of pyannote in qa-scoring goes through ``prepare()`` (diarise.py and pyannote_models.py call
it first), because three things about pyannote.audio 4.0.7 clash with an on-premises, CPU-only install:

* Telemetry: pyannote 4 sends usage spans to otel.pyannote.ai unless ``PYANNOTE_METRICS_ENABLED`` is false.
  We force it to ``0``: call recordings' metadata must not leave the site. ``HF_HUB_OFFLINE=1`` makes any
  attempt to reach the Hugging Face hub fail fast instead of hanging on a network that is not there.
* torchaudio: pyannote imports it for pure-Python parts only (``compliance.kaldi.fbank``, resampling), but
  ``import torchaudio`` loads ``lib/_torchaudio.abi3.so`` first, and the wheel installed with torch's CPU
  build is a CUDA build whose library dies with ``OSError: libc10_cuda.so``. torchaudio has no switch for
  this; its loader ``torchaudio._extension.utils._load_lib`` is documented to return False when the library
  file is absent (pex-style deployments) and torchaudio then runs without its C++ extension
  (``_IS_TORCHAUDIO_EXT_AVAILABLE = False``). We take exactly that path: an import hook wraps the loader of
  that one module so ``_load_lib`` reports "not present" without touching the ``.so``. Only that module is
  affected, and only if torchaudio is imported after ``prepare()``.
* torchcodec: pyannote's ``core/io.py`` imports it inside ``try/except`` to decode files; its libraries are
  CUDA builds too and fail to load (loudly). We never hand pyannote a file, only an in-memory
  ``{"waveform": tensor, "sample_rate": sr}``, so we mark torchcodec as unavailable
  (``sys.modules["torchcodec"] = None``, the import system's own "do not import" marker) and pyannote takes
  its documented in-memory-only branch. The warning it prints about that is expected and filtered.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
import warnings
from collections.abc import Sequence
from types import ModuleType

_TORCHAUDIO_LOADER_MODULE = "torchaudio._extension.utils"
_prepared = False


def _no_native_library(_lib: str) -> bool:
    """Stand-in for torchaudio's ``_load_lib``: the answer it gives when the library file is not shipped."""
    return False


class _WrappedLoader(importlib.abc.Loader):
    """Runs the real loader, then swaps ``_load_lib`` before torchaudio's ``_extension`` package uses it."""

    def __init__(self, inner: importlib.abc.Loader) -> None:
        self._inner = inner

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._inner.exec_module(module)
        module._load_lib = _no_native_library  # type: ignore[attr-defined]


class _SkipTorchaudioNativeLibraries(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != _TORCHAUDIO_LOADER_MODULE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _WrappedLoader(spec.loader)
        return spec


def prepare() -> None:
    """Set the environment and import guards; idempotent, cheap, imports nothing heavy."""
    global _prepared
    if _prepared:
        return
    os.environ["PYANNOTE_METRICS_ENABLED"] = "0"
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    if "torchaudio" not in sys.modules and not any(
        isinstance(f, _SkipTorchaudioNativeLibraries) for f in sys.meta_path
    ):
        sys.meta_path.insert(0, _SkipTorchaudioNativeLibraries())
    if "torchcodec" not in sys.modules:
        sys.modules["torchcodec"] = None  # type: ignore[assignment]
    warnings.filterwarnings(
        "ignore", message=r"\s*torchcodec is not installed correctly", category=UserWarning
    )
    _prepared = True


def import_pyannote() -> ModuleType:
    """``pyannote.audio`` imported under ``prepare()``; raises a clear error if it still cannot load."""
    prepare()
    try:
        import pyannote.audio
    except (ImportError, OSError) as exc:
        raise RuntimeError(
            f"pyannote.audio could not be imported ({exc}); qa-scoring needs pyannote.audio==4.0.7 "
            "with torch's CPU build (see the Makefile's install step)"
        ) from exc
    return pyannote.audio
