"""Where a recording's metadata comes from: a sidecar JSON, a manifest, or the file name.

Contact-centre exports differ per vendor, so three sources are accepted and the first that knows
a file wins: its sidecar (``call.wav.json`` or ``call.json``), then the manifest row for it, then
the ``--pattern`` applied to its name. Keys are normalised to :data:`FIELDS`; anything else is
kept in ``extra`` so nothing the exporter wrote is thrown away.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

# Canonical keys and the spellings exporters use for them.
ALIASES: dict[str, tuple[str, ...]] = {
    "agent": ("agent", "agent_id", "agentid", "agent_external_id", "extension", "user"),
    "agent_name": ("agent_name", "agentname"),
    "team": ("team", "team_name", "group"),
    "queue": ("queue", "queue_name", "skill", "campaign"),
    "direction": ("direction", "call_direction"),
    "started_at": ("started_at", "start_time", "start", "datetime", "timestamp", "date"),
    "call_id": ("call_id", "callid", "id", "uniqueid", "external_id", "recording_id"),
}
FIELDS = tuple(ALIASES)
FILE_KEYS = ("file", "path", "filename", "file_name", "recording", "audio")


class MetadataError(ValueError):
    """A sidecar, manifest or pattern that cannot be read; the message names the file."""


def normalise(raw: dict[str, Any]) -> dict[str, Any]:
    """Map an exporter's keys onto :data:`FIELDS`; unknown keys go to ``extra``."""
    lowered = {str(k).strip().lower(): v for k, v in raw.items() if v not in (None, "")}
    out: dict[str, Any] = {}
    used: set[str] = set()
    for field, names in ALIASES.items():
        for name in names:
            if name in lowered:
                out[field] = lowered[name]
                used.add(name)
                break
    extra = {k: v for k, v in lowered.items() if k not in used and k not in FILE_KEYS}
    if extra:
        out["extra"] = extra
    return out


def parse_datetime(value: Any) -> dt.datetime | None:
    """Accept ISO 8601, ``YYYYMMDD``, ``YYYYMMDD-HHMMSS`` and epoch seconds; UTC when no zone."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, int | float) or (
        isinstance(value, str) and re.fullmatch(r"\d{9,11}(\.\d+)?", value)
    ):
        parsed = dt.datetime.fromtimestamp(float(value), dt.UTC)
    else:
        text = str(value).strip()
        for fmt in ("%Y%m%d-%H%M%S", "%Y%m%d_%H%M%S", "%Y%m%dT%H%M%S", "%Y%m%d"):
            try:
                parsed = dt.datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        else:
            try:
                parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
            except ValueError:
                return None
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed.astimezone(dt.UTC)


def read_sidecar(audio: Path) -> tuple[dict[str, Any], Path] | None:
    """The sidecar next to ``audio`` (``x.wav.json`` first, then ``x.json``), or None."""
    for candidate in (audio.with_name(audio.name + ".json"), audio.with_suffix(".json")):
        if candidate.is_file():
            try:
                data = json.loads(candidate.read_text(encoding="utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise MetadataError(f"{candidate}: sidecar is not valid JSON ({exc})") from None
            if not isinstance(data, dict):
                raise MetadataError(f"{candidate}: sidecar must be a JSON object")
            return normalise(data), candidate
    return None


class Manifest:
    """Rows of a CSV or JSON manifest, looked up by a recording's path, name or stem."""

    def __init__(self, path: Path) -> None:
        self.path = path
        rows = self._read(path)
        self._by_key: dict[str, dict[str, Any]] = {}
        for i, row in enumerate(rows):
            name = next(
                (str(row[k]).strip() for k in row if str(k).strip().lower() in FILE_KEYS and row[k]),
                None,
            )
            if name is None:
                raise MetadataError(f"{path}: row {i + 1} names no file (one of: {', '.join(FILE_KEYS)})")
            meta = normalise(row)
            resolved = (path.parent / name).resolve()
            for key in (str(resolved), Path(name).name, Path(name).stem):
                self._by_key.setdefault(key, meta)

    @staticmethod
    def _read(path: Path) -> list[dict[str, Any]]:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise MetadataError(f"{path}: manifest not found") from None
        except UnicodeDecodeError:
            raise MetadataError(f"{path}: manifest is not UTF-8 text") from None
        if path.suffix.lower() == ".json":
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise MetadataError(f"{path}: manifest is not valid JSON ({exc})") from None
            if isinstance(data, dict):  # {"file.wav": {...}} form
                data = [{"file": k, **v} for k, v in data.items() if isinstance(v, dict)]
            if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
                raise MetadataError(
                    f"{path}: JSON manifest must be a list of objects or an object of objects"
                )
            return data
        if path.suffix.lower() == ".csv":
            return list(csv.DictReader(text.splitlines()))
        raise MetadataError(f"{path}: manifest must be .csv or .json")

    def lookup(self, audio: Path) -> dict[str, Any] | None:
        for key in (str(audio.resolve()), audio.name, audio.stem):
            if key in self._by_key:
                return self._by_key[key]
        return None


class FilenamePattern:
    """``"{agent}_{date}_{callid}.wav"`` turned into a regular expression over file names.

    Placeholders take the canonical names or their aliases (``{date}`` -> started_at,
    ``{callid}`` -> call_id). A placeholder matches up to the next literal character.
    """

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern
        parts = re.split(r"\{([^{}]+)\}", pattern)
        regex = ""
        self.groups: dict[str, str] = {}
        for i, part in enumerate(parts):
            if i % 2 == 0:
                regex += re.escape(part)
                continue
            group = f"g{i}"
            self.groups[group] = part.strip().lower()
            regex += f"(?P<{group}>.+?)"
        if not self.groups:
            raise MetadataError(f"pattern {pattern!r} has no {{placeholders}}")
        has_suffix = Path(pattern).suffix and not Path(pattern).suffix.startswith(".{")
        self.regex = re.compile(regex + ("" if has_suffix else r"(?:\.[^.]+)?") + "$")

    def match(self, audio: Path) -> dict[str, Any] | None:
        found = self.regex.match(audio.name)
        if found is None:
            return None
        return normalise({name: found.group(group) for group, name in self.groups.items()})
