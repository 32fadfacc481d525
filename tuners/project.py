"""A project directory: keras-tuner's files plus kerastune's manifest (`kerastune.json`)."""

from __future__ import annotations

import json
import os
import platform
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

MANIFEST_NAME = "kerastune.json"
MANIFEST_FORMAT = 1


class ProjectError(ValueError):
    """A project directory that cannot be used as asked; the message says why and what to do."""


def manifest_path(project_dir: Path) -> Path:
    return Path(project_dir) / MANIFEST_NAME


def read_manifest(project_dir: Path) -> dict[str, Any] | None:
    """The project's manifest, or None when the directory holds none."""
    path = manifest_path(project_dir)
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ProjectError(f"cannot read {path}: {error}; the project is damaged") from None
    if not isinstance(manifest, dict) or "tuner" not in manifest or "hypermodel" not in manifest:
        raise ProjectError(f"{path} is not a kerastune manifest")
    if manifest.get("format", 0) > MANIFEST_FORMAT:
        raise ProjectError(
            f"{path} was written by a newer kerastune (format {manifest['format']}); upgrade kerastune"
        )
    return manifest


def write_manifest(project_dir: Path, manifest: dict[str, Any]) -> None:
    """Write the manifest atomically, so a crash never leaves half a file."""
    path = manifest_path(project_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    manifest = {**manifest, "format": MANIFEST_FORMAT, "updated": now()}
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp, path)


def project_state(project_dir: Path) -> str:
    """'new' (absent or empty), 'kerastune' (has a manifest), 'keras-tuner' (oracle, no manifest), or 'other'."""
    project_dir = Path(project_dir)
    if not project_dir.exists() or not any(project_dir.iterdir()):
        return "new"
    if manifest_path(project_dir).exists():
        return "kerastune"
    if (project_dir / "oracle.json").exists():
        return "keras-tuner"
    return "other"


def load_project(project_dir: Path) -> dict[str, Any]:
    """The manifest of an existing kerastune project (for `evaluate`), or a ProjectError."""
    project_dir = Path(project_dir)
    if not project_dir.is_dir():
        raise ProjectError(f"no project at {project_dir}: give the directory a search wrote, e.g. tuning/random-mlp")
    manifest = read_manifest(project_dir)
    if manifest is None:
        raise ProjectError(f"{project_dir} is not a kerastune project (it has no {MANIFEST_NAME})")
    return manifest


def package_versions() -> dict[str, str]:
    """Versions of Python and the packages a search result depends on."""
    versions = {"python": platform.python_version()}
    for package in ("kerastune", "tensorflow", "keras", "keras-tuner", "numpy", "scikit-learn"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
