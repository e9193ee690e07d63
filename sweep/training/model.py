"""Trial config -> compiled Keras model. Pure: the model is a function of the config.

Only the Keras 3 API is used (no ``tensorflow.*``), so every backend works
(``KERAS_BACKEND=tensorflow|jax|torch``).
"""

from __future__ import annotations

import math
from typing import Any

IMAGE_SHAPE = (28, 28)  # Fashion-MNIST's, the default; own data brings its own (Split.input_shape)
CLASSES = 10
OPTIMIZER_CLASSES = {
    "sgd": "SGD",
    "rmsprop": "RMSprop",
    "adam": "Adam",
    "adamw": "AdamW",
    "adagrad": "Adagrad",
    "adadelta": "Adadelta",
    "adamax": "Adamax",
    "nadam": "Nadam",
}


def build_model(
    config: dict[str, Any],
    steps_per_execution: int = 1,
    jit_compile: bool | str = "auto",
    *,
    input_shape: tuple[int, ...] = IMAGE_SHAPE,
    classes: int = CLASSES,
    name: str | None = None,
):
    """A compiled ``keras.Model`` for ``config`` (the trial config of DESIGN.md) on rows of ``input_shape``
    ((h, w), (h, w, channels) or (features,)) labelled with ``classes`` classes.

    ``steps_per_execution`` and ``jit_compile`` are speed knobs, not hyperparameters:
    they change how batches reach the backend, not what is computed. ``name`` tells
    fused branches apart.
    """
    import keras

    input_shape = tuple(input_shape)
    conv = config.get("layer_type", "dense") == "conv"
    body = _conv_layers(config, input_shape) if conv else _dense_layers(config)
    model = keras.Sequential(
        [keras.Input(shape=input_shape), *body, keras.layers.Dense(classes, activation="softmax")],
        name=name or f"{config.get('layer_type', 'dense')}_{config['hidden_layers']}",
    )
    return compile_model(model, config, steps_per_execution, jit_compile)


def compile_model(model, config: dict[str, Any], steps_per_execution: int = 1, jit_compile: bool | str = "auto"):
    """``model`` compiled as every trial is: the config's optimizer, sparse cross-entropy, accuracy."""
    model.compile(
        optimizer=build_optimizer(config),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution,
        jit_compile=jit_compile,
    )
    return model


def _dense_layers(config: dict[str, Any]) -> list:
    """The notes' model: Flatten, then one Dense layer per hidden layer (each with dropout)."""
    import keras

    layers = [keras.layers.Flatten()]
    for units in config["units"][: config["hidden_layers"]]:
        layers.append(keras.layers.Dense(units, activation=config["activation"]))
        layers.extend(_dropout(config))
    return layers


def _conv_layers(config: dict[str, Any], input_shape: tuple[int, ...]) -> list:
    """Conv2D + 2x2 max pooling per hidden layer, then Flatten and a Dense head of ``units[-1]``."""
    import keras

    if len(input_shape) not in (2, 3):
        raise ValueError(f"conv layers need images, (h, w) or (h, w, channels); the data has rows of {input_shape}")
    layers = [keras.layers.Reshape((*input_shape, 1))] if len(input_shape) == 2 else []
    for filters, kernel in zip(config["filters"], config["kernel_size"], strict=True):
        layers.append(keras.layers.Conv2D(filters, kernel, padding="same", activation=config["activation"]))
        layers.append(keras.layers.MaxPooling2D(2))
    layers.append(keras.layers.Flatten())
    layers.extend(_dropout(config))
    if config.get("units"):
        layers.append(keras.layers.Dense(config["units"][-1], activation=config["activation"]))
        layers.extend(_dropout(config))
    return layers


def _dropout(config: dict[str, Any]) -> list:
    import keras

    rate = config.get("dropout", 0.0)
    return [keras.layers.Dropout(rate)] if rate else []


def build_optimizer(config: dict[str, Any]):
    """The configured optimizer; SGD takes momentum and nesterov, RMSprop takes momentum."""
    import keras

    name = config.get("optimizer", "rmsprop")
    kwargs: dict[str, Any] = {"learning_rate": config.get("learning_rate", 0.001)}
    if name in ("sgd", "rmsprop") and "momentum" in config:
        kwargs["momentum"] = config["momentum"]
    if name == "sgd" and "nesterov" in config:
        kwargs["nesterov"] = config["nesterov"]
    return getattr(keras.optimizers, OPTIMIZER_CLASSES[name])(**kwargs)


CUT_FACTOR = 0.3  # a rate cut on a plateau (``rate_cuts``) multiplies the rate by this, unless the config says


def epoch_learning_rates(config: dict[str, Any]) -> list[float] | None:
    """The learning rate of each epoch: under ``lr_schedule: cosine`` the config's rate annealed on a half cosine
    towards 0 over ``decay_epochs`` (default: all its epochs); under ``constant`` with ``rate_cuts`` (the epochs
    after which the search cut a held rate on a plateau, ``sweep.search.plateau``) the rate times ``cut_factor``
    once per cut so far; a PBT child's own list (``learning_rates``, ``sweep.search.pbt``) as it is. One step per
    epoch, so a fused branch and its solo retraining see the same rates. None for a held rate never cut, the
    notes' way."""
    if config.get("learning_rates"):
        return list(config["learning_rates"])
    rate, epochs = config.get("learning_rate", 0.001), config["epochs"]
    if config.get("lr_schedule", "constant") == "constant":
        cuts = config.get("rate_cuts") or []
        if not cuts:
            return None
        factor = config.get("cut_factor", CUT_FACTOR)
        return [rate * factor ** sum(cut <= epoch for cut in cuts) for epoch in range(epochs)]
    horizon = config.get("decay_epochs", epochs)
    return [rate * 0.5 * (1.0 + math.cos(math.pi * epoch / horizon)) for epoch in range(epochs)]


def schedule_callbacks(config: dict[str, Any]) -> list:
    """What ``fit`` needs to follow the config's schedule: Keras's own ``LearningRateScheduler``, reading the
    schedule anew each epoch, since the search may cut a held rate while the trial trains (``rate_cuts``)."""
    import keras

    def rate(epoch: int, current: float) -> float:
        rates = epoch_learning_rates(config)
        return current if rates is None else rates[min(epoch, len(rates) - 1)]

    return [keras.callbacks.LearningRateScheduler(rate)]
