"""A progress line after every trial, and the per-study log file."""

from __future__ import annotations

import logging
import time
from pathlib import Path

log = logging.getLogger(__name__)


def format_seconds(seconds: float) -> str:
    minutes, seconds = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{seconds:02d}s"


class Progress:
    """Optuna callback: done/pruned/failed, best val_accuracy and its margin, time used and left."""

    def __init__(self, timeout: float | None = None, target: int | None = None, started: float | None = None):
        self.started = started or time.time()  # wall clock: a recycled process goes on counting
        self.timeout = timeout
        self.target = target

    def __call__(self, study, trial) -> None:
        log.info(self.line(study, trial))

    def line(self, study, trial) -> str:
        from optuna.trial import TrialState

        counts = {state: 0 for state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)}
        for each in study.get_trials(deepcopy=False, states=tuple(counts)):
            counts[each.state] += 1
        done = counts[TrialState.COMPLETE]
        target = f"/{self.target}" if self.target else ""
        parts = [
            f"trial {trial.number} {trial.state.name.lower()}",
            f"done {done + counts[TrialState.PRUNED]}{target} (pruned {counts[TrialState.PRUNED]}, "
            f"failed {counts[TrialState.FAIL]})",
        ]
        if done:
            parts.append(self._best(study))
        elapsed = time.time() - self.started
        clock = f"{format_seconds(elapsed)} elapsed"
        if self.timeout:
            clock += f", {format_seconds(max(0.0, self.timeout - elapsed))} left"
        return " | ".join([*parts, clock])

    @staticmethod
    def _best(study) -> str:
        best = study.best_value
        baseline = study.user_attrs.get("baseline", {}).get("val_accuracy")
        margin = f" ({100 * (best - baseline):+.2f} pp vs baseline)" if baseline is not None else ""
        return f"best val_accuracy {best:.4f}{margin}"


def setup_logging(log_file: Path | None = None, verbose: bool = False, prefix: str = "") -> None:
    """Console: sweep's own lines. Log file: everything, Optuna's tracebacks included."""
    import optuna

    optuna.logging.disable_default_handler()
    optuna.logging.enable_propagation()
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    console = logging.StreamHandler()
    console.setFormatter(logging.Formatter(f"%(asctime)s {prefix}%(message)s", "%H:%M:%S"))
    if not verbose:
        console.addFilter(logging.Filter("sweep"))
    root.addHandler(console)
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        to_file = logging.FileHandler(log_file)
        to_file.setFormatter(logging.Formatter(f"%(asctime)s {prefix}%(name)s %(levelname)s %(message)s"))
        root.addHandler(to_file)
