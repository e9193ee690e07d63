"""A progress line after every trial, and the per-study log file."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

from sweep.results import format_seconds

log = logging.getLogger(__name__)


class Progress:
    """Optuna callback: done/pruned/failed, best val_accuracy and its margin, time used and left."""

    def __init__(self, timeout: float | None = None, target: int | None = None, started: float | None = None):
        self.started = started or time.time()  # wall clock: a recycled process goes on counting
        self.timeout = timeout
        self.target = target

    def __call__(self, study, trial) -> None:
        log.info(self.line(study, trial))

    def finished(self, study) -> int:
        return len(study.get_trials(deepcopy=False, states=_finished_states()))

    def line(self, study, trial) -> str:
        return " | ".join([f"trial {trial.number} {_outcome(trial)}", self.status(study)])

    def status(self, study) -> str:
        """done/pruned/failed, best against the baseline, time used and left."""
        from optuna.trial import TrialState

        counts = {state: 0 for state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)}
        interrupted, trials = 0, study.get_trials(deepcopy=False, states=tuple(counts))
        for each in trials:
            counts[each.state] += 1
            interrupted += bool(each.user_attrs.get("interrupted"))
        done = counts[TrialState.COMPLETE]
        target = f"/{self.target}" if self.target else ""
        stopped = f", interrupted {interrupted}" if interrupted else ""
        parts = [
            f"done {done + counts[TrialState.PRUNED]}{target} (pruned {counts[TrialState.PRUNED]}, "
            f"failed {counts[TrialState.FAIL] - interrupted}{stopped})",
        ]
        parts.extend(self._best(trials, study.user_attrs.get("baseline", {}).get("val_accuracy")))
        elapsed = time.time() - self.started
        clock = f"{format_seconds(elapsed)} elapsed"
        if self.timeout:
            clock += f", {format_seconds(max(0.0, self.timeout - elapsed))} left"
        return " | ".join([*parts, clock])

    @staticmethod
    def _best(trials: list, baseline: float | None) -> list[str]:
        """The best score so far (pruned trials count at their best epoch), if any trial made a model."""
        from sweep.results import best_trial, score

        trial = best_trial(trials)
        if trial is None:
            return []
        best = score(trial)
        margin = f" ({100 * (best - baseline):+.2f} pp vs baseline)" if baseline is not None else ""
        return [f"best val_accuracy {best:.4f}{margin}"]


def _outcome(trial) -> str:
    """complete, pruned, failed with its reason, or interrupted (a clean stop, retried on resume)."""
    reason = trial.user_attrs.get("fail_reason")
    state = "interrupted" if trial.user_attrs.get("interrupted") else trial.state.name.lower()
    return f"{state} ({reason})" if reason else state


def _finished_states():
    from optuna.trial import TrialState

    return (TrialState.COMPLETE, TrialState.PRUNED)


def wants_bar() -> bool:
    """A live bar where someone watches: a terminal, or a notebook's kernel. Logs sent to a file keep lines."""
    return sys.stderr.isatty() or "ipykernel" in sys.modules


class ProgressBar:
    """Optuna callback: a live tqdm bar (a widget in a notebook) of finished trials, with ``Progress``'s status."""

    def __init__(self, progress: Progress):
        from tqdm.auto import tqdm

        self.progress = progress
        self.bar = tqdm(total=progress.target, unit="trial", desc="sweep", dynamic_ncols=True)

    def __call__(self, study, trial) -> None:
        self.bar.n = self.progress.finished(study)
        self.bar.set_postfix_str(self.progress.status(study).removeprefix("done "), refresh=False)
        self.bar.refresh()

    def close(self) -> None:
        self.bar.close()


def setup_logging(log_file: Path | None = None, verbose: bool = False, prefix: str = "", console: bool = True) -> None:
    """Console (when asked): sweep's own lines. Log file: everything, Optuna's tracebacks included.

    Called again (a notebook runs one sweep after another), it replaces the handlers it added before.
    """
    import optuna

    optuna.logging.disable_default_handler()
    optuna.logging.enable_propagation()
    root = logging.getLogger()
    root.setLevel(logging.INFO)
    for handler in [handler for handler in root.handlers if getattr(handler, "sweep", False)]:
        root.removeHandler(handler)
        handler.close()
    if console:
        _add(root, logging.StreamHandler(), f"%(asctime)s {prefix}%(message)s", "%H:%M:%S")
        if not verbose:
            root.handlers[-1].addFilter(logging.Filter("sweep"))
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        _add(root, logging.FileHandler(log_file), f"%(asctime)s {prefix}%(name)s %(levelname)s %(message)s")


def _add(root: logging.Logger, handler: logging.Handler, form: str, datefmt: str | None = None) -> None:
    handler.setFormatter(logging.Formatter(form, datefmt))
    handler.sweep = True  # ours: the next setup_logging replaces it
    root.addHandler(handler)
