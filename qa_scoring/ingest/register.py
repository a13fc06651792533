"""Register recordings in the store, idempotently.

A call's identity is the SHA-256 of its bytes, not its path: telephony exports get re-run and
archives get moved, and neither may create a second call or lose the reviews attached to the
first. Problems with one file (empty, too big, unreadable) are reported for that file and the
rest of the run carries on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from qa_scoring.files import sha256_file
from qa_scoring.ingest.metadata import (
    FilenamePattern,
    Manifest,
    MetadataError,
    parse_datetime,
    read_sidecar,
)
from qa_scoring.store.audit import audit
from qa_scoring.store.models import DIRECTIONS, UNKNOWN_AGENT, Agent, Call, Team

log = logging.getLogger(__name__)

AUDIO_EXTENSIONS = frozenset(
    {
        ".wav",
        ".mp3",
        ".flac",
        ".ogg",
        ".opus",
        ".oga",
        ".m4a",
        ".aac",
        ".wma",
        ".webm",
        ".amr",
        ".gsm",
        ".au",
    }
)


@dataclass
class IngestProblem:
    path: str
    reason: str
    kind: str = ""  # problems of one kind are summarised on the terminal when there are many

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


# Printed instead of the list when a night has more than SHOWN problems of one kind.
SHOWN = 5
SUMMARIES = {
    "no_agent": "{n} recordings have no agent in their metadata; stored as '{unknown}'",
    "duplicate": "{n} files have the same content as another and were not registered twice",
}


def summarised(label: str, problems: list[IngestProblem], where: str) -> list[str]:
    """One line per problem while few; past SHOWN, a count per kind (the full list is in ``where``)."""
    if len(problems) <= SHOWN:
        return [f"  {label}: {p}" for p in problems]
    out = []
    by_kind: dict[str, list[IngestProblem]] = {}
    for problem in problems:
        by_kind.setdefault(problem.kind, []).append(problem)
    for kind, group in by_kind.items():
        if kind in SUMMARIES and len(group) > 1:
            out.append(
                f"  {label}: "
                + SUMMARIES[kind].format(n=len(group), unknown=UNKNOWN_AGENT)
                + f"; see {where}"
            )
        else:
            out += [f"  {label}: {p}" for p in group[:SHOWN]]
            if len(group) > SHOWN:
                out.append(f"  {label}: ... and {len(group) - SHOWN} more; see {where}")
    return out


@dataclass
class IngestReport:
    added: list[int] = field(default_factory=list)  # call ids
    unchanged: list[int] = field(default_factory=list)
    moved: list[tuple[int, str, str]] = field(default_factory=list)  # (call id, old path, new path)
    duplicates: list[IngestProblem] = field(default_factory=list)
    warnings: list[IngestProblem] = field(default_factory=list)
    errors: list[IngestProblem] = field(default_factory=list)

    @property
    def call_ids(self) -> list[int]:
        """Every call the given paths refer to (new, moved or already known)."""
        return self.added + [m[0] for m in self.moved] + self.unchanged

    def lines(self, where: str = "the report") -> list[str]:
        """The terminal summary; ``where`` names the place that keeps every problem."""
        out = [
            f"ingest: {len(self.added)} new, {len(self.moved)} moved, {len(self.unchanged)} already known, "
            f"{len(self.duplicates)} duplicate, {len(self.errors)} rejected"
        ]
        out += [f"  moved: call {cid}: {old} -> {new}" for cid, old, new in self.moved]
        out += summarised("duplicate", self.duplicates, where)
        out += summarised("warning", self.warnings, where)
        out += summarised("error", self.errors, where)
        return out

    def log(self) -> None:
        """Every problem, one record each, to the log file (the terminal shows a summary)."""
        for label, problems in (
            ("duplicate", self.duplicates),
            ("warning", self.warnings),
            ("error", self.errors),
        ):
            for problem in problems:
                log.warning("%s: %s", label, problem)

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": len(self.added),
            "moved": len(self.moved),
            "unchanged": len(self.unchanged),
            "duplicates": [str(p) for p in self.duplicates],
            "warnings": [str(p) for p in self.warnings],
            "errors": [{"path": p.path, "reason": p.reason} for p in self.errors],
        }


def discover(paths: Iterable[str | Path], report: IngestReport) -> Iterator[Path]:
    """Audio files among ``paths``, folders searched recursively (sorted, so runs are repeatable)."""
    for raw in paths:
        path = Path(raw).expanduser()
        if path.is_dir():
            yield from sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS
            )
        elif path.is_file():
            yield path  # named explicitly: taken whatever its extension; decoding will judge it
        else:
            report.errors.append(IngestProblem(str(path), "no such file or folder"))


class Ingester:
    """Registers files into one session; agents and teams are created on first sight."""

    def __init__(
        self,
        session: Session,
        manifest: str | Path | None = None,
        pattern: str | None = None,
        max_file_mb: float = 500.0,
    ) -> None:
        self.session = session
        self.manifest = Manifest(Path(manifest)) if manifest else None
        self.pattern = FilenamePattern(pattern) if pattern else None
        self.max_bytes = int(max_file_mb * 1024 * 1024)
        self._agents: dict[str, Agent] = {}
        self._teams: dict[str, Team] = {}

    def ingest(self, paths: Iterable[str | Path]) -> IngestReport:
        report = IngestReport()
        seen: dict[str, Path] = {}  # hash -> first path in this run
        for path in discover(paths, report):
            self._one(path.resolve(), report, seen)
        return report

    def _one(self, path: Path, report: IngestReport, seen: dict[str, Path]) -> None:
        try:
            size = path.stat().st_size
            if size == 0:
                report.errors.append(IngestProblem(str(path), "empty file (0 bytes)"))
                return
            if size > self.max_bytes:
                report.errors.append(
                    IngestProblem(
                        str(path),
                        f"file is {size / 2**20:.1f} MB, over the limit of "
                        f"{self.max_bytes / 2**20:.0f} MB (setting max_file_mb)",
                    )
                )
                return
            digest = sha256_file(path)
        except OSError as exc:
            report.errors.append(IngestProblem(str(path), f"cannot read ({exc.strerror or exc})"))
            return
        if digest in seen:
            report.duplicates.append(
                IngestProblem(
                    str(path), f"same content as {seen[digest]} (not registered twice)", "duplicate"
                )
            )
            return
        seen[digest] = path
        existing = self.session.scalars(select(Call).where(Call.content_sha256 == digest)).one_or_none()
        if existing is not None:
            self._known(existing, path, report)
            return
        try:
            meta, source = self._metadata(path)
        except MetadataError as exc:
            report.warnings.append(IngestProblem(str(path), f"{exc}; stored without metadata"))
            meta, source = {}, None
        call = self._new_call(path, digest, size, meta, source, report)
        self.session.add(call)
        self.session.flush()
        report.added.append(call.id)

    def _known(self, call: Call, path: Path, report: IngestReport) -> None:
        old = Path(call.audio_path)
        if old == path:
            report.unchanged.append(call.id)
        elif old.exists():
            report.duplicates.append(
                IngestProblem(str(path), f"same content as call {call.id} at {old}", "duplicate")
            )
            report.unchanged.append(call.id)
        else:
            call.audio_path = str(path)
            report.moved.append((call.id, str(old), str(path)))
            audit(
                self.session,
                entity="calls",
                entity_id=call.id,
                action="move",
                old={"audio_path": str(old)},
                new={"audio_path": str(path)},
                reason="re-ingested at a new path",
            )

    def _metadata(self, path: Path) -> tuple[dict[str, Any], str | None]:
        sidecar = read_sidecar(path)
        if sidecar is not None:
            return sidecar[0], f"sidecar {sidecar[1].name}"
        if self.manifest is not None and (row := self.manifest.lookup(path)) is not None:
            return row, f"manifest {self.manifest.path.name}"
        if self.pattern is not None and (found := self.pattern.match(path)) is not None:
            return found, "file name pattern"
        return {}, None

    def _new_call(
        self,
        path: Path,
        digest: str,
        size: int,
        meta: dict[str, Any],
        source: str | None,
        report: IngestReport,
    ) -> Call:
        agent_key = str(meta.get("agent") or "").strip()
        if not agent_key:
            where = f"from {source}" if source else "(no sidecar, manifest row or matching pattern)"
            report.warnings.append(
                IngestProblem(
                    str(path), f"no agent in metadata {where}; stored as '{UNKNOWN_AGENT}'", "no_agent"
                )
            )
            agent_key = UNKNOWN_AGENT
        team = self._team(str(meta["team"]).strip()) if meta.get("team") else None
        agent = self._agent(agent_key, str(meta.get("agent_name") or ""), team)
        direction = str(meta.get("direction") or "unknown").strip().lower()
        extra = dict(meta.get("extra") or {})
        if direction not in DIRECTIONS:
            extra["direction"] = direction
            direction = "unknown"
        started = parse_datetime(meta.get("started_at"))
        if meta.get("started_at") and started is None:
            report.warnings.append(
                IngestProblem(str(path), f"unreadable start time {meta['started_at']!r}; left empty")
            )
        if source:
            extra["metadata_source"] = source
        return Call(
            audio_path=str(path),
            content_sha256=digest,
            size_bytes=size,
            external_id=str(meta["call_id"]) if meta.get("call_id") else None,
            agent=agent,
            team=team or agent.team,
            queue=str(meta["queue"]) if meta.get("queue") else None,
            direction=direction,
            started_at=started,
            extra=extra,
        )

    def _team(self, name: str) -> Team:
        if name not in self._teams:
            team = self.session.scalars(select(Team).where(Team.name == name)).one_or_none()
            if team is None:
                team = Team(name=name)
                self.session.add(team)
            self._teams[name] = team
        return self._teams[name]

    def _agent(self, external_id: str, name: str, team: Team | None) -> Agent:
        if external_id not in self._agents:
            agent = self.session.scalars(select(Agent).where(Agent.external_id == external_id)).one_or_none()
            if agent is None:
                agent = Agent(external_id=external_id, name=name or external_id, team=team)
                self.session.add(agent)
            self._agents[external_id] = agent
        agent = self._agents[external_id]
        if team is not None and agent.team is None and external_id != UNKNOWN_AGENT:
            agent.team = team
        return agent


def ingest_paths(
    session: Session,
    paths: Iterable[str | Path],
    manifest: str | Path | None = None,
    pattern: str | None = None,
    max_file_mb: float = 500.0,
) -> IngestReport:
    """Register every audio file under ``paths``; the caller commits."""
    return Ingester(session, manifest=manifest, pattern=pattern, max_file_mb=max_file_mb).ingest(paths)
