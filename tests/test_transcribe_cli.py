"""``qa-scoring transcribe`` end to end on real audio: outputs, roles, overtalk and bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import PROJECT_ROOT

from qa_scoring.cli import main
from qa_scoring.config import Settings
from qa_scoring.transcribe.device import cuda_devices
from qa_scoring.transcribe.evaluation import word_error_rate
from qa_scoring.transcript import Transcript

CALLS = PROJECT_ROOT / "samples" / "calls"


def truth(name: str) -> dict:
    return json.loads((CALLS / f"{name}.truth.json").read_text(encoding="utf-8"))


def role_at(transcript: Transcript, t: float) -> str | None:
    for turn in transcript.turns:
        for w in turn.words:
            if w.start <= t <= w.end:
                return turn.role
    return None


def check_roles_and_text(transcript: Transcript, expected: dict) -> None:
    """Every truth turn's words come out under the truth role; the text is close to the script."""
    agree = total = 0
    for turn in expected["turns"]:
        for w in (w for t in transcript.turns for w in t.words):
            mid = (w.start + w.end) / 2
            if turn["start"] + 0.1 <= mid <= turn["end"] - 0.1:
                total += 1
                agree += role_at(transcript, mid) == turn["speaker"]
    assert total > 50
    assert agree / total >= 0.95
    reference = " ".join(t["text"] for t in expected["turns"])
    hypothesis = " ".join(t.text for t in transcript.turns)
    assert word_error_rate(reference, hypothesis) < 0.2


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path, Path]:
    """One CLI run over a good stereo call and several bad files (models load once for the run)."""
    tmp = tmp_path_factory.mktemp("cli")
    (tmp / "empty.wav").write_bytes(b"")
    (tmp / "corrupt.mp3").write_bytes(b"ID3" + bytes(range(256)) * 8)
    out = tmp / "out"
    args = [
        "transcribe",
        str(CALLS / "broadband-fault-complaint.wav"),
        str(tmp / "empty.wav"),
        str(tmp / "corrupt.mp3"),
        str(tmp / "missing.flac"),
        "--out",
        str(out),
    ]
    for fmt in ("json", "srt", "vtt", "rttm", "txt"):
        args += ["--format", fmt]
    result = CliRunner().invoke(main, args)
    return result, out, tmp


def test_bad_inputs_reported_and_good_one_written(run) -> None:
    result, out, tmp = run
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: {tmp / 'empty.wav'}: empty file (0 bytes)",
        f"error: {tmp / 'corrupt.mp3'}: not a readable audio file (Invalid data found when processing input)",
        f"error: {tmp / 'missing.flac'}: no such file",
    ]
    assert "3 of 4 recording(s) failed" in result.stderr
    written = sorted(p.name for p in out.iterdir())
    stem = "broadband-fault-complaint"
    assert written == sorted(f"{stem}{ext}" for ext in (".transcript.json", ".srt", ".vtt", ".rttm", ".txt"))


def test_stereo_call_by_channel(run) -> None:
    _, out, _ = run
    transcript = Transcript.load(out / "broadband-fault-complaint.transcript.json")
    expected = truth("broadband-fault-complaint")
    assert transcript.call_id == "broadband-fault-complaint"
    assert transcript.channels == 2 and transcript.sample_rate == 8000
    assert transcript.duration == pytest.approx(expected["duration"], abs=0.2)
    assert transcript.diarisation["method"] == "channel"
    assert transcript.roles["method"] == "content"
    wiring = dict(zip(("left", "right"), expected["channel_roles"], strict=True))
    assert transcript.roles["speakers"] == wiring
    assert transcript.roles["confidence"] >= 0.9
    assert transcript.models["asr"]["name"] == Settings().asr_model and transcript.models["asr"]["version"]
    # device = auto on a machine without a GPU: the CPU, and auto's compute type there.
    if not cuda_devices():
        assert (transcript.models["asr"]["device"], transcript.models["asr"]["compute_type"]) == (
            "cpu",
            "int8",
        )
    check_roles_and_text(transcript, expected)
    # The scripted overtalk is found, and the turns in it are marked.
    for overlap in expected["overlaps"]:
        assert any(min(o.end, overlap["end"]) > max(o.start, overlap["start"]) for o in transcript.overlaps)
        assert any(
            t.overlap and t.start <= overlap["end"] and t.end >= overlap["start"] for t in transcript.turns
        )
    srt = (out / "broadband-fault-complaint.srt").read_text()
    assert srt.startswith("1\n00:00:") and "Agent: " in srt and "Customer: " in srt


def test_channel_roles_setting(speech_pipeline, monkeypatch) -> None:
    """A configured wiring wins over content (here deliberately the wrong way round)."""
    monkeypatch.setattr(speech_pipeline.settings, "channel_roles", "agent,customer")
    transcript = speech_pipeline.transcribe_file(CALLS / "bank-card-lost.ogg")
    assert transcript.roles["method"] == "channel-map" and transcript.roles["confidence"] == 1.0
    assert {t.speaker: t.role for t in transcript.turns} == {"left": "agent", "right": "customer"}
    monkeypatch.setattr(speech_pipeline.settings, "channel_roles", "")
    transcript = speech_pipeline.transcribe_file(CALLS / "bank-card-lost.ogg")
    check_roles_and_text(transcript, truth("bank-card-lost"))


def test_silent_and_short_files(speech_pipeline, tmp_path: Path) -> None:
    import numpy as np
    import soundfile as sf

    from qa_scoring.transcribe.audio import AudioError

    sf.write(tmp_path / "hold.wav", np.zeros(8000 * 5, dtype=np.float32), 8000, subtype="PCM_16")
    with pytest.raises(AudioError, match=r"hold\.wav: silent"):
        speech_pipeline.transcribe_file(tmp_path / "hold.wav")
    sf.write(tmp_path / "hiss.wav", 0.002 * np.random.default_rng(0).standard_normal(8000 * 5), 8000)
    with pytest.raises(AudioError, match=r"hiss\.wav: no speech recognised"):
        speech_pipeline.transcribe_file(tmp_path / "hiss.wav")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["retail-delivery-complaint", "energy-meter-reading"])
def test_mono_sample_call(speech_pipeline, name: str) -> None:
    """Mono call: pyannote diarisation, roles from content, text close to the script."""
    expected = truth(name)
    path = next(p for p in CALLS.glob(f"{name}.*") if not p.name.endswith(".json"))
    transcript = speech_pipeline.transcribe_file(path)
    assert transcript.diarisation["method"] == "pyannote"
    assert transcript.roles["method"] == "content" and transcript.roles["confidence"] >= 0.9
    check_roles_and_text(transcript, expected)
    for overlap in expected["overlaps"]:
        assert any(min(o.end, overlap["end"]) > max(o.start, overlap["start"]) for o in transcript.overlaps)
