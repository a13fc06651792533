"""``qa-scoring db``: schema maintenance. Other commands upgrade on first use; this is for operators."""

from __future__ import annotations

import click


@click.group("db")
def db() -> None:
    """Database schema: upgrade to the current version, or show where it stands."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target Alembic revision.")
def upgrade_cmd(revision: str) -> None:
    """Create or upgrade the schema of the configured database (QA_SCORING_DATABASE_URL)."""
    from qa_scoring.config import get_settings
    from qa_scoring.store.db import StoreError, upgrade

    url = get_settings().resolved_database_url
    try:
        current = upgrade(url, revision)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"database at revision {current}")


@db.command("current")
def current_cmd() -> None:
    """Print the schema revision of the configured database and the newest one this version knows."""
    from qa_scoring.config import get_settings
    from qa_scoring.store.db import current_revision, get_engine, head_revision

    engine = get_engine(get_settings().resolved_database_url)
    click.echo(f"current: {current_revision(engine) or '(empty database)'}\nhead:    {head_revision()}")
