"""Import past QA evaluations from a CSV file as submitted human reviews.

Centres keep years of QA scores in spreadsheets. Stored as ordinary reviews and criterion decisions
(with the automatic result beside the human one) they count wherever the UI's decisions count: the
agreement between pre-scores and humans, the scores of a call's standing review, the export.

The file (``docs``: README, "Importing past evaluations") has one row per criterion decision::

    call,rubric,criterion,result,reviewer,date,reason

Rows of one (call, reviewer, date) are one evaluation and become one submitted review. The rules:

- A row that cannot be mapped is reported with its line number and why, and the rest goes on:
  years of spreadsheets always hold a few typos, and one must not cost the whole import.
- Importing the same file again adds nothing; a changed result for a decision imported before
  updates it. Which reviews came from an import is read from the audit trail (their "create" entry
  has the actor ``import``), so a UI review is never edited by an import.
- An imported review stands only where the call has no standing review or the standing one is
  older: an old spreadsheet must not replace a newer human decision.
- Every change is audited with the actor ``import`` and a reason naming the file and the line.

The caller owns the transaction: commit to keep the import, roll back for a dry run (every rule,
the users it would create included, is run the same way either way).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from qa_scoring.review.decisions import (
    _decision_dict,
    _make_standing,
    final_scores,
    scorecards_for,
    standing_review,
)
from qa_scoring.sheets import header_has, read_sheet
from qa_scoring.store.audit import audit, audit_row
from qa_scoring.store.models import (
    AuditEntry,
    Call,
    CriterionDecision,
    Review,
    Scorecard,
    Transcript,
    User,
    utcnow,
)
from qa_scoring.store.queries import find_call, latest_transcript
from qa_scoring.user_roles import UserRole

REQUIRED_COLUMNS = ("call", "criterion", "result", "reviewer", "date")
OPTIONAL_COLUMNS = ("rubric", "reason")
IMPORT_ACTOR = "import"

# What spreadsheets write for a criterion's outcome, lower-cased with single spaces.
RESULT_WORDS = {
    "pass": "pass",
    "fail": "fail",
    "partial": "partial",
    "na": "na",
    "n/a": "na",
    "yes": "pass",
    "no": "fail",
    "met": "pass",
    "not met": "fail",
    "1": "pass",
    "0": "fail",
}


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (not a CSV, no header, required columns missing)."""


@dataclass(frozen=True)
class Unmapped:
    """A row left out, with the CSV line it starts on and why, so the sheet can be corrected."""

    line: int
    call: str
    reason: str


@dataclass
class ImportReport:
    """What an import did (or, in a dry run, would do)."""

    file: str
    rows: int = 0
    imported: int = 0  # decisions added
    updated: int = 0  # decisions imported before whose result or reason changed
    unchanged: int = 0  # decisions imported before, the same again
    unmapped: list[Unmapped] = field(default_factory=list)
    reviews_created: int = 0
    reviews_standing: int = 0  # new reviews that became their call's standing review
    users_created: list[str] = field(default_factory=list)  # inactive, no password

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["unmapped_count"] = len(self.unmapped)
        return data


@dataclass(frozen=True)
class _Row:
    line: int
    values: dict[str, str]

    def get(self, column: str) -> str:
        return (self.values.get(column) or "").strip()


@dataclass
class _Mapped:
    """A row matched to a stored call and criterion, ready to become a decision."""

    line: int
    call: Call
    reviewer: User
    date: dt.datetime
    rubric_id: str
    criterion_id: str
    result: str
    reason: str


# --------------------------------------------------------------------------- reading the file


def read_rows(path: Path) -> list[_Row]:
    """The data rows of ``path`` with the line each starts on; raises :class:`ImportFileError` for a
    file that is not a CSV or lacks a required column (naming the file and the columns)."""
    header, rows = read_sheet(path, ImportFileError, ", ".join(REQUIRED_COLUMNS))
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise ImportFileError(
            f"{path}: missing required column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
            f"(the header has: {header_has(header)})"
        )
    return [_Row(line, values) for line, values in rows]


def parse_result(text: str) -> str | None:
    """pass | fail | partial | na from what a sheet wrote (case-insensitive; yes/no, met/not met and
    1/0 mean pass/fail); None when it is none of them."""
    return RESULT_WORDS.get(" ".join(text.lower().split()))


