"""The words a search space and a trial config share: parameter names, defaults, allowed values, limits.

One home for them, so :mod:`sweep.space.spec` and :mod:`sweep.space.checks` both read from here and the
dependency runs one way (space -> space_checks -> vocabulary). Keras's own names (activations,
optimizers) are kept as data, so a space is checked without importing TensorFlow;
``tests/test_space.py`` checks this data against the installed Keras.
"""

from __future__ import annotations

import dataclasses
from typing import Any

# The chapter's reference model; every parameter a space leaves out takes this value.
REFERENCE_CONFIG: dict[str, Any] = {
    "layer_type": "dense",
    "hidden_layers": 1,
    "units": [100],
    "activation": "sigmoid",
    "dropout": 0.0,
    "optimizer": "rmsprop",
    "learning_rate": 0.001,
    "lr_schedule": "constant",
    "batch_size": 32,
    "epochs": 5,
}
# Conv-only and optimizer-only knobs get these defaults when their layer type or optimizer is used.
KNOB_DEFAULTS: dict[str, Any] = {"filters": [32], "kernel_size": [3], "momentum": 0.0, "nesterov": False}
# What training itself reads from every config, a builder of the user's own included.
TRAINING_KEYS = ("optimizer", "learning_rate", "lr_schedule", "batch_size", "epochs")
# The optimizers each optimizer knob exists for (Keras's SGD takes both; its RMSprop takes momentum).
OPTIMIZER_KNOBS = {"momentum": ("sgd", "rmsprop"), "nesterov": ("sgd",)}
PER_LAYER = ("units", "filters", "kernel_size")  # list-valued: one entry per hidden layer
VOCABULARY = (*REFERENCE_CONFIG, *KNOB_DEFAULTS)
# Keys a retraining config may add to the vocabulary: a cosine trial cut at its best epoch still anneals
# over the epochs it was drawn with (``sweep best``), and a held rate cut on a plateau is cut after the same
# epochs (``rate_cuts``, by ``cut_factor``), so its retraining repeats it; a PBT child lists every epoch's rate
# (``learning_rates``: its leader's, then its own).
RETRAINING_KEYS = ("decay_epochs", "rate_cuts", "cut_factor", "learning_rates")
LIST_KEYS = ("rate_cuts", "learning_rates")  # retraining keys whose value is a list
OPTIMIZERS = ("sgd", "rmsprop", "adam", "adamw", "adagrad", "adadelta", "adamax", "nadam")
# keras.activations.get() resolves each of these by name and each takes one tensor (Keras 3.15's list,
# less `threshold`, which needs two more arguments).
ACTIVATIONS = (
    "celu", "elu", "exponential", "gelu", "glu", "hard_shrink", "hard_sigmoid", "hard_silu", "hard_swish",
    "hard_tanh", "leaky_relu", "linear", "log_sigmoid", "log_softmax", "mish", "relu", "relu6", "selu",
    "sigmoid", "silu", "soft_shrink", "softmax", "softplus", "softsign", "sparse_plus", "sparse_sigmoid",
    "sparsemax", "squareplus", "swish", "tanh", "tanh_shrink",
)  # fmt: skip
LAYER_TYPES = ("dense", "conv")
# How the learning rate moves over a trial's epochs: held (the notes'), or annealed to 0 on a half cosine.
LR_SCHEDULES = ("constant", "cosine")
NAMED_CHOICES = {"optimizer": OPTIMIZERS, "layer_type": LAYER_TYPES, "lr_schedule": LR_SCHEDULES}  # values by name
MAX_POOLED_LAYERS = 4  # 28 -> 14 -> 7 -> 3 -> 1: a fifth 2x2 pooling leaves nothing
TYPES = ("int", "float", "categorical", "bool")
SPEC_KEYS = {"type", "low", "high", "log", "step", "choices", "per_layer", "when"}
TOP_KEYS = {"name", "description", "params", "model", "starts"}
# Numeric limits per parameter: (smallest, largest), both allowed.
LIMITS = {
    "hidden_layers": (0, 16),
    "units": (1, 65536),
    "filters": (1, 4096),
    "kernel_size": (1, 28),
    "batch_size": (1, 60000),
    "epochs": (1, 1000),
    "decay_epochs": (1, 1000),
    "rate_cuts": (1, 1000),  # each of them: an epoch
    "cut_factor": (1e-6, 1.0),
    "learning_rate": (1e-12, 10.0),
    "learning_rates": (0.0, 10.0),  # each of them: an epoch's rate (an annealed one may reach 0)
    "dropout": (0.0, 0.95),
    "momentum": (0.0, 1.0),
}
INTEGER_PARAMS = {
    "hidden_layers",
    "units",
    "filters",
    "kernel_size",
    "batch_size",
    "epochs",
    "decay_epochs",
    "rate_cuts",
}


class SpaceError(ValueError):
    """A search-space file (or a config file) is broken; the message is one line for the user."""


@dataclasses.dataclass(frozen=True)
class Param:
    """One parameter of a space: a fixed value or a distribution."""

    name: str
    type: str | None = None  # None: fixed
    value: Any = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple = ()
    per_layer: bool = False
    when: tuple[tuple[str, tuple], ...] = ()  # (parameter, allowed values) pairs
    key: str | None = None  # the engines' name for one of several alternatives, e.g. learning_rate_sgd

    @property
    def label(self) -> str:
        """The name engines see: the parameter's own, or its alternative's key."""
        return self.key or self.name

    @property
    def fixed(self) -> bool:
        return self.type is None

    def values(self) -> list | None:
        """Every value it can take, or None when there are too many to list."""
        if self.fixed:
            return [self.value]
        if self.type in ("categorical", "bool"):
            return list(self.choices)
        if self.type == "int" and not self.log:
            return list(range(int(self.low), int(self.high) + 1, int(self.step or 1)))
        return None

    def admits(self, value: Any) -> bool:
        options = self.values()
        if options is not None:
            return value in options
        return isinstance(value, (int, float)) and self.low <= value <= self.high

    def suggest(self, engine: Any, name: str) -> Any:
        """Draw from ``engine``, a :class:`sweep.space.spec.Suggester`."""
        if self.fixed:
            return self.value
        if self.type == "int":
            return engine.int(name, int(self.low), int(self.high), int(self.step or 1), self.log)
        if self.type == "float":
            return engine.float(name, float(self.low), float(self.high), self.step, self.log)
        return engine.categorical(name, list(self.choices))


# Search engines: Optuna's, and KerasTuner's tuners (``sweep.search.tuner.TUNERS`` maps these names to classes;
# tests/test_tuner.py checks that the two agree).
TUNER_NAMES = ("hyperband", "random", "bayesian")
ENGINES = ("optuna", *(f"keras-tuner:{name}" for name in TUNER_NAMES))


def parse_engine(text: str) -> tuple[str, str | None]:
    """'optuna' -> ('optuna', None); 'keras-tuner:random' -> ('keras-tuner', 'random'); bare keras-tuner: hyperband."""
    engine, _, tuner = text.strip().partition(":")
    if (engine, tuner) == ("optuna", ""):
        return "optuna", None
    if engine == "keras-tuner" and (tuner or "hyperband") in TUNER_NAMES:
        return "keras-tuner", tuner or "hyperband"
    raise ValueError(f"engine {text!r} is unknown; expected one of {', '.join(ENGINES)}")
