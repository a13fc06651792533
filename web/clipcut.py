"""Cut a stretch of a recording into a small WAV with PyAV.

WAV (16-bit PCM at the source rate and channel layout) because every browser plays it and the
cut is exact to the sample; coaching clips are short, so the size does not matter.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

MAX_CLIP_SECONDS = 600.0


class ClipError(ValueError):
    """A clip that cannot be cut; the message names the file and the problem."""


def cut_wav(source: Path, start: float, end: float, target: Path) -> float:
    """Write ``source[start:end]`` to ``target``; returns the clip's duration in seconds."""
    if not (end > start >= 0):
        raise ClipError(f"{source}: clip range {start:.2f}-{end:.2f} s is empty or negative")
    if end - start > MAX_CLIP_SECONDS:
        raise ClipError(f"{source}: a clip may be at most {MAX_CLIP_SECONDS:.0f} s long")
    try:
        container = av.open(str(source))
    except (av.error.FFmpegError, OSError) as exc:
        raise ClipError(f"{source}: cannot open audio ({exc})") from None
    with container:
        if not container.streams.audio:
            raise ClipError(f"{source}: no audio stream")
        stream = container.streams.audio[0]
        rate = stream.codec_context.sample_rate or stream.rate
        layout = "stereo" if (stream.codec_context.channels or 1) >= 2 else "mono"
        resampler = av.AudioResampler(format="s16", layout=layout, rate=rate)
        if start > 1.0:
            container.seek(int(max(0.0, start - 1.0) * av.time_base), any_frame=False)
        chunks: list[np.ndarray] = []
        first_t: float | None = None
        try:
            for frame in container.decode(stream):
                t0 = float(frame.pts * frame.time_base) if frame.pts is not None else None
                for out in resampler.resample(frame):
                    if first_t is None:
                        first_t = t0 if t0 is not None else 0.0
                    chunks.append(out.to_ndarray().reshape(-1, 2 if layout == "stereo" else 1))
                if t0 is not None and t0 > end:
                    break
        except av.error.FFmpegError as exc:
            raise ClipError(f"{source}: cannot decode audio ({exc})") from None
    if not chunks:
        raise ClipError(f"{source}: no audio decoded")
    samples = np.concatenate(chunks)
    offset = int(round((start - (first_t or 0.0)) * rate))
    samples = samples[max(0, offset) : max(0, offset) + int(round((end - start) * rate))]
    if len(samples) == 0:
        raise ClipError(f"{source}: {start:.2f}-{end:.2f} s lies beyond the end of the recording")
    target.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(target), "w", format="wav") as out:
        ostream = out.add_stream("pcm_s16le", rate=rate, layout=layout)
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(samples.reshape(1, -1)), format="s16", layout=layout
        )
        frame.sample_rate = rate
        for packet in ostream.encode(frame):
            out.mux(packet)
        for packet in ostream.encode(None):
            out.mux(packet)
    return len(samples) / rate
