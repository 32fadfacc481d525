"""The `kerastune` command line: thin commands that call the library and render its results.

TensorFlow, Keras and keras-tuner are imported inside the commands, never at start-up, so that
`kerastune --help` stays fast.
"""

from __future__ import annotations

import enum
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from app import output
from app.errors import INTERRUPTED, KerastuneGroup
from app.progress import SearchProgress
from app.runtime import import_tensorflow_quietly

# TensorFlow's and gRPC's C++ log chatter is noise for a command-line user.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")

PLOT_SUFFIXES = (".png", ".svg", ".pdf")

app = typer.Typer(
    cls=KerastuneGroup,
    name="kerastune",
    help="Tune the hyperparameters of Keras networks on MNIST with keras-tuner, "
    "then measure the best models on the test set.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=True,
)

class Format(str, enum.Enum):
    table = "table"
    json = "json"


class ReportFormat(str, enum.Enum):
    table = "table"
    csv = "csv"
    json = "json"
    markdown = "markdown"


class Role(str, enum.Enum):
    chief = "chief"
    worker = "worker"


HypermodelArg = Annotated[
    str,
    typer.Argument(
        metavar="HYPERMODEL",
        help="A registered hypermodel (see `kerastune models`) or a MODULE:ATTRIBUTE reference "
        "to your own HyperModel class, instance or build(hp) function.",
        show_default=False,
    ),
]
DataOpt = Annotated[
    Path | None,
    typer.Option(
        "--data",
        help="MNIST as a Keras-layout .npz (x_train, y_train, x_test, y_test) or a folder of the four "
        "IDX files. Default: Keras's MNIST, or the bundled 10,000-digit sample when offline.",
        show_default=False,
    ),
]
DirOpt = Annotated[Path, typer.Option("--dir", help="Folder that holds the tuning projects.")]
NameOpt = Annotated[
    str | None,
    typer.Option("--name", help="Project folder inside --dir. Default: TUNER-HYPERMODEL.", show_default=False),
]
MaxTrialsOpt = Annotated[
    int | None,
    typer.Option("--max-trials", help="Trials to run in all (default 10; grid: the whole grid).", show_default=False),
]
EpochsOpt = Annotated[
    int | None,
    typer.Option(
        "--epochs", help="Epochs per trial (default 10, or the hypermodel's own setting).", show_default=False
    ),
]
MaxEpochsOpt = Annotated[
    int | None,
    typer.Option("--max-epochs", help="Most epochs any model trains (default 20).", show_default=False),
]
FactorOpt = Annotated[
    int | None,
    typer.Option("--factor", help="Hyperband's reduction factor between rounds (default 3).", show_default=False),
]
ExecutionsOpt = Annotated[
    int | None,
    typer.Option(
        "--executions-per-trial",
        help="Train each configuration this many times and average the scores (default 1).",
        show_default=False,
    ),
]
BatchSizeOpt = Annotated[
    int | None,
    typer.Option(
        "--batch-size", help="Training batch size (default 128, or the hypermodel's own).", show_default=False
    ),
]
ValidationOpt = Annotated[
    float | None,
    typer.Option(
        "--validation-split",
        help="Training digits held out to score trials: a count (default 10000 of 60,000; one sixth "
        "of smaller data) or a fraction such as 0.2. Stratified and seeded; the test set is never used.",
        show_default=False,
    ),
]
ObjectiveOpt = Annotated[
    str | None,
    typer.Option(
        "--objective",
        help="Metric that ranks trials (default val_accuracy); NAME:max or NAME:min for other metrics.",
        show_default=False,
    ),
]
SeedOpt = Annotated[
    int | None, typer.Option("--seed", help="Seed for the split, the tuner and Keras (default 0).", show_default=False)
]
OverwriteOpt = Annotated[
    bool,
    typer.Option(
        "--overwrite", help="Discard the existing project of this name and start afresh (default: resume it)."
    ),
]
MaxFailuresOpt = Annotated[
    int | None,
    typer.Option(
        "--max-consecutive-failures",
        help="Stop the search when this many trials in a row have failed (default: no limit; a failed "
        "trial is recorded with its reason and the search goes on, and only a search in which every "
        "trial fails ends with an error).",
        show_default=False,
    ),
]
NoTensorBoardOpt = Annotated[
    bool,
    typer.Option(
        "--no-tensorboard",
        help="Do not write TensorBoard logs (by default each trial's metrics and hyperparameters go to "
        "PROJECT/logs for TensorBoard's HParams dashboard: see `kerastune dashboard`).",
    ),
]
EarlyStoppingOpt = Annotated[
    int | None,
    typer.Option(
        "--early-stopping", metavar="PATIENCE",
        help="Stop a trial's training once the objective has not improved for PATIENCE epochs, and score "
        "the trial at its best epoch (its best weights are restored). Default: off.",
        show_default=False,
    ),
]
TimeBudgetOpt = Annotated[
    str | None,
    typer.Option(
        "--time-budget", metavar="DURATION",
        help="Start no new trial once this much time has passed (e.g. 90s, 20m, 1h30m); the running "
        "trials finish and the search ends with its summary. Default: no limit.",
        show_default=False,
    ),
]
CvOpt = Annotated[
    int | None,
    typer.Option(
        "--cv", metavar="K",
        help="Score each trial by stratified K-fold cross-validation on all the training digits: train "
        "K models, each scored on the fold it did not see; the trial's score is their mean, and the "
        "summary shows the spread. K times slower. Default: one validation split.",
        show_default=False,
    ),
]
FixOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--fix", metavar="NAME=VALUE",
        help="Pin a hyperparameter to a value instead of tuning it (repeatable), e.g. --fix batch_size=256. "
        "See `kerastune space HYPERMODEL` for the names and ranges.",
        show_default=False,
    ),
]
OnlyOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--only", metavar="NAME",
        help="Tune only this hyperparameter (repeatable); the others stay at their defaults, or at their "
        "--fix value. For tuning one hyperparameter at a time.",
        show_default=False,
    ),
]
QuietOpt = Annotated[
    bool, typer.Option("--quiet", "-q", help="Print nothing but the summary at the end (and errors).")
]
VerboseOpt = Annotated[
    bool,
    typer.Option("--verbose", "-v", help="Also show Keras's progress bars while each model trains "
                 "(instead of the live status line)."),
]
JsonOpt = Annotated[
    Path | None,
    typer.Option("--json", help="Also write the summary to this JSON file.", show_default=False),
]
WorkersOpt = Annotated[
    int | None,
    typer.Option(
        "--workers",
        help="Trials to run side by side, each in its own process with an equal share of the CPU "
        "threads (default: one per CPU core, at most 4). 1 runs the search in this process.",
        show_default=False,
    ),
]
OracleOpt = Annotated[
    str | None,
    typer.Option(
        "--oracle",
        help="HOST:PORT of the oracle service of a search shared by several machines (with --role). "
        "The service has no authentication: keep it on a trusted network.",
        show_default=False,
    ),
]
RoleOpt = Annotated[
    Role | None,
    typer.Option(
        "--role",
        help="chief: serve the search's oracle at --oracle (add --workers N for local workers); "
        "worker: run trials for the chief at --oracle, in the same project folder.",
        show_default=False,
    ),
]
WorkerIdOpt = Annotated[
    str | None,
    typer.Option(
        "--worker-id",
        help="Name of this worker (default: host name and process id). A worker restarted with "
        "the same id picks up its unfinished trial.",
        show_default=False,
    ),
]
InitialPointsOpt = Annotated[
    int | None,
    typer.Option("--num-initial-points", help="Random trials before the Gaussian process takes over "
                 "(default: 3 per hyperparameter).", show_default=False),
]
AlphaOpt = Annotated[
    float | None,
    typer.Option("--alpha", help="Noise level of the Gaussian process (default 1e-4).", show_default=False),
]
BetaOpt = Annotated[
    float | None,
    typer.Option("--beta", help="Exploration weight of the upper-confidence-bound acquisition (default 2.6).",
                 show_default=False),
]


