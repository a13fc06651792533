"""Write a copy of a recording with the redacted words blanked out: this is what the UI plays.

The copy keeps the source's channels and sample rate (a stereo call stays a stereo call, so the
channel-per-party layout still works for reviewers) and is written as WAV or FLAC, chosen by the
destination suffix: lossless, so nothing of the removed speech can be recovered from codec
artefacts and the untouched audio is bit-for-bit what was decoded.

``tone`` (a quiet 1 kHz beep) is the default because a reviewer hears that something was removed;
``silence`` is there for sites that prefer it. Both cover every channel, since on a mono mix or on
crosstalk the customer's digits can leak into the agent's channel.

Decoding is done here with PyAV rather than through :mod:`qa_scoring.transcribe.audio`, which
resamples to 16 kHz for the models; the redacted copy must keep the original rate.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import soundfile as sf

from qa_scoring.redact.transcript import RedactedSpan
from qa_scoring.transcribe.audio import AudioError, decode

TONE_HZ = 1000.0
TONE_LEVEL = 10 ** (-20 / 20)  # -20 dBFS: clearly audible, never startling
# ASR word times are good to a couple of hundred milliseconds; pad so no syllable leaks either side.
PAD_S = 0.25
FORMATS = {".wav": ("WAV", "PCM_16"), ".flac": ("FLAC", "PCM_16")}


def redact_audio(
    src: str | Path,
    spans: Iterable[RedactedSpan],
    dst: str | Path,
    mode: str = "tone",
    pad: float = PAD_S,
) -> Path:
    """Write ``src`` to ``dst`` with every timed span (plus ``pad`` seconds) replaced; returns ``dst``.

    Spans without times (an untimed transcript) cannot be located in audio and are ignored; the
    caller decides whether such audio may be kept at all.
    """
    src, dst = Path(src), Path(dst)
    if mode not in ("tone", "silence"):
        raise ValueError(f"redaction mode {mode!r}: expected 'tone' or 'silence'")
    if dst.suffix.lower() not in FORMATS:
        raise ValueError(
            f"{dst}: redacted audio is written as .wav or .flac, not {dst.suffix or 'no suffix'}"
        )
    data, rate = decode_native(src)
    n = data.shape[1]
    for span in spans:
        if span.start is None or span.end is None:
            continue
        a = max(0, int((span.start - pad) * rate))
        b = min(n, int(np.ceil((span.end + pad) * rate)))
        if b <= a:
            continue
        if mode == "silence":
            data[:, a:b] = 0.0
        else:
            t = np.arange(a, b) / rate
            data[:, a:b] = (TONE_LEVEL * np.sin(2 * np.pi * TONE_HZ * t)).astype(np.float32)
    fmt, subtype = FORMATS[dst.suffix.lower()]
    dst.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(dst), data.T, rate, format=fmt, subtype=subtype)
    return dst


def decode_native(path: Path) -> tuple[np.ndarray, int]:
    """All channels at the source's own sample rate as float32 ``(channels, samples)``.

    The speech pipeline's decoder, without its 16 kHz resampling: the redacted copy must keep the
    original rate and channels, and accept exactly the files the transcript was made from.
    """
    if not path.is_file():
        raise AudioError(path, "no such file")
    decoded = decode(path)
    if decoded.samples.shape[1] == 0:
        raise AudioError(path, "contains no audio samples")
    return decoded.samples, decoded.rate
