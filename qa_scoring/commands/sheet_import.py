"""What ``reviews import`` and ``outcomes import`` share: one transaction, kept or (dry run) thrown away."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import click
from sqlalchemy.orm import Session

Report = TypeVar("Report")


def import_sheet(
    work: Callable[[Session, Path], Report], error: type[Exception], file: Path, dry_run: bool
) -> Report:
    """Run ``work`` on ``file`` in one transaction; ``error`` (a bad file) becomes a usage error.

    A dry run applies every rule in the same transaction and throws it away, so what it shows is
    exactly what the import would do.
    """
    from qa_scoring.config import get_settings
    from qa_scoring.store.db import open_store

    with open_store(get_settings())() as session:
        try:
            report = work(session, file)
        except error as exc:
            session.rollback()
            raise click.ClickException(str(exc)) from None
        if dry_run:
            session.rollback()
        else:
            session.commit()
    return report
