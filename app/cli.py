"""The `kerastune` command line: thin commands that call the library and render its results.

TensorFlow, Keras and keras-tuner are imported inside the commands, never at start-up, so that
`kerastune --help` stays fast.
"""

from __future__ import annotations

import enum
import inspect
import os
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from kerastune.app import output
from kerastune.app.errors import ExitCode, KerastuneGroup
from kerastune.app.help_style import KerastuneCommand, literal
from kerastune.app.progress import SearchProgress
from kerastune.tuners.integrations import optional
from kerastune.tuners.records.text import format_duration, plural
from kerastune.tuners.strategies.spec import STRATEGIES
from kerastune.tuners.tf_noise import import_tensorflow_quietly

# TensorFlow's and gRPC's C++ log chatter is noise for a command-line user.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")

PLOT_SUFFIXES = (".png", ".svg", ".pdf")
OPTUNA_REFRESH_S = 5  # how often `dashboard --optuna` brings the Optuna storage up to date while a search runs

app = typer.Typer(
    cls=KerastuneGroup,
    name="kerastune",
    help="Tune the hyperparameters of Keras networks with keras-tuner, on MNIST or your own data (npz, CSV, "
    "image folders), then measure the best models on a test set no trial saw.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
)

class Format(enum.StrEnum):
    table = "table"
    json = "json"


