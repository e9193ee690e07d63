"""Train a group of trials as one fused Keras program, epoch by epoch.

The group knows nothing of Optuna: a ``GroupHooks`` object (the driver's) hands it new
trials and hears each branch's outcome. At every epoch boundary the group drops the
branches that were pruned, diverged or ran their epochs, takes new trials into the free
places, and fuses anew the buckets whose members changed, so no compute goes to a finished
trial. A bucket holds the branches of one batch size: each trains at its own batch size,
with no gradient accumulation, as it would alone.

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

from sweep.data import Split
from sweep.training import signals
from sweep.training.builders import OURS, Builder
from sweep.training.fused import build_branch, copy_branch, fuse
from sweep.training.model import epoch_learning_rates
from sweep.training.native import load_keras_quietly
from sweep.training.solo import DEFAULT_SPEED, Speed, epoch_order, release

log = logging.getLogger(__name__)


@dataclasses.dataclass(eq=False)
class Branch:
    """One trial inside a group."""

    handle: Any  # the driver's trial; opaque here
    name: str  # unique within the sweep, e.g. trial_12
    config: dict[str, Any]
    seed: int
    first_epoch: int = 0  # the group epoch it joined at
    joined: float = 0.0  # time.time() when it joined its group: its wall-clock pace is measured from there
    curve: list[float] = dataclasses.field(default_factory=list)
    seconds: float = 0.0  # its share of the group's wall time
    live: bool = True
    model: Any = dataclasses.field(default=None, repr=False)
    optimizer: Any = dataclasses.field(default=None, repr=False)
    parent: Branch | None = dataclasses.field(default=None, repr=False)  # a PBT child starts as a copy of it
    inherited: int = 0  # epochs of its curve trained by its parent (PBT), not by itself

    @property
    def done(self) -> bool:
        return len(self.curve) >= self.config["epochs"]


class GroupHooks(Protocol):
    def more(self, free: int) -> list[Branch]:
        """Up to ``free`` new trials to start now (fewer or none when the sweep wants no more)."""

    def epoch_end(self, branch: Branch, epoch: int, val_accuracy: float) -> bool:
        """Record epoch ``epoch`` (from 1); False stops the branch (the hooks told its outcome: pruned, or
        complete when it stopped early)."""

    def finished(self, branch: Branch) -> None:
        """The branch ran all its epochs."""

    def failed(self, branch: Branch, reason: str) -> None:
        """The branch could not be built, or diverged."""


START_PLACES = 2  # a time-boxed group's places before it has timed an epoch


def places_within(epoch_box_s: float, capacity: int, last_epoch_s: float, last_trained: int) -> int:
    """A time-boxed group's places (``--fuse auto``): as many branches as would train one epoch within
    ``epoch_box_s``, at the pace per branch of its last epoch; ``START_PLACES`` before the first. Fusing shares
    per-step overhead, which dominates small MLPs (a group of 8 trains 2.4 times the trials per hour of one at a
    time, results/reference/fused.md), but a convolution's compute does not shrink when fused: a group of 8 CNNs
    trains one epoch in minutes on a CPU, and none of them reports until then. The box keeps every branch's
    epochs short, whatever the model, the data and the machine, so results come as soon as alone. It at most
    doubles from one epoch to the next, since a newcomer's cost is known only once it has trained: on the cnn
    space two cheap trials (1.5 s an epoch) let six in at once, and two of them were deep CNNs at a minute an
    epoch each."""
    if not last_trained:
        return min(capacity, START_PLACES)
    per_branch = last_epoch_s / last_trained
    return max(1, min(capacity, 2 * last_trained, int(epoch_box_s // per_branch)))


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
    shuffle_seed: int,
    speed: Speed = DEFAULT_SPEED,
    deadline: float | None = None,
    builder: Builder = OURS,
    epoch_box_s: float | None = None,
) -> GroupStats:
    """Keep up to ``capacity`` trials training together until no trial is left or wanted, or until the
    first epoch boundary after ``deadline`` (``time.time()``); the hooks' owner then stores the trials
    it still holds as unfinished. With ``epoch_box_s``, the group takes new trials only while its epochs
    fit that many seconds (``places_within``).

    The live branches that share a batch size train as one fused program (a *bucket*); each bucket
    trains the group's epoch in turn on the same shuffle. A bucket is fused anew only when its members
    change. Every epoch trains on all the training images.
    """
    load_keras_quietly()  # TensorFlow's native start-up lines go to the log file
    stats, live, buckets, epoch = GroupStats(capacity), [], {}, 0
    last_epoch_s, last_trained = 0.0, 0
    try:
        while True:
            places = places_within(epoch_box_s, capacity, last_epoch_s, last_trained) if epoch_box_s else capacity
            joined = _take_new(hooks, places - len(live), epoch, split, builder)
            stats.trials += len(joined)
            live += joined
            if not live:
                break
            buckets = _rebucket(buckets, live, split, speed, stats)
            order = epoch_order(shuffle_seed, epoch, len(split.y_train))
            epoch_s = [_train_bucket_epoch(bucket, split, order, speed, hooks) for bucket in buckets.values()]
            last_epoch_s, last_trained = sum(epoch_s), len(live)
            stats.seconds += last_epoch_s
            stats.group_epochs, stats.branch_epochs = stats.group_epochs + 1, stats.branch_epochs + len(live)
            live = [branch for branch in live if branch.live]
            epoch += 1
            if live and deadline is not None and time.time() >= deadline:
                break
    finally:
        release()
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


@dataclasses.dataclass(eq=False)
class Bucket:
    """The live branches of one batch size and their fused program."""

    batch_size: int
    members: list[Branch]
    program: Any = dataclasses.field(default=None, repr=False)


def _rebucket(buckets: dict[int, Bucket], live: list[Branch], split: Split, speed: Speed, stats: GroupStats):
    """One bucket per batch size among the live branches; a bucket whose members changed is fused anew.

    The branches' weights and optimizer states live in their own models and optimizers, so they carry
    over into the new program.
    """
    sizes = sorted({branch.config["batch_size"] for branch in live})
    fresh = {}
    for size in sizes:
        members = [branch for branch in live if branch.config["batch_size"] == size]
        kept = buckets.get(size)
        if kept is not None and kept.members == members:
            fresh[size] = kept
            continue
        fresh[size] = Bucket(size, members, _fuse(members, split, speed))
        stats.fusions += 1
    return fresh


def _fuse(members: list[Branch], split: Split, speed: Speed):
    return fuse(
        [branch.model for branch in members],
        [branch.optimizer for branch in members],
        split.x_train.shape[1:],
        steps_per_execution=speed.steps_per_execution,
        jit_compile=speed.jit_compile,
        wide_first_layer=speed.wide_first_layer,
    )


def _train_bucket_epoch(bucket: Bucket, split: Split, order: np.ndarray, speed: Speed, hooks: GroupHooks) -> float:
    """One epoch of a bucket's program, then each member's verdict; returns the seconds it took."""
    started = time.perf_counter()  # compilation, when the bucket was fused anew, counts too
    for branch in bucket.members:  # a scheduled branch takes its own epoch's rate
        rates = epoch_learning_rates(branch.config)
        if rates is not None:
            branch.optimizer.learning_rate = rates[len(branch.curve)]
    _fit_epoch(bucket.program, split, bucket.batch_size, order)
    probabilities = predict_eagerly(bucket.program, split.x_val, speed.validation_batch)
    seconds = time.perf_counter() - started
    for index, branch in enumerate(bucket.members):
        branch.seconds += seconds / len(bucket.members)
        _judge(branch, probabilities[:, index], split.y_val, hooks)
    return seconds


def _take_new(hooks: GroupHooks, free: int, epoch: int, split: Split, builder: Builder) -> list[Branch]:
    if free <= 0:
        return []
    joined = []
    for branch in hooks.more(free):
        try:
            branch.model, branch.optimizer = _build(branch, split, builder)
        except Exception as error:  # a config the builder refuses fails alone
            hooks.failed(branch, f"{type(error).__name__}: {str(error).splitlines()[0][:200]}")
            continue
        branch.first_epoch = branch.parent.first_epoch if branch.parent else epoch  # a child goes on in its data
        branch.joined = time.time()
        joined.append(branch)
    return joined


def _build(branch: Branch, split: Split, builder: Builder):
    if branch.parent is not None:
        return copy_branch(branch.parent, branch.config, branch.name, split, builder)
    return build_branch(branch.config, branch.seed, branch.name, split, builder)


def predict_eagerly(program, images: np.ndarray, batch_size: int) -> np.ndarray:
    """``program.predict`` without tracing a predict function: a fused program is new whenever its members change,
    and tracing its predict step cost more than the eager forward pass it replaces (tests/bench/test_fusion_cost.py).
    """
    import keras

    chunks = (
        program(images[start : start + batch_size], training=False) for start in range(0, len(images), batch_size)
    )
    return np.concatenate([keras.ops.convert_to_numpy(chunk) for chunk in chunks])


def _fit_epoch(program, split: Split, batch_size: int, order: np.ndarray) -> None:
    import keras

    program.fit(
        split.x_train[order],
        split.y_train[order],
        batch_size=batch_size,
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
