"""Which calls a human reviews, and why: one rule, one wording per reason.

Reviewers have time for a minority of calls, so a call is flagged only for something a reviewer
must decide, and the day's queue is held to a configurable share. Each reason has one kind, one
wording and one urgency (most urgent first):

=====================  ========================================================  ==========
kind                   when                                                      urgency
=====================  ========================================================  ==========
``auto-fail``          an auto-fail criterion failed and the decision is sure     0.85 - 0.99
                       (not ``needs_decision``): the scorecard is zeroed
``vulnerable customer``  the customer shows signs of vulnerability (FCA FG21/1)    0.7 - 0.84
                       and the model is sure: fair treatment of such a customer
                       is always checked by a person, so the share cap never
                       drops these; unsure signs are ``needs a decision``
``needs a decision``   criteria whose pre-score rests on an uncertain behaviour   0.55 - 0.69
                       (``CriterionResult.needs_decision``) and whose decision
                       could change an outcome (auto-fail the card, or move its
                       score across ``review_low_score``); an uncertain
                       auto-fail is this, not ``auto-fail``; an uncertain
                       complaint is this, not ``complaint call``, and so are
                       uncertain signs of vulnerability
``complaint call``     the complaint behaviour is present                         0.4 - 0.54
``low score``          an applicable scorecard scores under ``review_low_score``  0.25 - 0.39
                       whatever its open criteria and its applicability
                       are decided
``random sample``      the fair sample of otherwise-unflagged calls               0.1
=====================  ========================================================  ==========

The stored wording is ``kind`` or ``kind: detail``, one per kind and call, e.g.
``auto-fail: UK compliance (Identity check)``, ``needs a decision: 2 criteria``,
``complaint call``, ``low score: RATER 15, LASS 20 (+3 more)`` (the worst two cards),
``random sample``. :func:`kind_of` reads the
kind back, so the batch report counts calls per kind and the queue shows each kind once.

Priority (0..1, orders the queue and the share cap): the most urgent kind's band, plus up to 0.06
for how bad it is (how far the worst card is under the threshold; how many criteria are open),
plus 0.02 for each other kind. A band is 0.15 wide and these add at most 0.14, so any call with a
more urgent kind outranks every call without it.

The random sample: each otherwise-unflagged call is drawn at ``review_sample_rate``, seeded by its
content hash, so a re-run (or a second worker) reaches the same decision for the same call. The
batch's post-pass (:func:`qa_scoring.review.batch_pass.finish_batch`) then

1. caps the share: when more than ``review_max_share`` of the batch's scored calls are flagged, the
   lowest-priority ones are unflagged (their reasons stay on the call, for the record) until the
   share is met, except auto-fails, vulnerable customers and sampled calls, which always stay;
2. tops up agents: an agent with no flagged call gets one, the call with the lowest sample draw, so
   nobody goes unreviewed. Top-ups may take the share a little over the cap (one call per agent).

Reviewing only risky calls would leave agents who never trip a rule unseen and make QA scores
describe the outliers, which is why the sample and the top-up are never capped.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from qa_scoring.config import Settings
from qa_scoring.rubric.evaluate import VALUES
from qa_scoring.scored_call import (
    DECISION_CONFIDENCE,
    BehaviourResult,
    CriterionResult,
    ReviewPriority,
    ScorecardResult,
    ScoredCall,
)

AUTO_FAIL = "auto-fail"
NEEDS_DECISION = "needs a decision"
VULNERABLE = "vulnerable customer"
COMPLAINT = "complaint call"
LOW_SCORE = "low score"
SAMPLE = "random sample"
KINDS = (AUTO_FAIL, VULNERABLE, NEEDS_DECISION, COMPLAINT, LOW_SCORE, SAMPLE)  # most urgent first
# Where each kind's band starts; a band is BAND wide (see the module doc).
URGENCY = {
    AUTO_FAIL: 0.85,
    VULNERABLE: 0.7,
    NEEDS_DECISION: 0.55,
    COMPLAINT: 0.4,
    LOW_SCORE: 0.25,
    SAMPLE: 0.1,
}
BAND = 0.15
SEVERITY_SPAN = 0.06  # how far within its band the most urgent reason moves the priority
PER_OTHER_KIND = 0.02  # each further kind of reason on the same call
# Kinds the share cap never unflags (with the random sample): a person must see these calls.
ALWAYS_REVIEWED = (AUTO_FAIL, VULNERABLE)
TOP_UP_DETAIL = "one call per agent"
LOW_SHOWN = 2  # the worst cards named in a low-score reason; the rest are counted


@dataclass(frozen=True)
class Reason:
    """One kind of reason on one call: ``severity`` (0..1) ranks calls within the kind."""

    kind: str
    detail: str = ""
    severity: float = 0.0

    @property
    def text(self) -> str:
        return f"{self.kind}: {self.detail}" if self.detail else self.kind


@dataclass
class ReviewDecision:
    needs_review: bool
    priority: float
    reasons: list[str] = field(default_factory=list)
    sampled: bool = False


def kind_of(text: str) -> str:
    """The kind of a stored reason text (older wordings included: their part before the colon)."""
    for kind in KINDS:
        if text == kind or text.startswith((kind + ":", kind + " (")):
            return kind
    return text.split(":", 1)[0].strip()


def one_per_kind(texts: Iterable[str]) -> list[str]:
    """The first text of each kind, in order: a call's reasons as the queue shows them."""
    seen: set[str] = set()
    out = []
    for text in texts:
        kind = kind_of(text)
        if kind not in seen:
            seen.add(kind)
            out.append(text)
    return out


