"""The Keras callbacks every trial trains with: a loss that is not finite fails the trial; the deadline of
--time-budget and a chief that took the trial back stop it at the next batch; the progress display hears of
each epoch."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import keras
import keras_tuner as kt


class FailOnNonFiniteLoss(keras.callbacks.Callback):
    """Fail the trial when its loss becomes NaN or infinite, instead of scoring a broken model."""

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        for name in ("loss", "val_loss"):
            value = (logs or {}).get(name)
            if value is not None and not math.isfinite(float(value)):
                raise kt.errors.FailedTrialError(
                    f"{name} became {float(value)} in epoch {epoch + 1} (a learning rate too high?)"
                )


class ReportEpochs(keras.callbacks.Callback):
    """Tell `on_epoch(epoch, epochs)` when each epoch of a trial ends (for a live progress display)."""

    def __init__(self, on_epoch: Callable[[int, int], None]) -> None:
        super().__init__()
        self.on_epoch = on_epoch

    def __deepcopy__(self, memo: dict) -> ReportEpochs:
        return ReportEpochs(self.on_epoch)  # keras-tuner copies callbacks; the listener is shared, not copied

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.on_epoch(epoch + 1, int(self.params.get("epochs") or 0))


class BudgetReached(Exception):
    """The search's --time-budget ran out while a trial trained. Carries the fit's History (its finished epochs)
    and the epochs it was to train."""

    def __init__(self, history: Any, planned: int | None) -> None:
        super().__init__("stopped by the time budget")
        self.history = history
        self.planned = planned


class StopAtDeadline(keras.callbacks.Callback):
    """Stop training once the search's --time-budget has run out (`deadline`: its strategies.policies.Deadline), at
    the next batch: the epoch under way is abandoned, the finished ones are kept."""

    def __init__(self, deadline: Any) -> None:
        super().__init__()
        self.deadline = deadline

    def __deepcopy__(self, memo: dict) -> StopAtDeadline:
        return StopAtDeadline(self.deadline)  # keras-tuner copies callbacks; the deadline is shared, not copied

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self._check()

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._check()

    def _check(self) -> None:
        if self.deadline.passed():
            raise BudgetReached(getattr(self.model, "history", None), self.params.get("epochs"))


def finished_epochs(history: Any) -> int:
    """The epochs a fit finished, counted from the first (a Hyperband fit may start at `initial_epoch`)."""
    epochs = getattr(history, "epoch", None) or []
    return int(epochs[-1]) + 1 if epochs else 0


class TrialTakenBack(Exception):
    """The chief gave this worker's trial to another worker (it had not heard from this one in time)."""


class StopWhenTakenBack(keras.callbacks.Callback):
    """On a worker: stop training, at the next batch, a trial the chief has given to another worker."""

    def __init__(self, watchdog: Any) -> None:
        super().__init__()
        self.watchdog = watchdog

    def __deepcopy__(self, memo: dict) -> StopWhenTakenBack:
        return StopWhenTakenBack(self.watchdog)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.watchdog.taken_back:
            raise TrialTakenBack("the chief gave this trial to another worker")


