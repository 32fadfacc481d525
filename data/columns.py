"""How each column of a table is used (`ColumnPlan`): numbers, categories, a date, or left out with a reason.

The plan is made once, on the training rows (never the test rows), recorded in the project, and used again as it
was by resume, workers, evaluate, export and predict (`table_of`). `--ignore`, `--categorical` and `--numeric`
override the guess for the columns they name.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from kerastune.data.dataset import DataError
from kerastune.data.table import Table

NUMERIC, CATEGORICAL, DATE, LEFT_OUT = "numeric", "categorical", "date", "left out"
# A column of whole numbers with at most this many different values holds categories (codes, counts, grades)
MAX_FEW_INTEGERS = 10
# A text column with more different values than this share of its cells names its rows (names, ids)
IDENTIFIER_SHARE = 0.5
# ...once it has this many cells (a handful of rows says nothing about a column)
MIN_CELLS_TO_JUDGE = 20
# A text column whose cells have this many words on average is free text (text models are a later step)
FREE_TEXT_WORDS = 5
# A text column is numbers (or dates) when at least this share of its cells are; the others are missing markers
PARSED_SHARE = 0.95
# ...and numbers too when most of its cells are and the others are a few markers ("?", "-", "unknown")
MAX_MARKERS = 3
# The numbers a date or time column gives the model
DATE_PARTS = ("year", "month", "day", "weekday")
TIME_PARTS = ("hour",)
# A missing cell of a categorical column, as the model takes it
MISSING_TEXT = ""
# What looks like a date: 2024-03-31, 31/03/2024, 3.31.24, with an optional time
DATE_PATTERN = re.compile(r"^\s*(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})"
                          r"([ T]\d{1,2}:\d{2}.*)?\s*$")


@dataclass(frozen=True)
class ColumnPlan:
    """How one column of the file is used, and what the training rows held when that was decided."""

    name: str  # the column in the file
    kind: str  # numeric, categorical, date or left out
    reason: str = ""  # why it was left out, or why it was typed so when that is not plain ("--categorical")
    inputs: tuple[str, ...] = ()  # the model inputs it becomes: one per column, one per part of a date
    missing: int = 0  # missing cells in the training rows
    distinct: int = 0  # different values in the training rows
    markers: tuple[str, ...] = ()  # text in a column of numbers read as missing, e.g. "?"

    def to_dict(self) -> dict[str, Any]:
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ColumnPlan:
        return cls(**{key: tuple(value) if isinstance(value, list) else value for key, value in values.items()})


def plan_columns(
    frame: Any,
    target: str,
    *,
    ignore: tuple[str, ...] = (),
    categorical: tuple[str, ...] = (),
    numeric: tuple[str, ...] = (),
    where: str = "",
) -> tuple[ColumnPlan, ...]:
    """The plan of every column of `frame` (the training rows) but the target, guessed unless overridden."""
    columns = [name for name in frame.columns if name != target]
    forced: dict[str, str] = {}
    for flag, names, kind in (("--ignore", ignore, LEFT_OUT), ("--categorical", categorical, CATEGORICAL),
                              ("--numeric", numeric, NUMERIC)):
        for name in names:
            if name == target:
                raise DataError(f"{where}{flag} {name}: that is the target column; name a feature column, or choose "
                                "another target with --target")
            if name not in columns:
                raise DataError(f"{where}{flag} {name}: no such column{did_you_mean(name, columns)}")
            if name in forced:
                raise DataError(f"{where}{name} is given to two of --ignore, --categorical and --numeric; give it "
                                "to one")
            forced[name] = kind
    try:
        plan = tuple(_plan_column(frame[name], name, forced.get(name)) for name in columns)
    except DataError as error:
        raise DataError(f"{where}{error}") from None
    if not any(column.kind != LEFT_OUT for column in plan):
        left = "; ".join(f"{column.name} ({column.reason})" for column in plan)
        raise DataError(f"{where}no usable feature column is left: {left}; say how to use one with --numeric or "
                        "--categorical")
    return plan


def table_of(frame: Any, plan: tuple[ColumnPlan, ...], where: str = "") -> Table:
    """The frame's columns as the model's inputs, prepared as `plan` says (the same for training and new rows)."""
    import pandas as pd

    missing = [column.name for column in plan if column.kind != LEFT_OUT and column.name not in frame.columns]
    if missing:
        raise DataError(f"{where}no column {', '.join(map(repr, missing))}, which the model takes; give every "
                        f"feature column the model was searched with ({_used(plan)})")
    columns: dict[str, np.ndarray] = {}
    for column in plan:
        if column.kind == LEFT_OUT:
            continue
        series = frame[column.name]
        if column.kind == NUMERIC:
            columns[column.inputs[0]] = _numbers(series).to_numpy(dtype=np.float32, na_value=np.nan)
        elif column.kind == CATEGORICAL:
            columns[column.inputs[0]] = category_text(series)
        else:
            moments = _datetimes(series)
            for name in column.inputs:
                part = name.rsplit(".", 1)[1]
                values = moments.dt.day_of_week if part == "weekday" else getattr(moments.dt, part)
                columns[name] = pd.Series(values).to_numpy(dtype=np.float32, na_value=np.nan)
    return Table(columns)


def category_text(series: Any) -> np.ndarray:
    """A column's cells as the text of their category: whole numbers without a decimal point, text stripped, a
    missing cell the empty text."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
        text = series.astype("string").str.strip()
    else:
        numbers = series.astype("float64")
        whole = numbers.notna() & (numbers == numbers.round())
        text = numbers.astype("string")
        text[whole] = numbers[whole].astype("int64").astype("string")
    return text.fillna(MISSING_TEXT).to_numpy(dtype=object)


