"""MNIST data layer: load from a .npz, IDX files, Keras or the bundled sample; prepare and split.

Only numpy and the standard library are imported at module level; Keras is imported inside
load_mnist() when it is asked for, and scikit-learn inside split_validation().
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import socket
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

KEYS = ("x_train", "y_train", "x_test", "y_test")
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
IDX_IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions
IDX_LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension
KERAS_LOCATION = "keras.datasets.mnist"
# Socket timeout (seconds per connect/read, not for the whole download) while Keras downloads
# MNIST; without one a network that drops packets can stall the download for minutes.
KERAS_DOWNLOAD_TIMEOUT = 15.0
MIN_TRAINING_SAMPLES = 10


class DataError(ValueError):
    """Bad data input; message is one line saying what is wrong and how to fix it."""


@dataclass(frozen=True, eq=False)
class MnistData:
    """MNIST arrays in the Keras layout plus where they came from."""

    x_train: np.ndarray = field(repr=False)  # uint8, (n, 28, 28)
    y_train: np.ndarray = field(repr=False)  # int64, (n,), values 0..9
    x_test: np.ndarray = field(repr=False)  # uint8, (m, 28, 28)
    y_test: np.ndarray = field(repr=False)  # int64, (m,)
    source: str  # "file", "idx", "keras" or "sample"
    location: str  # path read, "keras.datasets.mnist", or the bundled sample path
    note: str = ""  # e.g. why the bundled sample was used
    # {"train": ..., "test": ...}: a hash of the training arrays and one of the test arrays, made on loading;
    # two loads of the same data have the same fingerprint, whatever file they came from
    fingerprint: dict[str, str] = field(default=None, repr=False, compare=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.fingerprint is None:
            prints = {"train": fingerprint(self.x_train, self.y_train), "test": fingerprint(self.x_test, self.y_test)}
            object.__setattr__(self, "fingerprint", prints)

    def describe(self) -> dict:
        """JSON-safe description: source, location, train and test counts, note, fingerprint."""
        return {
            "source": self.source,
            "location": self.location,
            "train": int(len(self.y_train)),
            "test": int(len(self.y_test)),
            "note": self.note,
            "fingerprint": self.fingerprint,
        }

    def summary(self) -> str:
        """One human-readable line saying where the digits came from and how many there are."""
        counts = f"{len(self.y_train):,} training, {len(self.y_test):,} test digits"
        if self.source == "sample":
            line = (
                f"bundled MNIST sample ({self.location}): {counts} "
                "(a small subset, not the full 60,000/10,000 MNIST)"
            )
            return f"{line}; {self.note}" if self.note else line
        line = f"MNIST from {self.location}: {counts}"
        return f"{line} ({self.note})" if self.note else line


def sample_path() -> Path:
    """Path of the bundled 10,000/2,000 MNIST sample shipped with the package."""
    return Path(__file__).resolve().parent / "datasets" / "mnist_sample.npz"


def load_sample(note: str = "") -> MnistData:
    """Load the bundled MNIST sample (source "sample")."""
    path = sample_path()
    arrays = _read_npz(path)
    return MnistData(**arrays, source="sample", location=str(path), note=note)


def load_mnist(path: str | os.PathLike | None = None) -> MnistData:
    """Load MNIST from a Keras-layout .npz, a directory of IDX files, or (None) Keras.

    With path None, Keras's own copy is used (cache or download); if Keras fails for any
    reason the bundled sample is returned instead, with `note` saying why.
    Raises DataError for any bad file or directory.
    """
    if path is None:
        return _load_keras_or_sample()
    p = Path(path).expanduser()
    if p.is_dir():
        return MnistData(**_read_idx_dir(p), source="idx", location=str(p.resolve()))
    if not p.exists():
        raise DataError(
            f"{p}: no such file or directory; give a Keras-layout .npz file "
            "or a directory of the four MNIST IDX files"
        )
    return MnistData(**_read_npz(p), source="file", location=str(p.resolve()))


def load_recorded(info: dict) -> MnistData:
    """Load again the data a search recorded (`MnistData.describe()`): the same file or folder,
    the bundled sample, or Keras's MNIST."""
    source = info.get("source")
    if source in ("file", "idx"):
        return load_mnist(info["location"])
    if source == "sample":
        return load_sample()
    return load_mnist(None)


