"""The search strategies, one spec each: what the command line, the checks, the views and the search need to know of
a strategy. Adding a strategy is a spec here and its oracle (in strategies/oracles.py).

Only the standard library here: `kerastune --help` reads this table; the oracle is imported when a search builds it.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

# How a strategy spends its budget
TRIALS = "trials"  # --max-trials trials of --epochs epochs each
BRACKETS = "brackets"  # Hyperband's plan: brackets of trials of up to --max-epochs epochs, cut by --factor each round


@dataclass(frozen=True)
class Strategy:
    """One search strategy: the command `kerastune NAME`."""

    name: str
    summary: str  # the first line of its --help
    when: str  # when to choose it, in a sentence or two
    example: str
    budget: str  # TRIALS or BRACKETS
    oracle: str  # MODULE:CLASS of the keras-tuner oracle that chooses its trials
    oracle_options: tuple[str, ...] = ()  # the search options its oracle takes, by their names
    chooses: bool = True  # it chooses its trials (grid does not): defaults first, --enqueue, --max-params, --from
    prunes: bool = True  # --prune can stop its trials early
    learns_from_imports: bool = False  # trials imported with --from inform its next choices
    continues_training: bool = False  # a trial can go on from the weights of an earlier one (Hyperband's rounds)

    def oracle_class(self) -> type:
        module, _, name = self.oracle.partition(":")
        return getattr(importlib.import_module(module), name)

    def oracle_arguments(self, options: dict[str, Any]) -> dict[str, Any]:
        """The keyword arguments of its oracle, from the experiment's options."""
        arguments = {name: options[name] for name in self.oracle_options}
        if self.budget == TRIALS:
            arguments["max_trials"] = options["max_trials"]
        return arguments


ORACLES = "kerastune.tuners.strategies.oracles"

STRATEGIES: tuple[Strategy, ...] = (
    Strategy(
        "random", "Random search: try random configurations of the search space.",
        "A sound first search at any budget, and the one to run on many workers: its trials are independent.",
        "kerastune random mlp --max-trials 10 --epochs 5", TRIALS, f"{ORACLES}:RandomSearchOracle",
    ),
    Strategy(
        "hyperband", "Hyperband: train many configurations briefly, then the most promising ones for longer.",
        "When a good model needs many epochs: most trials train a few, and only the best train up to --max-epochs.",
        "kerastune hyperband mlp --max-epochs 20 --factor 3", BRACKETS, f"{ORACLES}:HyperbandOracle",
        oracle_options=("max_epochs", "factor"), prunes=False, continues_training=True,
    ),
    Strategy(
        "bayesian", "Bayesian optimization: a Gaussian process proposes the next configuration from the scores so far.",
        "For spaces of a few numeric hyperparameters, once some trials have been scored.",
        "kerastune bayesian mlp --max-trials 20 --epochs 5", TRIALS, f"{ORACLES}:BayesianOptimizationOracle",
        oracle_options=("num_initial_points", "alpha", "beta"), learns_from_imports=True,
    ),
    Strategy(
        "tpe", "TPE (Optuna's Tree-structured Parzen Estimator): models which values score well and which badly, and "
        "proposes the next configuration from the first.",
        "For larger and conditional spaces (such as mlp's layers), from a few dozen trials on.",
        "kerastune tpe mlp --max-trials 30 --epochs 5 --prune median", TRIALS, f"{ORACLES}:TPEOracle",
        oracle_options=("num_initial_points",), learns_from_imports=True,
    ),
    Strategy(
        "grid", "Grid search: try every combination of the search space, in order.",
        "For small spaces of a few choices, tried in full (see the grid size with `kerastune space`).",
        "kerastune grid tutorial-gridsearchcv", TRIALS, f"{ORACLES}:GridSearchOracle",
        chooses=False, prunes=False,
    ),
)
STRATEGY = {strategy.name: strategy for strategy in STRATEGIES}
NAMES = tuple(STRATEGY)


def named(name: str) -> Strategy:
    """The strategy of this name; a KeyError (with the names) for another."""
    try:
        return STRATEGY[name]
    except KeyError:
        raise KeyError(f"unknown tuner {name!r}: choose one of {', '.join(NAMES)}") from None


def listed(names: list[str]) -> str:
    """'random, bayesian and tpe'."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
