"""Read a table file (CSV, TSV or any delimited text; Parquet) into a pandas DataFrame, refusing what is not one.

pandas parses and types the cells: the delimiter is sniffed from the first lines, quoted fields, a byte-order mark
and Windows line ends are handled, and common missing markers (an empty cell, NA, n/a, null...) are missing.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from kerastune.data.dataset import DataError
from kerastune.data.sources import head_bytes, one_line

TEXT_SUFFIXES = (".csv", ".tsv", ".txt", ".tab")
PARQUET_SUFFIXES = (".parquet", ".pq")
TABLE_SUFFIXES = TEXT_SUFFIXES + PARQUET_SUFFIXES
SNIFF_BYTES = 64 * 1024  # the first bytes of a text table the delimiter is sniffed from
DELIMITERS = ",;\t|"
PARQUET_INSTALL = "pip install 'kerastune[parquet]' (or pip install pyarrow)"


def is_table_file(path: Path) -> bool:
    return path.suffix.lower() in TABLE_SUFFIXES


def read_frame(path: Path) -> Any:
    """The table in `path` as a DataFrame with stripped, unique column names, or a DataError saying why not."""
    if path.suffix.lower() in PARQUET_SUFFIXES:
        frame = _read_parquet(path)
    else:
        frame = _read_text(path)
    frame.columns = [str(name).strip() for name in frame.columns]
    if len(frame) == 0:
        raise DataError(f"{path}: needs a header row and at least one row of data")
    if len(frame.columns) < 2:
        raise DataError(f"{path}: has only the column {frame.columns[0]!r}; it needs feature columns and a target "
                        "column (is the delimiter one of , ; tab |?)")
    return frame


def _read_parquet(path: Path) -> Any:
    import pandas as pd

    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise DataError(f"{path}: reading Parquet needs pyarrow, which is not installed: {PARQUET_INSTALL}") from None
    try:
        return pd.read_parquet(path)
    except Exception as error:  # pyarrow's errors for a file that is not Parquet, or a broken one
        raise DataError(f"{path}: cannot read as Parquet ({one_line(error)}); re-create or re-download it") from None


def _read_text(path: Path) -> Any:
    import pandas as pd

    head = head_bytes(path, SNIFF_BYTES)
    _refuse_non_table(path, head)
    try:
        sample = head.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 4:  # not a character cut at the end of the sample
            raise DataError(f"{path}: not UTF-8 text (byte {error.start}); save the table as UTF-8 CSV") from None
        sample = head[: error.start].decode("utf-8-sig")
    try:
        return pd.read_csv(path, sep=_delimiter(path, sample), encoding="utf-8-sig", skipinitialspace=True,
                           low_memory=False)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: is empty; it needs a header row and rows of data") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as error:
        raise DataError(f"{path}: cannot read as a table ({one_line(error)}); every row needs one cell per "
                        "column") from None
    except OSError as error:
        raise DataError(f"{path}: cannot read the file ({one_line(error)})") from None


def _refuse_non_table(path: Path, head: bytes) -> None:
    """A binary file, an HTML/XML page or JSON saved with a table's name: say what it is."""
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:64].lower()
    if b"\x00" in head or head.startswith((b"PK", b"\x1f\x8b", b"\x89PNG", b"PAR1")):
        what = "a Parquet file" if head.startswith(b"PAR1") else "a binary file"
        hint = "name it .parquet" if head.startswith(b"PAR1") else "give a CSV (text) or Parquet file"
        raise DataError(f"{path}: {what}, not a text table; {hint}")
    if start.startswith(b"<"):  # <!DOCTYPE html>, <html>, <?xml ...>
        raise DataError(f"{path}: an HTML or XML page, not a table; download the table itself (the raw CSV)")
    if start.startswith((b"{", b"[")):
        raise DataError(f"{path}: JSON, not a table; convert it to CSV (e.g. pandas.read_json(...).to_csv(...))")


def _delimiter(path: Path, sample: str) -> str:
    """The delimiter the first lines use (of , ; tab |), else tab for .tsv/.tab and comma for others."""
    lines = [line for line in sample.splitlines()[:50] if line.strip()]
    if len(sample) == SNIFF_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=DELIMITERS).delimiter
    except csv.Error:
        return "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
