"""The log file: the full detail that the terminal summarises (every ingest warning of a night,
every reclaimed call), kept under ``data_dir/logs`` and rotated so it never fills the disk."""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path

from qa_scoring.config import Settings

LOGGER = "qa_scoring"


def log_file(settings: Settings) -> Path:
    return Path(settings.data_dir) / "logs" / "qa-scoring.log"


def start_file_log(settings: Settings) -> Path:
    """Send ``qa_scoring.*`` records of INFO and above to the log file (once per process)."""
    path = log_file(settings)
    logger = logging.getLogger(LOGGER)
    if any(getattr(h, "baseFilename", None) == str(path) for h in logger.handlers):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = RotatingFileHandler(path, maxBytes=20 * 2**20, backupCount=5, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return path
