"""Rendered parts of the call page, cached under keys that change whenever their content can.

Most of a call page's work is two parts that many requests share:

* the lanes and transcript (~1,500 word spans on a 10-minute call): a stored transcript is never
  updated (a re-score adds a new version), so the transcript row's identity is the whole key;
* the scorecard (every rubric's criteria, evidence and decisions): the automatic scorecards are
  written with their transcript and never change, and every change a reviewer makes bumps the
  review's optimistic-locking ``version_id``, so transcript + review id + version is its key, plus
  the role flags that decide which buttons it shows.

Neither part holds anything of the user who asks (no CSRF token, no name of the viewer): those
are rendered per request around them. The caches live on the app (one per database) and are
bounded LRUs, so a worker serving a long day of calls keeps the recent ones and a bounded memory.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app, render_template
from markupsafe import Markup

from qa_scoring.store.models import Transcript
from web.db import get_db
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
# A long call's transcript fragment is ~150 kB and its scorecard ~50 kB: a few tens of MB per worker.
TRANSCRIPT_ENTRIES = 128
SCORECARD_ENTRIES = 256


class LRU:
    """A small thread-safe least-recently-used map. ``get_or_make`` renders outside the lock, so a
    slow render never blocks hits on other keys (two threads may render the same key once each)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get_or_make(self, key: Hashable, make: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
            self.misses += 1
        value = make()
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._items)


def init_app(app: Flask) -> None:
    app.extensions["qa_fragments"] = {
        "transcript": LRU(TRANSCRIPT_ENTRIES),
        "scorecard": LRU(SCORECARD_ENTRIES),
    }


def cache(name: str) -> LRU:
    return current_app.extensions["qa_fragments"][name]


def transcript_key(transcript: Any) -> tuple[Any, ...]:
    """A transcript row's identity: its id, and what would tell a reused id apart (a restored store)."""
    return (transcript.id, transcript.call_id, transcript.version, transcript.created_at)


@dataclass(frozen=True)
class Fragment:
    html: Markup
    metrics: list[tuple[str, Any, str]]
    timed: bool


def transcript_fragment(transcript: Any | None, duration: float | None) -> Fragment:
    """The lanes + transcript HTML and the metric list for ``transcript`` (a store row, or the
    identity row of ``qa_scoring.review.decisions.transcript_ref``: the document is loaded only on a miss)."""
    if transcript is None:
        return _render({"turns": []}, {}, duration)

    def make() -> Fragment:
        row = get_db().get(Transcript, transcript.id)
        return _render(row.document or {"turns": []}, row.scoring or {}, duration)

    return cache("transcript").get_or_make((*transcript_key(transcript), duration), make)


def _render(document: dict[str, Any], scoring: dict[str, Any], duration: float | None) -> Fragment:
    lanes = build_lanes(document, duration)
    metrics = scoring.get("metrics") or {}
    html = render_template("calls/_transcript.html", lanes=lanes, turns=document.get("turns", []))
    return Fragment(
        Markup(html),
        [(KPI_LABELS[k][0], metrics[k], KPI_LABELS[k][1]) for k in KPI_LABELS if metrics.get(k) is not None],
        lanes is not None,
    )


@dataclass(frozen=True)
class ScorecardFragment:
    html: Markup  # the rubric cards with their criteria, evidence, decisions and buttons
    dispute_options: Markup  # <option>s of the dispute form (each criterion's final result)
    clip_options: Markup  # <option>s of the clip form
    has_cards: bool


def scorecard_fragment(
    transcript: Any | None,
    review: Any | None,
    *,
    can_review: bool,
    can_clip: bool,
    render: Callable[[], dict[str, Any]],
) -> ScorecardFragment:
    """The scorecard part for ``transcript`` as ``review`` (at its current version) has it.

    ``render`` loads what the template needs (scorecards, criterion views, final scores) and is
    called only on a miss, so a hit costs no scorecard queries at all.
    """

    def make() -> ScorecardFragment:
        context = {**render(), "can_review": can_review, "can_clip": can_clip, "review": review}
        return ScorecardFragment(
            Markup(render_template("calls/_scorecard.html", **context)),
            Markup(render_template("calls/_criterion_options.html", final=True, **context)),
            Markup(render_template("calls/_criterion_options.html", final=False, **context)),
            bool(context["cards"]),
        )

    if transcript is None:
        return make()
    key = (
        *transcript_key(transcript),
        review.id if review else None,
        review.version_id if review else None,
        can_review,
        can_clip,
    )
    return cache("scorecard").get_or_make(key, make)
