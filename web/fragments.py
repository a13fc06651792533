"""Rendered transcript fragments, cached per transcript version.

A stored transcript is never updated (a re-score adds a new version), so its rendered lanes and
word spans can be kept and reused: on a 10-minute call they are most of the page's work
(~1,500 word spans), and a reviewer's many requests to one call should not redo them.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from flask import render_template
from markupsafe import Markup

from web.timeline import build_lanes

KPI_LABELS = {
    "duration": ("Handling time", "s"),
    "agent_talk_time": ("Agent talk", "s"),
    "customer_talk_time": ("Customer talk", "s"),
    "talk_to_listen_ratio": ("Talk/listen ratio", ""),
    "silence_total": ("Silence", "s"),
    "longest_silence": ("Longest silence", "s"),
    "hold_time": ("Hold time", "s"),
    "hold_count": ("Holds", ""),
    "overtalk_count": ("Overtalk", "×"),
    "overtalk_time": ("Overtalk time", "s"),
    "agent_words_per_minute": ("Agent speech rate", "wpm"),
    "customer_sentiment_change": ("Sentiment change", ""),
}
MAX_ENTRIES = 128


@dataclass(frozen=True)
class Fragment:
    html: Markup
    metrics: list[tuple[str, Any, str]]
    timed: bool


_cache: OrderedDict[tuple[int, float | None], Fragment] = OrderedDict()
_lock = threading.Lock()


def transcript_fragment(transcript: Any | None, duration: float | None) -> Fragment:
    """The lanes + transcript HTML and the metric list for ``transcript`` (a store row or None)."""
    if transcript is None:
        return _render({"turns": []}, {}, duration)
    key = (transcript.id, duration)
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    fragment = _render(transcript.document or {"turns": []}, transcript.scoring or {}, duration)
    with _lock:
        _cache[key] = fragment
        while len(_cache) > MAX_ENTRIES:
            _cache.popitem(last=False)
    return fragment


def _render(document: dict[str, Any], scoring: dict[str, Any], duration: float | None) -> Fragment:
    lanes = build_lanes(document, duration)
    metrics = scoring.get("metrics") or {}
    html = render_template("calls/_transcript.html", lanes=lanes, turns=document.get("turns", []))
    return Fragment(
        Markup(html),
        [(KPI_LABELS[k][0], metrics[k], KPI_LABELS[k][1]) for k in KPI_LABELS if metrics.get(k) is not None],
        lanes is not None,
    )


def clear() -> None:
    with _lock:
        _cache.clear()
