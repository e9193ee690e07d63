"""Fit one trial config on the split and return its metrics.

Speed choices that leave results unchanged (measured in ``tests/bench``): several
batches per backend call (``steps_per_execution``), validation in large batches,
no checkpoints, no verbose output, no extra evaluate after ``fit``.
"""

from __future__ import annotations

import dataclasses
import functools
import gc
import math
import time
from collections.abc import Callable
from typing import Any

from sweep.data import Split
from sweep.training import signals
from sweep.training.builders import OURS, Builder
from sweep.training.model import schedule_callbacks
from sweep.training.native import load_keras_quietly

STEPS_PER_EXECUTION = 32
VALIDATION_BATCH = 2048


@dataclasses.dataclass(frozen=True)
class Speed:
    """How a config is run; none of it changes what is computed. Measured in tests/bench/test_choices.py."""

    steps_per_execution: int = STEPS_PER_EXECUTION  # batches per call into the backend
    jit_compile: bool | str = "auto"  # XLA where the backend and layers allow it
    validation_batch: int = VALIDATION_BATCH
    wide_first_layer: bool = False  # fused groups: every branch's first Dense layer as one matmul (fused.py)


DEFAULT_SPEED = Speed()

# Called after every epoch with (epoch number from 1, validation accuracy); may raise to stop (pruned), or return
# True to end the training there as complete (stopped early).
EpochHook = Callable[[int, float], bool | None]


@dataclasses.dataclass(frozen=True)
class DataOrder:
    """An explicit shuffle: epoch ``j`` of the trial sees ``epoch_order(seed, first_epoch + j)``.

    A fused group shuffles this way for all its branches; each trial stores its order, so
    retraining it alone feeds it the very same batches.
    """

    seed: int
    first_epoch: int = 0
    size: int | None = None  # images per epoch: a multiple of every batch size of the group (None: all)

    @classmethod
    def from_record(cls, record: dict[str, Any] | None) -> DataOrder | None:
        if not record:
            return None
        size = record.get("size")
        return cls(int(record["seed"]), int(record.get("first_epoch", 0)), int(size) if size else None)


def epoch_order(seed: int, epoch: int, size: int):
    """The permutation of ``size`` training images for one epoch: numpy only, so train_best.py repeats it."""
    import numpy as np

    return np.random.default_rng([seed, epoch]).permutation(size)


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


@dataclasses.dataclass
class TrainResult:
    val_accuracy: float  # the last epoch's (the search scores a trial on max(curve), its best epoch)
    curve: list[float]  # validation accuracy after each epoch
    epochs_run: int
    fit_seconds: float
    model: Any = dataclasses.field(repr=False, default=None)


def train(
    config: dict[str, Any],
    split: Split,
    on_epoch: EpochHook | None = None,
    keep_model: bool = False,
    speed: Speed = DEFAULT_SPEED,
    seed: int | None = None,
    order: DataOrder | None = None,
    builder: Builder = OURS,
) -> TrainResult:
    """Build and fit ``config``; report each epoch through ``on_epoch``.

    ``seed`` fixes initial weights and shuffling, so a trial can be retrained to the same score.
    ``order`` replaces Keras's shuffle with a fused group's (see ``DataOrder``).
    """
    load_keras_quietly()  # the first Keras use: TensorFlow's native start-up lines go to the log file
    import keras

    if seed is not None:
        keras.utils.set_random_seed(seed)
    model = builder.build(
        config,
        steps_per_execution=speed.steps_per_execution,
        jit_compile=speed.jit_compile,
        input_shape=split.input_shape,
        classes=split.classes,
    )
    curve: list[float] = []
    early: list[int] = []  # the epoch at which on_epoch ended the training, if it did

    def after_epoch(epoch: int, logs: dict) -> None:
        if _after_epoch(epoch, logs, curve, on_epoch):
            early.append(epoch + 1)
            model.stop_training = True

    callback = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: signals.check(),  # once per steps_per_execution batches
        on_epoch_end=after_epoch,
    )
    started = time.perf_counter()
    fit = functools.partial(
        model.fit,
        batch_size=config["batch_size"],
        validation_data=(split.x_val, split.y_val),
        validation_batch_size=speed.validation_batch,
        callbacks=[keras.callbacks.TerminateOnNaN(), callback, *schedule_callbacks(config)],
        verbose=0,
    )
    try:
        if order is None:
            fit(split.x_train, split.y_train, epochs=config["epochs"])
        else:
            _fit_in_order(fit, split, config["epochs"], order, curve, early)
        if len(curve) < config["epochs"] and not early:  # TerminateOnNaN stopped it mid-epoch
            raise TrainingDiverged(f"loss became NaN in epoch {len(curve) + 1}")
        seconds = time.perf_counter() - started
        return TrainResult(curve[-1], curve, len(curve), seconds, model if keep_model else None)
    finally:
        if not keep_model:
            release(model)


def _fit_in_order(fit: Callable, split: Split, epochs: int, order: DataOrder, curve: list[float], early: list) -> None:
    for epoch in range(epochs):
        if len(curve) < epoch or early:  # TerminateOnNaN stopped the last epoch, or on_epoch ended the training
            return
        permutation = epoch_order(order.seed, order.first_epoch + epoch, len(split.y_train))[: order.size]
        fit(
            split.x_train[permutation], split.y_train[permutation], epochs=epoch + 1, initial_epoch=epoch, shuffle=False
        )


def _after_epoch(epoch: int, logs: dict, curve: list[float], on_epoch: EpochHook | None) -> bool:
    """Record the epoch; True when ``on_epoch`` ends the training here."""
    loss = float(logs.get("loss", math.nan))
    if not math.isfinite(loss):
        raise TrainingDiverged(f"loss became {loss} in epoch {epoch + 1}")
    curve.append(float(logs["val_accuracy"]))
    return bool(on_epoch is not None and on_epoch(epoch + 1, curve[-1]))


def release(model: Any = None) -> None:
    """Free a trial's graph and memory so a long sweep's resident memory stays flat."""
    import keras

    del model
    keras.backend.clear_session()
    gc.collect()


def evaluate(model: Any, images, labels) -> float:
    """Accuracy of a trained model on the given images."""
    return float(model.evaluate(images, labels, batch_size=VALIDATION_BATCH, verbose=0)[1])