FormatOpt = Annotated[Format, typer.Option("--format", help="Print a table or JSON.")]


@app.command()
def models(output_format: FormatOpt = Format.table) -> None:
    """List the registered hypermodels: name, description, and where each comes from.

    Example: kerastune models
    """
    import json

    import_tensorflow_quietly()
    import hypermodels

    entries = hypermodels.entries()
    if output_format is Format.json:
        output.say(json.dumps([{"name": e.name, "description": e.description, "source": e.source}
                               for e in entries], indent=2))
        return
    output.print_models(entries, hypermodels.broken_plugins())


@app.command()
def space(hypermodel: HypermodelArg, output_format: FormatOpt = Format.table) -> None:
    """Show a hypermodel's search space: each hyperparameter's type, values, default and condition.

    Example: kerastune space mlp
    """
    import json

    import_tensorflow_quietly()
    import hypermodels
    from tuners.search import hypermodel_space

    instance = hypermodels.get(hypermodel)
    search_space = hypermodel_space(instance, hypermodel)
    rows = hypermodels.describe_space(search_space)
    grid = hypermodels.grid_size(search_space)
    if output_format is Format.json:
        output.say(json.dumps({"hypermodel": hypermodel, "hyperparameters": rows, "grid_size": grid},
                              indent=2, default=str))
        return
    output.print_space(hypermodel, rows, grid, hypermodels.data_spec(instance))