def fingerprint(*arrays: np.ndarray) -> str:
    """The first 16 hex digits of a SHA-256 over the arrays' dtypes, shapes and bytes."""
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}".encode())
        digest.update(array.data)
    return digest.hexdigest()[:16]


def default_validation_size(n_train: int) -> int:
    """Default validation size: 10,000 for full MNIST (>= 60,000), else one sixth."""
    if n_train >= 60_000:
        return 10_000
    return int(round(n_train / 6))


def prepare_images(x: np.ndarray, input_shape: tuple[int, ...] = (784,)) -> np.ndarray:
    """Scale uint8 images to float32 in [0, 1] and reshape to (n, *input_shape)."""
    x = np.asarray(x)
    shape = tuple(int(d) for d in input_shape)
    if x.dtype != np.uint8:
        raise DataError(f"images have dtype {x.dtype}; prepare_images expects uint8 pixels 0..255")
    if x.ndim < 1 or int(np.prod(x.shape[1:])) != int(np.prod(shape)):
        raise DataError(
            f"images of shape {tuple(x.shape)} cannot be reshaped to (n, *{shape}); "
            "use input_shape (784,) or (28, 28) for MNIST"
        )
    return (x.astype(np.float32) / np.float32(255.0)).reshape((len(x), *shape))


def prepare_labels(y: np.ndarray, one_hot: bool) -> np.ndarray:
    """Integer labels as a hypermodel wants them: unchanged, or one-hot (10 classes)."""
    return np.eye(10, dtype="float32")[y] if one_hot else y


