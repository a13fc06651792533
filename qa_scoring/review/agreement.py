"""Do the automatic pre-scores agree more with the reviewers after the behaviour model is retrained?

Every decision a reviewer made in a submitted *standing* review (the one whose scores count;
blind calibration reviews and superseded reviews are left out) pairs the pre-score the reviewer saw
(``CriterionDecision.automatic_result``) with the reviewer's result (``human_result``). The pairs
are grouped by the behaviour-model version that scored the transcript the reviewer looked at
(``Review.transcript`` -> ``Transcript.model_versions["scoring"]["behaviours"]["version"]``, as
``qa_scoring.batch.process`` stores the scorer's ``models``; ``"unknown"`` when absent), and per
version and per criterion - and for all criteria pooled - we report:

- ``n``: decisions with a pass/fail/partial result on both sides. A decision with no pre-score, or
  with "na" on either side, says nothing about agreement on the result and is counted as skipped.
- observed agreement: the share of decisions where the reviewer kept the pre-score's result.
- Cohen's kappa over the categories pass, fail and partial: agreement corrected for chance.
- its 95% confidence interval, a **percentile bootstrap over decisions** (1000 resamples, fixed
  seed, so the same store gives the same interval). Resampling n decisions with replacement is the
  same as drawing the 3x3 table of (pre-score, reviewer) counts from a multinomial with the observed
  cell shares, which is what is done: cheap whatever n is. A resample in which kappa is undefined
  (every decision the same result on both sides) is left out of the percentiles. Below
  ``MIN_DECISIONS`` decisions the kappa is still reported, but the interval is not: it is marked
  as "too few" (``ci`` None, ``too_few`` True).
- the share of overrides (``decision == "override"``) among those decisions.

The functions over plain rows (:class:`DecisionRow`) are pure; :func:`decision_rows` is the one
that reads the store.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from qa_scoring.store.models import CriterionDecision, Review, Transcript

CATEGORIES = ("pass", "fail", "partial")
UNKNOWN_VERSION = "unknown"
# Below this many decisions the kappa is shown without an interval ("too few"): a handful of
# decisions gives an interval as wide as the scale and tells nothing.
MIN_DECISIONS = 10
RESAMPLES = 1000
SEED = 0
LEVEL = 0.95

Table = list[list[int]]  # [pre-score category][reviewer category] -> decisions, CATEGORIES order


@dataclass(frozen=True)
class DecisionRow:
    """One reviewer decision as the agreement needs it."""

    version: str  # the behaviour-model version that scored the reviewed transcript
    rubric_id: str
    criterion_id: str
    automatic: str | None  # the pre-score the reviewer saw
    human: str
    decision: str  # "accept" or "override"
    scored_at: dt.datetime | None = None  # when that transcript was scored (orders the versions)


@dataclass
class CriterionAgreement:
    """Agreement over one criterion's decisions, or over all criteria (``rubric_id`` None)."""

    rubric_id: str | None
    criterion_id: str | None
    n: int
    agreement: float | None  # None when n is 0
    kappa: float | None  # None when undefined (n 0, or one result on both sides)
    ci: tuple[float, float] | None  # None when too few decisions or undefined
    overrides: float | None  # share of decisions that were overrides; None when n is 0

    @property
    def too_few(self) -> bool:
        return self.n < MIN_DECISIONS

    @property
    def label(self) -> str:
        return "all criteria" if self.rubric_id is None else f"{self.rubric_id}/{self.criterion_id}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "rubric_id": self.rubric_id,
            "criterion_id": self.criterion_id,
            "n": self.n,
            "agreement": _round(self.agreement),
            "kappa": _round(self.kappa),
            "kappa_ci": None if self.ci is None else [_round(self.ci[0]), _round(self.ci[1])],
            "too_few": self.too_few,
            "overrides": _round(self.overrides),
        }


