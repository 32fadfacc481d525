"""The report's plot (matplotlib): the best score so far over trials, and the score against each
hyperparameter, on a log axis where the hyperparameter is sampled on a log scale."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

PANEL_INCHES = 3.6
COLUMNS = 3


def plot_report(report: Any, path: Path) -> None:
    """Write the report's plot to `path` (PNG, or any format matplotlib knows from the suffix)."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no window
    import matplotlib.pyplot as plt

    scored = [row for row in report.trials if row.score is not None and row.status.ranked]  # pruned: partial
    sized = [row for row in scored if row.params is not None]
    extra = [panel for panel, wanted in ((_importance, report.importance), (_pareto, sized)) if wanted]
    panels = 1 + len(extra) + len(report.hyperparameters)
    rows = math.ceil(panels / COLUMNS)
    columns = min(panels, COLUMNS)
    figure, axes = plt.subplots(rows, columns, figsize=(PANEL_INCHES * columns, PANEL_INCHES * rows), squeeze=False)
    flat = list(axes.flat)
    _best_so_far(flat[0], report)
    best = scored[0] if scored else None
    for axis, panel in zip(flat[1:], extra, strict=False):
        panel(axis, report)
    for axis, hyperparameter in zip(flat[1 + len(extra):], report.hyperparameters, strict=False):
        _score_against(axis, hyperparameter, scored, best, report.objective)
    for axis in flat[panels:]:
        axis.set_visible(False)
    figure.suptitle(f"{report.tuner} search of {report.hypermodel!r}: {report.project_dir}")
    figure.tight_layout(rect=(0, 0, 1, 0.97))  # room for the title
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _best_so_far(axis: Any, report: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    scores = {row.trial_id: row.score for row in report.trials if row.status.ranked}
    numbers = list(range(1, len(report.end_order) + 1))
    each = [scores.get(trial_id) for trial_id in report.end_order]
    axis.scatter([n for n, s in zip(numbers, each, strict=True) if s is not None], [s for s in each if s is not None],
                 s=14, color="tab:gray", alpha=0.6, label="trial")
    curve = report.best_so_far()
    axis.step(numbers, [math.nan if c is None else c for c in curve], where="post", color="tab:blue",
              label="best so far")
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.set_xlabel("finished trials")
    axis.set_ylabel(report.objective)
    axis.set_title("best so far")
    axis.legend(loc="best", fontsize="small")


def _importance(axis: Any, report: Any) -> None:
    names = list(report.importance)[::-1]  # the largest at the top
    axis.barh(names, [report.importance[name] for name in names], color="tab:blue")
    axis.set_xlabel(f"share of the {report.objective} variance")
    axis.set_title("importance (fANOVA)")


def _pareto(axis: Any, report: Any) -> None:
    rows = [row for row in report.trials if row.score is not None and row.status.ranked and row.params is not None]
    axis.scatter([row.params for row in rows], [row.score for row in rows], s=14, color="tab:gray", alpha=0.6,
                 label="trial")
    front = sorted((row for row in rows if row.pareto), key=lambda row: row.params)
    axis.step([row.params for row in front], [row.score for row in front], where="post", color="tab:red",
              marker="o", markersize=4, label="Pareto front")
    from matplotlib.ticker import NullFormatter

    axis.set_xscale("log")
    axis.xaxis.set_minor_formatter(NullFormatter())
    axis.set_xlabel("parameters (log)")
    axis.set_ylabel(report.objective)
    axis.set_title("score against model size")
    axis.legend(loc="best", fontsize="small")


def _score_against(axis: Any, hyperparameter: Any, scored: list[Any], best: Any, objective: str) -> None:
    from matplotlib.ticker import LogFormatterSciNotation, NullFormatter

    rows = [row for row in scored if hyperparameter.name in row.hyperparameters]
    values = [row.hyperparameters[hyperparameter.name] for row in rows]
    scores = [row.score for row in rows]
    if values and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
        axis.scatter(values, scores, s=14, color="tab:blue")
        if hyperparameter.log:
            axis.set_xscale("log")
            axis.xaxis.set_major_formatter(LogFormatterSciNotation(labelOnlyBase=True))
            axis.xaxis.set_minor_formatter(NullFormatter())
        positions = values
    else:  # choices: one column per value, in the order they first appear
        labels = list(dict.fromkeys(str(v) for v in values))
        positions = [labels.index(str(v)) for v in values]
        axis.scatter(positions, scores, s=14, color="tab:blue")
        axis.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    if best in rows:
        index = rows.index(best)
        axis.scatter([positions[index]], [scores[index]], s=60, facecolors="none", edgecolors="tab:red", label="best")
        axis.legend(loc="best", fontsize="small")
    axis.set_xlabel(hyperparameter.name + (" (log)" if hyperparameter.log else ""))
    axis.set_ylabel(objective)
