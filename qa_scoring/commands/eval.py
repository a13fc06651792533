"""``qa-scoring eval LABELLED_DIR``: per-behaviour precision, recall, F1 and kappa against gold labels.

The figure must be for calls the classifiers never saw. So by default: when the installed model was
not trained on any of the measured calls (compared by file hash), they are scored with it as they
are - exactly what a user gets. When it was (or ``--cv`` is given, or no model is installed), the
calls are cross-validated instead (grouped by call), with ``--train-dir`` calls added to every
fold's training set.
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
    help="With cross-validation: labelled calls added to every fold's training set (repeatable).",
)
@click.option("--folds", default=5, show_default=True, help="Cross-validation folds (grouped by call).")
@click.option("--cv", "force_cv", is_flag=True, help="Cross-validate even if the installed model is usable.")
@click.option("--asr-style", is_flag=True, help="Convert the calls to raw lower-case ASR-style text first.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def eval_command(
    labelled_dir: Path,
    train_dirs: tuple[Path, ...],
    folds: int,
    force_cv: bool,
    asr_style: bool,
    as_json: bool,
) -> None:
    """Measure behaviour detection against labelled calls the classifiers were not trained on."""
    from qa_scoring.rubric import measure as ev
    from qa_scoring.rubric.detector import BehaviourDetector, ModelMissingError
    from qa_scoring.rubric.labelled import LabelledDataError, as_asr_style, load_dir

    try:
        calls = load_dir(labelled_dir)
        extra = [c for d in train_dirs for c in load_dir(d)]
    except LabelledDataError as exc:
        raise click.ClickException(str(exc)) from None
    detector = None
    if not force_cv and not train_dirs:
        try:
            detector = BehaviourDetector.load()
        except ModelMissingError:
            detector = None
    if detector is not None:
        trained_on = set(detector.models.meta.get("files", {}).values())
        if any(c.sha256 in trained_on for c in calls):
            detector = None  # scoring its own training calls would flatter it: cross-validate instead
    if asr_style:
        calls = [as_asr_style(c) for c in calls]
    if detector is not None:
        preds = ev.predict(detector.models, ev.featurise(calls, detector.embedder))
        mode = f"installed model {detector.version} (not trained on these calls)"
    else:
        if folds < 2 or folds > len(calls):
            raise click.ClickException(f"--folds must be between 2 and the number of calls ({len(calls)})")
        embedder = ev.training_embedder()
        preds = ev.cross_validate(ev.featurise(calls, embedder), ev.featurise(extra, embedder), folds)
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