class ReportFormat(enum.StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    markdown = "markdown"


HypermodelArg = Annotated[
    str,
    typer.Argument(
        metavar="HYPERMODEL",
        help="A registered hypermodel (see `kerastune models`) or a MODULE:ATTRIBUTE reference "
        "to your own HyperModel class, instance or build(hp) function.",
        show_default=False,
    ),
]
JsonOpt = Annotated[
    Path | None,
    typer.Option("--json", help="Also write the summary to this JSON file.", show_default=False),
]
AllowOtherDataOpt = Annotated[
    bool,
    typer.Option("--allow-other-data", help="Accept --data that is not the data the search ran on (a different "
                 "file, or changed since); the output then says so."),
]


FormatOpt = Annotated[Format, typer.Option("--format", help="Print a table or JSON.")]


@app.command(cls=KerastuneCommand)
def models(output_format: FormatOpt = Format.table) -> None:
    """List the registered hypermodels: name, description, and where each comes from.

    Example: kerastune models
    """
    import json

    import_tensorflow_quietly()
    import hypermodels

    entries = hypermodels.entries()
    if output_format is Format.json:
        output.say(json.dumps([{"name": e.name, "description": e.description,
                                "takes": output.takes(e.target), "source": e.source}
                               for e in entries], indent=2))
        return
    output.print_models(entries, hypermodels.broken_plugins())


@app.command(cls=KerastuneCommand)
def space(hypermodel: HypermodelArg, output_format: FormatOpt = Format.table) -> None:
    """Show a hypermodel's search space: each hyperparameter's type, values, default and condition.

    Example: kerastune space mlp
    """
    import json

    import_tensorflow_quietly()
    import hypermodels
    from kerastune.data import MNIST_SPEC
    from kerastune.tuners.run.search import hypermodel_space

    instance = hypermodels.get(hypermodel)
    if getattr(instance, "spec", None) is None:
        instance.spec = MNIST_SPEC  # without data, a space is shown as it is for MNIST
    search_space = hypermodel_space(instance, hypermodel)
    rows = hypermodels.describe_space(search_space)
    grid = hypermodels.grid_size(search_space)
    if output_format is Format.json:
        output.say(json.dumps({"hypermodel": hypermodel, "takes": output.takes(instance), "hyperparameters": rows,
                               "grid_size": grid},
                              indent=2, default=str))
        return
    output.print_space(hypermodel, rows, grid, output.takes(instance))


# The search commands, one per strategy (tuners.strategies.spec), each with the options of the option table
# (tuners.options.OPTIONS) that the strategy takes, with their help, panels and defaults.


def _search_command(strategy: Any) -> None:
    """Register the `kerastune TUNER` command of a strategy, its signature made from the options it takes."""
    from kerastune.tuners.options import options_of

    tuner = strategy.name

    def command(hypermodel: str, **values: Any) -> None:
        _search(tuner, hypermodel, values)

    parameters = [inspect.Parameter("hypermodel", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=HypermodelArg)]
    for option in options_of(tuner):
        declaration = typer.Option(*(option.flags or (option.flag,)), help=literal(option.help_text()),
                                   metavar=option.metavar,
                                   rich_help_panel=f"{option.panel} options", show_default=False)
        annotation = option.type if option.is_flag else option.type | None
        default = option.default if option.is_flag else None
        parameters.append(inspect.Parameter(option.name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                            annotation=Annotated[annotation, declaration]))
    command.__signature__ = inspect.Signature(parameters)
    command.__doc__ = literal(f"{strategy.summary}\n\nWhen to use it: {strategy.when}\n\nExample: {strategy.example}")
    app.command(name=tuner, cls=KerastuneCommand)(command)


for _strategy in STRATEGIES:
    _search_command(_strategy)


@app.command(cls=KerastuneCommand)
def evaluate(
    project_dir: Annotated[
        Path, typer.Argument(metavar="PROJECT_DIR", help="A project folder a search wrote, e.g. tuning/random-mlp.")
    ],
    top: Annotated[int, typer.Option("--top", help="How many of the best trials to evaluate.")] = 3,
    data: Annotated[
        str | None,
        typer.Option("--data", help="Another copy of the search's data to test on (it must be the same data "
                     "unless --allow-other-data). Default: the data the search recorded.", show_default=False),
    ] = None,
    allow_other_data: AllowOtherDataOpt = False,
    json_file: JsonOpt = None,
) -> None:
    """Reload the best models of a search and report their test scores: accuracy and loss, or MAE, RMSE and R².

    Reads the project only: it works while a search runs on it, on the trials finished so far.
    Example: kerastune evaluate tuning/random-mlp --top 3 --json results.json
    """
    output.check_writable(json_file)
    import_tensorflow_quietly()
    from kerastune.tuners.evaluation.evaluate import evaluate_project

    evaluation = evaluate_project(project_dir, top=top, data=data, allow_other_data=allow_other_data)
    output.print_evaluation(evaluation)
    if json_file:
        output.write_json(json_file, evaluation.to_dict())
        output.say(f"Wrote {json_file}")


ProjectArg = Annotated[
    Path, typer.Argument(metavar="PROJECT_DIR", help="A project folder a search wrote, e.g. tuning/random-mlp.")
]


@app.command(cls=KerastuneCommand)
def export(
    project_dir: ProjectArg,
    epochs: Annotated[
        int | None,
        typer.Option("--epochs", help="Epochs to retrain for. Default: the epoch at which the best trial "
                     "scored best (counted from its start).", show_default=False),
    ] = None,
    output_file: Annotated[
        Path | None,
        typer.Option("--output", help="The .keras file to write (default PROJECT_DIR/best_model.keras); its "
                     "test accuracy goes beside it, in the same name with .json.", show_default=False),
    ] = None,
    data: Annotated[
        str | None,
        typer.Option("--data", help="Another copy of the search's data to retrain and test on (it must be the "
                     "same data unless --allow-other-data). Default: the data the search recorded.",
                     show_default=False),
    ] = None,
    allow_other_data: AllowOtherDataOpt = False,
    seed: Annotated[
        int | None,
        typer.Option("--seed", help="Seed of the retraining (default: the search's): another seed shows how "
                     "much the test accuracy varies from one training to the next.", show_default=False),
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an earlier export of the same name.")] = False,
) -> None:
    """Retrain the best configuration on all the training examples, save it, and measure it on the test set.

    The search scored its trials on part of the training examples; the exported model learns from all
    of them (the validation split included). The saved model takes the data as you hold it (images as
    they come, CSV rows as numbers; its preprocessing is inside): keras.saving.load_model opens it, no
    kerastune needed. A project searched with --mlflow: the model and its test scores go to its MLflow run too.
    Example: kerastune export tuning/hyperband-mlp --output mnist.keras
    """
    from kerastune.tuners.evaluation.export import DEFAULT_NAME, check_destination, export_project, report_path

    model_file = output_file if output_file is not None else project_dir / DEFAULT_NAME
    if project_dir.is_dir():
        check_destination(model_file, overwrite)  # before TensorFlow loads
    import_tensorflow_quietly()

    started = time.monotonic()
    result = export_project(project_dir, model_file, epochs=epochs, seed=seed, data=data,
                            allow_other_data=allow_other_data, overwrite=overwrite,
                            on_start=output.export_started, on_epoch=output.export_epoch)
    output.say(f"Saved {result.model_file}: it takes {result.input}.")
    output.say(f"{output.test_scores_text(result.test_scores)} on {result.test_examples:,} test examples, measured "
               f"on the saved model reopened with keras.saving.load_model (written to {report_path(model_file)}). "
               f"Took {format_duration(time.monotonic() - started)}.")
    if result.mlflow_error is not None:
        output.warn(f"the model is saved, but it could not be logged to the search's MLflow run {result.mlflow_run}: "
                    f"{result.mlflow_error}")
        raise typer.Exit(ExitCode.NOT_LOGGED)
    if result.mlflow_run is not None:
        output.say(f"Logged the model and its test scores to the search's MLflow run {result.mlflow_run}.")


@app.command(cls=KerastuneCommand)
def report(
    project_dir: ProjectArg,
    output_format: Annotated[
        ReportFormat, typer.Option("--format", help="A table, or CSV, JSON or Markdown to save or paste.")
    ] = ReportFormat.table,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", help="Also draw the best score so far over trials and the score against each "
                     "hyperparameter into this image file (.png, .svg or .pdf).", show_default=False),
    ] = None,
    optuna_storage: Annotated[
        bool,
        typer.Option("--optuna-storage", help="Also write the trials (hyperparameters, score after each epoch, "
                     "state) into an Optuna storage in the project folder (optuna.db), for optuna-dashboard or "
                     "optuna.load_study; run it again to bring it up to date."),
    ] = False,
) -> None:
    """List every trial of a project, best first: status, score, best epoch, duration, hyperparameters.

    Works while the search runs, too. Example: kerastune report tuning/random-mlp --plot trials.png
    """
    output.check_writable(plot, "--plot")
    if plot is not None and plot.suffix.lower() not in PLOT_SUFFIXES:
        raise typer.BadParameter(f"{plot}: name a .png, .svg or .pdf file", param_hint="--plot")
    from kerastune.tuners.records.report import load_report

    trials = load_report(project_dir)
    output.print_report(trials, output_format.value)
    if plot is not None:
        from kerastune.app.plots import plot_report

        plot_report(trials, plot)
        typer.echo(f"Wrote {plot}", err=output_format is not ReportFormat.table)  # keep CSV/JSON output clean
    if optuna_storage:
        from kerastune.tuners.integrations.optuna_storage import storage_url, study_name, write_storage

        written = write_storage(project_dir)
        url = storage_url(project_dir)
        typer.echo(f"Wrote {len(written.trials)} trials to the Optuna study {study_name(project_dir)!r} in {url}; "
                   f"see them with: optuna-dashboard {url}  (or kerastune dashboard {project_dir} --optuna)",
                   err=output_format is not ReportFormat.table)


