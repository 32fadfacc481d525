"""What every kerastune hypermodel shares: the data it expects and the fit settings it tunes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras_tuner as kt

NUM_CLASSES = 10
FLAT_INPUT = (784,)


@dataclass(frozen=True)
class DataSpec:
    """How a hypermodel wants its data: input shape per digit and label encoding."""

    input_shape: tuple[int, ...] = FLAT_INPUT
    one_hot_labels: bool = False


def data_spec(hypermodel: Any) -> DataSpec:
    """Read a hypermodel's `input_shape` and `one_hot_labels` (flat 784 pixels, integer labels by default)."""
    return DataSpec(
        input_shape=tuple(getattr(hypermodel, "input_shape", FLAT_INPUT)),
        one_hot_labels=bool(getattr(hypermodel, "one_hot_labels", False)),
    )


def fit_defaults(hypermodel: Any) -> dict[str, int]:
    """Fixed fit settings a hypermodel asks for (e.g. the tutorial's 5 epochs), used unless overridden."""
    return dict(getattr(hypermodel, "fit_defaults", {}) or {})


class MnistHyperModel(kt.HyperModel):
    """Base of the built-in search spaces: MNIST digits in, 10 classes out.

    Subclasses implement `build(hp)`; those that tune fit arguments (batch size,
    epochs) return them from `fit_hyperparameters(hp)`.
    """

    description = ""
    input_shape: tuple[int, ...] = FLAT_INPUT
    one_hot_labels = False
    fit_defaults: dict[str, int] = {}

    def __init__(self) -> None:
        super().__init__(name=type(self).__name__)

    def fit_hyperparameters(self, hp: kt.HyperParameters) -> dict[str, Any]:
        """Fit arguments this space tunes; none by default."""
        return {}

    def declare_hyperparameters(self, hp: kt.HyperParameters) -> None:
        # Declared before build so the whole space (fit-time entries too) is known up front.
        self.fit_hyperparameters(hp)

    def fit(self, hp: kt.HyperParameters, model: Any, *args: Any, **kwargs: Any) -> Any:
        tuned = self.fit_hyperparameters(hp)
        if "tuner/epochs" in hp.values:
            tuned.pop("epochs", None)  # Hyperband owns the epoch budget
        if "callbacks" in tuned:  # the space's own callbacks join the caller's
            tuned["callbacks"] = [*(kwargs.get("callbacks") or []), *tuned["callbacks"]]
        kwargs.update(tuned)
        return model.fit(*args, **kwargs)


class FunctionHyperModel(kt.HyperModel):
    """A HyperModel around a plain `build(hp)` function, keeping the function's data attributes."""

    def __init__(self, build: Callable[[kt.HyperParameters], Any]) -> None:
        super().__init__(name=getattr(build, "__name__", "build"))
        self.function = build
        for attribute in ("input_shape", "one_hot_labels", "fit_defaults", "description"):
            if hasattr(build, attribute):
                setattr(self, attribute, getattr(build, attribute))

    def build(self, hp: kt.HyperParameters) -> Any:
        return self.function(hp)