def split_validation(
    x: np.ndarray,
    y: np.ndarray,
    validation: int | float | None,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split (x, y) into (x_fit, y_fit, x_val, y_val), stratified by label, deterministic per seed.

    validation: a count (int >= 1), a fraction (float in (0, 1)), or None for
    default_validation_size(len(x)).
    """
    if len(y) != len(x):
        raise DataError(f"{len(x):,} images but {len(y):,} labels; they must have the same length")
    fit_idx, val_idx = validation_indices(y, validation, seed)
    return x[fit_idx], y[fit_idx], x[val_idx], y[val_idx]


def validation_indices(y: np.ndarray, validation: int | float | None, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The indices of the fit part and of the validation part of a stratified, seeded split (see split_validation)."""
    n = len(y)
    n_val = _validation_count(validation, n)
    if validation is None:
        where = f"the default validation size {n_val:,}"
    else:
        where = f"--validation-split {validation}"
    if n_val >= n:
        verb = "is larger than" if n_val > n else "uses all of"
        raise DataError(f"{where} {verb} the {n:,} training digits; use a smaller number")
    if n - n_val < MIN_TRAINING_SAMPLES:
        raise DataError(
            f"{where} leaves only {n - n_val:,} training digits "
            f"(need at least {MIN_TRAINING_SAMPLES}); use a smaller number"
        )
    classes, counts = np.unique(np.asarray(y), return_counts=True)
    if n_val < len(classes):
        raise DataError(
            f"{where} is too small to hold one digit of each of the {len(classes)} classes; "
            f"use at least {len(classes)}"
        )
    if n - n_val < len(classes):
        raise DataError(
            f"{where} leaves fewer training digits than the {len(classes)} classes; "
            "use a smaller number"
        )
    if counts.min() < 2:
        raise DataError(
            f"cannot split by label: digit {classes[counts.argmin()]} has only one example; "
            "use more data"
        )

    from sklearn.model_selection import train_test_split

    fit_idx, val_idx = train_test_split(
        np.arange(n), test_size=n_val, stratify=y, random_state=seed, shuffle=True
    )
    return fit_idx, val_idx


def _validation_count(validation: int | float | None, n: int) -> int:
    """Turn the validation argument into a number of samples (not yet checked against n)."""
    if validation is None:
        return default_validation_size(n)
    if isinstance(validation, (bool, np.bool_)):
        raise DataError(f"--validation-split {validation} is not a number; give e.g. 5000 or 0.1")
    if isinstance(validation, (int, np.integer)):
        if validation < 1:
            raise DataError(
                f"--validation-split {validation} must be at least 1; "
                "give a number of digits like 5000 or a fraction like 0.1"
            )
        return int(validation)
    if isinstance(validation, (float, np.floating)):
        if not 0.0 < validation < 1.0:
            raise DataError(
                f"--validation-split {validation} is not a fraction in (0, 1); "
                "give a fraction like 0.1 or a whole number of digits like 5000"
            )
        count = int(round(float(validation) * n))
        if count < 1:
            raise DataError(
                f"--validation-split {validation} of {n:,} digits is less than one digit; "
                "use a larger fraction"
            )
        return count
    raise DataError(
        f"--validation-split {validation!r} is not a number; give e.g. 5000 or 0.1"
    )


def _one_line(error: BaseException) -> str:
    """A short single-line description of an exception."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _load_keras_or_sample() -> MnistData:
    """Keras's MNIST, or the bundled sample (with a note) if Keras cannot provide it."""
    try:
        (x_train, y_train), (x_test, y_test) = _keras_load_data()
    except Exception as error:  # offline, bad cache, Keras missing: fall back to the sample
        return load_sample(note=f"Keras could not download MNIST (offline?): {_one_line(error)}")
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    checked = _validate(arrays, KERAS_LOCATION)
    return MnistData(**checked, source="keras", location=KERAS_LOCATION)


def _keras_load_data():
    """Call keras.datasets.mnist.load_data() with a socket timeout and its output on stderr.

    The timeout is process-wide while the call runs (only set if none is set already). Keras
    prints its "Downloading data" line and progress bar to stdout; they go to stderr so the
    CLI's stdout stays clean.
    """
    previous = socket.getdefaulttimeout()
    if previous is None:
        socket.setdefaulttimeout(KERAS_DOWNLOAD_TIMEOUT)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            import keras

            return keras.datasets.mnist.load_data()
    finally:
        socket.setdefaulttimeout(previous)


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """Read and validate the four arrays of a Keras-layout .npz file."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(6)
    except OSError as error:
        raise DataError(f"{path}: cannot read the file ({_one_line(error)})") from None
    if head.startswith(b"\x93NUMPY"):
        raise DataError(
            f"{path}: a single .npy array, not an .npz archive; save the four arrays with "
            "np.savez(path, x_train=..., y_train=..., x_test=..., y_test=...)"
        )
    if not head.startswith(b"PK"):
        raise DataError(
            f"{path}: not an .npz file (not a zip archive); give a Keras-layout .npz with "
            "x_train, y_train, x_test, y_test, or a directory of MNIST IDX files"
        )
    arrays = {}
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [key for key in KEYS if key not in npz.files]
            if missing:
                raise DataError(
                    f"{path}: missing key(s) {', '.join(missing)} (found: "
                    f"{', '.join(npz.files) or 'none'}); the file needs x_train, y_train, "
                    "x_test, y_test as keras.datasets.mnist.load_data() returns them"
                )
            for key in KEYS:
                try:
                    arrays[key] = npz[key]
                except ValueError as error:
                    if "allow_pickle" in str(error) or "bject arrays" in str(error):
                        raise DataError(
                            f"{path}: '{key}' is a pickled object array, which is not loaded "
                            "for safety; save plain numeric arrays (uint8 images, integer labels)"
                        ) from None
                    raise
    except DataError:
        raise
    except Exception as error:  # zipfile, zlib, numpy format errors, truncated files
        raise DataError(
            f"{path}: cannot read as .npz ({_one_line(error)}); re-create or re-download it"
        ) from None
    return _validate(arrays, str(path))


def _read_idx_dir(directory: Path) -> dict[str, np.ndarray]:
    """Read and validate the four MNIST IDX files (plain or .gz) in a directory."""
    arrays = {}
    names = {}
    for key, name in IDX_FILES.items():
        plain, gzipped = directory / name, directory / f"{name}.gz"
        if plain.is_file():
            path = plain
        elif gzipped.is_file():
            path = gzipped
        else:
            raise DataError(
                f"{directory}: missing {name} (or {name}.gz); the directory must hold "
                f"{', '.join(IDX_FILES.values())}"
            )
        magic = IDX_IMAGES_MAGIC if key.startswith("x") else IDX_LABELS_MAGIC
        arrays[key] = _read_idx(path, magic)
        names[key] = path.name
    return _validate(arrays, str(directory), names)


def _read_idx(path: Path, magic: int) -> np.ndarray:
    """Parse one IDX file of unsigned bytes (big-endian header) into a uint8 array."""
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rb") as fh:
                data = fh.read()
        else:
            data = path.read_bytes()
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(f"{path}: cannot read the file ({_one_line(error)})") from None
    if len(data) < 4:
        raise DataError(f"{path}: truncated IDX file ({len(data)} bytes, no header)")
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        raise DataError(
            f"{path}: bad IDX magic number 0x{found:08x}, expected 0x{magic:08x}; "
            "is this the right (uncompressed or .gz) MNIST file?"
        )
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path}: truncated IDX header ({len(data)} of {header} bytes)")
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(dims, dtype=np.int64))
    payload = len(data) - header
    if payload < expected:
        raise DataError(
            f"{path}: truncated IDX file: header says {dims} needs {expected:,} bytes of data, "
            f"found {payload:,}; download the file again"
        )
    if payload > expected:
        raise DataError(
            f"{path}: IDX file has {payload - expected:,} byte(s) more than its header {dims} "
            "describes; download the file again"
        )
    return np.frombuffer(data, dtype=np.uint8, count=expected, offset=header).reshape(dims).copy()


def _validate(
    arrays: dict[str, np.ndarray], location: str, names: dict[str, str] | None = None
) -> dict[str, np.ndarray]:
    """Check shapes, dtypes, lengths and label range; return x as uint8 and y as int64.

    Messages read "<location>: <name> ...", name being the key or (for IDX) the file name.
    """
    names = names or {key: key for key in KEYS}
    where = {key: f"{location}: {names[key]}" for key in KEYS}
    checked = {}
    for split in ("train", "test"):
        x_key, y_key = f"x_{split}", f"y_{split}"
        x, y = np.asarray(arrays[x_key]), np.asarray(arrays[y_key])
        if x.ndim != 3 or x.shape[1:] != (28, 28):
            raise DataError(
                f"{where[x_key]} has shape {tuple(x.shape)}; expected (n, 28, 28) images"
            )
        if np.issubdtype(x.dtype, np.floating) and not np.isfinite(x).all():
            raise DataError(
                f"{where[x_key]} has NaN or infinite values; expected uint8 pixels 0..255 "
                "as keras.datasets.mnist.load_data() returns them"
            )
        if x.dtype != np.uint8:
            raise DataError(
                f"{where[x_key]} has dtype {x.dtype}; expected uint8 pixels 0..255 "
                "as keras.datasets.mnist.load_data() returns them"
            )
        if y.ndim != 1:
            raise DataError(f"{where[y_key]} has shape {tuple(y.shape)}; expected (n,) labels")
        if not np.issubdtype(y.dtype, np.integer):
            raise DataError(
                f"{where[y_key]} has dtype {y.dtype}; expected integer labels 0..9"
            )
        if len(x) != len(y):
            raise DataError(
                f"{where[x_key]} has {len(x):,} images but {names[y_key]} has {len(y):,} "
                "labels; they must have the same length"
            )
        if len(x) == 0:
            raise DataError(f"{where[x_key]} is empty; it needs at least one image")
        bad = y[(y < 0) | (y > 9)]
        if len(bad):
            raise DataError(
                f"{where[y_key]} has labels outside 0..9 (e.g. {int(bad[0])}); "
                "MNIST labels must be the digits 0..9"
            )
        checked[x_key] = x
        checked[y_key] = y.astype(np.int64)
    return checked
