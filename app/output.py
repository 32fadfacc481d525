"""Everything kerastune shows a user: progress lines, tables and JSON files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from kerastune.tuners.records.text import (
    format_duration,
    format_hyperparameters,
    format_score,
    format_value,
    plural,
    score_text,
)
from kerastune.tuners.records.trial import TrialStatus, id_order
from kerastune.tuners.strategies import spec

WIDE = 140  # columns for tables when output is not a terminal (logs, CI)
OTHER_DATA = " (not the data the search ran on: --allow-other-data)"


def console() -> Console:
    """A console on the current stdout (so tests can capture it), wide enough for logs."""
    out = Console(highlight=False)
    if not out.is_terminal:
        out = Console(highlight=False, width=WIDE)
    return out


def say(message: str) -> None:
    typer.echo(message)


def warn(message: str) -> None:
    typer.echo(f"kerastune: warning: {message}", err=True)


def announcement(search: Any, mode: Any) -> str:
    """The line that says what a search is about to do, how, and whether it resumes a project."""
    config, options, names = search.config, search.options, search.experiment.space_order
    if spec.named(config.tuner).budget == spec.BRACKETS:
        budget = f"up to {plural(options['max_epochs'], 'epoch')} per model, factor {options['factor']}"
    else:
        trials = plural(options["max_trials"], "trial")
        epochs = "tuned epochs" if "epochs" in names else plural(options["epochs"], "epoch")
        budget = f"{trials} of {epochs}"
    batch = "tuned batch size" if "batch_size" in names else f"batch {options['batch_size']}"
    cv = f", {options['cv']}-fold cross-validation" if options.get("cv") else ""
    prune = f", pruning by the {options['prune']} rule" if options.get("prune") not in (None, "off") else ""
    what = (
        f"{config.tuner} search of {config.hypermodel!r}: {budget}{cv}{prune}, {batch}, "
        f"objective {options['objective']}, {_how(mode)}{pinned(options)}"
    )
    if search.resumed:
        done = plural(search.trials_before, "trial")
        return f"Resuming {config.project_dir} ({done} already finished; --overwrite starts afresh): {what}"
    if search.discarding:
        return f"Discarding {search.discarding} (--overwrite), then starting afresh: {what}"
    return f"Starting {config.project_dir}: {what}"


def warm_start_text(warm: Any) -> str:
    """What --from takes from the earlier search, and what it skips, with why."""
    text = f"Seeding the search with {plural(len(warm.trials), 'finished trial')} of {warm.project}"
    if warm.skipped:
        reasons = "; ".join(f"trial {trial_id}: {reason}" for trial_id, reason in warm.skipped)
        text += f"; skipping {len(warm.skipped)} ({reasons})"
    return text + "."


def scoring(search: Any) -> str:
    """How the trials of a search are scored: on a validation split, or by cross-validation."""
    info, seed = search.experiment.data, search.options["seed"]
    if search.options["cv"]:
        return (
            f"Trials are scored by {search.options['cv']}-fold cross-validation ({_stratified(info)}seed {seed}): "
            f"each model fits on {info['fit']:,} training examples and is scored on the other "
            f"{info['validation']:,}; the test set is not used."
        )
    return (
        f"Trials fit on {info['fit']:,} examples and are scored on {info['validation']:,} held-out training "
        f"examples ({_stratified(info)}seed {seed}); the test set is not used."
    )


def _stratified(info: dict[str, Any]) -> str:
    return "stratified, " if info.get("task", "classification") == "classification" else ""


def task_line(search: Any) -> str:
    """What the search learns, and how the models take the data (stated in a run's first lines)."""
    from kerastune.data import DataSpec

    spec = DataSpec.from_dict(dict(search.experiment.data["spec"]))
    if spec.kind == "images":
        prepare = f"pixels 0-{spec.pixel_maximum} scaled to [0, 1]" if spec.pixel_maximum else "pixels as they are"
    elif spec.kind == "table":
        prepare = ("numbers standardized, a missing one filled with the mean; categories one-hot (embedded when they "
                   f"have many values), with a slot for a missing or unseen value: {spec.size} numbers per row")
    else:
        prepare = f"each of the {spec.size} columns standardized (statistics of the rows models fit on)"
    if spec.task == "classification":
        task = f"classification into {spec.num_classes} classes"
    else:
        task = f"regression of {plural(spec.num_outputs, 'target')}"
    return f"Task: {task}; inside each model: {prepare}."


def pinned(options: dict[str, Any]) -> str:
    """`; fixed batch_size=256; tuning only learning_rate`, or nothing when nothing is pinned."""
    text = ""
    if options.get("fix"):
        text += f"; fixed {format_hyperparameters(options['fix'])}"
    if options.get("only"):
        text += f"; tuning only {', '.join(options['only'])}"
    return text


def interrupted(summary: Any) -> str:
    """What a search stopped with Ctrl-C leaves: the finished trials, and how to go on."""
    if summary is None:
        return "Interrupted before the first trial started; run the same command to start again."
    best = summary.best_trials[0] if summary.best_trials else None
    best_text = f"; best {summary.objective} {format_score(best.score)} (trial {best.trial_id})" if best else ""
    return (
        f"Interrupted: {plural(summary.trials_finished, 'trial')} finished and saved ({summary.completed} completed, "
        f"{summary.failed} failed){best_text}. Run the same command to resume; "
        "a trial that was cut short runs again from its start."
    )


def _how(mode: Any) -> str:
    if mode.kind == "in-process":
        return "in this process"
    if mode.kind == "local-workers":
        from kerastune.tuners.workers import run_mode as runmode

        gpus = runmode.visible_gpus()
        if gpus:
            shared = "" if mode.workers <= len(gpus) else ", shared in turn"
            return f"{mode.workers} workers on GPUs {', '.join(gpus)}{shared}"
        return f"{mode.workers} workers of {plural(runmode.threads_per_worker(mode.workers), 'thread')} each"
    local = f" and {plural(mode.workers, 'local worker')}" if mode.workers else ""
    return f"as chief on {mode.host}:{mode.port} for remote workers{local}"


def _trials_named(trial_ids: list[str]) -> str:
    """'trial 3', 'trials 3 and 4', 'trials 2, 3 and 4', in the order of their numbers."""
    trial_ids = sorted(trial_ids, key=id_order)
    if len(trial_ids) == 1:
        return f"trial {trial_ids[0]}"
    return f"trials {', '.join(trial_ids[:-1])} and {trial_ids[-1]}"


def mlflow_text(mlflow: dict[str, Any]) -> str:
    """Where --mlflow logged the search, and what it could not log."""
    text = (f"MLflow: parent run {mlflow['run_id']} in experiment {mlflow['experiment_id']} at "
            f"{mlflow['tracking_uri']}, a nested run per trial.")
    if mlflow["tracking_uri"].startswith("sqlite:"):
        text += f" See it with: mlflow ui --backend-store-uri {mlflow['tracking_uri']}"
    if mlflow.get("errors"):
        text += f" Not logged ({len(mlflow['errors'])} errors), e.g.: {mlflow['errors'][0]}"
    return text


def print_search_summary(summary: Any) -> None:
    direction = "higher" if summary.direction == "max" else "lower"
    earlier = f", {summary.trials_before} of them from earlier runs" if summary.trials_before else ""
    pruned = f"{summary.pruned} pruned, " if summary.pruned else ""
    if summary.warm_started:
        earlier += f", {summary.warm_started} imported with --from"
    say(
        f"Search finished in {format_duration(summary.wall_time_s)}: {plural(summary.trials_finished, 'trial')} "
        f"({summary.completed} completed, {pruned}{summary.failed} failed{earlier})."
    )
    if summary.oversized:
        limit = summary.options.get("max_params")
        say(f"{plural(summary.oversized, 'configuration')} had more than --max-params {limit:,} parameters and "
            f"{'was' if summary.oversized == 1 else 'were'} refused before training.")
    if summary.time_budget_spent:
        stopped = ""
        if summary.stopped_by_budget:
            stopped = (f" It stopped {_trials_named(summary.stopped_by_budget)} at the last finished epoch: scored at "
                       "the best finished epoch, and not run again.")
        if summary.to_rerun:
            stopped += (f" It stopped {_trials_named(summary.to_rerun)} before the first epoch ended: a resume runs "
                        f"{'it' if len(summary.to_rerun) == 1 else 'them'} again.")
        say(f"The time budget ran out after {plural(summary.trials_finished, 'trial')}.{stopped} Run the same "
            "command to resume with the rest of the plan.")
    if summary.unfinished and not summary.time_budget_spent:  # (a spent budget says how to resume, above)
        ran = summary.trials_finished - summary.warm_started
        of = f"{ran} of its {summary.planned} planned trials" if summary.planned else plural(ran, "trial")
        say(f"The search ended after {of}: {_trials_named(summary.unfinished)} "
            f"{'was' if len(summary.unfinished) == 1 else 'were'} left unfinished (taken back from a worker that went "
            "silent, with no worker left to run them). Run the same command to run the rest.")
    if summary.mlflow:
        say(mlflow_text(summary.mlflow))
    if not summary.best_trials:
        say("No trial completed, so there is no best model.")
        return
    table = Table(title=f"Best trials by {summary.objective} ({direction} is better)", title_justify="left")
    for column in ("rank", "trial", summary.objective, "best epoch", "hyperparameters"):
        table.add_column(column, overflow="fold")
    for rank, trial in enumerate(summary.best_trials, start=1):
        epoch = "-" if trial.best_epoch is None else str(trial.best_epoch)
        table.add_row(str(rank), trial.trial_id, score_text(trial), epoch,
                      format_hyperparameters(trial.hyperparameters))
    console().print(table)
    scores = "test MAE, RMSE and R²" if summary.data.get("task") == "regression" else "test accuracy"
    say(f"Project: {summary.project_dir}  ({scores}: kerastune evaluate {summary.project_dir}; the final "
        f"model, retrained on all training examples: kerastune export {summary.project_dir})")


def print_evaluation(evaluation: Any) -> None:
    say(f"Test data: {evaluation.data['summary']}{OTHER_DATA if evaluation.other_data else ''}")
    if evaluation.search_running:
        say(f"A search is running on {evaluation.project_dir}: these are the best of its trials finished so far.")
    table = Table(
        title=f"Best {len(evaluation.models)} of {evaluation.trials_completed} completed trials of "
        f"{evaluation.project_dir} on the test set",
        title_justify="left",
    )
    regression = evaluation.data.get("task") == "regression"
    scores = SCORE_NAMES["regression" if regression else "classification"]
    for column in ("rank", "trial", "hyperparameters", evaluation.objective, *scores.values()):
        table.add_column(column, overflow="fold")
    for model in evaluation.models:
        figures = [f"{getattr(model, key):.4f}" for key in scores]
        table.add_row(str(model.rank), model.trial_id, format_hyperparameters(model.hyperparameters),
                      format_score(model.val_score), *figures)
    console().print(table)


# The test-set figures of each task, as the JSON names them and as tables head them
SCORE_NAMES = {
    "classification": {"test_accuracy": "test accuracy", "test_loss": "test loss"},
    "regression": {"test_mae": "test MAE", "test_rmse": "test RMSE", "test_r2": "test R²", "test_loss": "test loss"},
}


def test_scores_text(scores: dict[str, float]) -> str:
    """`test accuracy 0.9812` or `test MAE 0.41, RMSE 0.58, R² 0.74`."""
    if "test_accuracy" in scores:
        return f"Test accuracy {scores['test_accuracy']:.4f}"
    return f"Test MAE {scores['test_mae']:.4g}, RMSE {scores['test_rmse']:.4g}, R² {scores['test_r2']:.4f}"


def export_started(export: Any) -> None:
    """What `kerastune export` is about to train."""
    say(f"Data: {export.data['summary']}{OTHER_DATA if export.other_data else ''}")
    if export.search_running:
        say(f"A search is running on {export.project_dir}: exporting the best of its trials finished so far.")
    score = "" if export.val_score is None else f" ({export.objective} {format_score(export.val_score)})"
    say(f"Retraining trial {export.trial_id} of {export.project_dir}{score} on all {export.trained_on:,} training "
        f"examples for {plural(export.epochs, 'epoch')} ({export.epochs_from}), batch {export.batch_size}, "
        f"seed {export.seed}: "
        f"{format_hyperparameters(export.hyperparameters)}")


def export_epoch(epoch: int, epochs: int, logs: dict[str, float]) -> None:
    shown = ("loss", "accuracy", "mean_absolute_error")
    metrics = "  ".join(f"{name} {value:.4f}" for name, value in logs.items() if name in shown)
    say(f"epoch {epoch}/{epochs}  {metrics}")


def report_rows(report: Any, for_reading: bool) -> tuple[list[str], list[list[str]]]:
    """The report as a header and rows of text, one column per hyperparameter. `for_reading`: scores to 4 decimals
    and counts with thousands separators (a table, Markdown); else the numbers as they are (CSV, for a
    spreadsheet)."""
    names = [h.name for h in report.hyperparameters]
    spread = [f"spread ({report.cv} folds)"] if report.cv else []
    header = ["rank", "trial", "status", report.objective, *spread, "best epoch", "duration (s)", "params",
              "pareto", "inference (µs)", *names, "reason", "imported from"]

    def number(value: Any, readable: str) -> str:
        return "" if value is None else readable.format(value) if for_reading else repr(value)

    rows = []
    for rank, row in enumerate(report.trials, start=1):
        origin = row.imported_from
        rows.append([
            str(rank) if row.status.ranked else "-",
            row.trial_id,
            row.status.value,
            number(row.score, "{:.4f}"),
            *([number(row.spread, "{:.4f}")] if report.cv else []),
            "" if row.best_epoch is None else str(row.best_epoch),
            "" if row.duration_s is None else f"{row.duration_s:.1f}",
            number(row.params, "{:,}"),
            "yes" if row.pareto else "",
            "" if row.inference_us is None else f"{row.inference_us:.3g}",
            *("" if name not in row.hyperparameters else
              format_value(row.hyperparameters[name]) if for_reading else str(row.hyperparameters[name])
              for name in names),
            row.message,
            f"{origin['project']} trial {origin['trial_id']}" if origin else "",
        ])
    return header, rows


# The columns of the report's table (the others: CSV, JSON, Markdown)
TABLE_COLUMNS = ("rank", "trial", "status", "best epoch", "duration (s)", "params")


def print_report(report: Any, output_format: str) -> None:
    """All trials of a project as a table, CSV, JSON or Markdown."""
    if output_format == "json":
        say(json.dumps(report.to_dict(), indent=2, default=str))
        return
    header, rows = report_rows(report, for_reading=output_format != "csv")
    if output_format == "csv":
        import csv
        import io

        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        typer.echo(text.getvalue(), nl=False)
        return
    if output_format == "markdown":
        say("| " + " | ".join(header) + " |")
        say("|" + " --- |" * len(header))
        for row in rows:
            say("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |")
        return
    counts = {status: sum(1 for r in report.trials if r.status is status) for status in TrialStatus}
    state = "a search is running on it now" if report.running else "no search is running on it"
    say(f"{report.project_dir}: {report.tuner} search of {report.hypermodel!r}, {plural(len(report.trials), 'trial')} "
        f"({', '.join(f'{n} {s}' for s, n in counts.items() if n)}); {state}.")
    direction = "higher" if report.direction == "max" else "lower"
    table = Table(title=f"Trials by {report.objective} ({direction} is better)", title_justify="left")
    shown = [header.index(name) for name in TABLE_COLUMNS[:3]] + [3] + (
        [4] if report.cv else []) + [header.index(name) for name in TABLE_COLUMNS[3:]]
    for index in shown:
        table.add_column(header[index], overflow="fold")
    table.add_column("hyperparameters", overflow="fold")
    for row, trial in zip(rows, report.trials, strict=True):
        cells = [row[index] for index in shown]
        if trial.pareto:
            cells[-1] += " *"
        table.add_row(*cells, format_hyperparameters(trial.hyperparameters))
    console().print(table)
    for trial in report.trials:  # the reasons, in full, below the table
        if trial.message:
            say(f"trial {trial.trial_id} ({trial.status}): {trial.message}")
    imported = [trial for trial in report.trials if trial.imported_from]
    if imported:
        source = imported[0].imported_from["project"]
        say(f"Imported with --from {source}: " + ", ".join(
            f"trial {trial.trial_id} (its trial {trial.imported_from['trial_id']})" for trial in imported) + ".")
    front = sorted((row for row in report.trials if row.pareto), key=lambda row: row.params)
    if len(front) > 1:
        say("Pareto front (*: no smaller model scored as well): " + ", ".join(
            f"trial {row.trial_id} {row.params:,} params {format_score(row.score)}" for row in front) + ".")
    if report.importance:
        scored = sum(1 for row in report.trials if row.status.ranked)
        importance = Table(title=f"Which hyperparameters mattered (Optuna's fANOVA, {scored} scored trials)",
                           title_justify="left")
        for column in ("hyperparameter", f"share of the {report.objective} variance it explains", ""):
            importance.add_column(column)
        for name, share in report.importance.items():
            importance.add_row(name, f"{share:.0%}", "█" * round(share * 40))
        console().print(importance)


def print_models(entries: list[Any], broken: dict[str, str]) -> None:
    table = Table(title="Registered hypermodels", title_justify="left")
    for column in ("name", "description", "takes", "source"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        table.add_row(entry.name, entry.description, takes(entry.target), entry.source)
    console().print(table)
    for name, reason in broken.items():
        warn(f"plugin hypermodel {name!r} could not be loaded: {reason}")


def print_space(name: str, rows: list[dict[str, Any]], grid: int | None, data_taken: str) -> None:
    table = Table(title=f"Search space of {name!r}", title_justify="left")
    for column in ("name", "type", "values", "default", "condition"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(row["name"], row["type"], row["values"], format_value(row["default"]), row["condition"])
    console().print(table)
    grid_text = f"{grid:,} combinations" if grid is not None else "irregular (conditional hyperparameters)"
    say(f"Takes: {data_taken}. Grid: {grid_text}.")


def takes(hypermodel: Any) -> str:
    """What data a hypermodel (or its registered target) takes, as `models` and `space` say it."""
    unsaid = "whatever its model accepts (tried on two examples before a search trains)"
    return getattr(hypermodel, "takes", None) or unsaid


def write_json(path: Path, payload: dict[str, Any]) -> None:
    """Write a JSON file atomically."""
    from kerastune.tuners.records.project import write_atomically

    write_atomically(path, json.dumps(payload, indent=2, default=str) + "\n")


def check_writable(path: Path | None, option: str = "--json") -> None:
    """Refuse, before any work, a JSON destination that cannot be written."""
    if path is None:
        return
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise typer.BadParameter(f"{path} is a directory; give a file name", param_hint=option)
    if not parent.is_dir():
        raise typer.BadParameter(f"folder {parent} does not exist", param_hint=option)
