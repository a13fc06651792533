"""The call's lanes as server-rendered SVG data: agent and customer speech, silences, overtalk.

Computed from the transcript document alone (turn times and its ``overlaps``), so an untimed
transcript simply has no lanes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MIN_SILENCE = 1.0  # seconds; shorter gaps are ordinary turn-taking


@dataclass
class Lanes:
    duration: float
    turns: list[dict[str, Any]] = field(default_factory=list)  # {role, start, end, index}
    silences: list[tuple[float, float]] = field(default_factory=list)
    overtalk: list[tuple[float, float]] = field(default_factory=list)

    def x(self, t: float, width: float = 1000.0) -> float:
        return round(width * t / self.duration, 2) if self.duration else 0.0


def build_lanes(document: dict[str, Any], duration: float | None = None) -> Lanes | None:
    timed = [
        (i, t)
        for i, t in enumerate(document.get("turns", []))
        if t.get("start") is not None and t.get("end") is not None
    ]
    if not timed:
        return None
    end = max(float(t["end"]) for _, t in timed)
    lanes = Lanes(duration=float(duration or document.get("duration") or end) or end)
    for i, t in timed:
        lanes.turns.append(
            {
                "role": t.get("role") or t.get("speaker"),
                "start": float(t["start"]),
                "end": float(t["end"]),
                "index": i,
            }
        )
    spans = sorted((t["start"], t["end"]) for t in lanes.turns)
    cursor = spans[0][1]
    for start, stop in spans[1:]:
        if start - cursor >= MIN_SILENCE:
            lanes.silences.append((round(cursor, 2), round(start, 2)))
        cursor = max(cursor, stop)
    overlaps = document.get("overlaps") or []
    if overlaps:
        lanes.overtalk = [(float(o["start"]), float(o["end"])) for o in overlaps]
    else:
        agent = [(t["start"], t["end"]) for t in lanes.turns if t["role"] == "agent"]
        customer = [(t["start"], t["end"]) for t in lanes.turns if t["role"] == "customer"]
        for a0, a1 in agent:
            for c0, c1 in customer:
                lo, hi = max(a0, c0), min(a1, c1)
                if hi > lo:
                    lanes.overtalk.append((round(lo, 2), round(hi, 2)))
    return lanes
