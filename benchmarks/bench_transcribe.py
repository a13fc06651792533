"""Speech pipeline benchmark: word error rate, real-time factor and peak memory, against bare faster-whisper.

For each recording, two child processes run on the same thread count:

- ``bare``: the baseline, ``WhisperModel.transcribe`` of the file with faster-whisper's defaults
  (same language and beam size) on ``--baseline-model`` (tiny.en) - what one would get without
  this project, with the smallest model;
- ``pipeline``: ``SpeechPipeline.transcribe_file`` on ``--model`` (the default model) with the
  settings' decoding options - decoding, VAD, guarded ASR with word timestamps, diarisation (by
  channel, or pyannote for mono), turns, roles.

Each child reports its own processing time (model loading excluded, reported apart) and its peak
resident memory (``ru_maxrss``, which includes native CTranslate2/torch allocations). Speed is
reported as RTF = processing seconds / audio seconds, and as the pipeline/bare ratio, which is
what to compare across machines. WER uses :mod:`qa_scoring.transcribe.evaluation`.

    .venv/bin/python benchmarks/bench_transcribe.py                     # default model, beam 1, 2 threads
    .venv/bin/python benchmarks/bench_transcribe.py --model whisper-tiny.en --baseline-model whisper-tiny.en
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AUDIO = ROOT.parent / "shared" / "data" / "audio"
DEFAULT_CALLS = [
    AUDIO / "real-calls" / "1735404531.458927_EN_customer_support.mp3",
    AUDIO / "real-calls" / "1755884171.51632_EN_Support_Billing.mp3",
    AUDIO / "faster-whisper" / "jfk.flac",
]


def reference_text(path: Path) -> str | None:
    from qa_scoring.transcribe.evaluation import read_segments_tsv

    tsv = path.with_name(path.stem + ".segments.en.tsv")
    if tsv.is_file():
        return " ".join(s.text for s in read_segments_tsv(tsv))
    txt = path.with_suffix(".txt")
    return txt.read_text(encoding="utf-8") if txt.is_file() else None


def child(
    mode: str, path: Path, model: str, baseline_model: str, beam: int, threads: int, language: str
) -> dict:
    """Runs in its own process so ru_maxrss is this mode's peak alone."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.path.insert(0, str(ROOT))
    from qa_scoring.config import load_settings
    from qa_scoring.transcribe.audio import load_audio

    settings = replace(
        load_settings(environ={}), asr_model=model, asr_beam_size=beam, asr_threads=threads, language=language
    )
    duration = load_audio(path).duration
    t0 = time.perf_counter()
    if mode == "bare":
        model = baseline_model
        from faster_whisper import WhisperModel

        from qa_scoring.transcribe.asr import resolve_model_folder

        whisper = WhisperModel(
            str(resolve_model_folder(model, settings)), device="cpu", compute_type="int8", cpu_threads=threads
        )
        load_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        segments, _ = whisper.transcribe(str(path), language=language or None, beam_size=beam)
        text = " ".join(s.text for s in segments)
        extra: dict = {}
    else:
        from qa_scoring.transcribe.pipeline import SpeechPipeline

        pipeline = SpeechPipeline.load(settings)
        _ = pipeline.diariser  # loaded outside the timed part (a mono call would load it lazily)
        load_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        transcript = pipeline.transcribe_file(path)
        text = " ".join(t.text for t in transcript.turns)
        extra = {
            "diarisation": transcript.diarisation.get("method"),
            "roles": transcript.roles,
            "stages_s": {k: round(v, 2) for k, v in pipeline.last_timings.items()},
        }
    elapsed = time.perf_counter() - t1
    return {
        "mode": mode,
        "file": path.name,
        "duration_s": round(duration, 2),
        "load_s": round(load_s, 2),
        "process_s": round(elapsed, 2),
        "rtf": round(elapsed / duration, 4),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "text": text,
        **extra,
    }


def run_child(mode: str, path: Path, args: argparse.Namespace) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        mode,
        str(path),
        "--model",
        args.model,
        "--baseline-model",
        args.baseline_model,
        "--beam",
        str(args.beam),
        "--threads",
        str(args.threads),
        "--language",
        args.language,
    ]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("calls", nargs="*", type=Path, default=DEFAULT_CALLS)
    parser.add_argument(
        "--model", default=None, help="the pipeline's model (default: the settings' asr_model)"
    )
    parser.add_argument("--baseline-model", default="whisper-tiny.en", help="bare faster-whisper's model")
    parser.add_argument("--beam", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--language", default="en")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--child", nargs=2, metavar=("MODE", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, path = args.child
        result = child(
            mode, Path(path), args.model, args.baseline_model, args.beam, args.threads, args.language
        )
        print(json.dumps(result))
        return

    sys.path.insert(0, str(ROOT))
    from qa_scoring.config import load_settings
    from qa_scoring.transcribe.evaluation import word_error_rate

    args.model = args.model or load_settings(environ={}).asr_model
    print(
        f"pipeline {args.model} against bare {args.baseline_model}, beam {args.beam}, "
        f"{args.threads} threads, load average {os.getloadavg()[0]:.1f}"
    )
    header = f"{'file':42} {'dur s':>7} {'mode':9} {'RTF':>7} {'WER':>6} {'peak MB':>8} {'load s':>6}"
    print(header)
    results = []
    for path in args.calls:
        reference = reference_text(path)
        pair = {}
        for mode in ("bare", "pipeline"):
            r = run_child(mode, path, args)
            r["wer"] = round(word_error_rate(reference, r["text"]), 4) if reference else None
            pair[mode] = r
            wer = f"{r['wer']:.3f}" if r["wer"] is not None else "-"
            print(
                f"{path.name[:42]:42} {r['duration_s']:7.1f} {mode:9} {r['rtf']:7.4f} {wer:>6} "
                f"{r['peak_rss_mb']:8.0f} {r['load_s']:6.1f}"
            )
        ratio = pair["pipeline"]["process_s"] / pair["bare"]["process_s"]
        stages = pair["pipeline"].get("stages_s", {})
        without = (pair["pipeline"]["process_s"] - stages.get("diarise", 0.0)) / pair["bare"]["process_s"]
        print(f"{'':42} pipeline/bare {ratio:.2f}; without pyannote {without:.2f}; stages {stages}")
        results.append(
            {
                "file": path.name,
                "ratio": round(ratio, 3),
                **{m: {k: v for k, v in r.items() if k != "text"} for m, r in pair.items()},
            }
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "model": args.model,
                    "baseline_model": args.baseline_model,
                    "beam": args.beam,
                    "threads": args.threads,
                    "results": results,
                },
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