@app.command()
def random(
    hypermodel: HypermodelArg,
    data: DataOpt = None,
    directory: DirOpt = Path("tuning"),
    project_name: NameOpt = None,
    max_trials: MaxTrialsOpt = None,
    epochs: EpochsOpt = None,
    executions_per_trial: ExecutionsOpt = None,
    batch_size: BatchSizeOpt = None,
    validation_split: ValidationOpt = None,
    objective: ObjectiveOpt = None,
    seed: SeedOpt = None,
    overwrite: OverwriteOpt = False,
    max_consecutive_failures: MaxFailuresOpt = None,
    early_stopping: EarlyStoppingOpt = None,
    time_budget: TimeBudgetOpt = None,
    cv: CvOpt = None,
    fix: FixOpt = None,
    only: OnlyOpt = None,
    no_tensorboard: NoTensorBoardOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    json_file: JsonOpt = None,
    workers: WorkersOpt = None,
    oracle: OracleOpt = None,
    role: RoleOpt = None,
    worker_id: WorkerIdOpt = None,
) -> None:
    """Random search: try random configurations of the search space.

    Example: kerastune random mlp --max-trials 10 --epochs 5
    """
    _search("random", **locals())


@app.command()
def hyperband(
    hypermodel: HypermodelArg,
    data: DataOpt = None,
    directory: DirOpt = Path("tuning"),
    project_name: NameOpt = None,
    max_epochs: MaxEpochsOpt = None,
    factor: FactorOpt = None,
    executions_per_trial: ExecutionsOpt = None,
    batch_size: BatchSizeOpt = None,
    validation_split: ValidationOpt = None,
    objective: ObjectiveOpt = None,
    seed: SeedOpt = None,
    overwrite: OverwriteOpt = False,
    max_consecutive_failures: MaxFailuresOpt = None,
    early_stopping: EarlyStoppingOpt = None,
    time_budget: TimeBudgetOpt = None,
    cv: CvOpt = None,
    fix: FixOpt = None,
    only: OnlyOpt = None,
    no_tensorboard: NoTensorBoardOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    json_file: JsonOpt = None,
    workers: WorkersOpt = None,
    oracle: OracleOpt = None,
    role: RoleOpt = None,
    worker_id: WorkerIdOpt = None,
) -> None:
    """Hyperband: train many configurations briefly, then the most promising ones for longer.

    Example: kerastune hyperband mlp --max-epochs 20 --factor 3
    """
    _search("hyperband", **locals())


