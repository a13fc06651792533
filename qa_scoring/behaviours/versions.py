"""Versions of the behaviour model: every trained model kept in its own folder, one of them in use.

``<models_dir>/behaviours`` is the model in use (what ``BehaviourDetector.load`` reads, unchanged);
``<models_dir>/behaviour-versions/<version>/`` keeps each model ever trained or used, with
``history.json`` saying when and from what it was trained, its figures, and whether it was promoted.
Why copies rather than a link: a model folder is a few MB, a copy works on every file system, and
the folder in use is swapped by renames of complete folders, so a scorer never reads half of two
models (a process that loaded a model keeps it until it restarts).
Human decisions are never touched here: a re-score with another version only writes new automatic
results (see ``qa_scoring.review``).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

ACTIVE = "behaviours"
VERSIONS = "behaviour-versions"
HISTORY = "history.json"


class VersionError(ValueError):
    """A version that is not kept, or a models folder without a model in use."""


@dataclass
class VersionRecord:
    version: str
    created_at: str
    source: str  # "shipped" (trained on the project's calls) or "learn" (with reviewed calls)
    trained_on: dict = field(default_factory=dict)  # {"project_calls": n, "reviewed_calls": n}
    figures: dict = field(default_factory=dict)  # what the promotion decided on
    promoted: bool = False
    reason: str = ""
    used_from: list[str] = field(default_factory=list)  # when it was made the model in use


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def version_of(folder: Path) -> str:
    meta = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    return str(meta.get("version", "unknown"))


class ModelVersions:
    """The kept versions under one models folder."""

    def __init__(self, models_dir: Path) -> None:
        self.models_dir = Path(models_dir)
        self.active_dir = self.models_dir / ACTIVE
        self.root = self.models_dir / VERSIONS

    def history(self) -> list[VersionRecord]:
        path = self.root / HISTORY
        if not path.is_file():
            return []
        return [VersionRecord(**row) for row in json.loads(path.read_text(encoding="utf-8"))]

    def _write(self, records: list[VersionRecord]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f"{HISTORY}.tmp"
        tmp.write_text(json.dumps([asdict(r) for r in records], indent=2), encoding="utf-8")
        os.replace(tmp, self.root / HISTORY)

    def active(self) -> str | None:
        if not (self.active_dir / "metadata.json").is_file():
            return None
        return version_of(self.active_dir)

    def folder(self, version: str) -> Path:
        return self.root / version

    def record(self, version: str) -> VersionRecord | None:
        return next((r for r in self.history() if r.version == version), None)

    def keep(self, folder: Path, record: VersionRecord) -> Path:
        """Copy a trained model folder into the versions (once per version) and record it."""
        target = self.folder(record.version)
        if not target.exists():
            tmp = self.root / f".{record.version}.tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.copytree(folder, tmp)
            os.replace(tmp, target)
        records = [r for r in self.history() if r.version != record.version]
        old = self.record(record.version)
        if old is not None and not record.used_from:
            record.used_from = old.used_from
        self._write([*records, record])
        return target

    def keep_active(self) -> str:
        """Record the model in use (the shipped one, the first time) so it can be rolled back to."""
        version = self.active()
        if version is None:
            raise VersionError(f"{self.active_dir}: no behaviour model in use; run `make models`")
        if self.record(version) is None or not self.folder(version).is_dir():
            meta = json.loads((self.active_dir / "metadata.json").read_text(encoding="utf-8"))
            record = VersionRecord(
                version,
                _now(),
                str(meta.get("source", "shipped")),
                {"project_calls": meta.get("counts", {}).get("calls", 0), "reviewed_calls": 0},
                promoted=True,
                reason="the model in use before the first kept version",
                used_from=[_now()],
            )
            self.keep(self.active_dir, record)
        return version

    def use(self, version: str) -> None:
        """Make a kept version the model in use: copied beside it, then swapped in by renames."""
        source = self.folder(version)
        if not (source / "metadata.json").is_file():
            kept = ", ".join(r.version for r in self.history()) or "none"
            raise VersionError(f"behaviour model version {version!r} is not kept (kept: {kept})")
        if self.active() is not None:
            self.keep_active()
        tmp = self.models_dir / f".{ACTIVE}.new"
        old = self.models_dir / f".{ACTIVE}.old"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
        shutil.copytree(source, tmp)
        if self.active_dir.exists():
            os.replace(self.active_dir, old)
        os.replace(tmp, self.active_dir)
        shutil.rmtree(old, ignore_errors=True)
        records = self.history()
        for r in records:
            if r.version == version:
                r.used_from.append(_now())
        self._write(records)