@dataclass
class VersionAgreement:
    """One behaviour-model version: all its criteria pooled, then each criterion."""

    version: str
    overall: CriterionAgreement
    criteria: list[CriterionAgreement] = field(default_factory=list)
    skipped: int = 0  # decisions without a pre-score or with "na" on either side
    first_scored: dt.datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "first_scored": self.first_scored.isoformat() if self.first_scored else None,
            "skipped": self.skipped,
            "overall": self.overall.to_dict(),
            "criteria": [c.to_dict() for c in self.criteria],
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 3)


def behaviour_version(model_versions: Mapping[str, Any] | None) -> str:
    """``model_versions["scoring"]["behaviours"]["version"]``, or ``"unknown"`` when any part is missing."""
    node: Any = model_versions
    for key in ("scoring", "behaviours", "version"):
        if not isinstance(node, Mapping):
            return UNKNOWN_VERSION
        node = node.get(key)
    return str(node) if node not in (None, "") else UNKNOWN_VERSION


def usable(row: DecisionRow) -> bool:
    """Both sides give a result agreement can be measured on (pass, fail or partial)."""
    return row.automatic in CATEGORIES and row.human in CATEGORIES


def confusion_table(pairs: Iterable[tuple[str, str]]) -> Table:
    """The 3x3 table of (pre-score, reviewer) pairs; every result must be one of CATEGORIES."""
    index = {c: i for i, c in enumerate(CATEGORIES)}
    table = [[0] * len(CATEGORIES) for _ in CATEGORIES]
    for automatic, human in pairs:
        table[index[automatic]][index[human]] += 1
    return table


def cohen_kappa(table: Sequence[Sequence[int]]) -> float | None:
    """Cohen's kappa of a square table of counts: (po - pe) / (1 - pe), where po is the observed
    agreement (the diagonal) and pe the agreement expected by chance from the two margins. None when
    undefined: no decisions, or every decision one and the same result on both sides (pe = 1)."""
    counts = np.asarray(table, dtype=np.int64)
    kappa = _kappas(counts[np.newaxis])[0]
    return None if np.isnan(kappa) else float(kappa)


def _kappas(tables: np.ndarray) -> np.ndarray:
    """Kappa of each (k, k) table in a (m, k, k) stack of integer counts; NaN where undefined."""
    n = tables.sum(axis=(1, 2))
    diagonal = np.trace(tables, axis1=1, axis2=2)
    chance = np.einsum("mi,mi->m", tables.sum(axis=2), tables.sum(axis=1))  # n^2 * pe, exact in integers
    n2 = n * n
    defined = (n > 0) & (chance < n2)
    with np.errstate(divide="ignore", invalid="ignore"):
        # (po - pe) / (1 - pe) with both scaled by n^2
        kappa = (diagonal * n - chance) / (n2 - chance)
    return np.where(defined, kappa, np.nan)


def kappa_interval(
    table: Sequence[Sequence[int]], *, resamples: int = RESAMPLES, seed: int = SEED, level: float = LEVEL
) -> tuple[float, float] | None:
    """The percentile-bootstrap ``level`` interval of Cohen's kappa, resampling decisions.

    A resample of the n decisions is a multinomial draw of the table's cells with the observed
    shares. Resamples where kappa is undefined are left out; None when the observed kappa itself is
    undefined (then every resample is too)."""
    counts = np.asarray(table, dtype=np.int64)
    n = int(counts.sum())
    if cohen_kappa(counts) is None:
        return None
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n, counts.ravel() / n, size=resamples).reshape(resamples, *counts.shape)
    kappas = _kappas(draws)
    kappas = kappas[~np.isnan(kappas)]
    if kappas.size == 0:
        return None
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(kappas, [tail, 100 - tail])
    return float(low), float(high)


