"""HTML to PDF on this machine with the Debian Chromium (headless, no network, no GPU).

The report's HTML is self-contained, so Chromium prints it from a temporary file with a throwaway
profile; nothing leaves the machine. ``QA_SCORING_CHROMIUM`` names another browser binary.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
TIMEOUT_S = 120


class BrowserMissing(RuntimeError):
    """No Chromium to print the PDF with."""


class PdfError(RuntimeError):
    """Chromium ran but wrote no PDF."""


def find_chromium() -> str:
    """The browser binary: ``QA_SCORING_CHROMIUM``, else /usr/bin/chromium, else one on PATH."""
    wanted = os.environ.get("QA_SCORING_CHROMIUM")
    if wanted:
        if Path(wanted).is_file() and os.access(wanted, os.X_OK):
            return wanted
        raise BrowserMissing(f"QA_SCORING_CHROMIUM={wanted} is not an executable file")
    if Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK):
        return CHROMIUM
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    raise BrowserMissing(
        f"PDF reports need Chromium at {CHROMIUM} (Debian: apt-get install chromium), or "
        "QA_SCORING_CHROMIUM set to a Chromium binary; the HTML report (--format html) needs no browser."
    )


def html_to_pdf(html: str, *, chromium: str | None = None, timeout: float = TIMEOUT_S) -> bytes:
    """Print ``html`` to PDF (A4, the page's own @page margins, no browser header or footer)."""
    browser = chromium or find_chromium()
    with tempfile.TemporaryDirectory(prefix="qa-report-") as tmp:
        folder = Path(tmp)
        source, out = folder / "report.html", folder / "report.pdf"
        source.write_text(html, encoding="utf-8")
        command = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            f"--user-data-dir={folder / 'profile'}",
            "--no-pdf-header-footer",
            "--print-to-pdf-no-header",  # the older name of the same switch
            f"--print-to-pdf={out}",
            source.as_uri(),
        ]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        except FileNotFoundError as exc:
            raise BrowserMissing(f"cannot run {browser}: {exc}") from exc
        except subprocess.TimeoutExpired as exc:
            raise PdfError(f"{browser} did not finish printing the PDF within {timeout:.0f} s") from exc
        data = out.read_bytes() if out.is_file() else b""
        if not data.startswith(b"%PDF"):
            tail = (done.stderr or done.stdout or "").strip().splitlines()[-5:]
            raise PdfError(f"{browser} wrote no PDF (exit {done.returncode}): " + " | ".join(tail))
        return data
