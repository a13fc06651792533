"""Customer outcomes linked to QA: which behaviours move CSAT and first-contact resolution here.

Three parts, each usable alone:

- **Import** (:func:`import_outcomes`): a post-call survey exported as CSV, one row per call::

      call,csat,nps,resolved

  ``call`` is the call's external id, else its recording's file name (a path counts by its file
  name). ``csat`` (1-5), ``nps`` (0-10) and ``resolved`` (yes/no, true/false, 1/0; the survey's
  "was your query resolved") are each optional, but the file needs at least one of them. A cell
  left blank means the customer gave no answer: the stored value becomes empty. A row that matches
  no call, names a call twice or holds a bad value is reported with its line and why (the bad
  value named) and skipped; the rest goes on. Importing the same file again adds nothing and
  changes nothing; a changed value updates the call's one ``call_outcomes`` row. The caller owns
  the transaction: commit to keep it, roll back for a dry run.

- **First-contact resolution from the calls themselves** (:func:`first_contact_resolution`): a
  call is resolved at first contact when the same customer does not call again within
  ``fcr_window_days``. The customer is ``Call.extra["customer_id"]``, else a phone number from
  ``extra`` (``customer_phone``, ``phone``, ``caller_id``, ``ani``, ``cli``, compared on their last
  10 digits so ``+44 7700 900123`` and ``07700 900123`` are one customer). ``ingest`` keeps every
  sidecar or manifest key it does not model in ``Call.extra`` (lower-cased), so a manifest column
  ``customer_id`` or ``phone`` arrives there. FCR is unknown (None) when the call has no customer
  or start time, or when its window has not passed yet relative to the newest call in the store
  and no repeat has come so far.

- **Per criterion, outcomes of calls that pass vs fail it** (:func:`criterion_outcomes`): mean CSAT
  of passing calls against failing calls with a 95% **Welch's t interval** for the difference, and
  the FCR rate and survey-resolved rate of each group with a 95% **Newcombe hybrid score interval**
  (built from the two Wilson intervals) for the difference of proportions. A criterion's result is
  the standing review's human result where the call is reviewed (the standing review, else the
  latest submitted one, as the dashboards count it), else the automatic result; each comparison
  says how many of its calls rest on a human result. "pass" is passing, "fail" failing; "partial"
  and "na" are in neither group.

The figures are pure functions over plain rows (:class:`OutcomeRow`); :func:`outcome_rows` is the
one query that builds those rows from the store.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session, selectinload

from qa_scoring.review.stats import ORDINARY, wilson_interval
from qa_scoring.sheets import Rows, header_has, read_sheet
from qa_scoring.store.models import Call, CallOutcome, CriterionResult, Review, Scorecard, Transcript, utcnow
from qa_scoring.store.queries import find_call

OUTCOME_COLUMNS = ("csat", "nps", "resolved")
RESOLVED_WORDS = {
    "yes": True,
    "y": True,
    "true": True,
    "1": True,
    "no": False,
    "n": False,
    "false": False,
    "0": False,
}
CUSTOMER_ID_KEYS = ("customer_id",)
PHONE_KEYS = ("customer_phone", "phone", "caller_id", "ani", "cli")
PHONE_DIGITS = 10  # compare numbers on their national significant digits (UK and North America)


class OutcomeFileError(ValueError):
    """The file as a whole cannot be imported (not a CSV, no ``call`` column, no outcome column)."""


@dataclass(frozen=True)
class Unmatched:
    """A row left out, with the CSV line it starts on and why."""

    line: int
    call: str
    reason: str


@dataclass
class OutcomeImportReport:
    """What an import did (or, in a dry run, would do)."""

    file: str
    columns: list[str] = field(default_factory=list)  # the outcome columns the file has
    rows: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    unmatched: list[Unmatched] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["unmatched_count"] = len(self.unmatched)
        return data


# --------------------------------------------------------------------------- reading the file


def read_outcome_file(path: Path) -> tuple[list[str], Rows]:
    """(the outcome columns present, the data rows with the line each starts on); raises
    :class:`OutcomeFileError` naming the file when it is not a CSV or lacks the columns."""
    header, rows = read_sheet(path, OutcomeFileError, "call and one of csat, nps, resolved")
    if "call" not in header:
        raise OutcomeFileError(f"{path}: missing the call column (the header has: {header_has(header)})")
    columns = [c for c in OUTCOME_COLUMNS if c in header]
    if not columns:
        raise OutcomeFileError(
            f"{path}: no outcome column: needs one of csat, nps, resolved "
            f"(the header has: {header_has(header)})"
        )
    return columns, rows


def _whole_number(text: str, low: int, high: int) -> int | None:
    try:
        value = float(text)
    except ValueError:
        return None
    if not value.is_integer() or not low <= value <= high:
        return None
    return int(value)


def parse_outcome(column: str, text: str) -> tuple[Any, str | None]:
    """(value, None) for a good cell (None for a blank one), else (None, why) naming the value."""
    text = text.strip()
    if not text:
        return None, None
    if column == "resolved":
        value = RESOLVED_WORDS.get(text.lower())
        return (
            (value, None) if value is not None else (None, f"resolved {text!r} is not yes/no/true/false/1/0")
        )
    low, high = (1, 5) if column == "csat" else (0, 10)
    number = _whole_number(text, low, high)
    if number is None:
        return None, f"{column} {text!r} is not a whole number {low}-{high}"
    return number, None


# --------------------------------------------------------------------------- matching and importing


def import_outcomes(session: Session, path: Path) -> OutcomeImportReport:
    """Import the survey outcomes in ``path`` (see the module docstring); the caller commits."""
    columns, rows = read_outcome_file(path)
    report = OutcomeImportReport(file=str(path), columns=columns, rows=len(rows))
    seen: dict[int, int] = {}  # call id -> line that gave it
    for line, values in rows:
        name = values.get("call", "")
        if not name:
            report.unmatched.append(Unmatched(line, name, "no call given"))
            continue
        parsed, problems = {}, []
        for column in columns:
            value, problem = parse_outcome(column, values.get(column, ""))
            parsed[column] = value
            if problem:
                problems.append(problem)
        if problems:
            report.unmatched.append(Unmatched(line, name, "; ".join(problems)))
            continue
        call = find_call(session, name)
        if isinstance(call, str):
            report.unmatched.append(Unmatched(line, name, call))
            continue
        if call.id in seen:
            report.unmatched.append(Unmatched(line, name, f"the same call as line {seen[call.id]}"))
            continue
        seen[call.id] = line
        outcome = session.scalar(select(CallOutcome).where(CallOutcome.call_id == call.id))
        if outcome is None:
            session.add(CallOutcome(call_id=call.id, source=path.name, imported_at=utcnow(), **parsed))
            report.added += 1
        elif any(getattr(outcome, c) != v for c, v in parsed.items()):
            for column, value in parsed.items():
                setattr(outcome, column, value)
            outcome.source, outcome.imported_at = path.name, utcnow()
            report.updated += 1
        else:
            report.unchanged += 1
    session.flush()
    return report


# --------------------------------------------------------------------------- first-contact resolution


def customer_key(extra: dict[str, Any] | None) -> str | None:
    """Who the caller is, from a call's ``extra`` metadata: ``customer_id``, else a phone number's
    last 10 digits; None when neither is there."""
    extra = extra or {}
    for key in CUSTOMER_ID_KEYS:
        value = str(extra.get(key) or "").strip()
        if value:
            return f"id:{value.lower()}"
    for key in PHONE_KEYS:
        digits = re.sub(r"\D", "", str(extra.get(key) or ""))
        if len(digits) >= 6:  # shorter is an extension or a placeholder, not a customer's number
            return f"phone:{digits[-PHONE_DIGITS:]}"
    return None


@dataclass(frozen=True)
class Contact:
    call_id: int
    customer: str | None
    started_at: dt.datetime | None


def first_contact_resolution(
    contacts: Iterable[Contact], window_days: float, newest: dt.datetime | None = None
) -> dict[int, bool | None]:
    """Per call: True when the same customer did not call again within ``window_days``, False when
    they did, None when unknown (no customer or start time, or the window reaches past ``newest``,
    the newest call in the store - by default the newest contact given - and no repeat has come)."""
    contacts = list(contacts)
    window = dt.timedelta(days=window_days)
    times = [c.started_at for c in contacts if c.started_at is not None]
    if newest is None:
        newest = max(times) if times else None
    out: dict[int, bool | None] = {c.call_id: None for c in contacts}
    by_customer: dict[str, list[Contact]] = defaultdict(list)
    for c in contacts:
        if c.customer and c.started_at is not None:
            by_customer[c.customer].append(c)
    for calls in by_customer.values():
        calls.sort(key=lambda c: (c.started_at, c.call_id))
        for here, after in zip(calls, [*calls[1:], None], strict=True):
            assert here.started_at is not None and newest is not None
            if after is not None and after.started_at - here.started_at <= window:  # type: ignore[operator]
                out[here.call_id] = False
            elif here.started_at + window <= newest:
                out[here.call_id] = True
    return out


# --------------------------------------------------------------------------- rows for the figures


Key = tuple[str, str]  # (rubric id, criterion id)


@dataclass
class OutcomeRow:
    """One scored call as the figures see it."""

    call_id: int
    started_at: dt.datetime | None = None
    csat: int | None = None
    nps: int | None = None
    resolved: bool | None = None  # the survey's answer
    fcr: bool | None = None  # from repeat contacts
    results: dict[Key, str] = field(default_factory=dict)
    human: set[Key] = field(default_factory=set)  # keys whose result is a reviewer's
    names: dict[Key, str] = field(default_factory=dict)
    complaint: bool = False
    complaint_quotes: list[str] = field(default_factory=list)  # the customer's complaint evidence


def outcome_rows(
    session: Session,
    *,
    window_days: float,
    scope: Callable[[Select[Any]], Select[Any]] | None = None,
    limit: int = 20000,
) -> list[OutcomeRow]:
    """The most recent ``limit`` scored calls (narrowed by ``scope``, e.g. the web's access rule)
    with their outcomes, FCR, final criterion results and complaint evidence. Repeat contacts are
    looked for among every call in the store, whoever may see them."""
    stmt = select(Call.id, Call.started_at).where(Call.status == "scored")
    if scope is not None:
        stmt = scope(stmt)
    calls = list(session.execute(stmt.order_by(Call.started_at.desc(), Call.id.desc()).limit(limit)))
    if not calls:
        return []
    rows = {cid: OutcomeRow(cid, started) for cid, started in calls}
    ids = list(rows)

    for o in _chunked(session, select(CallOutcome), CallOutcome.call_id, ids):
        row = rows[o.call_id]
        row.csat, row.nps, row.resolved = o.csat, o.nps, o.resolved

    # FCR: the contacts from the earliest analysed call on (a repeat comes after its call).
    starts = [s for _, s in calls if s is not None]
    if starts:
        contacts_stmt = select(Call.id, Call.started_at, Call.extra).where(Call.started_at >= min(starts))
        contacts = [
            Contact(cid, customer_key(extra), started)
            for cid, started, extra in session.execute(contacts_stmt)
        ]
        newest = session.scalar(select(func.max(Call.started_at)))
        fcr = first_contact_resolution(contacts, window_days, newest)
        for row in rows.values():
            row.fcr = fcr.get(row.call_id)

    latest = (
        select(Transcript.call_id, func.max(Transcript.version).label("v"))
        .where(Transcript.call_id.in_(ids))
        .group_by(Transcript.call_id)
        .subquery()
    )
    transcripts = session.execute(
        select(Transcript.id, Transcript.call_id, Transcript.scoring).join(
            latest, and_(Transcript.call_id == latest.c.call_id, Transcript.version == latest.c.v)
        )
    ).all()
    for _, call_id, scoring in transcripts:
        complaint = ((scoring or {}).get("behaviours") or {}).get("complaint") or {}
        row = rows[call_id]
        row.complaint = bool(complaint.get("present"))
        if row.complaint:
            row.complaint_quotes = [
                str(e.get("quote") or "")
                for e in complaint.get("evidence") or []
                if e.get("speaker") in ("customer", "unknown") and e.get("quote")
            ]
    tids = [tid for tid, _, _ in transcripts]
    crit_stmt = select(
        Scorecard.call_id,
        Scorecard.rubric_id,
        CriterionResult.criterion_id,
        CriterionResult.name,
        CriterionResult.result,
    ).join(CriterionResult)
    for call_id, rubric_id, criterion_id, name, result in _chunked_rows(
        session, crit_stmt, Scorecard.transcript_id, tids
    ):
        row = rows[call_id]
        row.results[(rubric_id, criterion_id)] = result
        row.names[(rubric_id, criterion_id)] = name or criterion_id

    # The standing review (else the latest submitted) decides where it has a decision.
    reviews: dict[int, Review] = {}
    review_stmt = (
        select(Review).where(Review.status == "submitted", ORDINARY).options(selectinload(Review.decisions))
    )
    for review in sorted(
        _chunked(session, review_stmt, Review.call_id, ids),
        key=lambda r: (r.standing, r.submitted_at or dt.datetime.min.replace(tzinfo=dt.UTC), r.id),
    ):
        reviews[review.call_id] = review
    for call_id, review in reviews.items():
        row = rows[call_id]
        for d in review.decisions:
            key = (d.rubric_id, d.criterion_id)
            if key in row.results:
                row.results[key] = d.human_result
                row.human.add(key)
    return [rows[cid] for cid, _ in calls]


CHUNK = 900  # bound parameters per IN list: well under SQLite's limit


def _chunked(session: Session, stmt: Select[Any], column: Any, ids: list[int]) -> list[Any]:
    out: list[Any] = []
    for i in range(0, len(ids), CHUNK):
        out += session.scalars(stmt.where(column.in_(ids[i : i + CHUNK])))
    return out


def _chunked_rows(session: Session, stmt: Select[Any], column: Any, ids: list[int]) -> list[Any]:
    out: list[Any] = []
    for i in range(0, len(ids), CHUNK):
        out += session.execute(stmt.where(column.in_(ids[i : i + CHUNK]))).all()
    return out


# --------------------------------------------------------------------------- pass against fail


@dataclass
class Difference:
    """One outcome compared between the calls that pass a criterion and those that fail it:
    each group's n and value (a mean or a rate), the difference pass - fail and its 95% interval
    (None where a group is too small: under 2 calls for a mean, none for a rate)."""

    n_pass: int
    n_fail: int
    pass_value: float | None
    fail_value: float | None
    difference: float | None = None
    low: float | None = None
    high: float | None = None


def welch_difference(passing: list[float], failing: list[float], level: float = 0.95) -> Difference:
    """Difference of means with Welch's t interval (unequal variances, Welch-Satterthwaite degrees
    of freedom). Two groups without any spread give the observed difference as both ends."""
    from scipy.stats import t

    n1, n2 = len(passing), len(failing)
    m1 = sum(passing) / n1 if n1 else None
    m2 = sum(failing) / n2 if n2 else None
    out = Difference(n1, n2, m1, m2)
    if m1 is None or m2 is None:
        return out
    out.difference = m1 - m2
    if n1 < 2 or n2 < 2:
        return out
    v1 = sum((x - m1) ** 2 for x in passing) / (n1 - 1) / n1
    v2 = sum((x - m2) ** 2 for x in failing) / (n2 - 1) / n2
    se = math.sqrt(v1 + v2)
    if se == 0:
        out.low = out.high = out.difference
        return out
    df = (v1 + v2) ** 2 / (v1**2 / (n1 - 1) + v2**2 / (n2 - 1))
    half = float(t.ppf(0.5 + level / 2, df)) * se
    out.low, out.high = out.difference - half, out.difference + half
    return out


def proportion_difference(passing: list[bool], failing: list[bool]) -> Difference:
    """Difference of rates with Newcombe's hybrid score interval (method 10: from the two 95% Wilson
    intervals), sound for small groups and for rates of 0 or 1."""
    n1, n2 = len(passing), len(failing)
    x1, x2 = sum(passing), sum(failing)
    p1 = x1 / n1 if n1 else None
    p2 = x2 / n2 if n2 else None
    out = Difference(n1, n2, p1, p2)
    if p1 is None or p2 is None:
        return out
    l1, u1 = wilson_interval(x1, n1)
    l2, u2 = wilson_interval(x2, n2)
    out.difference = p1 - p2
    out.low = out.difference - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    out.high = out.difference + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return out


@dataclass
class CriterionOutcome:
    rubric_id: str
    criterion_id: str
    name: str
    csat: Difference
    fcr: Difference
    resolved: Difference
    calls: int  # calls passing or failing it that have any outcome
    human: int  # of those, how many rest on a reviewer's result (the rest: the automatic one)


def criterion_outcomes(rows: Iterable[OutcomeRow]) -> list[CriterionOutcome]:
    """Per (rubric, criterion): CSAT, FCR and survey-resolved of the calls passing it against those
    failing it; sorted by the size of the CSAT difference (largest first, none last)."""
    groups: dict[Key, dict[str, list[OutcomeRow]]] = defaultdict(lambda: {"pass": [], "fail": []})
    names: dict[Key, str] = {}
    for row in rows:
        for key, result in row.results.items():
            if result in ("pass", "fail"):
                groups[key][result].append(row)
                names.setdefault(key, row.names.get(key, key[1]))
    out = []
    for key, group in sorted(groups.items()):
        ok, bad = group["pass"], group["fail"]
        with_outcome = [
            r for r in ok + bad if r.csat is not None or r.fcr is not None or r.resolved is not None
        ]
        if not with_outcome:
            continue
        out.append(
            CriterionOutcome(
                key[0],
                key[1],
                names[key],
                csat=welch_difference(
                    [float(r.csat) for r in ok if r.csat is not None],
                    [float(r.csat) for r in bad if r.csat is not None],
                ),
                fcr=proportion_difference(
                    [r.fcr for r in ok if r.fcr is not None], [r.fcr for r in bad if r.fcr is not None]
                ),
                resolved=proportion_difference(
                    [r.resolved for r in ok if r.resolved is not None],
                    [r.resolved for r in bad if r.resolved is not None],
                ),
                calls=len(with_outcome),
                human=sum(key in r.human for r in with_outcome),
            )
        )
    out.sort(
        key=lambda c: (c.csat.difference is None, -abs(c.csat.difference or 0.0), c.rubric_id, c.criterion_id)
    )
    return out


# --------------------------------------------------------------------------- complaint reasons

# Words too common in what customers say to tell one complaint from another.
STOPWORDS = frozenset(
    """a an the and or but so if then to of in on at for from by with about as into over is are was
    were be been being am do does did done have has had having i me my mine we us our you your yours
    he him his she her it its they them their this that these those there here what which who whom
    when where why how all any some just very really quite can could would should will shall may
    might must i'm i'll i've i'd you're you'll you've you'd we're we'll we've it's that's there's
    what's let's don't didn't doesn't isn't wasn't can't won't haven't hasn't yeah yes yep okay ok
    right well oh um erm uh er ah mm hmm like please thank thanks not no get got going gone want
    know said say says tell told still again now also even one two back out up off than too only""".split()
)
_PLACEHOLDER = re.compile(r"\[[A-Z_]+\]")
_WORD = re.compile(r"[a-z][a-z']*")


def complaint_terms(quote: str) -> set[str]:
    """The content words (3+ letters) of one quote, and pairs of successive content words with at
    most one common word between them ("broadband is down" gives "broadband down")."""
    words = _WORD.findall(_PLACEHOLDER.sub(" ", quote).lower())
    content = [(i, w) for i, w in enumerate(words) if w not in STOPWORDS and len(w) > 2]
    terms = {w for _, w in content}
    terms |= {f"{a} {b}" for (i, a), (j, b) in zip(content, content[1:], strict=False) if j - i <= 2}
    return terms


def iso_week(when: dt.datetime) -> str:
    year, week, _ = when.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass
class ComplaintWeek:
    week: str  # ISO week, e.g. 2026-W45
    calls: int  # complaint calls that week
    top: list[tuple[str, int]]  # (word or phrase, calls it appears in)


def complaint_reasons(rows: Iterable[OutcomeRow], top: int = 5) -> list[ComplaintWeek]:
    """For complaint calls (the ``complaint`` behaviour present), the words and phrases most often in
    the customer's complaint evidence, per ISO week of the call's start (newest week first). Each is
    counted once per call; a word is left out where a phrase holding it is in as many calls."""
    weeks: dict[str, list[OutcomeRow]] = defaultdict(list)
    for row in rows:
        if row.complaint and row.started_at is not None:
            weeks[iso_week(row.started_at)].append(row)
    out = []
    for week in sorted(weeks, reverse=True):
        counts: Counter[str] = Counter()
        for row in weeks[week]:
            counts.update(set().union(*(complaint_terms(q) for q in row.complaint_quotes)))
        pairs = [t for t in counts if " " in t]
        kept = [
            (term, n)
            for term, n in counts.items()
            if " " in term or not any(counts[p] >= n and term in p.split() for p in pairs)
        ]
        kept.sort(key=lambda item: (-item[1], item[0]))
        out.append(ComplaintWeek(week, len(weeks[week]), kept[:top]))
    return out