def parse_date(text: str) -> dt.datetime | None:
    """An ISO date (midnight) or datetime as UTC, the store's zone; a time without a zone is taken
    as UTC too. None when it is not ISO."""
    text = text.strip()
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


# --------------------------------------------------------------------------- matching rows to the store


class _Matcher:
    """Finds calls, criteria and reviewers for rows, each looked up once per import."""

    def __init__(self, session: Session, report: ImportReport) -> None:
        self.session = session
        self.report = report
        self._calls: dict[str, Call | str] = {}
        self._cards: dict[int, list[Scorecard]] = {}
        self._users: dict[str, User | str] = {}

    def call(self, name: str) -> Call | str:
        """The call a sheet names: by external id first, then by the recording's file name (a path
        in the sheet counts by its file name). A string is why none matched."""
        if name not in self._calls:
            self._calls[name] = find_call(self.session, name)
        return self._calls[name]

    def scorecards(self, call: Call) -> list[Scorecard]:
        """The automatic scorecards of the call's latest transcript (what a reviewer sees now)."""
        if call.id not in self._cards:
            self._cards[call.id] = scorecards_for(
                self.session, latest_transcript(self.session, call.id, light=True)
            )
        return self._cards[call.id]

    def criterion(self, call: Call, rubric_id: str, criterion_id: str) -> tuple[str, str] | str:
        """(rubric id, criterion id) on the call's latest scorecards; without a rubric the criterion
        must be in one rubric only. A string is why not."""
        cards = self.scorecards(call)
        if not cards:
            return f"call {call.external_id or call.id} has not been scored"
        if rubric_id:
            card = next((c for c in cards if c.rubric_id == rubric_id), None)
            if card is None:
                have = ", ".join(c.rubric_id for c in cards)
                return f"rubric {rubric_id!r} is not on this call's scorecards ({have})"
            if not any(c.criterion_id == criterion_id for c in card.criteria):
                return f"no criterion {criterion_id!r} in rubric {rubric_id!r}"
            return rubric_id, criterion_id
        holders = [c.rubric_id for c in cards if any(x.criterion_id == criterion_id for x in c.criteria)]
        if not holders:
            return f"no criterion {criterion_id!r} on this call's scorecards"
        if len(holders) > 1:
            return f"criterion {criterion_id!r} is in several rubrics ({', '.join(holders)}): fill in rubric"
        return holders[0], criterion_id

    def reviewer(self, name: str, where: str) -> User | str:
        """The user a sheet names (username, else display name, case-insensitive). A name nobody
        has becomes a new inactive QA officer without a password: the evaluation keeps its author,
        and nobody can sign in as a person the import made up."""
        key = " ".join(name.split()).lower()
        if key not in self._users:
            self._users[key] = self._find_user(" ".join(name.split()), where)
        return self._users[key]

    def _find_user(self, name: str, where: str) -> User | str:
        users = self.session.scalars
        found = users(select(User).where(User.username == name)).first()
        if found is not None:
            return found
        for column in (User.username, User.display_name):
            matches = list(users(select(User).where(func.lower(column) == name.lower()).limit(2)))
            if len(matches) > 1:
                return f"reviewer {name!r} matches several users: use the username"
            if matches:
                return matches[0]
        return self._new_user(name, where)

    def _new_user(self, name: str, where: str) -> User:
        base = re.sub(r"[^a-z0-9]+", ".", name.lower()).strip(".") or "reviewer"
        username, n = base[:140], 1
        while self.session.scalar(select(User.id).where(User.username == username)) is not None:
            n += 1
            username = f"{base[:140]}-{n}"
        user = User(
            username=username,
            display_name=name,
            role=UserRole.QA_OFFICER,
            password_hash="",  # no password: qa_scoring.store.users.password_matches refuses it
            active=False,
        )
        audit_row(
            self.session,
            user,
            "create",
            actor=IMPORT_ACTOR,
            new={"username": username, "display_name": name, "role": user.role, "active": False},
            reason=f"reviewer named in {where} matches no user: created inactive, without a password",
        )
        self.report.users_created.append(username)
        return user


