"""The Optuna driver: study creation, the objective, and the trial loop of one worker."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from typing import Any

from sweep import signals
from sweep.space import SearchSpace, load_space
from sweep.space_checks import check_data_fits
from sweep.storage import HEARTBEAT_SECONDS, has_heartbeats, open_storage

log = logging.getLogger(__name__)

FINISHED = ("COMPLETE", "PRUNED")
INTERRUPTED = "interrupted by a signal; retried on resume"
NOT_RUN = "not run: the study reached its trial count while it was asked"
MAX_CONSECUTIVE_FAILURES = 5


class SweepStopped(RuntimeError):
    """The sweep gave up early (too many failures in a row); the message says why."""


class TargetReached(RuntimeError):
    """A trial asked after the study's trial count was taken by other workers; stored as FAIL, never run."""


class Recycle(Exception):  # noqa: N818  (a request, not an error)
    """This process ran its share of trials; a fresh one should continue the study.

    Keras and TensorFlow keep a few MB per built model even after ``clear_session()``
    (measured: about 4 MB per trial), so a long sweep hands over to a fresh process every
    ``recycle_after`` trials and resident memory stays bounded.
    """


@dataclasses.dataclass
class SweepSettings:
    """Everything ``sweep run`` can set. Defaults give the plain call."""

    space: str = "notes"
    storage: str | None = None
    study: str | None = None  # default: the space's name
    trials: int | None = 20  # total finished (complete + pruned) trials the study should hold
    timeout: float | None = None  # seconds for this invocation
    sampler: str = "tpe"
    pruner: str = "median"
    seed: int = 42
    max_train: int | None = None
    data_dir: str | None = None
    max_failures: int = MAX_CONSECUTIVE_FAILURES
    worker: int = 0  # index among this machine's workers: varies the sampler seed
    recycle_after: int | None = 50  # trials per process before a fresh one takes over (0/None: never)
    fuse: int = 1  # trials trained together as one Keras program (1: one at a time)
    started: float | None = None  # wall-clock start of the whole run, kept across recycled processes

    def deadline(self) -> float | None:
        """Wall-clock time after which no trial starts."""
        return (self.started or time.time()) + self.timeout if self.timeout else None

    def study_name(self, space: SearchSpace) -> str:
        return self.study or space.name


class OptunaSuggester:
    """The Suggester protocol on an Optuna trial."""

    def __init__(self, trial):
        self.trial = trial

    def int(self, name, low, high, step, log):
        return self.trial.suggest_int(name, low, high, step=step, log=log)

    def float(self, name, low, high, step, log):
        return self.trial.suggest_float(name, low, high, step=step, log=log)

    def categorical(self, name, choices):
        return self.trial.suggest_categorical(name, choices)


def make_sampler(name: str, seed: int, parallel: bool = False):
    """``parallel``: trials are asked while others run (fused groups), so TPE lies about the
    running ones (``constant_liar``) and does not propose the same point K times."""
    import optuna

    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, constant_liar=parallel)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise ValueError(f"sampler {name!r} is unknown; expected tpe or random")


def make_pruner(name: str, max_epochs: int):
    import optuna

    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max_epochs, reduction_factor=3)
    if name == "none":
        return optuna.pruners.NopPruner()
    raise ValueError(f"pruner {name!r} is unknown; expected median, hyperband or none")


def open_study(settings: SweepSettings, space: SearchSpace | None = None):
    """Create the study, or load it when it exists: re-running continues it."""
    import optuna

    space = space or load_space(settings.space)
    storage = open_storage(settings.storage)
    name = settings.study_name(space)
    existing = _count_trials(storage, name)
    # A resumed study gets a fresh seed, so the sampler does not replay its first draws.
    seed = settings.seed + 1000 * settings.worker + existing
    study = optuna.create_study(
        storage=storage,
        study_name=name,
        direction="maximize",
        load_if_exists=True,
        sampler=make_sampler(settings.sampler, seed, parallel=settings.fuse > 1),
        pruner=make_pruner(settings.pruner, _max_epochs(space)),
    )
    study.set_user_attr("space", space.name)
    return study


def _count_trials(storage, name: str) -> int:
    import optuna

    try:
        return len(optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False))
    except KeyError:
        return 0


