"""``qa-scoring score``: pre-score transcript files against the rubrics, with evidence."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

FORMATS = ("json", "table")


@click.command("score")
@click.argument("transcripts", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--rubric", "rubric_ids", multiple=True, metavar="ID", help="Score only this rubric (repeatable)."
)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="json", show_default=True)
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Also write CALL_ID.scored.json files into this folder.",
)
def score(transcripts: tuple[Path, ...], rubric_ids: tuple[str, ...], fmt: str, out: Path | None) -> None:
    """Score TRANSCRIPT.json files (the speech pipeline's transcripts or the minimal
    {"turns": [{"speaker", "text", "start", "end"}]} form).

    JSON goes to stdout: one object for one file, a list for several. A file that cannot be read
    is reported on stderr and the others are still scored; the exit status is then 1.
    """
    from qa_scoring.commands.score_table import render_table
    from qa_scoring.config import get_settings
    from qa_scoring.rubric.rubric import RubricError
    from qa_scoring.scorer import Scorer
    from qa_scoring.transcript import Transcript, TranscriptError

    settings = get_settings()
    try:
        scorer = Scorer.load(settings, list(rubric_ids) or None)
    except RubricError as exc:
        raise click.ClickException(f"rubric problem:\n{exc}") from None
    except FileNotFoundError as exc:  # the detector's models are not installed or trained
        raise click.ClickException(str(exc)) from None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)

    failed = 0
    results = []
    colour = sys.stdout.isatty()
    for path in transcripts:
        try:
            transcript = Transcript.load(path)
        except TranscriptError as exc:
            click.echo(f"error: {exc}", err=True)
            failed += 1
            continue
        scored = scorer.score(transcript)
        if out is not None:
            (out / f"{scored.call_id}.scored.json").write_text(scored.to_json(), encoding="utf-8")
        if fmt == "table":
            click.echo(render_table(scored, colour=colour))
        else:
            results.append(scored.to_dict())
    if fmt == "json" and results:
        click.echo(json.dumps(results[0] if len(transcripts) == 1 else results, indent=2, ensure_ascii=False))
    if failed:
        raise SystemExit(1)
