"""A study's bookkeeping, shared by the solo loop and fused groups: open it, count its open places,
settle races between workers, requeue interrupted trials, and stop after failures in a row."""

from __future__ import annotations

import contextlib
import logging

from sweep.data import DataSource, compute_baseline
from sweep.results import open_storage
from sweep.search import policy
from sweep.search.settings import NOT_RUN, SweepSettings
from sweep.space import SearchSpace, SpaceError, centre_values

log = logging.getLogger(__name__)


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


def best_epoch(curve: list[float]) -> tuple[float, int]:
    """A finished trial's score and the epoch it came from (from 1): its best epoch, the first of equals.
    KerasTuner scores trials so, and Keras's ``EarlyStopping(restore_best_weights=True)`` keeps that model;
    retraining the config for that many epochs, with the trial's seed and data order, gives it again."""
    epoch = max(range(len(curve)), key=curve.__getitem__)
    return curve[epoch], epoch + 1


def open_study(settings: SweepSettings, space: SearchSpace | None = None):
    """Create the study, or load it when it exists: re-running continues it."""
    import optuna

    space = space or settings.search_space()
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
        sampler=policy.make_sampler(settings.sampler, seed, parallel=settings.fuse > 1),
        pruner=policy.make_pruner(settings.pruner, policy.max_epochs(space), settings.prune_hopeless),
    )
    study.set_user_attr("space", space.name)
    builder = settings.builder(space)
    if builder.own:  # which model the trials are: reading the study never guesses
        study.set_user_attr("model", builder.reference)
    return study


def _count_trials(storage, name: str) -> int:
    import optuna

    try:
        return len(optuna.load_study(study_name=name, storage=storage).get_trials(deepcopy=False))
    except KeyError:
        return 0


def record_baseline(study, split, data: DataSource) -> dict[str, float]:
    """The baseline for this split, stored once in the study for tables to read."""
    if "data" not in study.user_attrs:  # which data the study ran on: name, fingerprint, file, shape
        study.set_user_attr("data", data.identity())
    stored = study.user_attrs.get("baseline")
    if stored and stored.get("split") == split.fingerprint:
        return stored
    figures = {**compute_baseline(split, data, cross_validated=False), "split": split.fingerprint}
    study.set_user_attr("baseline", figures)
    return figures


# the user attribute naming where a config tried first came from
FIRST_TRIES = ("start", "warm_start", "centre")
# the centre's model at the space's fewest epochs, told as a trial of its own (ask_tell): the centre holds that
# epoch count (FIRST_RUNG), the rung's trial the centre's number (RUNG_OF)
FIRST_RUNG, RUNG_OF = "first_rung", "rung_of"


def enqueue_starts(study, space: SearchSpace, earlier: tuple[dict, ...] = (), most: int | None = None) -> list:
    """On a study without trials, queue the configs to try first (``first_tries``), or where there are none,
    the space's centre (``sweep.space.centre``): Optuna's TPE draws its first ten trials at random, and on a
    space whose epochs cost seconds that is most of a 5-minute run. Returns what was queued."""
    if study.get_trials(deepcopy=False):
        return []
    queued = first_tries(space, earlier, most) or _centre_try(space, most)
    named = []
    for origin, index, values in queued:
        rung = _rung_of(space, origin, values, most)
        study.enqueue_trial(values, user_attrs={origin: index, **rung})
        named.append(f"{origin} {index}{_told_first(rung)}")
    if named:
        log.info("tried first: %s", ", ".join(named))
    return [(origin, index) for origin, index, _ in queued]


def _told_first(rung: dict) -> str:
    epochs = rung.get(FIRST_RUNG)
    return f" (its model at {epochs} epoch{'s' * (epochs != 1)} told first)" if epochs else ""


def _rung_of(space: SearchSpace, origin: str, values: dict, most: int | None) -> dict:
    """The centre's first rung, where its epochs pass the space's fewest and the trial count leaves room for it:
    at that epoch, fused groups (``ask_tell``) tell the centre's model so far as a trial of its own, the sweep's
    first answer, for no epoch more."""
    fewest = _fewest_epochs(space, values)
    return {FIRST_RUNG: fewest} if origin == "centre" and fewest and (most is None or most >= 2) else {}


def first_tries(space: SearchSpace, earlier: tuple[dict, ...] = (), most: int | None = None) -> list[tuple]:
    """The configs to try first, as (origin, index, the values the engines draw): the space's ``starts:``, then
    ``earlier`` (an earlier study's best configs; those the space could not draw are skipped), ``most`` of them
    at most (the trial count: queued trials always run). Both engines take these: Optuna as queued trials,
    KerasTuner's oracle as its first draws."""
    names = {param.name for param in space.params.values() if not param.fixed}  # a fixed one is never drawn
    by_values = {}  # the values queued -> (origin, index)
    for origin, configs in (("start", space.starts), ("warm_start", earlier)):
        for index, config in enumerate(configs):
            try:
                values = space.start_values({name: value for name, value in config.items() if name in names})
            except SpaceError as error:
                log.info("%s %d skipped: %s", origin, index, error)
                continue
            key = tuple(sorted(values.items()))
            if key in by_values:  # an earlier study's best is often one of the space's own starts
                log.info("%s %d skipped: the same config as %s %d", origin, index, *by_values[key])
                continue
            if most is not None and len(by_values) >= most:
                break
            by_values[key] = (origin, index)
    return [(origin, index, dict(key)) for key, (origin, index) in by_values.items()]


def _centre_try(space: SearchSpace, most: int | None) -> list[tuple]:
    values = centre_values(space)
    return [("centre", 0, values)] if values and most != 0 else []


def _fewest_epochs(space: SearchSpace, values: dict) -> int | None:
    """The space's fewest epochs, where ``values`` trains more."""
    epochs = space.params.get("epochs")
    if epochs is None or epochs.fixed or "epochs" not in values:
        return None
    fewest = int(min(epochs.values() or [epochs.low]))
    return fewest if fewest < values["epochs"] else None


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


def beyond_target(study, target: int | None, number: int) -> bool:
    """Whether trial ``number`` was asked after the target was taken. Workers that counted open slots at
    the same moment agree on who came first by trial number, which the storage hands out one by one."""
    from optuna.trial import TrialState

    if target is None:
        return False
    started = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING))
    return sum(trial.number < number for trial in started) >= target