def summarise(
    rubric_id: str | None,
    criterion_id: str | None,
    rows: Sequence[DecisionRow],
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
) -> CriterionAgreement:
    """Agreement, kappa with its interval, and the override share of ``rows`` (all usable)."""
    n = len(rows)
    if n == 0:
        return CriterionAgreement(rubric_id, criterion_id, 0, None, None, None, None)
    table = confusion_table((r.automatic or "", r.human) for r in rows)
    agreement = sum(table[i][i] for i in range(len(CATEGORIES))) / n
    ci = None if n < MIN_DECISIONS else kappa_interval(table, resamples=resamples, seed=seed)
    overrides = sum(r.decision == "override" for r in rows) / n
    return CriterionAgreement(rubric_id, criterion_id, n, agreement, cohen_kappa(table), ci, overrides)


def agreement_by_version(
    rows: Iterable[DecisionRow], *, resamples: int = RESAMPLES, seed: int = SEED
) -> list[VersionAgreement]:
    """Per behaviour-model version: the pooled row and one per (rubric, criterion), sorted.

    Versions come in the order they first scored a reviewed transcript (``"unknown"`` and versions
    with no time last); a version whose decisions were all skipped still appears, with n 0."""
    by_version: dict[str, list[DecisionRow]] = defaultdict(list)
    for row in rows:
        by_version[row.version].append(row)
    out = []
    for version, items in by_version.items():
        kept = [r for r in items if usable(r)]
        per_criterion: dict[tuple[str, str], list[DecisionRow]] = defaultdict(list)
        for r in kept:
            per_criterion[(r.rubric_id, r.criterion_id)].append(r)
        times = [r.scored_at for r in items if r.scored_at is not None]
        out.append(
            VersionAgreement(
                version,
                summarise(None, None, kept, resamples=resamples, seed=seed),
                [
                    summarise(
                        rubric_id,
                        criterion_id,
                        per_criterion[(rubric_id, criterion_id)],
                        resamples=resamples,
                        seed=seed,
                    )
                    for rubric_id, criterion_id in sorted(per_criterion)
                ],
                skipped=len(items) - len(kept),
                first_scored=min(times) if times else None,
            )
        )
    out.sort(
        key=lambda v: (
            v.version == UNKNOWN_VERSION,
            v.first_scored is None,
            v.first_scored.timestamp() if v.first_scored else 0.0,
            v.version,
        )
    )
    return out


# Submitted standing reviews only: a superseded review's decisions no longer count, and a blind
# calibration review is practice (it is never standing either; excluded explicitly all the same).
COUNTED = (
    Review.status == "submitted",
    Review.standing.is_(True),
    Review.calibration_session_id.is_(None),
)


def decision_rows(session: Session) -> list[DecisionRow]:
    """Every decision of the submitted standing reviews, with the behaviour-model version of the
    transcript its reviewer looked at (``"unknown"`` when the review names none)."""
    reviewed = select(Review.transcript_id).where(*COUNTED, Review.transcript_id.is_not(None))
    transcripts = {
        tid: (behaviour_version(versions), created)
        for tid, versions, created in session.execute(
            select(Transcript.id, Transcript.model_versions, Transcript.created_at).where(
                Transcript.id.in_(reviewed.scalar_subquery())
            )
        )
    }
    stmt = (
        select(
            Review.transcript_id,
            CriterionDecision.rubric_id,
            CriterionDecision.criterion_id,
            CriterionDecision.automatic_result,
            CriterionDecision.human_result,
            CriterionDecision.decision,
        )
        .join(Review, CriterionDecision.review_id == Review.id)
        .where(*COUNTED)
        .order_by(CriterionDecision.id)
    )
    rows = []
    for tid, rubric_id, criterion_id, automatic, human, decision in session.execute(stmt):
        version, scored_at = transcripts.get(tid, (UNKNOWN_VERSION, None))
        rows.append(DecisionRow(version, rubric_id, criterion_id, automatic, human, decision, scored_at))
    return rows


def review_agreement(
    session: Session, *, resamples: int = RESAMPLES, seed: int = SEED
) -> list[VersionAgreement]:
    """:func:`agreement_by_version` over the store's submitted standing reviews."""
    return agreement_by_version(decision_rows(session), resamples=resamples, seed=seed)