@app.command(cls=KerastuneCommand)
def dashboard(
    project_dir: ProjectArg,
    port: Annotated[
        int | None,
        typer.Option("--port", help="Port on 127.0.0.1 (default: 6006 for TensorBoard, 8080 for optuna-dashboard); "
                     "0 picks a free one.", show_default=False),
    ] = None,
    optuna: Annotated[
        bool,
        typer.Option("--optuna", help=literal("Start optuna-dashboard instead of TensorBoard: history, parallel "
                     "coordinates, importance, each trial's score per epoch; kept up to date while a search runs. "
                     "Needs: pip install 'kerastune[optuna-dashboard]'.")),
    ] = False,
) -> None:
    """Start TensorBoard on a project's logs: the HParams tab compares the trials' hyperparameters and metrics.

    Stop it with Ctrl-C. Example: kerastune dashboard tuning/random-mlp --port 6006
    """
    if optuna:
        _optuna_dashboard(project_dir, 8080 if port is None else port)
    from kerastune.tuners.integrations.tensorboard import start_dashboard

    url = start_dashboard(project_dir, 6006 if port is None else port)
    output.say(f"TensorBoard for {project_dir}: {url}#hparams (Ctrl-C to stop)")
    while True:
        time.sleep(3600)


def _optuna_dashboard(project_dir: Path, port: int) -> None:
    """optuna-dashboard on the project's Optuna storage, written again every few seconds while a search runs."""
    from kerastune.tuners.integrations.optuna_dashboard import start_optuna_dashboard
    from kerastune.tuners.integrations.optuna_storage import write_storage
    from kerastune.tuners.records.lock import search_running

    url = start_optuna_dashboard(project_dir, port)
    output.say(f"optuna-dashboard for {project_dir}: {url} (Ctrl-C to stop)")
    was_running = search_running(project_dir)
    while True:
        time.sleep(OPTUNA_REFRESH_S)
        running = search_running(project_dir)
        if running or was_running:  # once more after the search ends
            try:
                write_storage(project_dir)
            except (OSError, ValueError):  # a trial file being written as it was read: next time
                continue
        was_running = running


