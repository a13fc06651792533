"""The transcript document: what the speech pipeline produces and everything downstream reads.

One JSON form, versioned (``SCHEMA``/``SCHEMA_VERSION``); see ``docs/transcript-schema.md``.
It is plain data: nothing here knows audio, models, rubrics or the database, so the rubric
engine, the store and the UI can all pass it along without importing the speech stack.

Besides the full document, :func:`Transcript.from_dict` accepts the *minimal* form that other
systems and the labelled calls use::

    {"turns": [{"speaker": "agent", "text": "...", "start": 0.0, "end": 1.2}]}

where ``speaker`` is the role, times are optional and extra keys are ignored.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

SCHEMA = "qa-scoring/transcript"
SCHEMA_VERSION = 2

Role = Literal["agent", "customer", "unknown"]
ROLES: tuple[Role, ...] = ("agent", "customer", "unknown")


class TranscriptError(ValueError):
    """A transcript file or dict that cannot be read; the message names the problem."""


@dataclass
class Word:
    text: str
    start: float
    end: float
    probability: float = 1.0


@dataclass
class Turn:
    """One speaker's stretch of speech. ``speaker`` is the diarisation label, ``role`` who they are."""

    speaker: str
    role: Role
    text: str
    start: float | None = None
    end: float | None = None
    words: list[Word] = field(default_factory=list)
    overlap: bool = False


@dataclass
class Overlap:
    """A stretch where both parties speak at once (overtalk)."""

    start: float
    end: float
    speakers: list[str]


EventKind = Literal["hold"]
# Where an event was found: in the audio ("music": speech-free but not silent; "silence": no party
# active), or in the text ("marker": a transcriber's "[on hold]"; "words": what the agent says).
EventSource = Literal["music", "silence", "marker", "words"]
EVENT_SOURCES: tuple[EventSource, ...] = ("music", "silence", "marker", "words")


@dataclass
class Event:
    """Something that happens in the call besides speech, such as a hold.

    Holds matter to the rubrics (etiquette around them, hold time) but most transcripts never say
    "[on hold]": the audio shows them (music, a long silence on both sides) and so do the agent's
    words. ``turn`` is the index of the first turn after the event (the turn that resumes), so
    untimed transcripts can place it too.
    """

    kind: EventKind
    source: EventSource
    start: float | None = None
    end: float | None = None
    turn: int | None = None

    @property
    def duration(self) -> float | None:
        return None if self.start is None or self.end is None else max(0.0, self.end - self.start)


@dataclass
class Transcript:
    call_id: str
    turns: list[Turn]
    duration: float | None = None
    sample_rate: int | None = None
    channels: int | None = None
    source: str | None = None
    language: str | None = None
    # How speakers were separated: "channel", "pyannote", "single" or "given" (came with the input).
    diarisation: dict[str, Any] = field(default_factory=lambda: {"method": "given"})
    # How roles were decided: {"method": "channel-map"|"content"|"given", "confidence": float,
    # "speakers": {label: role}}
    roles: dict[str, Any] = field(default_factory=lambda: {"method": "given", "confidence": 1.0})
    # {"asr": {"name": ..., "version": ...}, "diarisation": {...}, "software": {...}}
    models: dict[str, Any] = field(default_factory=dict)
    overlaps: list[Overlap] = field(default_factory=list)
    # Non-speech events the speech pipeline found in the audio (holds); text-derived ones are found
    # when scoring (``qa_scoring.behaviours.holds``), so a transcript from elsewhere needs none.
    events: list[Event] = field(default_factory=list)

    @property
    def timed(self) -> bool:
        """Whether every turn carries times (metrics that need time are skipped otherwise)."""
        return bool(self.turns) and all(t.start is not None and t.end is not None for t in self.turns)

    def turns_of(self, role: Role) -> list[tuple[int, Turn]]:
        return [(i, t) for i, t in enumerate(self.turns) if t.role == role]

    def to_dict(self) -> dict[str, Any]:
        body = asdict(self)
        return {"schema": SCHEMA, "schema_version": SCHEMA_VERSION, **body}

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any], call_id: str | None = None) -> Transcript:
        """Read the full document or the minimal ``{"turns": [...]}`` form."""
        if not isinstance(data, dict) or not isinstance(data.get("turns"), list):
            raise TranscriptError('expected an object with a "turns" list')
        version = data.get("schema_version")
        if version is not None and version > SCHEMA_VERSION:
            raise TranscriptError(
                f"schema_version {version} is newer than this qa-scoring reads ({SCHEMA_VERSION})"
            )
        turns = [_turn_from_dict(t, i) for i, t in enumerate(data["turns"])]
        full = data.get("schema") == SCHEMA
        return cls(
            call_id=str(data.get("call_id") or call_id or "call"),
            turns=turns,
            duration=data.get("duration"),
            sample_rate=data.get("sample_rate"),
            channels=data.get("channels"),
            source=data.get("source"),
            language=data.get("language"),
            diarisation=data.get("diarisation") or {"method": "given"},
            roles=data.get("roles") or {"method": "given", "confidence": 1.0},
            models=data.get("models") or {},
            overlaps=[Overlap(**o) for o in data.get("overlaps", [])] if full else [],
            events=[_event_from_dict(e, i) for i, e in enumerate(data.get("events") or [])],
        )

    @classmethod
    def load(cls, path: str | Path) -> Transcript:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise TranscriptError(f"{path}: no such file") from None
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise TranscriptError(f"{path}: not valid JSON ({exc})") from None
        try:
            return cls.from_dict(data, call_id=path.stem.removesuffix(".transcript"))
        except TranscriptError as exc:
            raise TranscriptError(f"{path}: {exc}") from None

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json(), encoding="utf-8")


def _turn_from_dict(data: Any, index: int) -> Turn:
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        raise TranscriptError(f"turn {index}: expected an object with a text string")
    speaker = str(data.get("speaker", "unknown"))
    role = data.get("role")
    if role is None:  # minimal form: the speaker *is* the role
        role = speaker.lower() if speaker.lower() in ROLES else "unknown"
    if role not in ROLES:
        raise TranscriptError(f"turn {index}: role {role!r} is not one of {', '.join(ROLES)}")
    word_keys = ("text", "start", "end", "probability")
    words = [Word(**{k: w[k] for k in word_keys if k in w}) for w in data.get("words", [])]
    return Turn(
        speaker=speaker,
        role=role,
        text=data["text"],
        start=_opt_float(data.get("start")),
        end=_opt_float(data.get("end")),
        words=words,
        overlap=bool(data.get("overlap", False)),
    )


def _event_from_dict(data: Any, index: int) -> Event:
    if not isinstance(data, dict) or data.get("kind") != "hold":
        raise TranscriptError(f'event {index}: expected an object with kind "hold"')
    if data.get("source") not in EVENT_SOURCES:
        known = ", ".join(EVENT_SOURCES)
        raise TranscriptError(f"event {index}: source {data.get('source')!r} is not one of {known}")
    turn = data.get("turn")
    return Event(
        kind="hold",
        source=data["source"],
        start=_opt_float(data.get("start")),
        end=_opt_float(data.get("end")),
        turn=None if turn is None else int(turn),
    )


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)
