"""Mono diarisation: DER per labelled recording, real-time factor and peak memory of the installed pipeline.

    .venv/bin/python benchmarks/bench_diarisation.py            # figures for the installed configuration
    .venv/bin/python benchmarks/bench_diarisation.py --sweep    # DER over clustering thresholds / steps
    .venv/bin/python benchmarks/bench_diarisation.py --long     # also RTF on the two 11-14 min real calls

Recordings (../shared/data/audio, read in place): pyannote-sample (30 s phone-style, 2 speakers), the four
AMI 30 s excerpts (2-4 speakers, scored inside their .uem), and the SpokenWOZ stereo phone call mixed down
to mono, scored against its channel-energy turns (2 speakers; the reference comes from the separate
channels, so it is fair to the mono diariser but not hand-made).

DER is pyannote.metrics' DiarizationErrorRate with no collar and overlap scored (the strict variant). Two
modes: "oracle" gives the diariser the true number of speakers (what a contact centre does with its
num_speakers=2 setting); "auto" lets the clustering threshold decide. RTF = diarisation seconds / audio
seconds (lower is faster); the baseline is the same pipeline embedding the way pyannote does (CAM++ run
on every 10 s chunk for every local speaker: embedding_context "chunk", no frame sharing), run on the same
audio in this script, so the speed-up is a ratio measured under the same machine load.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data" / "audio"


@dataclass
class Item:
    uri: str
    audio: Path
    rttm: Path
    uem: Path | None = None


ITEMS = [
    Item("sample", SHARED / "pyannote-sample/sample.wav", SHARED / "pyannote-sample/sample.rttm"),
    Item(
        "dev00",
        SHARED / "ami/dev00.wav",
        SHARED / "ami/debug.development.rttm",
        SHARED / "ami/debug.development.uem",
    ),
    Item(
        "dev01",
        SHARED / "ami/dev01.wav",
        SHARED / "ami/debug.development.rttm",
        SHARED / "ami/debug.development.uem",
    ),
    Item("tst00", SHARED / "ami/tst00.wav", SHARED / "ami/debug.test.rttm", SHARED / "ami/debug.test.uem"),
    Item("tst01", SHARED / "ami/tst01.wav", SHARED / "ami/debug.test.rttm", SHARED / "ami/debug.test.uem"),
    Item("MUL1011", SHARED / "spokenwoz/MUL1011.opus", SHARED / "spokenwoz/MUL1011.channel-energy.rttm"),
]
LONG = sorted((SHARED / "real-calls").glob("*.mp3"))


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_reference(item: Item):
    from pyannote.database.util import load_rttm, load_uem

    reference = load_rttm(item.rttm)[item.uri]
    uem = load_uem(item.uem)[item.uri] if item.uem else None
    return reference, uem


def to_annotation(segments, uri: str):
    from pyannote.core import Annotation, Segment

    annotation = Annotation(uri=uri)
    for i, seg in enumerate(segments):
        annotation[Segment(seg.start, seg.end), i] = seg.speaker
    return annotation


def der(reference, hypothesis, uem) -> float:
    from pyannote.metrics.diarization import DiarizationErrorRate

    return DiarizationErrorRate(collar=0.0, skip_overlap=False)(reference, hypothesis, uem=uem)


def run_figures(diariser, items: list[Item], baseline_files: int) -> None:
    from qa_scoring.transcribe.audio import load_audio

    print(f"{diariser.version}\n")
    print(
        f"{'file':8} {'dur s':>6} {'spk':>3} {'DER oracle':>10} {'DER auto':>9} {'auto spk':>8} "
        f"{'time s':>7} {'RTF':>6}"
    )
    total_audio = total_time = 0.0
    ders_oracle, ders_auto = [], []
    for item in items:
        audio = load_audio(item.audio).mono
        duration = len(audio) / 16000
        reference, uem = load_reference(item)
        n_ref = len(reference.labels())
        t0 = time.perf_counter()
        oracle = diariser(audio, 16000, num_speakers=n_ref)
        elapsed = time.perf_counter() - t0
        auto = diariser(audio, 16000, min_speakers=1, max_speakers=8)
        d_oracle = der(reference, to_annotation(oracle, item.uri), uem)
        d_auto = der(reference, to_annotation(auto, item.uri), uem)
        n_auto = len({s.speaker for s in auto})
        ders_oracle.append(d_oracle)
        ders_auto.append(d_auto)
        total_audio += duration
        total_time += elapsed
        print(
            f"{item.uri:8} {duration:6.1f} {n_ref:3d} {100 * d_oracle:9.1f}% {100 * d_auto:8.1f}% "
            f"{n_auto:8d} "
            f"{elapsed:7.1f} {elapsed / duration:6.2f}"
        )
    print(
        f"{'mean':8} {total_audio:6.0f}     {100 * np.mean(ders_oracle):9.1f}% "
        f"{100 * np.mean(ders_auto):8.1f}%"
        f"          {total_time:7.1f} {total_time / total_audio:6.2f}"
    )
    print(f"peak RSS after diarising: {peak_rss_mib():.0f} MiB")

    if baseline_files:
        model = diariser.pipeline._embedding.model_
        base_audio = ours = base = 0.0
        for item in items[:baseline_files]:
            audio = load_audio(item.audio).mono
            t0 = time.perf_counter()
            diariser(audio, 16000, num_speakers=2)
            ours += time.perf_counter() - t0
            model.share_frames = False
            context, diariser.pipeline.embedding_context = diariser.pipeline.embedding_context, "chunk"
            try:
                t0 = time.perf_counter()
                diariser(audio, 16000, num_speakers=2)
                base += time.perf_counter() - t0
            finally:
                model.share_frames = True
                diariser.pipeline.embedding_context = context
            base_audio += len(audio) / 16000
        print(
            f"\nspeed vs baseline on {base_audio:.0f} s ({baseline_files} file(s)): "
            f"RTF {ours / base_audio:.2f} "
            f"vs {base / base_audio:.2f} for pyannote's per-chunk embedding -> {base / ours:.2f}x faster"
        )


def run_long(diariser) -> None:
    from qa_scoring.transcribe.audio import load_audio

    for path in LONG:
        audio = load_audio(path).mono
        duration = len(audio) / 16000
        t0 = time.perf_counter()
        segments = diariser(audio, 16000)
        elapsed = time.perf_counter() - t0
        speakers = {s.speaker for s in segments}
        print(
            f"{path.name[:40]:40} {duration:6.0f} s  {len(segments):4d} segments  {len(speakers)} speakers  "
            f"{elapsed:6.1f} s  RTF {elapsed / duration:.2f}  peak RSS {peak_rss_mib():.0f} MiB"
        )


def run_sweep(diariser, items: list[Item], steps: list[float], thresholds: list[float]) -> None:
    """Segmentation and embeddings are computed once per file and step (pyannote's training cache);
    only the clustering is re-run per threshold, so the sweep costs little more than one pass."""
    import torch

    from qa_scoring.transcribe.audio import load_audio

    pipeline = diariser.pipeline
    base_params = pipeline.parameters(instantiated=True)
    duration = pipeline._segmentation.duration
    data = []
    for item in items:
        reference, uem = load_reference(item)
        data.append((item, load_audio(item.audio).mono, reference, uem))
    pipeline.training = True
    try:
        for step in steps:
            pipeline._segmentation.step = step * duration
            files = [
                {"waveform": torch.from_numpy(a)[None], "sample_rate": 16000, "uri": it.uri}
                for it, a, _, _ in data
            ]
            header = "  ".join(f"{it.uri:>7}" for it, *_ in data)
            print(f"\nsegmentation_step {step}  (DER %, auto = threshold decides / oracle = true count)")
            print(f"{'threshold':>9} {'mode':6} {header}   mean")
            for threshold in thresholds:
                params = {**base_params, "clustering": {**base_params["clustering"], "threshold": threshold}}
                pipeline.instantiate(params)
                for mode in ("auto", "oracle"):
                    row = []
                    for file, (_, _, reference, uem) in zip(files, data, strict=True):
                        kwargs = {"num_speakers": len(reference.labels())} if mode == "oracle" else {}
                        hyp = pipeline(file, **kwargs).speaker_diarization
                        row.append(der(reference, hyp, uem))
                    cells = "  ".join(f"{100 * d:7.1f}" for d in row)
                    print(f"{threshold:9.2f} {mode:6} {cells}   {100 * np.mean(row):5.1f}", flush=True)
    finally:
        pipeline.training = False
        pipeline._segmentation.step = pipeline.segmentation_step * duration
        pipeline.instantiate(base_params)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sweep", action="store_true", help="DER over thresholds and segmentation steps")
    parser.add_argument(
        "--steps", default="0.1,0.2", help="segmentation steps for --sweep (fraction of 10 s)"
    )
    parser.add_argument("--thresholds", default="0.4,0.5,0.55,0.6,0.65,0.7,0.8")
    parser.add_argument("--long", action="store_true", help="also time the two long real calls (no DER)")
    parser.add_argument("--baseline-files", type=int, default=1, help="files timed against the baseline")
    parser.add_argument("--only", default="", help="comma-separated uris to run")
    args = parser.parse_args()

    missing = [str(i.audio) for i in ITEMS if not i.audio.exists()]
    if missing:
        sys.exit(f"test recordings not found ({', '.join(missing)}): this script reads ../shared/data/audio")
    items = [i for i in ITEMS if not args.only or i.uri in args.only.split(",")]

    from qa_scoring.transcribe.diarise import Diariser

    rss0 = peak_rss_mib()
    t0 = time.perf_counter()
    diariser = Diariser.load()
    print(f"load {time.perf_counter() - t0:.1f} s, peak RSS {rss0:.0f} -> {peak_rss_mib():.0f} MiB")
    if args.sweep:
        run_sweep(
            diariser,
            items,
            [float(s) for s in args.steps.split(",")],
            [float(t) for t in args.thresholds.split(",")],
        )
        return
    run_figures(diariser, items, args.baseline_files)
    if args.long:
        run_long(diariser)


if __name__ == "__main__":
    main()
