"""The committed sample calls: their ground truth must describe the audio exactly.

The demo and the speech tests trust ``samples/calls/*.truth.json`` (roles, turn times, text), so
these checks validate that truth against the decoded audio itself, without ASR: the audio has the
stated format, the agent's channel carries energy during agent turns and not during customer turns,
speech lies inside the turns and silence outside them. They also pin the generator's timeline
logic and script checks, which need no TTS.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from functools import cache
from pathlib import Path

import av
import numpy as np
import pytest
import yaml

from qa_scoring.transcript import Transcript

ROOT = Path(__file__).resolve().parents[1]
CALLS = ROOT / "samples" / "calls"
SCRIPTS = ROOT / "samples" / "scripts"
TRUTH_FILES = sorted(CALLS.glob("*.truth.json"))
FRAME = 80  # 10 ms at 8 kHz
EDGE = 0.04  # seconds of codec smear / filter ring allowed around a turn boundary


def _load_generator():
    path = ROOT / "scripts" / "make_sample_calls.py"
    spec = importlib.util.spec_from_file_location("make_sample_calls", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve annotations through sys.modules
    spec.loader.exec_module(module)
    return module


generator = _load_generator()


def _truth(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def _decode(path: Path) -> tuple[np.ndarray, int]:
    """(channels x samples) float audio and its rate, as a user's decoder would see it."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        channels = stream.codec_context.channels
        blocks = []
        for frame in container.decode(stream):
            data = frame.to_ndarray()
            if not frame.format.is_planar:
                data = data.reshape(-1, channels).T
            if data.dtype == np.int16:
                data = data / 32768.0
            elif data.dtype == np.int32:
                data = data / 2147483648.0
            blocks.append(data.astype(np.float64))
        return np.concatenate(blocks, axis=1), stream.rate


def _frame_db(x: np.ndarray) -> np.ndarray:
    n = len(x) // FRAME
    rms = np.sqrt(np.mean(x[: n * FRAME].reshape(n, FRAME) ** 2, axis=1))
    return 20 * np.log10(np.maximum(rms, 1e-10))


def _rms_db(x: np.ndarray) -> float:
    return float(20 * np.log10(max(np.sqrt(np.mean(x**2)), 1e-10)))


def _span(x: np.ndarray, start: float, end: float, rate: int) -> np.ndarray:
    return x[int(round(start * rate)) : int(round(end * rate))]


def _covered(turns: list[dict], duration: float, rate: int, margin: float) -> np.ndarray:
    """Sample mask of where any turn (widened by ``margin``) is."""
    mask = np.zeros(int(round(duration * rate)), dtype=bool)
    for t in turns:
        mask[max(0, int((t["start"] - margin) * rate)) : int((t["end"] + margin) * rate)] = True
    return mask


def test_there_are_sample_calls_covering_the_cases_the_demo_needs():
    docs = [_truth(p) for p in TRUTH_FILES]
    assert len(docs) >= 4, f"expected at least 4 sample calls in {CALLS}"
    assert {Path(d["audio"]).suffix for d in docs} >= {".wav", ".flac"}
    assert {Path(d["audio"]).suffix for d in docs} & {".mp3", ".ogg"}
    assert {d["layout"] for d in docs} == {"stereo", "mono"}
    assert {tuple(d["channel_roles"]) for d in docs if d["layout"] == "stereo"} == {
        ("agent", "customer"),
        ("customer", "agent"),
    }, "stereo calls should put the agent on the left in some and on the right in others"
    assert any(d["overlaps"] for d in docs), "no call has overtalk"
    pauses = [b["start"] - a["end"] for d in docs for a, b in zip(d["turns"], d["turns"][1:], strict=False)]
    assert max(pauses) >= 3.0, "no call has a pause of a few seconds"
    total = sum((CALLS / d["audio"]).stat().st_size for d in docs)
    assert total < 3_000_000, f"committed sample audio is {total} bytes; keep it under 3 MB"


