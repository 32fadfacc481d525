"""Readers for each kind of `--data`: a Keras-layout .npz, IDX files, a CSV, a folder of images per class, and
the datasets Keras can download. Each returns the arrays as they are stored (`Raw`); `data.loading` checks them
and makes the Dataset."""

from __future__ import annotations

import contextlib
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
    dropped: int = 0  # a table's rows left out because their target is empty
    names: dict[str, str] = field(default_factory=dict)  # what to call each array in messages (IDX: file names)


def read_npz(path: Path) -> Raw:
    """x_train and y_train (and, when present, x_test and y_test) of a Keras-layout .npz, any shapes."""
    head = head_bytes(path)
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


def read_table(path: Path, target: str | None) -> Raw:
    """A table (CSV or Parquet, with a header): its `target` column (the last one by default) and the other columns
    as a DataFrame, to be typed by `data.columns`. Rows whose target cell is empty are left out and counted."""
    from kerastune.data.columns import did_you_mean, is_numeric
    from kerastune.data.table_files import PARQUET_SUFFIXES, read_frame

    frame = read_frame(path)
    header = list(frame.columns)
    if target is None:
        target = header[-1]
    if target not in header:
        raise DataError(f"{path}: no column {target!r} for --target{did_you_mean(target, header)}")
    cells = frame[target]
    if not is_numeric(cells):
        cells = cells.astype("string").str.strip().replace("", None)
    empty = cells.isna().to_numpy()
    if empty.all():
        raise DataError(f"{path}: the target column {target!r} is empty; choose another with --target")
    if empty.any():
        frame, cells = frame[~empty], cells[~empty]
    if not is_numeric(cells):
        _check_text_target(path, target, cells)
        y = cells.to_numpy(dtype=str)
    else:
        y = cells.to_numpy()
    source = "parquet" if path.suffix.lower() in PARQUET_SUFFIXES else "csv"
    return Raw(x_train=frame.drop(columns=[target]).reset_index(drop=True), y_train=y, source=source,
               location=str(path.resolve()), target=target, dropped=int(empty.sum()),
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


def head_bytes(path: Path, size: int = 6) -> bytes:
    """The first `size` bytes of a file (what it is: an archive, text, HTML...)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(size)
    except OSError as error:
        raise DataError(f"{path}: cannot read the file ({one_line(error)})") from None


def _check_text_target(path: Path, target: str, cells: Any) -> None:
    """Refuse a target of numbers with a few words among them (`n/a` aside, which pandas reads as missing)."""
    import pandas as pd

    numbers = pd.to_numeric(cells, errors="coerce")
    if numbers.notna().mean() >= 0.5:
        row = numbers.isna().to_numpy().argmax()
        raise DataError(f"{path}: the target column {target!r} holds numbers, but row {cells.index[row] + 2} has "
                        f"{cells.iloc[row]!r}; fix or drop that row")


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