@app.command()
def bayesian(
    hypermodel: HypermodelArg,
    data: DataOpt = None,
    directory: DirOpt = Path("tuning"),
    project_name: NameOpt = None,
    max_trials: MaxTrialsOpt = None,
    epochs: EpochsOpt = None,
    num_initial_points: InitialPointsOpt = None,
    alpha: AlphaOpt = None,
    beta: BetaOpt = None,
    executions_per_trial: ExecutionsOpt = None,
    batch_size: BatchSizeOpt = None,
    validation_split: ValidationOpt = None,
    objective: ObjectiveOpt = None,
    seed: SeedOpt = None,
    overwrite: OverwriteOpt = False,
    max_consecutive_failures: MaxFailuresOpt = None,
    early_stopping: EarlyStoppingOpt = None,
    time_budget: TimeBudgetOpt = None,
    cv: CvOpt = None,
    fix: FixOpt = None,
    only: OnlyOpt = None,
    no_tensorboard: NoTensorBoardOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    json_file: JsonOpt = None,
    workers: WorkersOpt = None,
    oracle: OracleOpt = None,
    role: RoleOpt = None,
    worker_id: WorkerIdOpt = None,
) -> None:
    """Bayesian optimization: a Gaussian process proposes the next configuration from the scores so far.

    Example: kerastune bayesian mlp --max-trials 20 --epochs 5
    """
    _search("bayesian", **locals())


@app.command()
def grid(
    hypermodel: HypermodelArg,
    data: DataOpt = None,
    directory: DirOpt = Path("tuning"),
    project_name: NameOpt = None,
    max_trials: MaxTrialsOpt = None,
    epochs: EpochsOpt = None,
    executions_per_trial: ExecutionsOpt = None,
    batch_size: BatchSizeOpt = None,
    validation_split: ValidationOpt = None,
    objective: ObjectiveOpt = None,
    seed: SeedOpt = None,
    overwrite: OverwriteOpt = False,
    max_consecutive_failures: MaxFailuresOpt = None,
    early_stopping: EarlyStoppingOpt = None,
    time_budget: TimeBudgetOpt = None,
    cv: CvOpt = None,
    fix: FixOpt = None,
    only: OnlyOpt = None,
    no_tensorboard: NoTensorBoardOpt = False,
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    json_file: JsonOpt = None,
    workers: WorkersOpt = None,
    oracle: OracleOpt = None,
    role: RoleOpt = None,
    worker_id: WorkerIdOpt = None,
) -> None:
    """Grid search: try every combination of the search space, in order.

    Example: kerastune grid tutorial-gridsearchcv
    """
    _search("grid", **locals())


@app.command()
def evaluate(
    project_dir: Annotated[
        Path, typer.Argument(metavar="PROJECT_DIR", help="A project folder a search wrote, e.g. tuning/random-mlp.")
    ],
    top: Annotated[int, typer.Option("--top", help="How many of the best trials to evaluate.")] = 3,
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Test data to use instead of the data the search recorded.", show_default=False),
    ] = None,
    json_file: JsonOpt = None,
) -> None:
    """Reload the best models of a search and report their accuracy and loss on the test set.

    Example: kerastune evaluate tuning/random-mlp --top 3 --json results.json
    """
    output.check_writable(json_file)
    import_tensorflow_quietly()
    from app.evaluator import evaluate_project
    from tuners.data import load_mnist

    evaluation = evaluate_project(project_dir, top=top, data=load_mnist(data) if data else None)
    output.print_evaluation(evaluation)
    if json_file:
        output.write_json(json_file, evaluation.to_dict())
        output.say(f"Wrote {json_file}")