def _map_row(row: _Row, matcher: _Matcher, file_name: str) -> _Mapped | Unmapped:
    name = row.get("call")
    if not name:
        return Unmapped(row.line, name, "no call given")
    call = matcher.call(name)
    if isinstance(call, str):
        return Unmapped(row.line, name, call)
    result = parse_result(row.get("result"))
    if result is None:
        return Unmapped(
            row.line, name, f"result {row.get('result')!r} is not pass, fail, partial, na (or yes/no...)"
        )
    date = parse_date(row.get("date"))
    if date is None:
        return Unmapped(row.line, name, f"date {row.get('date')!r} is not an ISO date (YYYY-MM-DD)")
    if not row.get("criterion"):
        return Unmapped(row.line, name, "no criterion given")
    found = matcher.criterion(call, row.get("rubric"), row.get("criterion"))
    if isinstance(found, str):
        return Unmapped(row.line, name, found)
    if not row.get("reviewer"):
        return Unmapped(row.line, name, "no reviewer given")
    reviewer = matcher.reviewer(row.get("reviewer"), f"{file_name} line {row.line}")
    if isinstance(reviewer, str):
        return Unmapped(row.line, name, reviewer)
    return _Mapped(row.line, call, reviewer, date, found[0], found[1], result, row.get("reason"))


# --------------------------------------------------------------------------- writing reviews


def _imported_review(session: Session, call: Call, reviewer: User, date: dt.datetime) -> Review | None:
    """The review an earlier import made of this (call, reviewer, date), if any. Only reviews whose
    creation the audit trail credits to an import: a UI review is never changed by an import."""
    for review in call.reviews:
        if (
            review.reviewer_id == reviewer.id
            and review.status == "submitted"
            and review.calibration_session_id is None
            and review.submitted_at == date
        ):
            created_by_import = session.scalar(
                select(AuditEntry.id).where(
                    AuditEntry.entity == Review.__tablename__,
                    AuditEntry.entity_id == str(review.id),
                    AuditEntry.action == "create",
                    AuditEntry.actor == IMPORT_ACTOR,
                )
            )
            if created_by_import is not None:
                return review
    return None


def _new_review(
    session: Session, call: Call, reviewer: User, date: dt.datetime, transcript: Transcript | None, where: str
) -> Review:
    review = Review(
        call=call,
        reviewer=reviewer,
        transcript=transcript,
        status="submitted",
        submitted_at=date,
        comment=f"Imported past evaluation ({where})",
    )
    audit_row(
        session,
        review,
        "create",
        actor=IMPORT_ACTOR,
        new={
            "call_id": call.id,
            "reviewer": reviewer.username,
            "transcript_id": transcript.id if transcript else None,
            "status": "submitted",
            "submitted_at": date.isoformat(),
        },
        reason=f"imported from {where}",
    )
    return review


def _automatic(cards: list[Scorecard], rubric_id: str, criterion_id: str) -> str | None:
    card = next((c for c in cards if c.rubric_id == rubric_id), None)
    crit = next((c for c in card.criteria if c.criterion_id == criterion_id), None) if card else None
    return crit.result if crit else None


def _apply(session: Session, review: Review, row: _Mapped, cards: list[Scorecard], where: str) -> str:
    """Record one row's decision in ``review``: "imported", "updated" or "unchanged".

    Accept when the human result is the automatic one, else override, as in the UI; the automatic
    result is kept beside it, which is what the agreement statistics learn from."""
    automatic = _automatic(cards, row.rubric_id, row.criterion_id)
    decision = "accept" if row.result == automatic else "override"
    existing = next(
        (d for d in review.decisions if (d.rubric_id, d.criterion_id) == (row.rubric_id, row.criterion_id)),
        None,
    )
    if existing is not None and (existing.human_result, existing.reason, existing.decision) == (
        row.result,
        row.reason,
        decision,
    ):
        return "unchanged"
    if existing is None:
        old = {"result": automatic, "source": "automatic"}
        existing = CriterionDecision(
            rubric_id=row.rubric_id,
            criterion_id=row.criterion_id,
            automatic_result=automatic,
            decided_by=row.reviewer,
            decided_at=row.date,
            decision=decision,
            human_result=row.result,
            reason=row.reason,
        )
        review.decisions.append(existing)
        outcome, why = "imported", f"imported from {where}"
    else:
        old = _decision_dict(existing)
        existing.decision, existing.human_result, existing.reason = decision, row.result, row.reason
        existing.automatic_result = automatic
        outcome, why = "updated", f"re-imported from {where}: the sheet changed"
    session.flush()
    audit(
        session,
        entity=CriterionDecision.__tablename__,
        entity_id=existing.id,
        action=decision,
        actor=IMPORT_ACTOR,
        old=old,
        new=_decision_dict(existing),
        reason=why,
    )
    return outcome


