"""Records in words: the one-line texts of trials and figures that the command line and the Python API show
(`kerastune.app.output` prints them; `kerastune.search` prints a trial's line in a notebook)."""

from __future__ import annotations

from typing import Any

from kerastune.tuners.records.trial import TrialStatus, budget_stop_text, pruned_text


def format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def format_hyperparameters(values: dict[str, Any]) -> str:
    return " ".join(f"{name}={format_value(value)}" for name, value in values.items())


def format_score(score: float | None) -> str:
    return "-" if score is None else f"{score:.4f}"


def score_text(trial: Any) -> str:
    """A trial's score, with the spread over its folds under --cv: `0.9712 ± 0.0021`."""
    if trial.spread is None:
        return format_score(trial.score)
    return f"{format_score(trial.score)} ± {trial.spread:.4f}"


def format_duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def trial_line(event: Any, objective: str) -> str:
    """One line per finished trial: number, score, best so far, time, hyperparameters."""
    of = f"/{event.planned}" if event.planned else ""  # "[3/10]": the third finished trial of ten
    trial = event.trial
    if trial.status.ranked:
        outcome = f"{objective} {score_text(trial)}"
        if trial.status is TrialStatus.STOPPED:
            outcome += f" ({budget_stop_text(trial.budget_stop)})"
    elif trial.status is TrialStatus.PRUNED:
        outcome = f"{pruned_text(trial.pruned)}: {objective} {score_text(trial)} so far"
    else:
        outcome = f"{trial.status}: {trial.message or 'no reason recorded'}"
    best = f"best {format_score(event.best.score)} (trial {event.best.trial_id})" if event.best else "best -"
    where = f" on {event.worker}" if event.worker else ""
    return (
        f"[{event.number}{of}] trial {trial.trial_id}{where}  {outcome}  {best}  "
        f"took {format_duration(event.duration_s)}  elapsed {format_duration(event.elapsed_s)}  "
        f"{format_hyperparameters(trial.hyperparameters)}"
    )