def describe_plan(plan: tuple[ColumnPlan, ...]) -> str:
    """In words, by group: `4 numeric (1 with 6 missing cells: filled + indicator), 2 categorical (3 and 2 values),
    1 date (year, month, day, weekday), left out: Name (identifier-like, 301 distinct in 392 rows)`."""
    groups = []
    numbers = [column for column in plan if column.kind == NUMERIC]
    if numbers:
        gaps = [column for column in numbers if column.missing]
        text = f"{len(numbers)} numeric"
        if gaps:
            cells = sum(column.missing for column in gaps)
            text += f" ({len(gaps)} with {cells:,} missing cell{'s' if cells != 1 else ''}: filled + indicator)"
        groups.append(text)
    categories = [column for column in plan if column.kind == CATEGORICAL]
    if categories:
        counts = [str(column.distinct) for column in categories]
        values = counts[0] if len(counts) == 1 else ", ".join(counts[:-1]) + " and " + counts[-1]
        groups.append(f"{len(categories)} categorical ({values} values)")
    dates = [column for column in plan if column.kind == DATE]
    if dates:
        groups.append(f"{len(dates)} date ({', '.join(name.rsplit('.', 1)[1] for name in dates[0].inputs)})")
    left = [column for column in plan if column.kind == LEFT_OUT]
    if left:
        groups.append("left out: " + ", ".join(f"{column.name} ({column.reason})" for column in left))
    return ", ".join(groups)


def _plan_column(series: Any, name: str, forced: str | None) -> ColumnPlan:
    import pandas as pd

    present = series.dropna()
    missing = int(len(series) - len(present))
    if forced == LEFT_OUT:
        return ColumnPlan(name, LEFT_OUT, "--ignore", missing=missing)
    if len(present) == 0:
        return ColumnPlan(name, LEFT_OUT, "empty", missing=missing)
    markers: tuple[str, ...] = ()
    if pd.api.types.is_datetime64_any_dtype(series):
        return _date_plan(name, series, missing)
    if not is_numeric(series):
        text = present.astype("string").str.strip()
        numbers = pd.to_numeric(text, errors="coerce")
        share, unparsed = numbers.notna().mean(), set(text[numbers.isna()])
        if forced == NUMERIC or (forced is None and (share >= PARSED_SHARE or
                                                     (share > 0.5 and len(unparsed) <= MAX_MARKERS))):
            markers = tuple(sorted(unparsed))
            if numbers.notna().sum() == 0:
                raise DataError(f"--numeric {name}: the column holds no numbers (e.g. {text.iloc[0]!r})")
            present, missing = numbers.dropna(), missing + int(numbers.isna().sum())
        elif forced is None and _looks_like_dates(text):
            return _date_plan(name, series, missing)
        else:
            return _text_plan(name, text, missing, forced)
    values = present.astype("float64")
    distinct = int(values.nunique())
    inputs = (_input_name(name),)
    if forced == CATEGORICAL:
        _check_categorical(name, distinct, len(series))
        return ColumnPlan(name, CATEGORICAL, "--categorical", inputs, missing, distinct, markers)
    if forced == NUMERIC:
        return ColumnPlan(name, NUMERIC, "--numeric", inputs, missing, distinct, markers)
    if distinct == 1:
        return ColumnPlan(name, LEFT_OUT, f"constant: {values.iloc[0]:g}", missing=missing)
    whole = bool((values == values.round()).all())
    if whole and distinct <= MAX_FEW_INTEGERS:
        return ColumnPlan(name, CATEGORICAL, "few whole-number values", inputs, missing, distinct, markers)
    if (whole and distinct == len(values) >= MIN_CELLS_TO_JUDGE and values.is_monotonic_increasing):
        return ColumnPlan(name, LEFT_OUT, f"identifier-like: numbers the rows, {distinct:,} distinct in "
                          f"{len(series):,} rows", missing=missing)
    return ColumnPlan(name, NUMERIC, "", inputs, missing, distinct, markers)


