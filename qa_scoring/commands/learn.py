"""``qa-scoring learn``: retrain the behaviour model with the reviewers' decisions (qa_scoring.learning)."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("learn")
@click.option(
    "--labelled",
    "labelled_dirs",
    multiple=True,
    type=click.Path(file_okay=False, exists=True, path_type=Path),
    help="Labelled calls kept in every training set (repeatable; default: the project's data/labelled).",
)
@click.option("--no-promote", is_flag=True, help="Train, measure and keep the candidate, but do not use it.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def learn(labelled_dirs: tuple[Path, ...], no_promote: bool, as_json: bool) -> None:
    """Learn from the reviewers: export reviewed calls, retrain, compare, promote if not worse."""
    from qa_scoring.behaviours import ModelMissingError
    from qa_scoring.behaviours.labelled import LabelledDataError
    from qa_scoring.config import get_settings
    from qa_scoring.learning import LearnError
    from qa_scoring.learning import learn as run_learn
    from qa_scoring.rubric.rubric import RubricError
    from qa_scoring.store.db import open_store

    settings = get_settings()
    say = (lambda _: None) if as_json else (lambda m: click.echo(m, err=True))
    try:
        with open_store(settings)() as session:
            report = run_learn(session, settings, list(labelled_dirs) or None, not no_promote, say)
    except (LearnError, ModelMissingError, LabelledDataError, RubricError) as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
        return
    r = report
    click.echo(
        f"reviewed calls: {r.reviewed_calls} "
        f"({r.trained_on_reviewed} trained on, {r.held_out_reviewed} held out)"
    )
    for why, n in sorted(r.skipped.items()):
        click.echo(f"  left out: {n} x {why}")
    click.echo(
        f"held-out reviewed calls, agreement with reviewers: current {r.reviewed.current:.3f}, "
        f"candidate {r.reviewed.candidate:.3f} ({r.reviewed.n} decisions)"
    )
    click.echo(
        f"project calls, macro-F1: current {r.project.current:.3f}, candidate {r.project.candidate:.3f} "
        f"({r.project.n} calls)"
    )
    for key, n in sorted(r.phrase_lessons.items()):
        click.echo(f"  {key}: {n['examples']} turn(s) taught as showing it, {n['near_misses']} as not")
    verdict = "PROMOTED" if r.promoted else "not promoted"
    click.echo(f"{r.candidate_version}: {verdict}: {r.reason}")
    click.echo(f"model in use: {r.candidate_version if r.promoted else r.current_version}")
    click.echo(f"report: {Path(r.folder) / 'report.json'} ({r.seconds.get('total', 0):.0f} s)")
