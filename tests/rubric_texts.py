"""Rubric YAML the rubric tests share: the loader checks its parts and line numbers, the evaluator
scores calls with it (plus criteria of its own)."""

from __future__ import annotations

# One section with a weighted behaviour criterion, two metric ones (a partial band; an auto-fail)
# and one that applies only when a metric allows; ``all`` as a bare name and as a list both count.
SECTION = """\
sections:
  - id: s
    name: S
    criteria:
      - id: sorry
        name: Apologised
        all: [apology]
        partial: {any: [empathy]}
        weight: 2
      - id: quiet
        name: No dead air
        metric: longest_silence
        max: 10
        partial: {max: 30}
      - id: card
        name: No card read back
        metric: agent_card_numbers
        max: 0
        auto_fail: true
      - id: held
        name: Hold etiquette
        all: hold_etiquette
        applies_when: {metric: hold_count, min: 1}
"""

# A draft rubric with one criterion in plain words ("offered a callback"): examples and a near miss.
CALLBACK = """\
id: draft
name: Draft
sections:
  - id: s
    name: S
    criteria:
      - id: callback
        name: Offered a callback
        says:
          who: agent
          examples:
            - I'll give you a call back tomorrow morning
            - we can ring you back once we hear from the engineers
            - let me call you back this afternoon with an update
            - I'll phone you back before five
            - someone from the team will give you a ring back on Monday
          near_misses:
            - could you call us back later
"""
