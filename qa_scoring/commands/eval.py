"""``qa-scoring eval LABELLED_DIR``: per-behaviour precision, recall, F1 and kappa against gold labels.

The figure must be for calls the classifiers never saw. So by default: when the installed model was
not trained on any of the measured calls (compared by file hash), they are scored with it as they
are - exactly what a user gets. When it was (or ``--cv`` is given, or no model is installed), the
calls are cross-validated instead (grouped by call), with ``--train-dir`` calls added to every
fold's training set.

``--loso batch|sector`` holds out a whole source at a time (the map is ``LABELLED_DIR/sources.yaml``)
and reports every group and the worst one. ``--styles`` measures the same calls rewritten in each
transcript style (``qa_scoring.behaviours.styles``); the models are trained once per fold and predict
every style, since a style only rewrites the calls being measured. Every mode also reports the
calibration of the behaviour probabilities and the share of decisions not left to a reviewer.

``qa-scoring eval --reviews`` (no LABELLED_DIR) measures against the reviewers instead: the
pre-scores against the results of the submitted standing reviews in the configured store, per
behaviour-model version (``qa_scoring.review.agreement``), so a retrained model can be seen to agree
more - or less - with the people who check it.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from click.core import ParameterSource

from qa_scoring.behaviours.sources import GROUPINGS

# The options that measure labelled calls; --reviews takes none of them.
LABELLED_OPTIONS = (
    "train_dirs",
    "folds",
    "force_cv",
    "asr_style",
    "all_styles",
    "loso",
    "keep_settings",
    "seed",
)


@click.command("eval")
@click.argument("labelled_dir", required=False, type=click.Path(path_type=Path))
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
@click.option(
    "--styles", "all_styles", is_flag=True, help="Also measure the calls rewritten in every transcript style."
)
@click.option(
    "--loso",
    type=click.Choice(GROUPINGS),
    help="Leave one source out: hold out each writing batch or sector family in turn "
    "(LABELLED_DIR/sources.yaml).",
)
@click.option(
    "--keep-settings",
    is_flag=True,
    help="With cross-validation: every fold keeps the installed model's regularisation and n-gram "
    "weight per behaviour instead of choosing them again (about 8x faster; thresholds are still "
    "chosen on each fold's training calls).",
)
@click.option("--seed", default=0, show_default=True, help="Seed of the style rewrites.")
@click.option(
    "--reviews",
    is_flag=True,
    help="Instead of LABELLED_DIR: agreement of the pre-scores with the reviewers' results "
    "(submitted standing reviews in the store), per behaviour-model version.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def eval_command(
    labelled_dir: Path | None,
    train_dirs: tuple[Path, ...],
    folds: int,
    force_cv: bool,
    asr_style: bool,
    all_styles: bool,
    loso: str | None,
    keep_settings: bool,
    seed: int,
    reviews: bool,
    as_json: bool,
) -> None:
    """Measure behaviour detection against labelled calls the classifiers were not trained on
    (LABELLED_DIR), or the pre-scores against the reviewers' decisions (--reviews)."""
    ctx = click.get_current_context()
    if reviews:
        given = [
            "--" + name.replace("_", "-")
            for name in LABELLED_OPTIONS
            if ctx.get_parameter_source(name) is not ParameterSource.DEFAULT
        ]
        if labelled_dir is not None or given:
            what = ", ".join(([str(labelled_dir)] if labelled_dir is not None else []) + given)
            raise click.UsageError(
                f"--reviews reads the reviews in the store and takes no LABELLED_DIR or labelled-call "
                f"options (got {what}); only --json goes with it",
                ctx,
            )
        _review_agreement(as_json)
        return
    if labelled_dir is None:
        raise click.UsageError(
            "Missing argument 'LABELLED_DIR': the labelled calls to measure "
            "(or --reviews to measure the pre-scores against the store's reviews).",
            ctx,
        )
    from qa_scoring.behaviours import measure as ev
    from qa_scoring.behaviours.labelled import LabelledDataError, load_dir
    from qa_scoring.behaviours.sources import load_sources
    from qa_scoring.behaviours.styles import STYLES, restyled
    from qa_scoring.commands.eval_tables import print_result

    if asr_style and all_styles:
        raise click.ClickException("--styles already includes the ASR style; give one of the two")
    try:
        calls = load_dir(labelled_dir)
        extra = [c for d in train_dirs for c in load_dir(d)]
        groups = load_sources(labelled_dir).groups(calls, loso) if loso else None
    except LabelledDataError as exc:
        raise click.ClickException(str(exc)) from None
    detector = None if loso else _usable_detector(calls, force_cv or bool(train_dirs) or keep_settings)
    styles = ["original", *STYLES] if all_styles else ["asr_style" if asr_style else "original"]

    def progress(message: str) -> None:
        click.echo(message, err=True)

    if detector is not None:
        mode = f"installed model {detector.version} (not trained on these calls)"

        def predict(style: str) -> list:
            return ev.predict(detector.models, ev.featurise(restyled(calls, style, seed), detector.embedder))

    else:
        if groups is None:
            if folds < 2 or folds > len(calls):
                raise click.ClickException(
                    f"--folds must be between 2 and the number of calls ({len(calls)})"
                )
            fold_of = ev.kfold_groups(len(calls), folds)
            mode = f"{folds}-fold cross-validation grouped by call"
        else:
            fold_of = groups
            if len(set(groups)) < 2:
                raise click.ClickException(f"--loso {loso}: the calls are all in one group")
            mode = f"leave one {loso} out ({len(set(groups))} groups)"
        mode += f", +{len(extra)} training calls" if extra else ""
        settings = _installed_settings() if keep_settings else None
        mode += ", settings of the installed model" if settings else ""
        embedder = ev.training_embedder()
        held_out = ev.fit_groups(
            ev.featurise(calls, embedder), fold_of, ev.featurise(extra, embedder), progress, settings
        )

        def predict(style: str) -> list:
            return ev.predict_folds(held_out, ev.featurise(restyled(calls, style, seed), embedder))

    truth = [c.labels for c in calls]
    per_style = {}
    for style in styles:
        preds = predict(style)
        result = ev.scores(truth, preds)
        result["calibration"] = ev.calibration(truth, preds)
        if groups is not None:
            result.update(ev.group_scores(truth, preds, groups))
        per_style[style] = result
    header = {"dir": str(labelled_dir), "mode": mode, "grouping": loso}
    if all_styles:
        output = {**header, "seed": seed, "styles": per_style, "worst_style": _worst_style(per_style)}
    else:
        output = {**header, **per_style[styles[0]], "asr_style": asr_style}
    if as_json:
        click.echo(json.dumps(output, indent=2))
    else:
        print_result(output)