ProjectArg = Annotated[
    Path, typer.Argument(metavar="PROJECT_DIR", help="A project folder a search wrote, e.g. tuning/random-mlp.")
]


@app.command()
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
        Path | None,
        typer.Option("--data", help="Data to retrain and test on instead of the data the search recorded.",
                     show_default=False),
    ] = None,
    seed: Annotated[
        int | None,
        typer.Option("--seed", help="Seed of the retraining (default: the search's): another seed shows how "
                     "much the test accuracy varies from one training to the next.", show_default=False),
    ] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace an earlier export of the same name.")] = False,
) -> None:
    """Retrain the best configuration on all the training digits, save it, and measure it on the test set.

    The search scored its trials on part of the training digits; the exported model learns from all
    of them (the validation split included). The saved model takes MNIST images as they come
    (28x28, pixels 0-255): keras.saving.load_model opens it, no kerastune needed.
    Example: kerastune export tuning/hyperband-mlp --output mnist.keras
    """
    from app.exporter import DEFAULT_NAME, check_destination, export_project, report_path

    model_file = output_file if output_file is not None else project_dir / DEFAULT_NAME
    if project_dir.is_dir():
        check_destination(model_file, overwrite)  # before TensorFlow loads
    import_tensorflow_quietly()
    from tuners.data import load_mnist

    started = time.monotonic()
    dataset = load_mnist(data) if data else None
    result = export_project(project_dir, model_file, epochs=epochs, seed=seed, data=dataset, overwrite=overwrite,
                            on_start=output.export_started, on_epoch=output.export_epoch)
    output.say(f"Saved {result.model_file}: it takes {result.input}.")
    output.say(f"Test accuracy {result.test_accuracy:.4f} on {result.test_digits:,} test digits, measured on the "
               f"saved model reopened with keras.saving.load_model (written to {report_path(model_file)}). "
               f"Took {output.format_duration(time.monotonic() - started)}.")


@app.command()
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
) -> None:
    """List every trial of a project, best first: status, score, best epoch, duration, hyperparameters.

    Works while the search runs, too. Example: kerastune report tuning/random-mlp --plot trials.png
    """
    output.check_writable(plot, "--plot")
    if plot is not None and plot.suffix.lower() not in PLOT_SUFFIXES:
        raise typer.BadParameter(f"{plot}: name a .png, .svg or .pdf file", param_hint="--plot")
    from tuners.report import load_report

    trials = load_report(project_dir)
    output.print_report(trials, output_format.value)
    if plot is not None:
        from app.plots import plot_report

        plot_report(trials, plot)
        typer.echo(f"Wrote {plot}", err=output_format is not ReportFormat.table)  # keep CSV/JSON output clean


@app.command()
def dashboard(
    project_dir: ProjectArg,
    port: Annotated[int, typer.Option("--port", help="Port on 127.0.0.1; 0 picks a free one.")] = 6006,
) -> None:
    """Start TensorBoard on a project's logs: the HParams tab compares the trials' hyperparameters and metrics.

    Stop it with Ctrl-C. Example: kerastune dashboard tuning/random-mlp --port 6006
    """
    from app.tensorboard import start_dashboard

    url = start_dashboard(project_dir, port)
    output.say(f"TensorBoard for {project_dir}: {url}#hparams (Ctrl-C to stop)")
    while True:
        time.sleep(3600)