def _text_plan(name: str, text: Any, missing: int, forced: str | None) -> ColumnPlan:
    distinct = int(text.nunique())
    cells = len(text) + missing
    if forced == CATEGORICAL:
        _check_categorical(name, distinct, cells)
        return ColumnPlan(name, CATEGORICAL, "--categorical", (_input_name(name),), missing, distinct)
    if distinct == 1:
        return ColumnPlan(name, LEFT_OUT, f"constant: {text.iloc[0]!r}", missing=missing)
    words = float(text.str.split().str.len().mean())
    if words >= FREE_TEXT_WORDS:
        return ColumnPlan(name, LEFT_OUT, f"free text, {words:.0f} words a cell on average; text models are not "
                          "supported yet", missing=missing)
    if len(text) >= MIN_CELLS_TO_JUDGE and distinct > IDENTIFIER_SHARE * len(text):
        return ColumnPlan(name, LEFT_OUT, f"identifier-like, {distinct:,} distinct in {cells:,} rows",
                          missing=missing)
    return ColumnPlan(name, CATEGORICAL, "", (_input_name(name),), missing, distinct)


def _date_plan(name: str, series: Any, missing: int) -> ColumnPlan:
    moments = _datetimes(series).dropna()
    timed = bool(((moments.dt.hour != 0) | (moments.dt.minute != 0)).any())
    parts = DATE_PARTS + (TIME_PARTS if timed else ())
    base = _input_name(name)
    missing += int(len(series) - missing - len(moments))
    return ColumnPlan(name, DATE, "", tuple(f"{base}.{part}" for part in parts), missing,
                      int(moments.nunique()))


def _check_categorical(name: str, distinct: int, rows: int) -> None:
    if distinct > rows / 2:
        raise DataError(f"--categorical {name}: the column has {distinct:,} distinct values in {rows:,} rows, more "
                        "than half the rows, too many to learn as categories; leave it numeric or --ignore it")


def _looks_like_dates(text: Any) -> bool:
    sample = text.iloc[:1000]
    if sample.str.match(DATE_PATTERN).mean() < PARSED_SHARE:
        return False
    return _datetimes(sample).notna().mean() >= PARSED_SHARE


def _datetimes(series: Any) -> Any:
    import warnings

    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(series):
        return series
    with warnings.catch_warnings():  # "could not infer format": pandas then parses each cell on its own
        warnings.simplefilter("ignore")
        return pd.to_datetime(series.astype("string").str.strip(), errors="coerce")


def _numbers(series: Any) -> Any:
    import pandas as pd

    if pd.api.types.is_bool_dtype(series):
        return series.astype("float64")
    if pd.api.types.is_numeric_dtype(series):
        return series
    return pd.to_numeric(series.astype("string").str.strip(), errors="coerce")


def is_numeric(series: Any) -> bool:
    """Whether pandas typed a column as numbers (booleans included)."""
    import pandas as pd

    return pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)


def _input_name(column: str) -> str:
    """The model input a column becomes: its name, with '/' (which Keras refuses in names) as '_'."""
    return column.replace("/", "_")


def _used(plan: tuple[ColumnPlan, ...]) -> str:
    return ", ".join(column.name for column in plan if column.kind != LEFT_OUT)


def did_you_mean(name: str, columns: list[str]) -> str:
    """`; did you mean 'age'?` for a near column name, else ` (columns: a, b, ...)`."""
    near = difflib.get_close_matches(name, columns, n=1)
    if near:
        return f"; did you mean {near[0]!r}?"
    shown = ", ".join(columns[:12]) + (", ..." if len(columns) > 12 else "")
    return f" (columns: {shown})"
