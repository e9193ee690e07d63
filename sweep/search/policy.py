"""Search policy: which sampler proposes trials and which pruner stops them, chosen by name."""

from __future__ import annotations

from sweep.space import SearchSpace


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


def max_epochs(space: SearchSpace) -> int:
    epochs = space.params.get("epochs")
    if epochs is None:
        return 5
    return int(epochs.value if epochs.fixed else max(epochs.values() or [epochs.high]))