@pytest.mark.parametrize("path", TRUTH_FILES, ids=lambda p: p.name.removesuffix(".truth.json"))
class TestSampleCall:
    def test_truth_is_a_readable_transcript(self, path: Path):
        doc = _truth(path)
        transcript = Transcript.from_dict(doc)
        assert transcript.call_id == doc["call_id"] == path.name.removesuffix(".truth.json")
        assert transcript.timed
        assert {t.role for t in transcript.turns} == {"agent", "customer"}
        assert all(t.text.strip() for t in transcript.turns)
        assert transcript.sample_rate == 8000 and transcript.duration == doc["duration"]
        assert doc["organisation"] and doc["organisation"] in transcript.turns[0].text

    def test_truth_matches_its_dialogue_script(self, path: Path):
        """The committed audio was generated from the committed script (not a stale edit)."""
        doc = _truth(path)
        script = generator.load_script(ROOT / doc["generated_from"])
        assert script.call_id == doc["call_id"]
        assert script.layout == doc["layout"]
        assert [(t.role, t.text) for t in script.turns] == [(t["speaker"], t["text"]) for t in doc["turns"]]

    def test_audio_format_matches_truth(self, path: Path):
        doc = _truth(path)
        audio, rate = _decode(CALLS / doc["audio"])
        assert rate == doc["sample_rate"] == 8000
        assert audio.shape[0] == doc["channels"] == (2 if doc["layout"] == "stereo" else 1)
        assert len(doc.get("channel_roles", [])) == (2 if doc["layout"] == "stereo" else 0)
        assert audio.shape[1] / rate == pytest.approx(doc["duration"], abs=0.02)
        assert np.max(np.abs(audio)) < 1.0, "clipped"

    def test_turn_times_are_consistent(self, path: Path):
        doc = _truth(path)
        turns = doc["turns"]
        assert all(0 <= t["start"] < t["end"] <= doc["duration"] for t in turns)
        assert [t["start"] for t in turns] == sorted(t["start"] for t in turns)
        for role in ("agent", "customer"):
            own = [t for t in turns if t["speaker"] == role]
            for a, b in zip(own, own[1:], strict=False):
                assert a["end"] <= b["start"], f"{role} talks over themself at {b['start']}"
        for i, t in enumerate(turns):
            others = turns[:i] + turns[i + 1 :]
            assert t["overlap"] == any(o["start"] < t["end"] and t["start"] < o["end"] for o in others)
        for o in doc["overlaps"]:
            assert o["start"] < o["end"] and sorted(o["speakers"]) == ["agent", "customer"]

    def test_speech_is_inside_turns_and_silence_outside(self, path: Path):
        """Tight times: each turn begins and ends on speech, and nothing is spoken between turns."""
        doc = _truth(path)
        audio, rate = _decode(CALLS / doc["audio"])
        mix = audio.sum(axis=0)
        outside = ~_covered(doc["turns"], audio.shape[1] / rate, rate, EDGE)
        floor = np.percentile(_frame_db(mix[outside[: len(mix)]]), 90)
        for t in doc["turns"]:
            head = _frame_db(_span(mix, t["start"], t["start"] + 0.15, rate)).max()
            tail = _frame_db(_span(mix, t["end"] - 0.15, t["end"], rate)).max()
            assert head > floor + 15, f"turn at {t['start']} does not start on speech ({head:.0f} dB)"
            assert tail > floor + 15, f"turn ending {t['end']} does not end on speech ({tail:.0f} dB)"
            assert _rms_db(_span(mix, t["start"], t["end"], rate)) > floor + 20
        assert floor < -40, f"the gaps between turns are not quiet ({floor:.0f} dBFS)"


STEREO_FILES = [p for p in TRUTH_FILES if _truth(p)["layout"] == "stereo"]


@pytest.mark.parametrize("path", STEREO_FILES, ids=lambda p: p.name.removesuffix(".truth.json"))
def test_each_party_is_on_its_own_channel(path: Path):
    doc = _truth(path)
    audio, rate = _decode(CALLS / doc["audio"])
    roles = doc["channel_roles"]
    for t in doc["turns"]:
        own = audio[roles.index(t["speaker"])]
        other = audio[1 - roles.index(t["speaker"])]
        others_turns = [o for o in doc["turns"] if o["speaker"] != t["speaker"]]
        quiet = ~_covered(others_turns, audio.shape[1] / rate, rate, EDGE)[: len(other)]
        span = slice(int(t["start"] * rate), int(t["end"] * rate))
        other_part = other[span][quiet[span]]
        own_db = _rms_db(own[span])
        assert own_db > -30, f"{t['speaker']} channel is silent for the turn at {t['start']}"
        if len(other_part) > FRAME:
            assert own_db - _rms_db(other_part) > 25, f"turn at {t['start']} is on the wrong channel"


def test_script_with_a_bad_layout_names_the_file(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    data = yaml.safe_load((SCRIPTS / "bank-card-lost.yaml").read_text(encoding="utf-8"))
    data["layout"] = "quad"
    bad.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(generator.ScriptError, match=r"bad\.yaml.*layout"):
        generator.load_script(bad)


def test_stereo_script_needs_agent_channel(tmp_path: Path):
    bad = tmp_path / "nochannel.yaml"
    data = yaml.safe_load((SCRIPTS / "bank-card-lost.yaml").read_text(encoding="utf-8"))
    del data["agent_channel"]
    bad.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(generator.ScriptError, match="nochannel.yaml.*agent_channel"):
        generator.load_script(bad)


def test_timeline_places_gaps_and_overlaps_exactly():
    """Turn times are where the samples were placed: explicit gaps and overlaps are honoured."""
    turns = [
        generator.ScriptTurn("agent", "a", "a"),
        generator.ScriptTurn("customer", "b", "b", gap=2.0),
        generator.ScriptTurn("agent", "c", "c", overlap=0.5),
        generator.ScriptTurn("customer", "d", "d"),
    ]
    script = generator.CallScript(
        path=Path("t.yaml"),
        call_id="t",
        organisation="O",
        format="wav",
        codec="pcm_s16le",
        layout="stereo",
        agent_channel="right",
        sample_rate=8000,
        seed=1,
        voices={},
        turns=turns,
    )
    clips = [np.full(8000, 0.1), np.full(16000, 0.1), np.full(8000, 0.1), np.full(800, 0.1)]
    placed = generator.place(script, clips, np.random.default_rng(0))
    starts = [p.start for p in placed]
    assert starts[1] == placed[0].end + 16000
    assert starts[2] == placed[1].end - 4000
    assert placed[2].end > placed[1].end
    assert 0.25 * 8000 <= starts[3] - placed[2].end <= 0.7 * 8000  # after the later-ending turn
    audio, roles = generator.mix(script, placed, np.random.default_rng(0))
    assert roles == ["customer", "agent"]
    assert np.sqrt(np.mean(audio[1, placed[0].start : placed[0].end] ** 2)) > 0.09  # agent on the right
    assert np.sqrt(np.mean(audio[0, placed[0].start : placed[0].end] ** 2)) < 0.01
