"""Reading the CSV files people export from spreadsheets (past evaluations, survey outcomes).

Such a file is whatever Excel or a survey tool wrote: maybe a workbook saved by mistake, maybe with
a byte-order mark, maybe ";" between fields (many locales), maybe a quoted field over several lines.
Every problem comes back as the caller's error naming the file, and each row keeps the line it
starts on, so a report can point a person at the row to fix.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

Rows = list[tuple[int, dict[str, str]]]  # (line the row starts on, column -> stripped cell)


def read_sheet(path: Path, error: type[Exception], needs: str) -> tuple[list[str], Rows]:
    """(the header, lower-cased; the non-blank data rows); raises ``error`` naming the file when it
    cannot be read as CSV. ``needs`` says which columns a header must have, for the empty-file message;
    checking them is the caller's."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise error(f"{path}: cannot read ({exc.strerror or exc})") from None
    if b"\x00" in raw[:4096] or raw[:4] == b"PK\x03\x04":
        raise error(f"{path}: not a CSV file (a spreadsheet workbook? save it as CSV UTF-8)")
    try:
        text = raw.decode("utf-8-sig")  # Excel's "CSV UTF-8" starts with a byte-order mark
    except UnicodeDecodeError:
        raise error(f"{path}: not a UTF-8 CSV file (save it as CSV UTF-8)") from None
    first = text.lstrip("\r\n").split("\n", 1)[0]
    if not first.strip():
        raise error(f"{path}: empty, no header row (needs {needs})")
    # Spreadsheets in many locales write ";" between fields; the header line says which one.
    delimiter = max(",;\t", key=first.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in next(reader)]
        rows, end = [], reader.line_num
        for cells in reader:
            start, end = end + 1, reader.line_num
            if any(c.strip() for c in cells):
                rows.append((start, {h: (v or "").strip() for h, v in zip(header, cells, strict=False)}))
    except csv.Error as exc:
        raise error(f"{path}: not a valid CSV file (line {reader.line_num}: {exc})") from None
    return header, rows


def header_has(header: list[str]) -> str:
    """The header's columns for a message ("nothing" for a blank header)."""
    return ", ".join(h for h in header if h) or "nothing"