def _search(tuner: str, hypermodel: str, values: dict[str, Any]) -> None:
    """Run one search command: check, announce, search with a line per trial, summarize."""
    from kerastune.tuners.options import config_from_command_line
    from kerastune.tuners.workers.local import PrestartedWorkers
    from kerastune.tuners.workers.run_mode import run_mode

    output.check_writable(values["json_file"])
    if values["quiet"] and values["verbose"]:
        raise typer.BadParameter("--quiet and --verbose do not go together", param_hint="--quiet")
    config = config_from_command_line(tuner, hypermodel, values)  # option errors first, before anything slow
    if config.mlflow or config.mlflow_uri:
        optional.check(optional.MLFLOW, "--mlflow")
    role = values["role"].value if values["role"] else None
    mode = run_mode(values["workers"], values["oracle"], role, values["worker_id"], config.overwrite,
                    values["worker_timeout"])
    # local workers start now, and import TensorFlow while this process loads the data and checks the search
    with PrestartedWorkers(mode.workers if mode.kind in ("local-workers", "chief") else 0, config.project_dir) as warm:
        _run_search(config, mode, values, warm)


def _run_search(config: Any, mode: Any, values: dict[str, Any], warm: Any) -> None:
    """The search of `_search`, once its options are checked: `warm` holds its local workers, started ahead."""
    json_file, quiet, data = values["json_file"], values["quiet"], values["data"]
    if mode.kind != "in-process":  # a chief (or worker) builds models too: it must not take a whole GPU's memory
        os.environ.setdefault("TF_FORCE_GPU_ALLOW_GROWTH", "true")
    import_tensorflow_quietly()
    import hypermodels
    from kerastune.tuners.records.project import load_project, project_state, recorded_data
    from kerastune.tuners.run.search import Search
    from kerastune.tuners.workers.chief import run_chief
    from kerastune.tuners.workers.worker import run_worker

    hypermodels.get_entry(config.hypermodel)  # an unknown name fails before the data loads
    worker = mode.kind == "worker"
    resuming = not config.overwrite and project_state(config.project_dir) == "kerastune"
    recorded = recorded_data(config.project_dir, load_project(config.project_dir)) if worker or resuming else None
    dataset = _load_data(data, values, recorded, seed=config.seed or 0)
    search = Search(config, dataset, worker=worker)
    say = (lambda message: None) if quiet else output.say
    say(f"Data: {dataset.summary()}")
    if dataset.columns is not None:
        from kerastune.data import describe_plan

        say(f"Columns: {describe_plan(dataset.columns)}")
    say(output.task_line(search))
    say(output.scoring(search))
    objective = search.options["objective"].partition(":")[0]
    # with --verbose, Keras's progress bars take the place of the live status line
    progress = SearchProgress(objective, search.options["max_trials"], mode.workers, quiet=quiet,
                              live=not config.verbose)
    try:
        if worker:
            say(f"Worker {mode.worker_id} joins {config.project_dir} (oracle at {mode.host}:{mode.port}).")
            finished = run_worker(search, mode.host, mode.port, mode.worker_id, progress.trial)
            say(f"Worker {mode.worker_id} is done: it ran {plural(finished, 'trial')}; "
                "the chief prints the search's summary.")
            return
        say(output.announcement(search, mode))
        if search.warm_start is not None:
            say(output.warm_start_text(search.warm_start))
        oversized = search.oversized_defaults()
        if oversized is not None:
            say(f"The space's defaults make a model of {oversized:,} parameters, more than --max-params "
                f"{search.options['max_params']:,}: the first trial is drawn as the others are.")
        if mode.exposed:
            output.warn(f"the oracle service on {mode.host}:{mode.port} has no authentication: anyone who "
                        "can reach it can read and change this search. Use it only on a trusted network.")
        with progress:
            if mode.kind == "in-process":
                summary = search.run(on_trial=progress.trial, on_epoch=progress.epoch)
            else:
                summary = run_chief(
                    search, mode.host, mode.port, local_workers=mode.workers, worker_timeout=mode.worker_timeout,
                    on_trial=progress.trial, on_notice=output.warn,
                    on_listening=lambda host, port: say(f"Oracle service listening on {host}:{port}."), warm=warm,
                )
    except KeyboardInterrupt:
        output.say(output.interrupted(search.summary))
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    output.print_search_summary(summary)
    if json_file:
        output.write_json(json_file, summary.to_dict())
        output.say(f"Wrote {json_file}")
    if summary.mlflow and summary.mlflow.get("errors"):
        raise typer.Exit(ExitCode.NOT_LOGGED)  # the search is done and saved; MLflow has not all of it


