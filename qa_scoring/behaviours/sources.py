"""Where labelled calls came from: their writing batch and their sector family (``sources.yaml``).

Calls written in one batch share a writer's habits and a brief's aims, and calls of one sector share
vocabulary. Cross-validation that holds out single calls lets a model lean on both; holding out a
whole batch or sector (``measure.fit_groups``) measures how it does on calls from a source it never
saw, which is what a new customer's calls are. The map lives next to the calls, in
``<labelled dir>/sources.yaml`` (format documented in ``data/labelled/README.md``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from qa_scoring.behaviours.labelled import LabelledCall, LabelledDataError

SOURCES_FILE = "sources.yaml"
GROUPINGS = ("batch", "sector")


@dataclass(frozen=True)
class Sources:
    batches: dict[str, tuple[int, int]]  # batch name -> (first, last) call number, inclusive
    sectors: dict[str, str]  # industry -> family

    def batch_of(self, call: LabelledCall) -> str:
        number = call_number(call)
        found = [name for name, (lo, hi) in self.batches.items() if lo <= number <= hi]
        if len(found) != 1:
            where = "no batch" if not found else f"several batches ({', '.join(found)})"
            raise LabelledDataError(f"{call.path.name}: call number {number} is in {where} of {SOURCES_FILE}")
        return found[0]

    def sector_of(self, call: LabelledCall) -> str:
        family = self.sectors.get(call.industry.strip().lower())
        if family is None:
            raise LabelledDataError(
                f"{call.path.name}: industry {call.industry!r} is in no sector family of {SOURCES_FILE}"
            )
        return family

    def groups(self, calls: list[LabelledCall], by: str) -> list[str]:
        """Each call's group under ``by`` ("batch" or "sector"), in the calls' order."""
        if by not in GROUPINGS:
            raise ValueError(f"grouping {by!r}: one of {', '.join(GROUPINGS)}")
        return [self.batch_of(c) if by == "batch" else self.sector_of(c) for c in calls]


def writing_groups(calls: list[LabelledCall]) -> list[str]:
    """Each call's writing batch where its folder's ``sources.yaml`` names one, else the call itself.

    Why: training chooses thresholds and settings on out-of-fold scores. Folds that split a writer's
    calls score each call with a model that has seen its writer's habits, so the thresholds are set as
    if every call came from a known writer; folds that hold whole batches out set them for a writer the
    model has never read, which is every user's case. A call with no batch (reviewed calls exported by
    ``learn``, a folder without a map) is a group of its own.
    """
    maps: dict[Path, Sources | None] = {}
    out = []
    for call in calls:
        folder = call.path.parent
        if folder not in maps:
            maps[folder] = load_sources(folder) if (folder / SOURCES_FILE).is_file() else None
        sources = maps[folder]
        try:
            out.append(f"{folder}:{sources.batch_of(call)}" if sources else str(call.path))
        except LabelledDataError:
            out.append(str(call.path))
    return out


def call_number(call: LabelledCall) -> int:
    """The number at the end of the call's file name (``lab-123.json`` -> 123)."""
    match = re.search(r"(\d+)$", call.path.stem)
    if match is None:
        raise LabelledDataError(f"{call.path.name}: no call number at the end of the file name")
    return int(match.group(1))


def load_sources(directory: str | Path) -> Sources:
    path = Path(directory) / SOURCES_FILE
    if not path.is_file():
        raise LabelledDataError(f"{path}: no source map; leave-one-source-out needs one (see data/labelled)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        batches = {
            str(name): (int(body["calls"][0]), int(body["calls"][1]))
            for name, body in data["batches"].items()
        }
        sectors: dict[str, str] = {}
        for family, industries in data["sectors"].items():
            for industry in industries:
                if str(industry) in sectors:
                    raise LabelledDataError(f"{path}: industry {industry!r} is in two sector families")
                sectors[str(industry)] = str(family)
    except (yaml.YAMLError, KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        if isinstance(exc, LabelledDataError):
            raise
        raise LabelledDataError(f"{path}: unreadable source map ({exc!r})") from None
    return Sources(batches, sectors)
