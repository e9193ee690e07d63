"""Train a group of trials as one fused Keras program, epoch by epoch.

The group knows nothing of Optuna: a ``GroupHooks`` object (the driver's) hands it new
trials and hears each branch's outcome. At every epoch boundary the group drops the
branches that were pruned, diverged or ran their epochs, takes new trials into the free
places, and fuses the survivors anew, so no compute goes to a finished trial.

All branches of a group see the same data order: epoch ``e`` of the group shuffles with
``epoch_order(shuffle_seed, e)``. A branch that joined at group epoch ``first_epoch`` saw
epochs ``first_epoch, first_epoch + 1, ...``; retraining it alone with that order
(``train.DataOrder``) repeats its run.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any, Protocol

import numpy as np

from sweep import signals
from sweep.data import Split
from sweep.fused import build_branch, fuse
from sweep.native import load_keras_quietly
from sweep.train import DEFAULT_SPEED, Speed, epoch_order, release

log = logging.getLogger(__name__)


@dataclasses.dataclass(eq=False)
class Branch:
    """One trial inside a group."""

    handle: Any  # the driver's trial; opaque here
    name: str  # unique within the sweep, e.g. trial_12
    config: dict[str, Any]
    seed: int
    first_epoch: int = 0  # the group epoch it joined at
    curve: list[float] = dataclasses.field(default_factory=list)
    seconds: float = 0.0  # its share of the group's wall time
    live: bool = True
    model: Any = dataclasses.field(default=None, repr=False)
    optimizer: Any = dataclasses.field(default=None, repr=False)

    @property
    def done(self) -> bool:
        return len(self.curve) >= self.config["epochs"]


class GroupHooks(Protocol):
    def more(self, free: int) -> list[Branch]:
        """Up to ``free`` new trials to start now (fewer or none when the sweep wants no more)."""

    def epoch_end(self, branch: Branch, epoch: int, val_accuracy: float) -> bool:
        """Record epoch ``epoch`` (from 1); False stops the branch (pruned)."""

    def finished(self, branch: Branch) -> None:
        """The branch ran all its epochs."""

    def failed(self, branch: Branch, reason: str) -> None:
        """The branch could not be built, or diverged."""


@dataclasses.dataclass
class GroupStats:
    """How well a group used its places: the utilisation benchmark reads these."""

    capacity: int
    group_epochs: int = 0
    branch_epochs: int = 0  # epochs trained by live trials
    fusions: int = 0  # times the fused program was (re)built
    seconds: float = 0.0
    trials: int = 0

    @property
    def live_share(self) -> float:
        """Share of the group's places, epoch by epoch, that trained a live trial."""
        places = self.capacity * self.group_epochs
        return self.branch_epochs / places if places else 0.0


def train_group(
    split: Split,
    hooks: GroupHooks,
    capacity: int,
    micro_batch: int,
    shuffle_seed: int,
    speed: Speed = DEFAULT_SPEED,
    epoch_size: int | None = None,
) -> GroupStats:
    """Keep up to ``capacity`` trials training together until no trial is left or wanted.

    ``epoch_size``: images per epoch, a multiple of every branch's batch size, so that micro-batches
    add up to whole batches and no accumulated gradient crosses an epoch (the rest of the shuffled
    images wait for the next epoch's shuffle).
    """
    load_keras_quietly()  # TensorFlow's native start-up lines go to the log file
    stats, live, fused, epoch = GroupStats(capacity), [], None, 0
    try:
        while True:
            joined = _take_new(hooks, capacity - len(live), micro_batch, epoch, split)
            stats.trials += len(joined)
            if joined or fused is None or len(live) != fused.output_shape[1]:
                live += joined
                if not live:
                    break
                fused = _fuse_live(live, split, speed)
                stats.fusions += 1
            started = time.perf_counter()  # compilation, when the group was re-fused, counts too
            _fit_epoch(fused, split, micro_batch, epoch_order(shuffle_seed, epoch, len(split.y_train))[:epoch_size])
            probabilities = fused.predict(split.x_val, batch_size=speed.validation_batch, verbose=0)
            seconds = time.perf_counter() - started
            stats.group_epochs, stats.branch_epochs = stats.group_epochs + 1, stats.branch_epochs + len(live)
            stats.seconds += seconds
            for index, branch in enumerate(live):
                branch.seconds += seconds / len(live)
                _judge(branch, probabilities[:, index], split.y_val, hooks)
            live = [branch for branch in live if branch.live]
            epoch += 1
    finally:
        release(fused)
    log.info(
        "group of %d: %d trials, %d group epochs, %.0f%% of places live, %d fusions, %.1f s",
        capacity,
        stats.trials,
        stats.group_epochs,
        100 * stats.live_share,
        stats.fusions,
        stats.seconds,
    )
    return stats


def _take_new(hooks: GroupHooks, free: int, micro_batch: int, epoch: int, split: Split) -> list[Branch]:
    if free <= 0:
        return []
    joined = []
    for branch in hooks.more(free):
        try:
            branch.model, branch.optimizer = build_branch(branch.config, micro_batch, branch.seed, branch.name, split)
        except Exception as error:  # a config the builder refuses fails alone
            hooks.failed(branch, f"{type(error).__name__}: {str(error).splitlines()[0][:200]}")
            continue
        branch.first_epoch = epoch
        joined.append(branch)
    return joined


def _fuse_live(live: list[Branch], split: Split, speed: Speed):
    """The fused program for the live branches; their weights and optimizer states carry over."""
    return fuse(
        [branch.model for branch in live],
        [branch.optimizer for branch in live],
        split.x_train.shape[1:],
        steps_per_execution=speed.steps_per_execution,
        jit_compile=speed.jit_compile,
    )


def _fit_epoch(fused, split: Split, micro_batch: int, order: np.ndarray) -> None:
    import keras

    fused.fit(
        split.x_train[order],
        split.y_train[order],
        batch_size=micro_batch,
        epochs=1,
        shuffle=False,
        verbose=0,
        callbacks=[keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: signals.check())],
    )


def _judge(branch: Branch, probabilities: np.ndarray, labels: np.ndarray, hooks: GroupHooks) -> None:
    """Record the branch's epoch and decide whether it goes on."""
    if not np.isfinite(probabilities).all():
        branch.live = False
        hooks.failed(branch, f"diverged: loss became nan in epoch {len(branch.curve) + 1}")
        return
    accuracy = float(np.mean(np.argmax(probabilities, axis=-1) == labels))
    branch.curve.append(accuracy)
    if not hooks.epoch_end(branch, len(branch.curve), accuracy):
        branch.live = False
    elif branch.done:
        branch.live = False
        hooks.finished(branch)
