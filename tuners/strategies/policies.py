"""The policies a search's oracle enforces, each a small object given to the oracle when it is made
(internals.oracle_base.ControlledOracle), and to the trials (run.trial_runner) where they act too:

- `Deadline`: --time-budget; no trial starts after it, and the trials running then stop at their next batch;
- `FirstConfigurations`: --enqueue's configurations, then (in a new search) the space's defaults, tried before the
  strategy chooses;
- `ModelSizeLimit`: --max-params; a configuration whose model is bigger is refused before it trains;
- `Policies.pruner`: --prune's Optuna pruner (strategies.study.make_pruner), which the oracle's study consults
  after each epoch.

No keras-tuner here: each policy is plain Python, tested alone (tests/test_policies.py).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

Values = dict[str, Any]


class Deadline:
    """When --time-budget runs out, as a `time.time()` (None: no limit). `read`, on a worker, reads the chief's
    current deadline (a resume starts a new one) each time the worker `refresh`es it, at each trial's start."""

    def __init__(self, at: float | None = None, read: Callable[[], float | None] | None = None) -> None:
        self.at = at
        self.read = read

    @classmethod
    def after(cls, seconds: float | None) -> Deadline:
        """The deadline `seconds` from now (none for None)."""
        return cls(None if seconds is None else time.time() + seconds)

    def refresh(self) -> None:
        if self.read is not None:
            self.at = self.read()

    def passed(self) -> bool:
        return self.at is not None and time.time() >= self.at


class FirstConfigurations:
    """The configurations to try before the strategy chooses: those of --enqueue, in order, then, in a new search,
    the space's `defaults` (keras-tuner draws at random from the first trial on), so that even a short search has a
    sound baseline. One already tried is skipped."""

    def __init__(self, enqueued: Iterable[Values] = (), defaults: Values | None = None) -> None:
        self.enqueued = [dict(values) for values in enqueued]
        self.defaults = dict(defaults) if defaults is not None else None
        self._left: list[Values] | None = None

    def next(self, new_search: bool, tried: Callable[[Values], bool]) -> Values | None:
        """The next configuration not `tried` yet, or None. `new_search`: whether the search has no trial yet (asked
        once, at the first call: a resumed search does not try its defaults again)."""
        if self._left is None:
            self._left = [*self.enqueued]
            if self.defaults is not None and new_search:
                self._left.append(self.defaults)
        while self._left:
            values = self._left.pop(0)
            if not tried(values):
                return values
        return None


class ModelSizeLimit:
    """--max-params: a configuration whose model has more parameters (`count_params(values)`) is refused before it
    trains, and recorded in `oversized`; each configuration is counted once (`key`: a hash of its values, by default
    their JSON)."""

    def __init__(self, max_params: int | None = None, count_params: Callable[[Values], int] | None = None) -> None:
        self.max_params = max_params
        self.count_params = count_params
        self.oversized: list[dict[str, Any]] = []  # {"values": ..., "params": ...} of the configurations refused
        self._counted: dict[str, int] = {}

    def params(self, values: Values, key: str | None = None) -> int:
        """The parameters of the configuration's model, counted once; 0 for a model that cannot be built (the user's
        build code: its trial fails, as any failed build does)."""
        key = key if key is not None else json.dumps(values, sort_keys=True, default=str)
        if key not in self._counted:
            try:
                self._counted[key] = int(self.count_params(values))
            except Exception:
                self._counted[key] = 0
        return self._counted[key]

    def allows(self, values: Values, key: str | None = None) -> bool:
        """Whether the configuration's model is within the limit; one that is not is recorded in `oversized`. A
        configuration whose model cannot be built is allowed: its trial fails with the reason."""
        if self.max_params is None or self.count_params is None:
            return True
        params = self.params(values, key)
        if params <= self.max_params:
            return True
        self.oversized.append({"values": dict(values), "params": params})
        return False


@dataclass
class Policies:
    """Everything an oracle enforces besides its strategy."""

    deadline: Deadline = field(default_factory=Deadline)
    first: FirstConfigurations = field(default_factory=FirstConfigurations)
    size_limit: ModelSizeLimit = field(default_factory=ModelSizeLimit)
    pruner: Any = None  # an Optuna pruner (--prune), or None
