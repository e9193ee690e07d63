"""The Optuna driver: the objective of one solo trial, and the trial loop of one worker."""

from __future__ import annotations

import logging
import time
from typing import Any

from sweep.results import HEARTBEAT_SECONDS, has_heartbeats
from sweep.search.ask_tell import Pace, run_group
from sweep.search.epochs import stalled
from sweep.search.plateau import cut_on_plateau
from sweep.search.settings import INTERRUPTED, NOT_RUN, Recycle, SweepSettings, SweepStopped, TargetReached
from sweep.search.study import (
    FailureGuard,
    OptunaSuggester,
    best_epoch,
    beyond_target,
    enqueue_starts,
    next_step,
    open_slots,
    open_study,
    record_baseline,
    requeue_interrupted,
    resident_mb,
)
from sweep.space import SearchSpace, check_data_fits
from sweep.training import OURS, signals

log = logging.getLogger(__name__)


class Objective:
    """One trial: sample a config from the space, train it, report every epoch."""

    def __init__(
        self,
        space: SearchSpace,
        split,
        seed: int = 42,
        beyond=lambda number: False,
        builder=OURS,
        patience=None,
        rate_cuts: bool = False,
    ):
        self.space, self.builder, self.patience = space, builder, patience  # patience: see epochs.stalled
        self.rate_cuts = rate_cuts  # a held rate is cut on a plateau (search.plateau)
        self.split = split
        self.seed = seed
        self.beyond = beyond  # see beyond_target

    def __call__(self, trial) -> float:
        import optuna

        from sweep.training import TrainingDiverged, train

        if self.beyond(trial.number):  # another worker took the last place first: this one never trains
            trial.set_user_attr("fail_reason", NOT_RUN)
            raise TargetReached(NOT_RUN)
        config = self.space.sample(OptunaSuggester(trial))
        seed = self.seed + trial.number  # kept, so `sweep best` + `sweep train` retrain this very model
        trial.set_user_attr("config", config)
        trial.set_user_attr("seed", seed)
        started, curve = time.perf_counter(), []

        def on_epoch(epoch: int, val_accuracy: float) -> bool:
            trial.report(val_accuracy, epoch)
            curve.append(val_accuracy)
            if epoch >= config["epochs"]:  # a trial that ran all its epochs is done
                return False
            if self.patience and stalled(curve, self.patience):
                return True  # stopped early: complete at its best epoch
            if trial.should_prune():
                raise optuna.TrialPruned(f"val_accuracy {val_accuracy:.4f} after epoch {epoch}")
            if self.rate_cuts:
                cut_on_plateau(config, curve)  # training reads the next epoch's rate from config
            return False

        try:
            result = train(
                config, self.split, on_epoch, seed=seed, **({"builder": self.builder} if self.builder else {})
            )
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
            if config.get("rate_cuts"):  # the rates it trained with: `sweep best` writes them
                trial.set_user_attr("config", config)
        value, epoch = best_epoch(result.curve)
        trial.set_user_attr("best_epoch", epoch)
        return value


def _fused_group(
    study, space: SearchSpace, split, settings: SweepSettings, callbacks: list, trials_here: int, pace: Pace
) -> int:
    """One fused group: it takes new trials while the target, the deadline, the failure guard
    and the recycling count allow, and ends when its last trial has ended."""
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

    return run_group(study, space, split, settings, slots, callbacks, beyond, pace)


def run_sweep(settings: SweepSettings, callbacks: list[Any] = ()) -> Any:
    """Run trials until the target count or the timeout; return the study.

    Raises SweepStopped after too many failures in a row, Recycle after ``recycle_after``
    trials in this process while work remains, and lets KeyboardInterrupt through after
    the interrupted trial has been stored as FAIL.
    """
    space = settings.search_space()  # with --epochs-budget, epochs fixed at the space's most (epochs.budgeted)
    split = settings.data.split(settings.max_train)  # bad data is refused before a study exists
    check_data_fits(space.path, space.params, split.input_shape)
    study = open_study(settings, space)
    baseline = record_baseline(study, split, settings.data)
    log.info("study %r: %s; baseline val_accuracy %.4f", study.study_name, split.describe(), baseline["val_accuracy"])
    if settings.worker == 0:  # one worker queues them, once
        enqueue_starts(study, space, settings.warm_start, most=settings.trials)
    requeued = requeue_interrupted(study)
    if requeued:
        log.info("retrying interrupted trials %s with the same params", requeued)
    beyond = lambda number: beyond_target(study, settings.trials, number)  # noqa: E731
    objective = Objective(
        space, split, settings.seed, beyond, settings.builder(space), settings.patience(), settings.rate_cuts
    )
    guard = FailureGuard(settings.max_failures)
    deadline, trials_here, pace = settings.deadline(), 0, Pace()  # the pace of this worker's groups
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
            if pace.no_epoch_fits(deadline):  # the run's last seconds: no group could train an epoch
                break
            trials_here += _fused_group(study, space, split, settings, [guard, *callbacks], trials_here, pace)
        else:
            study.optimize(objective, n_trials=1, catch=(Exception,), callbacks=[guard, *callbacks])
            trials_here += 1
    if guard.tripped:
        raise SweepStopped(
            f"stopped after {guard.limit} failed trials in a row; last: {guard.last_reason}. "
            "Check the search space (e.g. a learning rate that diverges) and run again to resume."
        )
    return study