def _scored_cards(
    scorecards: Mapping[str, ScorecardResult], rubrics: Collection[str] | None
) -> list[ScorecardResult]:
    return [c for c in scorecards.values() if not rubrics or c.rubric_id in rubrics]


def reasons_for(
    scorecards: Mapping[str, ScorecardResult],
    behaviours: Mapping[str, BehaviourResult],
    settings: Settings,
    rubrics: Collection[str] | None = None,
) -> list[Reason]:
    """Every reason a reviewer must look at this call, most urgent first (no random sample).

    Only the scorecards of ``rubrics`` count when given (the rubrics a batch scores).
    """
    cards = _scored_cards(scorecards, rubrics)
    reasons: list[Reason] = []

    failed: list[str] = []
    for card in cards:
        if not card.applicable:
            continue
        fails = [c for c in card.criteria if c.auto_fail and c.result == "fail"]
        sure = [c.name for c in fails if not c.needs_decision]
        if sure:
            failed.append(f"{card.name} ({', '.join(sure)})")
        elif card.auto_failed and not fails:  # a card without its criteria listed
            failed.append(card.name)
    if failed:
        reasons.append(Reason(AUTO_FAIL, "; ".join(failed)))

    vulnerable = behaviours.get("vulnerability")
    unsure_vulnerable = vulnerable is not None and vulnerable.needs_decision
    if vulnerable is not None and vulnerable.present and not unsure_vulnerable:
        reasons.append(Reason(VULNERABLE))

    open_criteria = sum(len(material_open_criteria(card, settings.review_low_score)) for card in cards)
    complaint = behaviours.get("complaint")
    unsure_complaint = complaint is not None and complaint.needs_decision
    open_decisions = open_criteria + unsure_complaint + unsure_vulnerable
    if open_decisions:
        parts = (
            [f"{open_criteria} {'criterion' if open_criteria == 1 else 'criteria'}"] if open_criteria else []
        )
        parts += ["whether it is a complaint"] if unsure_complaint else []
        parts += ["whether the customer is vulnerable"] if unsure_vulnerable else []
        reasons.append(Reason(NEEDS_DECISION, ", ".join(parts), 1.0 - 1.0 / open_decisions))

    if complaint is not None and complaint.present and not complaint.needs_decision:
        reasons.append(Reason(COMPLAINT))

    threshold = settings.review_low_score
    # A score is low when no open decision could change that: not when open criteria could lift it to
    # the threshold, nor when the card may not apply at all (a complaint card on a call that may not be
    # a complaint). Those are decisions, counted above.
    low = [
        card
        for card in cards
        if card.applicable
        and card.score is not None
        and not card.auto_failed
        and card.score < threshold
        and _highest_score(card) < threshold
        and card.applies_confidence >= DECISION_CONFIDENCE
    ]
    if low:
        low.sort(key=lambda card: card.score or 0.0)
        worst = low[0].score or 0.0
        # Rounded down, so a card just under the threshold never reads as the threshold itself.
        shown = ", ".join(f"{card.name} {math.floor(card.score or 0.0)}" for card in low[:LOW_SHOWN])
        more = f" (+{len(low) - LOW_SHOWN} more)" if len(low) > LOW_SHOWN else ""
        reasons.append(Reason(LOW_SCORE, shown + more, (threshold - worst) / max(threshold, 1e-9)))
    return reasons


