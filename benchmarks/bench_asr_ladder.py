"""The speech model ladder: word error rate and speed of each installed Whisper model x compute
type x decoding on the real contact-centre calls, against tiny.en int8 beam 1 run in the same script.

Each configuration runs in its own child process (so the peak memory is its own) on the same
thread count, transcribing every recording with faster-whisper as the pipeline configures it
(language, VAD filter). Speed is reported as RTF = processing seconds / audio seconds and as the
ratio to the baseline configuration, which is what compares across machines; WER uses
:mod:`qa_scoring.transcribe.evaluation`'s normaliser. Writes a table (Markdown and JSON) and a
speed-accuracy plot (PNG).

    .venv/bin/python benchmarks/bench_asr_ladder.py --out docs/asr-ladder
    .venv/bin/python benchmarks/bench_asr_ladder.py --models whisper-tiny.en --decodings beam1
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AUDIO = ROOT.parent / "shared" / "data" / "audio"
RECORDINGS = [
    AUDIO / "real-calls" / "1735404531.458927_EN_customer_support.mp3",
    AUDIO / "real-calls" / "1755884171.51632_EN_Support_Billing.mp3",
    AUDIO / "faster-whisper" / "jfk.flac",
]
BASELINE = ("whisper-tiny.en", "int8", "beam1")
DECODINGS = {
    "beam1": {"beam_size": 1},
    "beam5": {"beam_size": 5},
    "batched": {"beam_size": 1, "batch_size": 8},
}


def reference_text(path: Path) -> str:
    from qa_scoring.transcribe.evaluation import read_segments_tsv

    tsv = path.with_name(path.stem + ".segments.en.tsv")
    if tsv.is_file():
        return " ".join(s.text for s in read_segments_tsv(tsv))
    return path.with_suffix(".txt").read_text(encoding="utf-8")


def child(model: str, compute: str, decoding: str, threads: int) -> dict:
    """One configuration over every recording (runs in its own process)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.path.insert(0, str(ROOT))
    from faster_whisper import BatchedInferencePipeline, WhisperModel

    from qa_scoring.config import load_settings
    from qa_scoring.transcribe.asr import resolve_model_folder
    from qa_scoring.transcribe.audio import load_audio
    from qa_scoring.transcribe.evaluation import word_error_rate

    settings = load_settings(environ={})
    folder = resolve_model_folder(model, settings)
    t0 = time.perf_counter()
    whisper = WhisperModel(str(folder), device="cpu", compute_type=compute, cpu_threads=threads)
    load_s = time.perf_counter() - t0
    options = dict(DECODINGS[decoding])
    batch = options.pop("batch_size", None)
    runner = BatchedInferencePipeline(whisper) if batch else whisper
    if batch:
        options["batch_size"] = batch
    rows = []
    for path in RECORDINGS:
        audio = load_audio(path)
        t1 = time.perf_counter()
        segments, _ = runner.transcribe(audio.mono, language="en", vad_filter=True, **options)
        text = " ".join(s.text for s in segments)
        seconds = time.perf_counter() - t1
        rows.append(
            {
                "recording": path.name,
                "audio_s": round(audio.duration, 1),
                "seconds": round(seconds, 2),
                "rtf": round(seconds / audio.duration, 4),
                "wer": round(word_error_rate(reference_text(path), text), 4),
            }
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "model": model,
        "compute": compute,
        "decoding": decoding,
        "load_s": round(load_s, 2),
        "peak_mb": round(peak_mb),
        "recordings": rows,
    }


def _run(model: str, compute: str, decoding: str, threads: int) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", model, compute, decoding, "--threads", str(threads)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        return {"model": model, "compute": compute, "decoding": decoding, "error": out.stderr.strip()[-500:]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _summary(result: dict, baseline: dict | None) -> dict:
    rows = result.get("recordings", [])
    audio = sum(r["audio_s"] for r in rows)
    seconds = sum(r["seconds"] for r in rows)
    rtf = seconds / audio if audio else None
    base_rtf = None
    if baseline and baseline.get("recordings"):
        base_rtf = sum(r["seconds"] for r in baseline["recordings"]) / sum(
            r["audio_s"] for r in baseline["recordings"]
        )
    return {
        **{k: result[k] for k in ("model", "compute", "decoding")},
        "rtf": round(rtf, 4) if rtf else None,
        "speed_vs_baseline": round(rtf / base_rtf, 2) if rtf and base_rtf else None,
        "wer": {r["recording"]: r["wer"] for r in rows},
        "peak_mb": result.get("peak_mb"),
        "error": result.get("error"),
    }


def _markdown(summaries: list[dict]) -> str:
    names = [p.name for p in RECORDINGS]
    short = [n.split("_EN_")[-1].removesuffix(".mp3") if "_EN_" in n else n for n in names]
    head = (
        "| model | compute | decoding | "
        + " | ".join(f"WER {s}" for s in short)
        + " | RTF | x baseline | peak MB |"
    )
    lines = [head, "|" + "---|" * (6 + len(names))]
    for s in summaries:
        if s["error"]:
            lines.append(f"| {s['model']} | {s['compute']} | {s['decoding']} | failed: {s['error'][:80]} |")
            continue
        wers = " | ".join(f"{100 * s['wer'][n]:.1f}%" for n in names)
        lines.append(
            f"| {s['model']} | {s['compute']} | {s['decoding']} | {wers} | {s['rtf']:.3f} | "
            f"{s['speed_vs_baseline']:.2f} | {s['peak_mb']} |"
        )
    return "\n".join(lines) + "\n"


def _plot(summaries: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    calls = [p.name for p in RECORDINGS if "real-calls" in str(p)]
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for s in summaries:
        if s["error"]:
            continue
        wer = sum(s["wer"][c] for c in calls) / len(calls)
        marker = "o" if "tiny" in s["model"] else "s"
        ax.scatter(s["rtf"], 100 * wer, marker=marker)
        label = f"{s['model'].removeprefix('whisper-')} {s['compute']} {s['decoding']}"
        ax.annotate(label, (s["rtf"], 100 * wer), fontsize=7, xytext=(4, 3), textcoords="offset points")
    ax.axvline(0.15, linestyle="--", linewidth=1, color="grey")
    ax.set_xlabel("ASR real-time factor on 2 cores (lower is faster)")
    ax.set_ylabel("WER on the real calls, mean (%)")
    ax.set_title("Whisper model ladder: speed against accuracy")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", nargs=3, metavar=("MODEL", "COMPUTE", "DECODING"))
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--models", nargs="+", default=["whisper-tiny.en", "whisper-base"])
    parser.add_argument("--computes", nargs="+", default=["int8", "int8_float32"])
    parser.add_argument("--decodings", nargs="+", default=list(DECODINGS))
    parser.add_argument("--out", type=Path, help="write OUT.md, OUT.json and OUT.png")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child, args.threads)))
        return
    configs = [BASELINE] + [
        (m, c, d)
        for m in args.models
        for c in args.computes
        for d in args.decodings
        if (m, c, d) != BASELINE and (c == "int8" or d == "beam1")  # compute types compared at beam 1
    ]
    results = []
    for config in configs:
        print(f"running {' '.join(config)} ...", file=sys.stderr, flush=True)
        results.append(_run(*config, args.threads))
    summaries = [_summary(r, results[0]) for r in results]
    table = _markdown(summaries)
    print(table)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_suffix(".md").write_text(table, encoding="utf-8")
        args.out.with_suffix(".json").write_text(json.dumps(results, indent=1), encoding="utf-8")
        _plot(summaries, args.out.with_suffix(".png"))


if __name__ == "__main__":
    main()
