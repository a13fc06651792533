"""A private models folder for tests that change which behaviour model is in use (learn, rollback).

The behaviour model is copied (it is replaced in these tests); the speech and embedding models,
hundreds of MB, are linked.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

INSTALLED = Path(__file__).resolve().parents[1] / "models" / "installed"


def models_copy(tmp_path: Path) -> Path:
    if not (INSTALLED / "behaviours" / "metadata.json").is_file():
        pytest.fail(f"{INSTALLED}: no trained behaviour model; run `make models`")
    models = tmp_path / "models"
    models.mkdir()
    for entry in INSTALLED.iterdir():
        if entry.name == "behaviours":
            shutil.copytree(entry, models / entry.name)
        elif not entry.name.startswith("behaviour-versions"):
            (models / entry.name).symlink_to(entry.resolve())
    return models


def retagged(folder: Path, version: str, into: Path) -> Path:
    """A copy of a model folder at ``into`` that calls itself ``version`` (a stand-in for a retrained one)."""
    shutil.copytree(folder, into)
    meta = json.loads((into / "metadata.json").read_text(encoding="utf-8"))
    (into / "metadata.json").write_text(json.dumps({**meta, "version": version}), encoding="utf-8")
    return into