def _max_epochs(space: SearchSpace) -> int:
    epochs = space.params.get("epochs")
    if epochs is None:
        return 5
    return int(epochs.value if epochs.fixed else max(epochs.values() or [epochs.high]))


def record_baseline(study, split, data_dir: str | None = None) -> dict[str, float]:
    """The baseline for this split, stored once in the study for tables to read."""
    from sweep.baseline import compute_baseline
    from sweep.data import data_identity

    if "data" not in study.user_attrs:  # which data the study ran on: name, fingerprint, file, shape
        study.set_user_attr("data", data_identity(data_dir))
    stored = study.user_attrs.get("baseline")
    if stored and stored.get("split") == split.fingerprint:
        return stored
    figures = {**compute_baseline(split, data_dir), "split": split.fingerprint}
    study.set_user_attr("baseline", figures)
    return figures


def requeue_interrupted(study) -> list[int]:
    """Queue again, with the same params, trials a clean stop interrupted and nobody retried yet."""
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    retried = {t.user_attrs.get("retry_of") for t in trials}
    requeued = []
    for trial in trials:
        if trial.state == TrialState.FAIL and trial.user_attrs.get("interrupted") and trial.number not in retried:
            study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number}, skip_if_exists=False)
            requeued.append(trial.number)
    return requeued


class Objective:
    """One trial: sample a config from the space, train it, report every epoch."""

    def __init__(self, space: SearchSpace, split, seed: int = 42, beyond=lambda number: False):
        self.space = space
        self.split = split
        self.seed = seed
        self.beyond = beyond  # see beyond_target

    def __call__(self, trial) -> float:
        import optuna

        from sweep.train import TrainingDiverged, train

        if self.beyond(trial.number):  # another worker took the last place first: this one never trains
            trial.set_user_attr("fail_reason", NOT_RUN)
            raise TargetReached(NOT_RUN)
        config = self.space.sample(OptunaSuggester(trial))
        seed = self.seed + trial.number  # kept, so `sweep best` + `sweep train` retrain this very model
        trial.set_user_attr("config", config)
        trial.set_user_attr("seed", seed)
        started = time.perf_counter()

        def on_epoch(epoch: int, val_accuracy: float) -> None:
            trial.report(val_accuracy, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned(f"val_accuracy {val_accuracy:.4f} after epoch {epoch}")

        try:
            result = train(config, self.split, on_epoch, seed=seed)
        except KeyboardInterrupt:
            trial.set_user_attr("interrupted", True)
            trial.set_user_attr("fail_reason", INTERRUPTED)
            raise
        except optuna.TrialPruned:
            raise
        except TrainingDiverged as error:
            trial.set_user_attr("fail_reason", f"diverged: {error}")
            raise
        except Exception as error:  # cannot build, out of memory, ...: record why, go on
            trial.set_user_attr("fail_reason", f"{type(error).__name__}: {str(error).splitlines()[0][:200]}")
            raise
        finally:  # time spent building and fitting (overhead benchmark) and memory after it (memory benchmark)
            trial.set_user_attr("train_seconds", round(time.perf_counter() - started, 3))
            trial.set_user_attr("rss_mb", resident_mb())
        return result.val_accuracy


def resident_mb() -> float | None:
    """This process's resident memory, where /proc tells it (Linux)."""
    import os

    try:
        with open("/proc/self/statm") as statm:
            return round(int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)
    except OSError:
        return None


class FailureGuard:
    """Stops the study after ``limit`` failed trials in a row: something is wrong, not unlucky."""

    def __init__(self, limit: int):
        self.limit = limit
        self.in_a_row = 0
        self.last_reason = ""

    def __call__(self, study, trial) -> None:
        from optuna.trial import TrialState

        if trial.user_attrs.get("interrupted") or trial.user_attrs.get("fail_reason") == NOT_RUN:
            return  # a clean stop (retried later) or a trial that never ran: no fault of the space
        if trial.state != TrialState.FAIL:
            self.in_a_row = 0
            return
        self.in_a_row += 1
        self.last_reason = trial.user_attrs.get("fail_reason", "unknown")
        if self.in_a_row >= self.limit:
            with contextlib.suppress(RuntimeError):  # outside optimize (fused groups) the loop reads `tripped`
                study.stop()

    @property
    def tripped(self) -> bool:
        return self.in_a_row >= self.limit


def next_step(study, target: int | None, heartbeats: bool = True) -> str:
    """'trial' to start one, 'wait' for running trials (other workers', or a dead one's until its
    heartbeat goes stale and it is retried), or 'done'. Without heartbeats (journal storages)
    a dead worker's trial would never finish, so nobody waits for running trials."""
    import optuna
    from optuna.trial import TrialState

    optuna.storages.fail_stale_trials(study)  # a dead worker's trial: FAIL, then queued again
    if target is None or open_slots(study, target):
        return "trial"
    running = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    return "wait" if running and heartbeats else "done"


def open_slots(study, target: int | None, most: int = 1_000_000) -> int:
    """How many trials may start now: queued ones (retries) first, then up to the target count."""
    from optuna.trial import TrialState

    if target is None:
        return most
    counts = {state: 0 for state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING, TrialState.WAITING)}
    for trial in study.get_trials(deepcopy=False, states=tuple(counts)):
        counts[trial.state] += 1
    started = counts[TrialState.COMPLETE] + counts[TrialState.PRUNED] + counts[TrialState.RUNNING]
    return min(most, max(target - started, counts[TrialState.WAITING]))


