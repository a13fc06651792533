"""Mono diarisation: DER per recording, real-time factor, speed against the previous configuration, memory.

    .venv/bin/python benchmarks/bench_diarisation.py            # installed configuration vs previous one
    .venv/bin/python benchmarks/bench_diarisation.py --sweep    # DER over clustering thresholds / steps
    .venv/bin/python benchmarks/bench_diarisation.py --long     # also RTF on the two 11-14 min real calls

Recordings (read in place): the phone-style set that matters for contact centres - pyannote-sample (30 s,
2 speakers), the SpokenWOZ stereo phone call mixed down to mono (scored against its channel-energy turns:
from the separate channels, so fair to the mono diariser but not hand-made) and the two mono 8 kHz TTS
calls in samples/calls (turns from their .truth.json) - plus the four AMI 30 s meeting excerpts (2-4
speakers, scored inside their .uem; far-field meetings, a different domain).

DER is pyannote.metrics' DiarizationErrorRate with no collar and overlap scored (the strict variant). Two
modes: "oracle" gives the diariser the true number of speakers (what a contact centre does with its
num_speakers=2 setting); "auto" lets the clustering threshold decide. RTF = diarisation seconds / audio
seconds (lower is faster). The baseline is the PREVIOUS configuration (torch's default thread count,
segmentation step 0.1, segmentation batch 32, threshold 0.6), run on the same audio in this process, so
the speed ratio is measured under the same machine load (printed with `uptime`'s load average).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data" / "audio"
CALLS = ROOT / "samples" / "calls"
EXCERPT = SHARED / "real-calls" / "1755884171.51632_EN_Support_Billing.mp3"


@dataclass
class Item:
    uri: str
    audio: Path
    rttm: Path  # an .rttm, or a samples/calls .truth.json (turns with start, end, speaker)
    uem: Path | None = None
    phone: bool = False


ITEMS = [
    Item("sample", SHARED / "pyannote-sample/sample.wav", SHARED / "pyannote-sample/sample.rttm", phone=True),
    Item(
        "MUL1011",
        SHARED / "spokenwoz/MUL1011.opus",
        SHARED / "spokenwoz/MUL1011.channel-energy.rttm",
        phone=True,
    ),
    Item(
        "energy",
        CALLS / "energy-meter-reading.mp3",
        CALLS / "energy-meter-reading.truth.json",
        phone=True,
    ),
    Item(
        "retail",
        CALLS / "retail-delivery-complaint.flac",
        CALLS / "retail-delivery-complaint.truth.json",
        phone=True,
    ),
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
]
LONG = sorted((SHARED / "real-calls").glob("*.mp3"))
# The configuration before the speed work, as pyannote's defaults had it.
PREVIOUS = {"threads": 0, "step": 0.1, "segmentation_batch_size": 32, "threshold": 0.6}


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_reference(item: Item):
    from pyannote.core import Annotation, Segment
    from pyannote.database.util import load_rttm, load_uem

    if item.rttm.suffix == ".json":
        reference = Annotation(uri=item.uri)
        for i, turn in enumerate(json.loads(item.rttm.read_text(encoding="utf-8"))["turns"]):
            reference[Segment(turn["start"], turn["end"]), i] = turn["speaker"]
        return reference, None
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
    import warnings

    from pyannote.metrics.diarization import DiarizationErrorRate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "uem approximated" for references without a .uem
        return DiarizationErrorRate(collar=0.0, skip_overlap=False)(reference, hypothesis, uem=uem)


def current_config(diariser) -> dict:
    pipeline = diariser.pipeline
    return {
        "threads": diariser.threads,
        "step": pipeline.segmentation_step,
        "segmentation_batch_size": pipeline._segmentation.batch_size,
        "threshold": pipeline.parameters(instantiated=True)["clustering"]["threshold"],
    }


@contextlib.contextmanager
def configured(diariser, config: dict) -> Iterator[None]:
    """Run the loaded pipeline with another configuration, then put the installed one back."""
    pipeline = diariser.pipeline
    saved, params = current_config(diariser), pipeline.parameters(instantiated=True)

    def apply(cfg: dict) -> None:
        diariser.threads = cfg["threads"]
        pipeline.segmentation_step = cfg["step"]
        pipeline._segmentation.step = cfg["step"] * pipeline._segmentation.duration
        pipeline._segmentation.batch_size = cfg["segmentation_batch_size"]
        pipeline.instantiate(
            {**params, "clustering": {**params["clustering"], "threshold": cfg["threshold"]}}
        )

    apply(config)
    try:
        yield
    finally:
        apply(saved)


def timed_run(diariser, audio: np.ndarray, **kwargs) -> tuple[list, float]:
    t0 = time.perf_counter()
    segments = diariser(audio, 16000, **kwargs)
    return segments, time.perf_counter() - t0


def run_figures(diariser, items: list[Item], baseline: bool) -> None:
    from qa_scoring.transcribe.audio import load_audio

    configs = [("installed", current_config(diariser))] + ([("previous", PREVIOUS)] if baseline else [])
    for name, config in configs:
        print(f"{name:9}: {config}")
    print(f"\n{diariser.version}; load average {os.getloadavg()[0]:.1f} (2 cores)\n")
    columns = "  ".join(f"{'DER or':>6} {'DER au':>6} {'RTF':>5}" for _ in configs)
    names = "  |  ".join(n for n, _ in configs)
    print(f"{'file':8} {'dur s':>6} {'spk':>3}  {columns}   speed-up   ({names})")
    totals = {name: {"time": 0.0, "oracle": [], "auto": [], "phone": []} for name, _ in configs}
    total_audio = 0.0
    for item in items:
        audio = load_audio(item.audio).mono
        duration = len(audio) / 16000
        reference, uem = load_reference(item)
        n_ref = len(reference.labels())
        cells, times = [], []
        for name, config in configs:
            with configured(diariser, config):
                oracle, elapsed = timed_run(diariser, audio, num_speakers=n_ref)
                auto, _ = timed_run(diariser, audio, min_speakers=1, max_speakers=8)
            d_oracle = der(reference, to_annotation(oracle, item.uri), uem)
            d_auto = der(reference, to_annotation(auto, item.uri), uem)
            t = totals[name]
            t["time"] += elapsed
            t["oracle"].append(d_oracle)
            t["auto"].append(d_auto)
            if item.phone:
                t["phone"].append((d_oracle, d_auto))
            times.append(elapsed)
            cells.append(f"{100 * d_oracle:5.1f}% {100 * d_auto:5.1f}% {elapsed / duration:5.3f}")
        total_audio += duration
        ratio = f"{times[1] / times[0]:7.1f}x" if len(times) > 1 else ""
        print(f"{item.uri:8} {duration:6.1f} {n_ref:3d}  {'  '.join(cells)}  {ratio}", flush=True)
    print()
    for name, _ in configs:
        t = totals[name]
        phone = np.array(t["phone"]) if t["phone"] else np.zeros((1, 2))
        print(
            f"{name:9}: mean DER oracle {100 * np.mean(t['oracle']):.2f}% "
            f"auto {100 * np.mean(t['auto']):.2f}%"
            f" | phone-style oracle {100 * phone[:, 0].mean():.2f}% auto {100 * phone[:, 1].mean():.2f}%"
            f" | RTF {t['time'] / total_audio:.3f} ({t['time']:.1f} s for {total_audio:.0f} s, oracle runs)"
        )
    if baseline:
        speed_up = totals["previous"]["time"] / totals["installed"]["time"]
        print(f"speed-up vs previous configuration: {speed_up:.1f}x")
    print(f"peak RSS after diarising: {peak_rss_mib():.0f} MiB (load average {os.getloadavg()[0]:.1f})")


def run_asr_ratio(diariser, seconds: float = 180.0) -> None:
    """Diarisation time against bare faster-whisper on the same 3-minute real-call excerpt, so the cost of
    a mono call's whole pipeline over ASR alone is a ratio measured in one process."""
    from qa_scoring.config import get_settings
    from qa_scoring.transcribe.asr import Recogniser
    from qa_scoring.transcribe.audio import load_audio

    audio = load_audio(EXCERPT).mono[: int(seconds * 16000)]
    recogniser = Recogniser.load(get_settings())
    recogniser(audio[: 5 * 16000])  # warm-up
    t0 = time.perf_counter()
    recogniser(audio)
    asr = time.perf_counter() - t0
    _, diarise = timed_run(diariser, audio)
    with configured(diariser, PREVIOUS):
        _, previous = timed_run(diariser, audio)
    print(
        f"\n{EXCERPT.name[:30]} first {seconds:.0f} s, load average {os.getloadavg()[0]:.1f}: "
        f"bare ASR ({recogniser.name}) RTF {asr / seconds:.3f}; diarisation RTF {diarise / seconds:.3f} "
        f"(previous configuration {previous / seconds:.3f}); "
        f"ASR + diarisation = {(asr + diarise) / asr:.2f}x "
        f"bare ASR (previous {(asr + previous) / asr:.2f}x); peak RSS {peak_rss_mib():.0f} MiB"
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
    if diariser.threads > 0:
        torch.set_num_threads(diariser.threads)  # the pipeline is called directly here, not via diariser
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
        "--steps", default="0.1,0.3", help="segmentation steps for --sweep (fraction of 10 s)"
    )
    parser.add_argument("--thresholds", default="0.4,0.5,0.55,0.6,0.65,0.7,0.8")
    parser.add_argument("--long", action="store_true", help="also time the two long real calls (no DER)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the previous configuration")
    parser.add_argument("--no-asr", action="store_true", help="skip the comparison with bare ASR")
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
    run_figures(diariser, items, not args.no_baseline)
    if not args.no_asr:
        run_asr_ratio(diariser)
    if args.long:
        run_long(diariser)


if __name__ == "__main__":
    main()