def _review_agreement(as_json: bool) -> None:
    """Pre-score vs reviewer agreement per behaviour-model version, from the configured store."""
    from qa_scoring.commands.eval_tables import print_review_agreement
    from qa_scoring.config import get_settings
    from qa_scoring.review import agreement as ag
    from qa_scoring.store.db import open_store

    with open_store(get_settings())() as session:
        rows = ag.decision_rows(session)
    versions = ag.agreement_by_version(rows)
    output = {
        "source": "reviews",
        "reviews": "submitted standing reviews (calibration and superseded reviews excluded)",
        "interval": f"{ag.LEVEL:.0%} percentile bootstrap over decisions, {ag.RESAMPLES} resamples, "
        f"seed {ag.SEED}; none below {ag.MIN_DECISIONS} decisions",
        "min_decisions": ag.MIN_DECISIONS,
        "decisions": sum(v.overall.n for v in versions),
        "skipped": sum(v.skipped for v in versions),
        "versions": [v.to_dict() for v in versions],
    }
    if as_json:
        click.echo(json.dumps(output, indent=2))
    else:
        print_review_agreement(output)


def _usable_detector(calls: list, force_cv: bool):  # -> BehaviourDetector | None
    """The installed model, unless cross-validation is asked for or it was trained on these calls."""
    from qa_scoring.behaviours import BehaviourDetector, ModelMissingError

    if force_cv:
        return None
    try:
        detector = BehaviourDetector.load()
    except ModelMissingError as exc:
        click.echo(f"no usable installed model ({exc}); cross-validating instead", err=True)
        return None
    trained_on = set(detector.models.meta.get("files", {}).values())
    if any(c.sha256 in trained_on for c in calls):
        return None  # scoring its own training calls would flatter it: cross-validate instead
    return detector


def _installed_settings() -> dict:
    """Each behaviour's (C, n-gram weight) as the installed model chose them on its training calls."""
    from qa_scoring.behaviours import BehaviourDetector, ModelMissingError
    from qa_scoring.behaviours.classifier import model_settings

    try:
        return model_settings(BehaviourDetector.load().models)
    except ModelMissingError as exc:
        raise click.ClickException(f"--keep-settings needs an installed model: {exc}") from None


def _worst_style(per_style: dict[str, dict]) -> dict:
    """The style with the lowest macro-F1, and how far it falls below the calls as written."""
    worst = min(per_style, key=lambda s: (per_style[s]["macro_f1"], s))
    base = per_style["original"]["macro_f1"]
    return {
        "style": worst,
        "macro_f1": per_style[worst]["macro_f1"],
        "drop": round(base - per_style[worst]["macro_f1"], 4),
        "min_kappa": per_style[worst]["min_kappa"],
    }
