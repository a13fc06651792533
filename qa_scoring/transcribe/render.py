"""Renderings of a transcript for people and other tools; the JSON document stays the record.

SRT/VTT put the call into any media player next to the audio, RTTM feeds diarisation scoring
tools (pyannote.metrics, dscore), TXT is for reading and pasting into a ticket. Each line says
the role (agent/customer) because that is what a reviewer needs; RTTM keeps the diarisation
label, which is what the scoring tools compare. Holds found in the audio show where they happened:
a ``[hold: music 0:42-1:15]`` line in TXT, a cue of their own in SRT and VTT.
"""

from __future__ import annotations

from collections.abc import Callable

from qa_scoring.transcript import Event, Transcript, Turn

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


def _short_clock(seconds: float) -> str:
    minutes, secs = divmod(max(0, round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def hold_line(event: Event) -> str:
    """``[hold: music 0:42-1:15]``: a hold as a reader sees it between the turns."""
    span = ""
    if event.start is not None and event.end is not None:
        span = f" {_short_clock(event.start)}-{_short_clock(event.end)}"
    return f"[{event.kind}: {event.source}{span}]"


def _timed_events(transcript: Transcript) -> list[Event]:
    return [e for e in transcript.events if e.start is not None and e.end is not None]


def _cues(transcript: Transcript) -> list[tuple[float, float, str | None, str]]:
    """(start, end, voice, text) per timed turn and per timed event, in time order (events carry no voice)."""
    cues: list[tuple[float, float, str | None, str]] = []
    for turn in _timed(transcript):
        assert turn.start is not None and turn.end is not None
        cues.append((turn.start, turn.end, _label(turn), turn.text))
    for event in _timed_events(transcript):
        assert event.start is not None and event.end is not None
        cues.append((event.start, event.end, None, hold_line(event)))
    return sorted(cues, key=lambda c: (c[0], c[1]))


def to_srt(transcript: Transcript) -> str:
    blocks = []
    for i, (start, end, voice, text) in enumerate(_cues(transcript), start=1):
        line = f"{voice}: {text}" if voice else text
        blocks.append(f"{i}\n{_clock(start, ',')} --> {_clock(end, ',')}\n{line}\n")
    return "\n".join(blocks)


def to_vtt(transcript: Transcript) -> str:
    blocks = ["WEBVTT\n"]
    for start, end, voice, text in _cues(transcript):
        text = text.replace("-->", "->")  # the only sequence a cue payload must not contain
        line = f"<v {voice}>{text}" if voice else text
        blocks.append(f"{_clock(start, '.')} --> {_clock(end, '.')}\n{line}\n")
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
    before: dict[int, list[Event]] = {}  # holds by the turn they end before
    for event in transcript.events:
        before.setdefault(len(transcript.turns) if event.turn is None else event.turn, []).append(event)
    for i, turn in enumerate(transcript.turns):
        lines.extend(hold_line(e) for e in before.pop(i, []))
        stamp = f"[{_clock(turn.start, '.')[:-4]}] " if turn.start is not None else ""
        mark = " (overtalk)" if turn.overlap else ""
        lines.append(f"{stamp}{_label(turn)}{mark}: {turn.text}")
    lines.extend(hold_line(e) for turn in sorted(before) for e in before[turn])
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
