"""Evaluation reports for appraisals: an agent's (or a team's) reviewed results over a period against
the team, with the evidence behind them, as self-contained HTML or PDF.

``agent.py`` gathers the figures from a store session as plain dataclasses (no Flask, no HTML);
``render.py`` turns them into one HTML page; ``pdf.py`` prints that page with the local Chromium.
"""
