"""A project directory: keras-tuner's files plus kerastune's manifest (`kerastune.json`)."""

from __future__ import annotations

import json
import os
import platform
import shutil
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

MANIFEST_NAME = "kerastune.json"
MANIFEST_FORMAT = 1
LOCK_NAME = "kerastune.lock"  # see kerastune.tuners.records.lock; not part of a project's content
LOGS_NAME = "logs"  # TensorBoard logs: logs/TRIAL_ID/executionN/{train,validation}
PARTIAL_WRITE = ".*.tmp"  # what write_atomically writes before the rename
# The rows kerastune held out as the test set of data that had none (numpy's .npy, written once); the manifest
# records their count and fingerprint
TEST_ROWS_NAME = "test_rows.npy"


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
        raise ProjectError(
            f"cannot read {path} ({error}): the project is damaged; kerastune leaves it as it is: restore the "
            "file, or discard the project with --overwrite"
        ) from None
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
    write_atomically(path, json.dumps(manifest, indent=2, sort_keys=True, default=str) + "\n")


def write_atomically(path: str | os.PathLike, text: str) -> None:
    """Replace `path` with `text` in one step: a reader, or a process killed at any moment, sees
    either the old file or the new one, never half of one."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())  # on disk before it replaces the old file, even if the power fails
    os.replace(tmp, path)


def write_test_rows(project_dir: Path, rows: Any) -> None:
    """Keep the held-out test rows in the project, once and compactly (a reader sees the whole file or none)."""
    import numpy as np

    path = Path(project_dir) / TEST_ROWS_NAME
    if rows is None or (path.exists() and np.array_equal(np.load(path), rows)):
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(partial, "wb") as out:
        np.save(out, np.asarray(rows, dtype=np.int64))
        out.flush()
        os.fsync(out.fileno())
    os.replace(partial, path)


def recorded_data(project_dir: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """The data a project recorded (`Dataset.record()`), its held-out test rows read from their file, as
    `kerastune.data.load_recorded` and `load(like=...)` take it."""
    import numpy as np

    from kerastune.data import fingerprint

    recorded = dict(manifest.get("data", {}))
    rows = recorded.get("test_rows")
    if isinstance(rows, dict):  # their count and fingerprint (a project of an earlier kerastune kept a list here)
        path = Path(project_dir) / TEST_ROWS_NAME
        try:
            loaded = np.load(path)
        except (OSError, ValueError) as error:
            raise ProjectError(f"{path} cannot be read ({type(error).__name__}): the project's held-out test rows "
                               "are lost; search again (--overwrite)") from None
        if len(loaded) != rows["count"] or fingerprint(loaded) != rows["fingerprint"]:
            raise ProjectError(f"{path} is not the file of the test rows the project recorded: restore it, or "
                               "search again (--overwrite)")
        recorded["test_rows"] = loaded
    return recorded


def check_writable_location(project_dir: Path) -> None:
    """Refuse a project folder that cannot be created or written, before anything runs."""
    existing = Path(project_dir)
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ProjectError(f"{existing} is a file, not a folder: give --dir a folder (it is created if missing)")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ProjectError(f"cannot write in {existing}: give --dir a folder you may write to")


def project_state(project_dir: Path) -> str:
    """'new' (absent or empty), 'kerastune' (has a manifest), 'keras-tuner' (keras-tuner's files, no
    manifest), or 'other'. The lock and temporary files of unfinished writes do not count."""
    project_dir = Path(project_dir)
    if not project_dir.exists():
        return "new"
    if not project_dir.is_dir():
        raise ProjectError(f"{project_dir} is a file, not a folder; choose another --name or --dir")
    names = [p.name for p in project_dir.iterdir() if p.name != LOCK_NAME and not _is_partial_write(p)]
    if not names:
        return "new"
    if MANIFEST_NAME in names:
        return "kerastune"
    if any(name == "oracle.json" or name.startswith("trial_") for name in names):
        return "keras-tuner"
    return "other"


def _is_partial_write(path: Path) -> bool:
    return path.match(PARTIAL_WRITE)


def load_project(project_dir: Path) -> dict[str, Any]:
    """The manifest of an existing kerastune project (for `evaluate`), or a ProjectError."""
    project_dir = Path(project_dir)
    if not project_dir.is_dir():
        raise ProjectError(f"no project at {project_dir}: give the directory a search wrote, e.g. tuning/random-mlp")
    manifest = read_manifest(project_dir)
    if manifest is None:
        raise ProjectError(f"{project_dir} is not a kerastune project (it has no {MANIFEST_NAME})")
    return manifest


def check_project_files(project_dir: Path) -> None:
    """Refuse a project whose keras-tuner state files are damaged (e.g. truncated by a crash of an
    older version) instead of letting keras-tuner fail on them, or overwrite them."""
    project_dir = Path(project_dir)
    for path in sorted([*project_dir.glob("*.json"), *project_dir.glob("trial_*/*.json")]):
        try:
            json.loads(path.read_text())
        except (OSError, ValueError) as error:
            reason = type(error).__name__ if isinstance(error, ValueError) else error.strerror
            raise ProjectError(
                f"{path} is damaged ({reason}): kerastune leaves the project as it is; restore the file, "
                "or discard the project with --overwrite"
            ) from None


def finished_trials(project_dir: Path) -> list[str]:
    """Ids of the trials the project's oracle has recorded as finished (completed or failed)."""
    path = Path(project_dir) / "oracle.json"
    try:
        return list(json.loads(path.read_text()).get("end_order", []))
    except (OSError, ValueError, AttributeError):
        return []


def remove_partial_writes(project_dir: Path) -> None:
    """Delete the temporary files of writes that a killed process left unfinished (see write_atomically)."""
    project_dir = Path(project_dir)
    for path in [*project_dir.glob(PARTIAL_WRITE), *project_dir.glob(f"trial_*/{PARTIAL_WRITE}")]:
        path.unlink(missing_ok=True)


def discard_project(project_dir: Path) -> None:
    """Delete everything in a project folder but its lock (which the caller holds).

    The manifest goes first: if this is cut short, what is left is keras-tuner files without a
    manifest, which a search refuses to resume and `--overwrite` discards.
    """
    project_dir = Path(project_dir)
    manifest_path(project_dir).unlink(missing_ok=True)
    for path in project_dir.iterdir():
        if path.name == LOCK_NAME:
            continue
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


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
    return datetime.now(UTC).isoformat(timespec="seconds")
