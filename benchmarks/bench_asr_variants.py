"""Word error rate of the pipeline's recogniser on the real calls, under decoding variants.

The recogniser (``qa_scoring.transcribe.asr.Recogniser``: VAD, guards, word filters) is run on each
real call's decoded mono signal with its options changed one lever at a time: Whisper's
``condition_on_previous_text``, faster-whisper's default VAD parameters instead of the telephone
ones, no VAD, and the two together. WER only (normalised, ``transcribe.evaluation``): the
seconds printed are wall time for both calls, comparable only between rows of one quiet run.

    .venv/bin/python benchmarks/bench_asr_variants.py whisper-base 1
    .venv/bin/python benchmarks/bench_asr_variants.py whisper-tiny.en 1 current,cond_prev
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
REAL_CALLS = ROOT.parent / "shared" / "data" / "audio" / "real-calls"
VARIANTS: dict[str, dict[str, object]] = {
    "current": {},
    "cond_prev": {"condition_on_previous_text": True},
    "vad_default": {"vad_parameters": {}},
    "no_vad": {"vad_filter": False},
    "cond_prev+vad_default": {"condition_on_previous_text": True, "vad_parameters": {}},
}


def main() -> None:
    sys.path.insert(0, str(ROOT))
    from qa_scoring.config import load_settings
    from qa_scoring.transcribe.asr import Recogniser
    from qa_scoring.transcribe.audio import load_audio
    from qa_scoring.transcribe.evaluation import read_segments_tsv, word_error_rate

    model = sys.argv[1] if len(sys.argv) > 1 else "whisper-tiny.en"
    beam = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    wanted = sys.argv[3].split(",") if len(sys.argv) > 3 else list(VARIANTS)
    settings = replace(load_settings(environ={}), asr_model=model, asr_beam_size=beam, asr_threads=2)
    recogniser = Recogniser.load(settings)
    options = recogniser.transcribe_options
    calls = sorted(REAL_CALLS.glob("*.mp3"))
    signals = {p.name: np.mean(load_audio(p).channels, axis=0).astype(np.float32) for p in calls}
    references = {
        p.name: " ".join(s.text for s in read_segments_tsv(p.with_name(p.stem + ".segments.en.tsv")))
        for p in calls
    }
    for name in wanted:
        extra = VARIANTS[name]
        recogniser.transcribe_options = lambda extra=extra: {**options(), **extra}  # type: ignore[method-assign]
        row: dict[str, object] = {"model": model, "beam": beam, "variant": name}
        started = time.perf_counter()
        for call, signal in signals.items():
            words = " ".join(w.text for w in recogniser(signal).words)
            row[call.split("_EN_")[-1].removesuffix(".mp3")] = round(
                word_error_rate(references[call], words), 4
            )
        row["seconds"] = round(time.perf_counter() - started, 1)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