def _stamp(review: Review) -> dt.datetime:
    return review.submitted_at or review.created_at


def _import_group(session: Session, rows: list[_Mapped], file_name: str, report: ImportReport) -> None:
    """One evaluation, the rows of one (call, reviewer, date), into one submitted review."""
    first = rows[0]
    call, where = first.call, f"{file_name} line {first.line}"
    review = _imported_review(session, call, first.reviewer, first.date)
    created = review is None
    previous = standing_review(call)  # before the new review joins the call's reviews
    if review is None:
        transcript = latest_transcript(session, call.id, light=True)
        review = _new_review(session, call, first.reviewer, first.date, transcript, where)
        report.reviews_created += 1
    cards = scorecards_for(session, review.transcript)
    changed = False
    for row in rows:
        outcome = _apply(session, review, row, cards, f"{file_name} line {row.line}")
        setattr(report, outcome, getattr(report, outcome) + 1)
        changed = changed or outcome != "unchanged"
    if not changed:
        return
    old_scores = dict(review.final_scores or {})
    review.final_scores = final_scores(review, cards)
    review.updated_at = utcnow()
    session.flush()
    audit_row(
        session,
        review,
        "submit" if created else "update",
        actor=IMPORT_ACTOR,
        old=None if created else {"final_scores": old_scores},
        new={"status": "submitted", "final_scores": review.final_scores},
        reason=f"{'imported' if created else 're-imported'} from {where}",
    )
    # Standing is settled once, when the review is created; a later re-run leaves any choice made
    # since (an officer choosing another review to stand) as it is.
    if created and (previous is None or _stamp(previous) < first.date):
        reason = f"imported from {where}: no newer review stands"
        _make_standing(session, call, review, None, reason, actor=IMPORT_ACTOR, previous=previous)
        report.reviews_standing += 1


def _groups(mapped: list[_Mapped]) -> Iterator[list[_Mapped]]:
    """Rows by evaluation, oldest first, so the standing review does not depend on row order."""
    by_key: dict[tuple[int, int, dt.datetime], list[_Mapped]] = {}
    for row in mapped:
        by_key.setdefault((row.call.id, row.reviewer.id, row.date), []).append(row)
    for key in sorted(by_key, key=lambda k: (k[2], k[0], k[1])):
        yield by_key[key]


def import_reviews(session: Session, path: Path | str) -> ImportReport:
    """Import the evaluations in the CSV at ``path`` into ``session`` (the caller commits, or rolls
    back for a dry run). Raises :class:`ImportFileError` when the file cannot be read as the
    documented CSV; a row that cannot be mapped is reported in the result instead."""
    path = Path(path)
    rows = read_rows(path)
    report = ImportReport(file=str(path), rows=len(rows))
    matcher = _Matcher(session, report)
    mapped: list[_Mapped] = []
    seen: dict[tuple[int, int, dt.datetime, str, str], int] = {}
    for row in rows:
        found = _map_row(row, matcher, path.name)
        if isinstance(found, Unmapped):
            report.unmapped.append(found)
            continue
        key = (found.call.id, found.reviewer.id, found.date, found.rubric_id, found.criterion_id)
        if key in seen:
            report.unmapped.append(
                Unmapped(
                    row.line, row.get("call"), f"repeats line {seen[key]} (same evaluation, same criterion)"
                )
            )
            continue
        seen[key] = row.line
        mapped.append(found)
    for group in _groups(mapped):
        _import_group(session, group, path.name, report)
    return report


__all__ = [
    "IMPORT_ACTOR",
    "OPTIONAL_COLUMNS",
    "REQUIRED_COLUMNS",
    "ImportFileError",
    "ImportReport",
    "Unmapped",
    "import_reviews",
    "parse_date",
    "parse_result",
    "read_rows",
]
