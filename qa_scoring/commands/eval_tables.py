"""Plain-text tables for ``qa-scoring eval``: per behaviour, per held-out group, per transcript style.

The worst figure of each kind is marked, since a mean can hide one source or one style the model
fails on: ``<- worst`` on a row, ``*`` on a cell.
"""

from __future__ import annotations

from collections.abc import Iterable

import click

from qa_scoring.behaviours import BEHAVIOUR_IDS


def _f(value: float | None, width: int = 6) -> str:
    return f"{'-':>{width}s}" if value is None else f"{value:{width}.3f}"


def print_result(output: dict) -> None:
    click.echo(f"{output['dir']}: {output['mode']}")
    if "styles" in output:
        _styles(output)
        return
    label = " (ASR-style)" if output.get("asr_style") else ""
    click.echo(f"{output['calls']} calls{label}")
    _behaviours(output)
    if "groups" in output:
        _groups(output)


def _behaviours(result: dict) -> None:
    cal = result["calibration"]
    figures = ("P", "R", "F1", "kappa", "ECE", "auto", "reach")
    click.echo(f"{'behaviour':24s} " + " ".join(f"{f:>6s}" for f in figures))
    worst = min(result["behaviours"].values(), key=lambda v: v["kappa"])["kappa"]
    for b, v in result["behaviours"].items():
        c = cal["behaviours"][b]
        mark = "  <- worst kappa" if v["kappa"] == worst else ""
        click.echo(
            f"{b:24s} {v['precision']:6.3f} {v['recall']:6.3f} {v['f1']:6.3f} {v['kappa']:6.3f} "
            f"{c['ece']:6.3f} {c['auto_share']:6.3f} {_f(c.get('reach'))}{mark}"
        )
    click.echo(f"{'macro-F1':24s} {'':6s} {'':6s} {result['macro_f1']:6.3f}")
    _calibration(cal)


def _calibration(cal: dict) -> None:
    p = cal["pooled"]
    click.echo(
        f"calibration: pooled ECE {p['ece']:.3f} ({cal['bins']} bins, {p['decisions']} decisions); "
        f"auto-decided {p['auto_share']:.1%}, accuracy {_pct(p['auto_accuracy'])}, "
        f"precision of 'present' {_pct(p['auto_precision'])}; "
        f"left to review: accuracy {_pct(p['review_accuracy'])}"
    )


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _groups(result: dict) -> None:
    groups = result["groups"]
    worst = result["worst_group"]["group"]
    click.echo("")
    click.echo(f"{'held-out group':26s} {'calls':>5s} {'macro-F1':>8s} {'min kappa':>9s}  lowest behaviour")
    for name, g in groups.items():
        low = min(g["behaviours"], key=lambda b: g["behaviours"][b]["kappa"])
        mark = "  <- worst" if name == worst else ""
        click.echo(f"{name:26s} {g['calls']:5d} {g['macro_f1']:8.3f} {g['min_kappa']:9.3f}  {low}{mark}")
    click.echo("")
    names = list(groups)
    width = max(8, *(len(n) for n in names)) + 1
    click.echo("kappa by held-out group (* lowest of the row, where they differ)")
    click.echo(f"{'behaviour':24s}" + "".join(f"{n[: width - 1]:>{width}s}" for n in names))
    for b in _measured(groups.values()):
        values = [groups[n]["behaviours"][b]["kappa"] for n in names if b in groups[n]["behaviours"]]
        low = result["worst_kappa"][b]["group"] if min(values) < max(values) else None
        cells = [_cell(groups[n]["behaviours"], b, "kappa", n == low) for n in names]
        click.echo(f"{b:24s}" + "".join(f"{c:>{width}s}" for c in cells))


def _measured(results: Iterable[dict]) -> list[str]:
    """Behaviours with figures in any of ``results`` (a set labelled before an optional behaviour
    existed has none for it), in the contract's order."""
    results = list(results)
    return [b for b in BEHAVIOUR_IDS if any(b in r["behaviours"] for r in results)]


def _cell(behaviours: dict, b: str, figure: str, lowest: bool) -> str:
    if b not in behaviours:
        return "-"
    return f"{behaviours[b][figure]:.3f}{'*' if lowest else ' '}"


