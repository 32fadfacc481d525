"""A table's columns as a model takes them (`Table`), and the one conversion to what Keras is given (`model_input`)."""

from __future__ import annotations

from typing import Any

import numpy as np


class Table:
    """The columns of a table as the model's inputs, by input name: numbers as (n,) float32 (NaN for a missing
    cell), categories as (n,) text (the empty text for a missing cell). Rows are taken as from an array:
    `table[rows]`, `table[:2]`, `len(table)`."""

    ndim = 2

    def __init__(self, columns: dict[str, np.ndarray]) -> None:
        lengths = {len(values) for values in columns.values()}
        if len(lengths) > 1:
            raise ValueError(f"the columns of a table must have one length, got {sorted(lengths)}")
        self.columns = dict(columns)
        self._rows = lengths.pop() if lengths else 0

    def __len__(self) -> int:
        return self._rows

    def __getitem__(self, rows: Any) -> Table:
        return Table({name: values[rows] for name, values in self.columns.items()})

    @property
    def shape(self) -> tuple[int, int]:
        return (self._rows, len(self.columns))

    def __repr__(self) -> str:
        return f"Table({self._rows} rows: {', '.join(self.columns)})"


def model_input(x: Any) -> Any:
    """What Keras is given for examples `x`: a table's columns as a dict of arrays by input name, else `x`."""
    return x.columns if isinstance(x, Table) else x
