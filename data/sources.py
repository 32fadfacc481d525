"""Readers for each kind of `--data`: a Keras-layout .npz, IDX files, a CSV, a folder of images per class, and
the datasets Keras can download. Each returns the arrays as they are stored (`Raw`); `data.loading` checks them
and makes the Dataset."""

from __future__ import annotations

import contextlib
import csv
import gzip
import socket
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kerastune.data.dataset import DataError

NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
IDX_IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions
IDX_LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension
# The datasets `--data NAME` loads through keras.datasets, with what to call them
NAMED = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST", "cifar10": "CIFAR-10"}
KERAS_MODULES = {"mnist": "mnist", "fashion-mnist": "fashion_mnist", "cifar10": "cifar10"}
# Socket timeout (seconds per connect/read, not for the whole download) while Keras downloads a dataset;
# without one a network that drops packets can stall the download for minutes.
KERAS_DOWNLOAD_TIMEOUT = 15.0
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
GREY_MODES = {"L", "1", "I;16", "I;16B", "I;16L", "I", "F"}  # Pillow's modes of grey images
DEEP_MODES = {"I;16", "I;16B", "I;16L", "I"}  # those of more than 8 bits per pixel (16-bit PNGs open as I;16 or I)
# An image folder is loaded whole into memory: at most this many bytes of decoded pixels
MAX_IMAGE_BYTES = 2 * 1024**3


@dataclass
class Raw:
    """Arrays as a source stores them, before any check; x_test/y_test None when it has no test set."""

    x_train: Any
    y_train: Any
    x_test: Any = None
    y_test: Any = None
    source: str = ""
    location: str = ""
    name: str = ""
    note: str = ""
    target: str | None = None
    columns: tuple[str, ...] | None = None
    names: dict[str, str] = field(default_factory=dict)  # what to call each array in messages (IDX: file names)


def read_npz(path: Path) -> Raw:
    """x_train and y_train (and, when present, x_test and y_test) of a Keras-layout .npz, any shapes."""
    head = _head(path)
    if head.startswith(b"\x93NUMPY"):
        raise DataError(
            f"{path}: a single .npy array, not an .npz archive; save the arrays with "
            "np.savez(path, x_train=..., y_train=..., x_test=..., y_test=...)"
        )
    if not head.startswith(b"PK"):
        raise DataError(
            f"{path}: not an .npz file (not a zip archive); give a Keras-layout .npz with x_train and y_train "
            "(and x_test, y_test), a CSV file, or a folder of IDX files or of images"
        )
    arrays: dict[str, Any] = {}
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [key for key in ("x_train", "y_train") if key not in npz.files]
            if missing:
                raise DataError(
                    f"{path}: missing key(s) {', '.join(missing)} (found: {', '.join(npz.files) or 'none'}); the "
                    "file needs x_train and y_train, and x_test and y_test when it has a test set"
                )
            if ("x_test" in npz.files) != ("y_test" in npz.files):
                have, lack = ("x_test", "y_test") if "x_test" in npz.files else ("y_test", "x_test")
                raise DataError(f"{path}: has {have} but no {lack}; give both, or neither to let kerastune hold "
                                "out a test set")
            for key in NPZ_KEYS:
                if key not in npz.files:
                    continue
                try:
                    arrays[key] = npz[key]
                except ValueError as error:
                    if "allow_pickle" in str(error) or "bject arrays" in str(error):
                        raise DataError(
                            f"{path}: '{key}' is a pickled object array, which is not loaded for safety; save "
                            "plain numeric arrays (and text labels as a fixed-width string array)"
                        ) from None
                    raise
    except DataError:
        raise
    except Exception as error:  # zipfile, zlib, numpy format errors, truncated files
        raise DataError(f"{path}: cannot read as .npz ({one_line(error)}); re-create or re-download it") from None
    return Raw(**arrays, source="npz", location=str(path.resolve()))


def read_idx_dir(directory: Path) -> Raw:
    """The four IDX files (plain or .gz) of MNIST or Fashion-MNIST in a folder."""
    arrays, names = {}, {}
    for key, name in IDX_FILES.items():
        plain, gzipped = directory / name, directory / f"{name}.gz"
        if plain.is_file():
            path = plain
        elif gzipped.is_file():
            path = gzipped
        else:
            raise DataError(f"{directory}: missing {name} (or {name}.gz); the folder must hold "
                            f"{', '.join(IDX_FILES.values())}")
        arrays[key] = _read_idx(path, IDX_IMAGES_MAGIC if key.startswith("x") else IDX_LABELS_MAGIC)
        names[key] = path.name
    return Raw(**arrays, source="idx", location=str(directory.resolve()), names=names)