def _styles(output: dict) -> None:
    styles = output["styles"]
    worst = output["worst_style"]["style"]
    base = styles["original"]["macro_f1"]
    grouped = "worst_group" in styles["original"]
    head = f"{'style':16s} {'macro-F1':>8s} {'drop':>6s} {'min kappa':>9s} {'ECE':>6s} {'auto':>6s}"
    click.echo(f"{styles['original']['calls']} calls, seed {output['seed']}")
    click.echo(head + ("  worst group (macro-F1)" if grouped else ""))
    for name, r in styles.items():
        cal = r["calibration"]["pooled"]
        line = (
            f"{name:16s} {r['macro_f1']:8.3f} {base - r['macro_f1']:6.3f} {r['min_kappa']:9.3f} "
            f"{cal['ece']:6.3f} {cal['auto_share']:6.3f}"
        )
        if grouped:
            line += f"  {r['worst_group']['group']} ({r['worst_group']['macro_f1']:.3f})"
        click.echo(line + ("  <- worst style" if name == worst else ""))
    click.echo("")
    names = list(styles)
    width = max(9, *(len(n) for n in names)) + 1
    # precision and recall too: the bar on rudeness is a precision at a recall, in every style
    for figure in ("precision", "recall", "f1", "kappa"):
        click.echo(f"{figure} by style (* lowest of the row, where they differ)")
        click.echo(f"{'behaviour':24s}" + "".join(f"{n:>{width}s}" for n in names))
        for b in _measured(styles.values()):
            values = [styles[n]["behaviours"][b][figure] for n in names if b in styles[n]["behaviours"]]
            low = min(values) if min(values) < max(values) else None
            cells = [
                _cell(
                    styles[n]["behaviours"], b, figure, styles[n]["behaviours"].get(b, {}).get(figure) == low
                )
                for n in names
            ]
            click.echo(f"{b:24s}" + "".join(f"{c:>{width}s}" for c in cells))
        click.echo("")
    if grouped:
        click.echo("worst held-out group per style:")
        for name, r in styles.items():
            kappas = r["worst_kappa"]
            low = min(kappas, key=lambda b: kappas[b]["kappa"])
            click.echo(
                f"  {name:16s} {r['worst_group']['group']} macro-F1 {r['worst_group']['macro_f1']:.3f}; "
                f"lowest kappa in any group: {low} {kappas[low]['kappa']:.3f} ({kappas[low]['group']})"
            )
        click.echo("")
        click.echo("groups as written:")
        _groups(styles["original"])


def print_review_agreement(output: dict) -> None:
    """``eval --reviews``: one block per behaviour-model version, all criteria pooled first."""
    click.echo(
        f"pre-scores vs reviewers: {output['reviews']}; {output['decisions']} decisions, "
        f"{output['skipped']} skipped (no pre-score, or n/a on either side)"
    )
    click.echo(f"kappa interval: {output['interval']}")
    versions = output["versions"]
    if not versions:
        click.echo("no submitted standing reviews in the store")
        return
    rows = [(v["version"], c) for v in versions for c in [v["overall"], *v["criteria"]]]
    vw = max(7, *(len(name) for name, _ in rows))
    cw = max(9, *(len(_criterion(c)) for _, c in rows))
    head = (
        f"{'version':{vw}s}  {'criterion':{cw}s} {'n':>5s} {'agree':>6s}  "
        f"{'kappa [95% CI]':22s} {'overrides':>9s}"
    )
    for v in versions:
        when = f", first scored {v['first_scored'][:10]}" if v["first_scored"] else ""
        click.echo("")
        click.echo(f"behaviour model {v['version']}{when}: {v['skipped']} decisions skipped")
        click.echo(head)
        for c in [v["overall"], *v["criteria"]]:
            click.echo(
                f"{v['version']:{vw}s}  {_criterion(c):{cw}s} {c['n']:5d} {_f(c['agreement'])}  "
                f"{_kappa_ci(c):22s} {_pct(c['overrides']):>9s}"
            )


def _criterion(c: dict) -> str:
    return "all criteria" if c["rubric_id"] is None else f"{c['rubric_id']}/{c['criterion_id']}"


def _kappa_ci(c: dict) -> str:
    kappa = _f(c["kappa"])
    if c["too_few"]:
        return f"{kappa} [too few]"
    if c["kappa_ci"] is None:
        return f"{kappa} [-]"
    low, high = c["kappa_ci"]
    return f"{kappa} [{low:.3f}, {high:.3f}]"
