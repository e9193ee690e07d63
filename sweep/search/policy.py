"""Search policy: which sampler proposes trials and which pruner stops them, chosen by name."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI reads SAMPLERS and PRUNERS at start-up: nothing heavy here
    from sweep.space import SearchSpace

SAMPLERS = ("tpe", "tpe-multivariate", "random")
PRUNERS = ("median", "hyperband", "none")


def make_sampler(name: str, seed: int, parallel: bool = False):
    """``parallel``: trials are asked while others run (fused groups), so TPE lies about the
    running ones (``constant_liar``) and does not propose the same point K times.
    ``tpe-multivariate``: TPE models the parameters jointly (``multivariate``), in groups of those that
    appear together (``group``: the units of each depth)."""
    import optuna

    if name in ("tpe", "tpe-multivariate"):
        joint = name == "tpe-multivariate"
        with warnings.catch_warnings():  # multivariate and group are "experimental" in Optuna's words
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.TPESampler(seed=seed, constant_liar=parallel, multivariate=joint, group=joint)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    raise ValueError(f"sampler {name!r} is unknown; expected one of {', '.join(SAMPLERS)}")


def make_pruner(name: str, max_epochs: int):
    import optuna

    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=1)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max_epochs, reduction_factor=3)
    if name == "none":
        return optuna.pruners.NopPruner()
    raise ValueError(f"pruner {name!r} is unknown; expected one of {', '.join(PRUNERS)}")


def max_epochs(space: SearchSpace) -> int:
    epochs = space.params.get("epochs")
    if epochs is None:
        return 5
    return int(epochs.value if epochs.fixed else max(epochs.values() or [epochs.high]))