def _search(
    tuner: str,
    data: Path | None,
    json_file: Path | None,
    workers: int | None,
    oracle: str | None,
    role: Role | None,
    worker_id: str | None,
    **options: Any,
) -> None:
    """Run one search command: check, announce, search with a line per trial, summarize."""
    from tuners.config import SearchConfig, parse_duration
    from tuners.runmode import run_mode

    output.check_writable(json_file)
    quiet = options.pop("quiet")
    if quiet and options["verbose"]:
        raise typer.BadParameter("--quiet and --verbose do not go together", param_hint="--quiet")
    tensorboard = not options.pop("no_tensorboard")
    budget = options.pop("time_budget")
    budget_s = None if budget is None else parse_duration(budget)
    options["fix"] = parse_fix_options(options["fix"])
    # option errors first, before anything slow
    config = SearchConfig(tuner=tuner, tensorboard=tensorboard, time_budget=budget_s, **options)
    mode = run_mode(workers, oracle, role.value if role else None, worker_id, config.overwrite)
    import_tensorflow_quietly()
    import hypermodels
    from tuners import parallel
    from tuners.data import load_mnist, load_recorded
    from tuners.project import load_project
    from tuners.search import Search

    hypermodels.get_entry(config.hypermodel)  # an unknown name fails before the data loads
    if mode.kind == "worker":
        manifest = load_project(config.project_dir)  # the chief writes it before it serves
        dataset = load_mnist(data) if data else load_recorded(manifest.get("data", {}))
    else:
        dataset = load_mnist(data)
    search = Search(config, dataset)
    say = (lambda message: None) if quiet else output.say
    say(f"Data: {dataset.summary()}")
    say(output.scoring(search))
    objective = search.options["objective"].partition(":")[0]
    # with --verbose, Keras's progress bars take the place of the live status line
    progress = SearchProgress(objective, search.max_trials, mode.workers, quiet=quiet, live=not config.verbose)

    def worker_command(name: str, host: str, port: int) -> list[str]:
        command = [sys.executable, "-m", "app", tuner, config.hypermodel, "--dir", str(config.directory),
                   "--name", str(config.project_name), "--role", "worker", "--oracle", f"{host}:{port}",
                   "--worker-id", name]
        command += ["--data", str(data)] if data else []
        command += [] if config.tensorboard else ["--no-tensorboard"]
        return command + (["--verbose"] if config.verbose else [])

    try:
        if mode.kind == "worker":
            say(f"Worker {mode.worker_id} joins {config.project_dir} (oracle at {mode.host}:{mode.port}).")
            finished = parallel.run_worker(search, mode.host, mode.port, mode.worker_id, progress.trial)
            say(f"Worker {mode.worker_id} is done: it ran {output.plural(finished, 'trial')}; "
                "the chief prints the search's summary.")
            return
        say(output.announcement(search, mode))
        if mode.exposed:
            output.warn(f"the oracle service on {mode.host}:{mode.port} has no authentication: anyone who "
                        "can reach it can read and change this search. Use it only on a trusted network.")
        with progress:
            if mode.kind == "in-process":
                summary = search.run(on_trial=progress.trial, on_epoch=progress.epoch)
            else:
                summary = parallel.run_chief(
                    search, mode.host, mode.port, local_workers=mode.workers, worker_command=worker_command,
                    on_trial=progress.trial, on_notice=output.warn,
                    on_listening=lambda host, port: say(f"Oracle service listening on {host}:{port}."),
                )
    except KeyboardInterrupt:
        output.say(output.interrupted(search.summary))
        raise typer.Exit(INTERRUPTED) from None
    output.print_search_summary(summary)
    if json_file:
        output.write_json(json_file, summary.to_dict())
        output.say(f"Wrote {json_file}")


def parse_fix_options(texts: list[str] | None) -> dict[str, str] | None:
    """`--fix NAME=VALUE` texts as {NAME: VALUE}; the values are checked against the search space later."""
    fixed: dict[str, str] = {}
    for text in texts or []:
        name, equals, value = text.partition("=")
        name, value = name.strip(), value.strip()
        if not equals or not name or not value:
            raise typer.BadParameter(f"{text!r}: write NAME=VALUE, e.g. --fix batch_size=256", param_hint="--fix")
        if name in fixed and fixed[name] != value:
            raise typer.BadParameter(f"{name} is fixed twice ({fixed[name]} and {value}): keep one",
                                     param_hint="--fix")
        fixed[name] = value
    return fixed or None


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
