"""Evaluation reports for appraisals: an agent's (or a team's) reviewed results over a period against
the team, with the evidence behind them, as self-contained HTML or PDF.

``agent.py`` (an agent's report) and ``team.py`` (a team's, for its team leader) gather the figures
from a store session as plain dataclasses (no Flask, no HTML), counting through ``common.py`` so the
two always agree; ``render.py`` turns them into one HTML page; ``pdf.py`` prints that page with the
local Chromium.
"""
