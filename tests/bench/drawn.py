"""Configs drawn from a space with Optuna's seeded random sampler: the benchmarks' shared workload.

Mixed batch sizes, optimizers, widths and depths, not one lucky shape. ``max_epochs`` caps the
epochs so a benchmark fits its budget; the drawn epochs stay mixed below the cap.
"""

from __future__ import annotations

import optuna

from sweep.search.driver import OptunaSuggester
from sweep.space.spec import load_space


def draw_params(count: int, space: str = "notes", seed: int = 0, max_epochs: int | None = None) -> list[dict]:
    """``count`` Optuna param dicts (``units_0``, ...), ready for ``study.enqueue_trial``."""
    return [params for params, _ in _draw(count, space, seed, max_epochs)]


def draw_configs(count: int, space: str = "notes", seed: int = 0, max_epochs: int | None = None) -> list[dict]:
    """The same draws as trial configs (``units: [...]``), ready for the trainers."""
    return [config for _, config in _draw(count, space, seed, max_epochs)]


def _draw(count: int, space: str, seed: int, max_epochs: int | None) -> list[tuple[dict, dict]]:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    loaded = load_space(space)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    drawn = []
    for _ in range(count):
        trial = study.ask()
        config = loaded.sample(OptunaSuggester(trial))
        params = dict(trial.params)
        if max_epochs and "epochs" in params:
            params["epochs"] = config["epochs"] = 1 + (params["epochs"] - 1) % max_epochs  # mixed, 1..max_epochs
        drawn.append((params, config))
        study.tell(trial, 0.0)
    return drawn
