"""The evaluation reports (an agent's, a team's) as one self-contained HTML page each (inline CSS,
no scripts, no external assets), laid out for print: each part starts on a new page, so the PDF
reads part by part. Both share one print style (``templates/report_style.css``) and these filters,
so a rate or a count reads the same in either."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from qa_scoring.reports.agent import AgentReport
from qa_scoring.reports.team import TeamReport

TEMPLATES = Path(__file__).resolve().parent / "templates"

RESULT_LABELS = {"pass": "met", "partial": "partly met", "fail": "not met", "na": "not applicable"}
DISPUTE_LABELS = {
    "open": "open",
    "upheld": "upheld",
    "partial": "partly upheld",
    "rejected": "rejected",
    "withdrawn": "withdrawn",
}


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}%"


def _num(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _points(value: float | None) -> str:
    return "—" if value is None else f"{value:+.0f} pts"


def _calls(n: int) -> str:
    return f"{n} call" if n == 1 else f"{n} calls"


def _when(value: dt.datetime | dt.date | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return ""
    whole = int(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        pct=_pct,
        num=_num,
        points=_points,
        calls=_calls,
        when=_when,
        clock=_clock,
        result=lambda r: RESULT_LABELS.get(r or "", r or "—"),
        dispute=lambda s: DISPUTE_LABELS.get(s or "", s or "—"),
    )
    return env


def _render(template: str, report: object, base_url: str) -> str:
    """``base_url`` (e.g. ``https://qa.example``): calls and clips become links into the review UI;
    without it they are named only (a file has no server to link to)."""
    base = base_url.rstrip("/")

    def link(kind: str, ident: int) -> str:
        return f"{base}/{kind}/{ident}" if base else ""

    context: dict[str, Any] = {"r": report, "link": link}
    return environment().get_template(template).render(**context)


def render_agent_report(report: AgentReport, *, base_url: str = "") -> str:
    """The agent report's HTML (links into the review UI under ``base_url``, when given)."""
    return _render("agent_report.html", report, base_url)


def render_team_report(report: TeamReport, *, base_url: str = "") -> str:
    """The team report's HTML (links into the review UI under ``base_url``, when given)."""
    return _render("team_report.html", report, base_url)
