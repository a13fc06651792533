"""Renderings of a transcript for people and other tools; the JSON document stays the record.

SRT/VTT put the call into any media player next to the audio, RTTM feeds diarisation scoring
tools (pyannote.metrics, dscore), TXT is for reading and pasting into a ticket. Each line says
the role (agent/customer) because that is what a reviewer needs; RTTM keeps the diarisation
label, which is what the scoring tools compare.
"""

from __future__ import annotations

from collections.abc import Callable

from qa_scoring.transcript import Transcript, Turn

FORMATS = ("json", "srt", "vtt", "rttm", "txt")
EXTENSIONS = {"json": ".transcript.json", "srt": ".srt", "vtt": ".vtt", "rttm": ".rttm", "txt": ".txt"}


def _clock(seconds: float, decimal: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, rest = divmod(millis, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal}{millis:03d}"


def _timed(transcript: Transcript) -> list[Turn]:
    return [t for t in transcript.turns if t.start is not None and t.end is not None]


def _label(turn: Turn) -> str:
    return turn.role.capitalize() if turn.role != "unknown" else turn.speaker


def to_srt(transcript: Transcript) -> str:
    blocks = []
    for i, turn in enumerate(_timed(transcript), start=1):
        assert turn.start is not None and turn.end is not None
        blocks.append(
            f"{i}\n{_clock(turn.start, ',')} --> {_clock(turn.end, ',')}\n{_label(turn)}: {turn.text}\n"
        )
    return "\n".join(blocks)


def to_vtt(transcript: Transcript) -> str:
    blocks = ["WEBVTT\n"]
    for turn in _timed(transcript):
        assert turn.start is not None and turn.end is not None
        text = turn.text.replace("-->", "->")  # the only sequence a cue payload must not contain
        blocks.append(f"{_clock(turn.start, '.')} --> {_clock(turn.end, '.')}\n<v {_label(turn)}>{text}\n")
    return "\n".join(blocks)


def to_rttm(transcript: Transcript) -> str:
    """NIST RTTM: ``SPEAKER <file> 1 <onset> <duration> <NA> <NA> <speaker> <NA> <NA>`` per turn."""
    uri = transcript.call_id.replace(" ", "_")
    lines = []
    for turn in _timed(transcript):
        assert turn.start is not None and turn.end is not None
        speaker = turn.speaker.replace(" ", "_")
        lines.append(
            f"SPEAKER {uri} 1 {turn.start:.3f} {turn.end - turn.start:.3f} <NA> <NA> {speaker} <NA> <NA>"
        )
    return "\n".join(lines) + ("\n" if lines else "")


def to_txt(transcript: Transcript) -> str:
    lines = []
    for turn in transcript.turns:
        stamp = f"[{_clock(turn.start, '.')[:-4]}] " if turn.start is not None else ""
        mark = " (overtalk)" if turn.overlap else ""
        lines.append(f"{stamp}{_label(turn)}{mark}: {turn.text}")
    return "\n".join(lines) + ("\n" if lines else "")


def to_json(transcript: Transcript) -> str:
    return transcript.to_json() + "\n"


RENDERERS: dict[str, Callable[[Transcript], str]] = {
    "json": to_json,
    "srt": to_srt,
    "vtt": to_vtt,
    "rttm": to_rttm,
    "txt": to_txt,
}


def render(transcript: Transcript, fmt: str) -> str:
    try:
        return RENDERERS[fmt](transcript)
    except KeyError:
        raise ValueError(f"unknown transcript format {fmt!r}; one of {', '.join(FORMATS)}") from None