def is_idx_dir(directory: Path) -> bool:
    """Whether a folder holds (some of) the IDX files rather than image subfolders."""
    return any((directory / name).is_file() or (directory / f"{name}.gz").is_file() for name in IDX_FILES.values())


def read_csv(path: Path, target: str | None) -> Raw:
    """A CSV with a header row: the `target` column (the last one by default) and the numeric feature columns."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.reader(handle, delimiter="\t" if path.suffix.lower() == ".tsv" else ","))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise DataError(f"{path}: cannot read as CSV ({one_line(error)})") from None
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if len(rows) < 2:
        raise DataError(f"{path}: needs a header row and at least one row of data")
    header = [name.strip() for name in rows[0]]
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise DataError(f"{path}: row {number} has {len(row)} cells but the header has {len(header)}; "
                            "every row needs one cell per column")
    if len(header) < 2:
        raise DataError(f"{path}: has only the column {header[0]!r}; it needs feature columns and a target column")
    if target is None:
        target = header[-1]
    if target not in header:
        raise DataError(f"{path}: no column {target!r} for --target (columns: {', '.join(header)})")
    columns = list(zip(*rows[1:], strict=True))
    at = header.index(target)
    features, text = [], []
    for index, name in enumerate(header):
        if index == at:
            continue
        values = _numbers(columns[index])
        if values is None:
            text.append(name)
        else:
            features.append(values)
    if text:
        raise DataError(
            f"{path}: column(s) {', '.join(repr(name) for name in text)} hold text or empty cells, not numbers: "
            "encode them as numbers (one column per category, 0/1) or drop them"
        )
    labels = [cell.strip() for cell in columns[at]]
    numbers = _numbers(columns[at])
    _check_target_cells(path, target, labels, numbers)
    y = numbers if numbers is not None else np.array(labels)
    x = np.stack(features, axis=1).astype(np.float32)
    names = tuple(name for index, name in enumerate(header) if index != at)
    return Raw(x_train=x, y_train=y, source="csv", location=str(path.resolve()), target=target, columns=names,
               names={"x_train": "the feature columns", "y_train": f"the target column {target!r}"})


def read_image_folder(directory: Path) -> Raw:
    """Images in one subfolder per class (the layout of keras.utils.image_dataset_from_directory), loaded whole.

    PNG and JPEG; every image of the same size; grey images stay one channel, any colour makes all RGB.
    """
    from PIL import Image, UnidentifiedImageError

    classes = sorted(entry.name for entry in directory.iterdir() if entry.is_dir() and not entry.name.startswith("."))
    files: list[tuple[Path, str]] = []
    for name in classes:
        found = sorted(p for p in (directory / name).rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        files.extend((path, name) for path in found)
    with_images = sorted({name for _, name in files})
    if len(with_images) < 2:
        raise DataError(
            f"{directory}: an image folder needs one subfolder of PNG or JPEG images per class, at least two "
            f"classes; found {len(with_images)} ({', '.join(with_images) or 'no images'})"
        )
    sizes, modes = {}, set()
    for path, _ in files:
        try:
            with Image.open(path) as image:
                sizes.setdefault(image.size, path)
                modes.add(image.mode)
        except (OSError, UnidentifiedImageError) as error:
            raise DataError(f"{path}: cannot read as an image ({one_line(error)}); remove or replace it") from None
    if len(sizes) > 1:
        (size_a, path_a), (size_b, path_b) = list(sizes.items())[:2]
        raise DataError(
            f"{directory}: images differ in size ({path_a.name} is {size_a[0]}x{size_a[1]}, {path_b.name} is "
            f"{size_b[0]}x{size_b[1]}); resize them all to one size first"
        )
    grey = modes <= GREY_MODES and len(modes) > 0
    deep = bool(modes & DEEP_MODES)  # 16-bit grey (scans, X-rays): kept to 16 bits, never clipped to 8
    dtype = np.uint16 if grey and deep else np.uint8
    (width, height), channels = next(iter(sizes)), 1 if grey else 3
    needed = len(files) * width * height * channels * np.dtype(dtype).itemsize
    if needed > MAX_IMAGE_BYTES:
        raise DataError(
            f"{directory}: {len(files):,} images of {width}x{height}x{channels} need {needed / 1024**3:.1f} GiB in "
            f"memory, more than the {MAX_IMAGE_BYTES / 1024**3:.0f} GiB kerastune loads; use fewer or smaller images"
        )
    x = np.empty((len(files), height, width, channels), dtype=dtype)
    for index, (path, _) in enumerate(files):
        try:
            with Image.open(path) as image:
                pixels = _pixels(image, grey, dtype)
        except (OSError, UnidentifiedImageError, ValueError) as error:
            raise DataError(f"{path}: cannot read as an image ({one_line(error)}); remove or replace it") from None
        x[index] = pixels.reshape(height, width, channels)
    y = np.array([name for _, name in files])
    return Raw(x_train=x, y_train=y, source="images", location=str(directory.resolve()),
               names={"x_train": "the images", "y_train": "the class folders"})


def _pixels(image: Any, grey: bool, dtype: Any) -> np.ndarray:
    """An image's pixels in the folder's format: 16-bit grey (8-bit grey scaled by 257 to its range), 8-bit grey, or
    8-bit RGB. A 16-bit image in an 8-bit folder is scaled down by 256, never clipped (PIL's convert("L") clips a
    16-bit image's values at 255)."""
    if image.mode in DEEP_MODES:
        deep = np.asarray(image, dtype=np.int64).clip(0, 65535).astype(np.uint16)
        if dtype == np.uint16:
            return deep
        shallow = (deep >> 8).astype(np.uint8)
        return shallow if grey else np.repeat(shallow[..., None], 3, axis=-1)
    pixels = np.asarray(image.convert("L" if grey else "RGB"), dtype=np.uint8)
    return pixels.astype(np.uint16) * 257 if dtype == np.uint16 else pixels


def read_named(name: str) -> Raw:
    """A dataset Keras downloads (`keras.datasets`), or a DataError saying it cannot."""
    module = KERAS_MODULES[name]
    try:
        (x_train, y_train), (x_test, y_test) = _keras_load_data(module)
    except Exception as error:
        raise DataError(
            f"Keras cannot download {NAMED[name]} here ({one_line(error)}); download it where you can and give "
            f"--data FILE.npz (x_train, y_train, x_test, y_test) or a folder of its IDX files"
        ) from None
    return Raw(x_train, y_train, x_test, y_test, source="keras", location=f"keras.datasets.{module}",
               name=NAMED[name])


def _keras_load_data(module: str) -> Any:
    """Call keras.datasets.MODULE.load_data() with a socket timeout and its output on stderr.

    The timeout is process-wide while the call runs (only set if none is set already). Keras prints its
    "Downloading data" line and progress bar to stdout; they go to stderr so the CLI's stdout stays clean.
    """
    previous = socket.getdefaulttimeout()
    if previous is None:
        socket.setdefaulttimeout(KERAS_DOWNLOAD_TIMEOUT)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            import keras

            return getattr(keras.datasets, module).load_data()
    finally:
        socket.setdefaulttimeout(previous)


def one_line(error: BaseException) -> str:
    """A short single-line description of an exception."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _head(path: Path) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(6)
    except OSError as error:
        raise DataError(f"{path}: cannot read the file ({one_line(error)})") from None


def _check_target_cells(path: Path, target: str, labels: list[str], numbers: np.ndarray | None) -> None:
    """Refuse a target column with an empty cell, or one that mixes numbers with a few words such as `n/a`."""
    for row, label in enumerate(labels, start=2):
        if not label:
            raise DataError(f"{path}: row {row} has no value in the target column {target!r}; fill it or drop the row")
    if numbers is None:
        parsed = sum(_is_number(label) for label in labels)
        if parsed >= len(labels) / 2:
            row, label = next((row, label) for row, label in enumerate(labels, start=2) if not _is_number(label))
            raise DataError(f"{path}: the target column {target!r} holds numbers, but row {row} has {label!r}; "
                            "fix or drop that row")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _numbers(cells: tuple[str, ...]) -> np.ndarray | None:
    """A column's cells as float64, or None when one is not a number (text, or empty)."""
    try:
        return np.array([float(cell) for cell in cells], dtype=np.float64)
    except ValueError:
        return None


def _read_idx(path: Path, magic: int) -> np.ndarray:
    """Parse one IDX file of unsigned bytes (big-endian header) into a uint8 array."""
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rb") as handle:
                data = handle.read()
        else:
            data = path.read_bytes()
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(f"{path}: cannot read the file ({one_line(error)})") from None
    if len(data) < 4:
        raise DataError(f"{path}: truncated IDX file ({len(data)} bytes, no header)")
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        raise DataError(f"{path}: bad IDX magic number 0x{found:08x}, expected 0x{magic:08x}; is this the right "
                        "(uncompressed or .gz) IDX file?")
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path}: truncated IDX header ({len(data)} of {header} bytes)")
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(dims, dtype=np.int64))
    payload = len(data) - header
    if payload < expected:
        raise DataError(f"{path}: truncated IDX file: header says {dims} needs {expected:,} bytes of data, found "
                        f"{payload:,}; download the file again")
    if payload > expected:
        raise DataError(f"{path}: IDX file has {payload - expected:,} byte(s) more than its header {dims} "
                        "describes; download the file again")
    return np.frombuffer(data, dtype=np.uint8, count=expected, offset=header).reshape(dims).copy()
