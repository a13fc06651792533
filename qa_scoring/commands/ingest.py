"""``qa-scoring ingest``: register recordings and their metadata without processing them."""

from __future__ import annotations

import click


@click.command("ingest")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option(
    "--manifest", type=click.Path(exists=True, dir_okay=False), help="CSV or JSON manifest of metadata."
)
@click.option("--pattern", help='File name pattern, e.g. "{agent}_{date}_{callid}.wav".')
def ingest(paths: tuple[str, ...], manifest: str | None, pattern: str | None) -> None:
    """Register recordings (files or folders, searched recursively) with their metadata.

    Metadata comes from a sidecar JSON (call.wav.json or call.json), the manifest row, or the
    file name pattern, in that order. Re-ingesting is safe: calls are known by content hash.
    """
    from qa_scoring.config import get_settings
    from qa_scoring.ingest import ingest_paths
    from qa_scoring.ingest.metadata import MetadataError
    from qa_scoring.logs import start_file_log
    from qa_scoring.store.db import open_store

    settings = get_settings()
    factory = open_store(settings)
    with factory.begin() as session:
        try:
            report = ingest_paths(
                session, paths, manifest=manifest, pattern=pattern, max_file_mb=settings.max_file_mb
            )
        except MetadataError as exc:
            raise click.ClickException(str(exc)) from None
    log_path = start_file_log(settings)
    report.log()
    for line in report.lines(where=str(log_path)):
        click.echo(line, err=line.startswith("  ") and not line.startswith("  moved"))
    if report.errors and not report.call_ids:
        raise SystemExit(1)
