"""Fit one trial config on the split and return its metrics.

Speed choices that leave results unchanged (measured in ``tests/bench``): several
batches per backend call (``steps_per_execution``), validation in large batches,
no checkpoints, no verbose output, no extra evaluate after ``fit``.
"""

from __future__ import annotations

import dataclasses
import gc
import math
import time
from collections.abc import Callable
from typing import Any

from sweep import signals
from sweep.data import Split
from sweep.model import build_model
from sweep.native import load_keras_quietly

STEPS_PER_EXECUTION = 32
VALIDATION_BATCH = 2048


@dataclasses.dataclass(frozen=True)
class Speed:
    """How a config is run; none of it changes what is computed. Measured in tests/bench/test_choices.py."""

    steps_per_execution: int = STEPS_PER_EXECUTION  # batches per call into the backend
    jit_compile: bool | str = "auto"  # XLA where the backend and layers allow it
    validation_batch: int = VALIDATION_BATCH


# Called after every epoch with (epoch number from 1, validation accuracy); may raise to stop.
EpochHook = Callable[[int, float], None]


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


@dataclasses.dataclass
class TrainResult:
    val_accuracy: float  # the last epoch's: what retraining the config for `epochs_run` epochs gives
    curve: list[float]  # validation accuracy after each epoch
    epochs_run: int
    fit_seconds: float
    model: Any = dataclasses.field(repr=False, default=None)


def train(
    config: dict[str, Any],
    split: Split,
    on_epoch: EpochHook | None = None,
    keep_model: bool = False,
    speed: Speed = Speed(),
    seed: int | None = None,
) -> TrainResult:
    """Build and fit ``config``; report each epoch through ``on_epoch``.

    ``seed`` fixes initial weights and shuffling, so a trial can be retrained to the same score.
    """
    load_keras_quietly()  # the first Keras use: TensorFlow's native start-up lines go to the log file
    import keras

    if seed is not None:
        keras.utils.set_random_seed(seed)
    model = build_model(config, steps_per_execution=speed.steps_per_execution, jit_compile=speed.jit_compile)
    curve: list[float] = []
    callback = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda batch, logs: signals.check(),  # once per steps_per_execution batches
        on_epoch_end=lambda epoch, logs: _after_epoch(epoch, logs, curve, on_epoch),
    )
    started = time.perf_counter()
    try:
        model.fit(
            split.x_train,
            split.y_train,
            batch_size=config["batch_size"],
            epochs=config["epochs"],
            validation_data=(split.x_val, split.y_val),
            validation_batch_size=speed.validation_batch,
            callbacks=[keras.callbacks.TerminateOnNaN(), callback],
            verbose=0,
        )
        if len(curve) < config["epochs"]:  # TerminateOnNaN stopped it mid-epoch
            raise TrainingDiverged(f"loss became NaN in epoch {len(curve) + 1}")
        seconds = time.perf_counter() - started
        return TrainResult(curve[-1], curve, len(curve), seconds, model if keep_model else None)
    finally:
        if not keep_model:
            release(model)


def _after_epoch(epoch: int, logs: dict, curve: list[float], on_epoch: EpochHook | None) -> None:
    loss = float(logs.get("loss", math.nan))
    if not math.isfinite(loss):
        raise TrainingDiverged(f"loss became {loss} in epoch {epoch + 1}")
    curve.append(float(logs["val_accuracy"]))
    if on_epoch is not None:
        on_epoch(epoch + 1, curve[-1])


def release(model: Any = None) -> None:
    """Free a trial's graph and memory so a long sweep's resident memory stays flat."""
    import keras

    del model
    keras.backend.clear_session()
    gc.collect()


def evaluate(model: Any, images, labels) -> float:
    """Accuracy of a trained model on the given images."""
    return float(model.evaluate(images, labels, batch_size=VALIDATION_BATCH, verbose=0)[1])