def _fused_group(study, space: SearchSpace, split, settings: SweepSettings, callbacks: list, trials_here: int) -> int:
    """One fused group: it takes new trials while the target, the deadline, the failure guard
    and the recycling count allow, and ends when its last trial has ended."""
    from sweep.ask_tell import run_group

    guard, deadline, asked = callbacks[0], settings.deadline(), [trials_here]

    def slots(wanted: int) -> int:
        if guard.tripped or (deadline is not None and time.time() >= deadline):
            return 0
        granted = open_slots(study, settings.trials, most=wanted)
        if settings.recycle_after:
            granted = min(granted, settings.recycle_after - asked[0])
        granted = max(granted, 0)
        asked[0] += granted
        return granted

    def beyond(number: int) -> bool:
        return beyond_target(study, settings.trials, number)

    return run_group(study, space, split, settings, slots, callbacks, beyond)


def beyond_target(study, target: int | None, number: int) -> bool:
    """Whether trial ``number`` was asked after the target was taken. Workers that counted open slots at
    the same moment agree on who came first by trial number, which the storage hands out one by one."""
    from optuna.trial import TrialState

    if target is None:
        return False
    started = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING))
    return sum(trial.number < number for trial in started) >= target


def run_sweep(settings: SweepSettings, callbacks: list[Any] = ()) -> Any:
    """Run trials until the target count or the timeout; return the study.

    Raises SweepStopped after too many failures in a row, Recycle after ``recycle_after``
    trials in this process while work remains, and lets KeyboardInterrupt through after
    the interrupted trial has been stored as FAIL.
    """
    from sweep.data import load_split

    space = load_space(settings.space)
    study = open_study(settings, space)
    split = load_split(settings.data_dir, settings.max_train)
    check_data_fits(space.path, space.params, split.input_shape)
    baseline = record_baseline(study, split, settings.data_dir)
    log.info("study %r: %s; baseline val_accuracy %.4f", study.study_name, split.describe(), baseline["val_accuracy"])
    requeued = requeue_interrupted(study)
    if requeued:
        log.info("retrying interrupted trials %s with the same params", requeued)
    objective = Objective(space, split, settings.seed, lambda number: beyond_target(study, settings.trials, number))
    guard = FailureGuard(settings.max_failures)
    deadline, trials_here = settings.deadline(), 0
    while not guard.tripped and (deadline is None or time.time() < deadline):
        signals.check()
        step = next_step(study, settings.trials, has_heartbeats(settings.storage))
        if step == "done":
            break
        if step == "wait":
            time.sleep(min(HEARTBEAT_SECONDS, 5))
            continue
        if settings.recycle_after and trials_here >= settings.recycle_after:
            raise Recycle(f"{trials_here} trials in this process")
        if settings.fuse > 1:
            trials_here += _fused_group(study, space, split, settings, [guard, *callbacks], trials_here)
        else:
            study.optimize(objective, n_trials=1, catch=(Exception,), callbacks=[guard, *callbacks])
            trials_here += 1
    if guard.tripped:
        raise SweepStopped(
            f"stopped after {guard.limit} failed trials in a row; last: {guard.last_reason}. "
            "Check the search space (e.g. a learning rate that diverges) and run again to resume."
        )
    return study
