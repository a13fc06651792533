"""``qa-scoring rubrics``: list the rubric files, and check ones being edited."""

from __future__ import annotations

from pathlib import Path

import click


@click.group("rubrics", invoke_without_command=True)
@click.option("--dir", "directory", type=click.Path(path_type=Path, file_okay=False), help="Rubric folder.")
@click.pass_context
def rubrics(ctx: click.Context, directory: Path | None) -> None:
    """List the rubrics (id, name, version, sections, criteria, applicability)."""
    if ctx.invoked_subcommand is not None:
        return
    from qa_scoring.config import get_settings
    from qa_scoring.rubric.rubric import RubricError, load_rubrics

    directory = directory or get_settings().rubrics_dir
    try:
        found = load_rubrics(directory)
    except RubricError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{'id':<18} {'version':<8} {'sections':>8} {'criteria':>8}  name")
    for rubric in found.values():
        when = (
            " (complaint calls only)" if any(c.behaviour == "complaint" for c in rubric.applies_when) else ""
        )
        click.echo(
            f"{rubric.id:<18} {rubric.version:<8} {len(rubric.sections):>8} {len(rubric.criteria):>8}  "
            f"{rubric.name}{when}"
        )


@rubrics.command("validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
def validate(files: tuple[Path, ...]) -> None:
    """Check rubric FILES; every problem is printed as FILE:LINE: message."""
    from qa_scoring.rubric.rubric import RubricError, load_rubric

    bad = 0
    for path in files:
        try:
            rubric = load_rubric(path)
        except RubricError as exc:
            bad += 1
            for line in exc.errors:
                click.echo(line, err=True)
            continue
        click.echo(f"{path}: ok ({rubric.id}, {len(rubric.criteria)} criteria)")
    if bad:
        raise SystemExit(1)


@rubrics.command("try")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False, exists=True))
@click.option(
    "--calls", "n_calls", default=50, show_default=True, help="How many of the latest stored calls."
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def try_(file: Path, n_calls: int, as_json: bool) -> None:
    """Try FILE's criteria in plain words on the latest stored calls; nothing is saved."""
    import json

    from qa_scoring.behaviours import BehaviourDetector, ModelMissingError
    from qa_scoring.config import get_settings
    from qa_scoring.rubric.rubric import RubricError, load_rubric
    from qa_scoring.rubric_try import as_dict, latest_transcripts, try_rubric
    from qa_scoring.store.db import open_store

    try:
        rubric = load_rubric(file)
    except RubricError as exc:
        raise click.ClickException(str(exc)) from None
    if not any(c.says for c in rubric.criteria):
        raise click.ClickException(f"{file}: no criterion in plain words ('says') to try")
    settings = get_settings()
    try:
        detector = BehaviourDetector.load(settings)
    except ModelMissingError as exc:
        raise click.ClickException(str(exc)) from None
    with open_store(settings)() as session:
        calls = latest_transcripts(session, n_calls)
    if not calls:
        raise click.ClickException("no scored calls in the store to try the criteria on")
    tries = try_rubric(rubric, detector, calls)
    if as_json:
        click.echo(json.dumps(as_dict(tries), indent=2))
        return
    for t in tries:
        click.echo(f"{t.criterion_id}: {t.name} - said in {t.hit_calls} of {t.calls} calls")
        for title, lines in (("hits", t.hits), ("near misses", t.near), ("left out", t.left_out)):
            if lines:
                click.echo(f"  {title}:")
            for ln in lines:
                when = f"{ln.start:6.1f}s" if ln.start is not None else "      "
                why = f" [{ln.why}]" if ln.why else ""
                click.echo(
                    f"    {ln.confidence:.2f} call {ln.call} turn {ln.turn} {when} "
                    f"{ln.speaker}: {ln.quote}{why}"
                )
