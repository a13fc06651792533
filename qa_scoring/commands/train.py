"""``qa-scoring train LABELLED_DIR...``: build the behaviour classifiers (a reproducible build artefact).

Seeds are fixed and inputs are read in sorted order, so the same labelled calls give the same model.
The shipped model trains on ``data/labelled`` inside the project: users' machines have nothing else.
"""

from __future__ import annotations

from pathlib import Path

import click


@click.command("train")
@click.argument("labelled_dirs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Model folder (default: <models_dir>/behaviours).",
)
def train(labelled_dirs: tuple[Path, ...], out_dir: Path | None) -> None:
    """Train the behaviour classifiers from labelled calls."""
    from qa_scoring.behaviours import measure as ev
    from qa_scoring.behaviours import models_folder
    from qa_scoring.behaviours.labelled import LabelledDataError, load_dir

    try:
        calls = [c for d in labelled_dirs for c in load_dir(d)]
    except LabelledDataError as exc:
        raise click.ClickException(str(exc)) from None
    embedder = ev.training_embedder()
    items = ev.featurise(calls, embedder)
    meta = ev.training_metadata(items, [str(d) for d in labelled_dirs])
    models = ev.fit(items, meta)
    folder = out_dir or models_folder()
    models.save(folder)
    embedder.save(folder)
    click.echo(
        f"trained on {len(calls)} calls ({meta['counts']['turns']} turns) -> {folder} [{meta['version']}]"
    )