def material_open_criteria(card: ScorecardResult, low_score: float) -> list[CriterionResult]:
    """The uncertain criteria of a card whose decision could change what a reviewer acts on.

    An uncertain pre-score matters when deciding it either way could auto-fail the card, or move the
    card's score across ``low_score``; one that cannot change either is left as pre-scored, so the
    queue holds the calls where a reviewer's decision changes something.
    """
    if not card.applicable:
        return []
    unsure = [c for c in card.criteria if c.result != "na" and c.needs_decision]
    if not unsure:
        return []
    material = [c for c in unsure if c.auto_fail]
    span = score_range(card)
    if span is not None and span[0] < low_score <= span[1]:
        material += [c for c in unsure if not c.auto_fail]
    return material


def _highest_score(card: ScorecardResult) -> float:
    """The card's score with every open criterion passed (its score when no criteria are listed)."""
    span = score_range(card)
    return span[1] if span is not None else card.score or 0.0


def score_range(card: ScorecardResult) -> tuple[float, float] | None:
    """The card's lowest and highest score over every way its open criteria could be decided
    (each failed or passed in full); None when no criterion is scored."""
    scored = [c for c in card.criteria if c.result != "na"]
    total = sum(c.weight for c in scored)
    if total <= 0:
        return None
    sure = sum(c.weight * VALUES[c.result] for c in scored if not c.needs_decision)
    open_weight = sum(c.weight for c in scored if c.needs_decision)
    return 100.0 * sure / total, 100.0 * (sure + open_weight) / total


def priority(reasons: list[Reason]) -> float:
    """0 with no reason; else the top kind's band, its severity, and a little per other kind."""
    if not reasons:
        return 0.0
    top = min(reasons, key=lambda r: KINDS.index(r.kind))
    value = (
        URGENCY[top.kind]
        + SEVERITY_SPAN * min(1.0, max(0.0, top.severity))
        + PER_OTHER_KIND * (len(reasons) - 1)
    )
    return round(min(value, URGENCY[top.kind] + BAND - 0.01, 1.0), 3)


def review_priority(
    scorecards: Mapping[str, ScorecardResult],
    behaviours: Mapping[str, BehaviourResult],
    settings: Settings,
    rubrics: Collection[str] | None = None,
) -> ReviewPriority:
    """The scorer's view of the rule (every rubric, no sample): what ``ScoredCall.review`` holds."""
    reasons = reasons_for(scorecards, behaviours, settings, rubrics)
    return ReviewPriority(bool(reasons), priority(reasons), [r.text for r in reasons])


def sample_draw(content_sha256: str) -> float:
    """A uniform number in [0, 1) fixed by the call's content (the same on every run and machine)."""
    digest = hashlib.sha256(f"review-sample:{content_sha256}".encode()).hexdigest()
    return int(digest[:16], 16) / 2**64


def decide(
    scored: ScoredCall, content_sha256: str, settings: Settings, rubrics: Iterable[str] | None = None
) -> ReviewDecision:
    """The batch's decision for one call: the rule on the scored rubrics, else the random sample."""
    wanted = set(rubrics) if rubrics else None
    reasons = reasons_for(scored.scorecards, scored.behaviours, settings, wanted)
    if reasons:
        return ReviewDecision(True, priority(reasons), [r.text for r in reasons])
    if sample_draw(content_sha256) < settings.review_sample_rate:
        return ReviewDecision(True, URGENCY[SAMPLE], [SAMPLE], sampled=True)
    return ReviewDecision(False, 0.0, [])
