"""The human-readable ``score --format table`` view: one block per call, one line per rubric.

Colours only when writing to a terminal, so piped output stays plain text.
"""

from __future__ import annotations

import click

from qa_scoring.scored_call import ScoredCall

RESULT_MARK = {"pass": "ok", "partial": "~", "fail": "x", "na": "-"}


def _paint(text: str, colour: bool, **style: object) -> str:
    return click.style(text, **style) if colour else text  # type: ignore[arg-type]


def _score_colour(score: float | None) -> str:
    if score is None:
        return "bright_black"
    return "green" if score >= 80 else "yellow" if score >= 60 else "red"


def render_table(scored: ScoredCall, colour: bool = False) -> str:
    review = scored.review
    head = f"{scored.call_id}  review: " + (
        f"yes, priority {review.priority:.2f} - {'; '.join(review.reasons)}" if review.needs_review else "no"
    )
    lines = [_paint(head, colour, bold=True)]
    lines.append(f"  {'rubric':<28} {'score':>6}  {'conf':>4}  pass partial fail n/a")
    for card in scored.scorecards.values():
        counts = {k: sum(1 for c in card.criteria if c.result == k) for k in RESULT_MARK}
        score = "n/a" if card.score is None else f"{card.score:.0f}"
        if card.auto_failed:
            score += "!"
        score_text = _paint(f"{score:>6}", colour, fg=_score_colour(card.score), bold=card.auto_failed)
        lines.append(
            f"  {card.name[:28]:<28} {score_text}  {card.confidence:>4.2f}  {counts['pass']:>4} "
            f"{counts['partial']:>7} {counts['fail']:>4} {counts['na']:>3}"
        )
        if not card.applicable:
            continue
        for crit in card.criteria:
            if crit.needs_decision and crit.result != "na":
                lines.append(
                    _paint(
                        f"      {'decide':<9} {crit.name} (pre-score {crit.result}: {crit.reason})",
                        colour,
                        fg="yellow",
                    )
                )
            elif crit.result in ("fail", "partial"):
                mark = "AUTO-FAIL" if crit.auto_fail and crit.result == "fail" else crit.result
                lines.append(
                    _paint(
                        f"      {mark:<9} {crit.name} ({crit.reason})",
                        colour,
                        fg="red" if mark != "partial" else "yellow",
                    )
                )
    return "\n".join(lines) + "\n"
