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
