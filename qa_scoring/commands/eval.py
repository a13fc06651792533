"""``qa-scoring eval LABELLED_DIR``: per-behaviour precision, recall, F1 and kappa against gold labels.

By default the measured calls are cross-validated (grouped by call) with ``--train-dir`` calls added
to every fold's training set, so the figure is for calls the classifiers never saw. ``--model``
instead scores them with the installed model (only honest if it was not trained on them).
"""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("eval")
@click.argument("labelled_dir", type=click.Path(path_type=Path))
@click.option(
    "--train-dir",
    "train_dirs",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Extra labelled calls added to every fold's training set (repeatable).",
)
@click.option("--folds", default=5, show_default=True, help="Cross-validation folds (grouped by call).")
@click.option("--model", "use_model", is_flag=True, help="Score with the installed trained model, no CV.")
@click.option("--asr-style", is_flag=True, help="Convert the calls to raw lower-case ASR-style text first.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def eval_command(
    labelled_dir: Path,
    train_dirs: tuple[Path, ...],
    folds: int,
    use_model: bool,
    asr_style: bool,
    as_json: bool,
) -> None:
    """Measure behaviour detection against labelled calls."""
    from qa_scoring.rubric import measure as ev
    from qa_scoring.rubric.detector import BehaviourDetector, ModelMissingError
    from qa_scoring.rubric.labelled import LabelledDataError, as_asr_style, load_dir

    try:
        calls = load_dir(labelled_dir)
        extra = [c for d in train_dirs for c in load_dir(d)]
    except LabelledDataError as exc:
        raise click.ClickException(str(exc)) from None
    if asr_style:
        calls = [as_asr_style(c) for c in calls]
    items = ev.featurise(calls)
    if use_model:
        try:
            detector = BehaviourDetector.load()
        except ModelMissingError as exc:
            raise click.ClickException(str(exc)) from None
        preds = ev.predict(detector.models, items)
        mode = f"installed model {detector.version}"
    else:
        if folds < 2 or folds > len(calls):
            raise click.ClickException(f"--folds must be between 2 and the number of calls ({len(calls)})")
        preds = ev.cross_validate(items, ev.featurise(extra), folds)
        mode = f"{folds}-fold cross-validation grouped by call" + (
            f", +{len(extra)} training calls" if extra else ""
        )
    result = ev.scores([c.labels for c in calls], preds)
    result.update({"mode": mode, "asr_style": asr_style, "dir": str(labelled_dir)})
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(f"{labelled_dir}: {result['calls']} calls, {mode}{', ASR-style' if asr_style else ''}")
    click.echo(f"{'behaviour':24s} {'P':>6s} {'R':>6s} {'F1':>6s} {'kappa':>6s}")
    for b, v in result["behaviours"].items():
        click.echo(f"{b:24s} {v['precision']:6.3f} {v['recall']:6.3f} {v['f1']:6.3f} {v['kappa']:6.3f}")
    click.echo(f"{'macro-F1':24s} {'':6s} {'':6s} {result['macro_f1']:6.3f}")