def _load_data(source: str | None, values: dict[str, Any], recorded: dict[str, Any] | None, seed: int) -> Any:
    """The data of a search: `--data` as given (read as the recorded data was, for a resume), or the recorded
    data of the project it resumes or works for, or MNIST for a new project."""
    from kerastune import data
    from kerastune.tuners.options import ConfigError, parse_split

    target, task = values.get("target"), values.get("task")
    columns = {name: tuple(values.get(name) or ()) for name in ("ignore", "categorical", "numeric")}
    task = task.value if task is not None else None
    test_split = parse_split(values["test_split"]) if values.get("test_split") is not None else None
    if recorded is not None and test_split is not None:
        raise ConfigError("the project keeps the test rows it held out when it started: leave out --test-split to "
                          "resume it, or use --overwrite / --name to start another search")
    if source is None and recorded is not None:
        for flag, given, was in (("--target", target, recorded.get("target")), ("--task", task, recorded.get("task"))):
            if given is not None and was is not None and given != was:
                raise ConfigError(f"the project was searched with {flag} {was}: leave {flag} out to resume it, or "
                                  "use --overwrite / --name to start another search")
    if recorded is not None and any(columns.values()):
        flags = ", ".join(f"--{name}" for name, given in columns.items() if given)
        raise ConfigError(f"the project uses its columns as it recorded when it started: leave {flags} out to "
                          "resume it, or use --overwrite / --name to start another search")
    if source is None and recorded is not None:
        return data.load_recorded(recorded)
    return data.load(source, target=target, task=task, test_split=test_split, seed=seed, like=recorded, **columns)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
