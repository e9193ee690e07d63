"""Local search around the best model: a share of the sampler's trials are neighbours of the study's best trial.

TPE models each parameter on its own from the few trials it counts as good, and it counts every completed trial
above every pruned one: with three completed trials, a sigmoid net at 0.858 steers its draws as much as the best
model does. Where the best model is a good start (the space's centre often is), its neighbours are the likeliest
better models. So, once a trial has made a model, every trial whose turn falls in ``NEAR_SHARE`` takes each of
its parameters from the best trial so far (sweep's score: pruned trials at their best epoch, as the table ranks
them), moved by a step: a numeric one by a normal step of ``STEP`` of its range (on a log scale where the range
is one), a categorical one to another choice with probability ``SWITCH``. A parameter the best trial does not
have (the units of a layer it lacks) is TPE's draw. The trial records the best trial it was drawn near
(``system_attrs["sweep:near"]``). The neighbours are ordinary trials, drawn before training, so ``sweep train``
retrains them as any other.
"""

from __future__ import annotations

import math
import random
from typing import Any

from sweep.results import best_trial

NEAR_SHARE = 0.5  # the share of drawn trials that are the best trial's neighbours
STEP = 0.15  # a numeric parameter's step: a normal one whose sd is this share of its (log) range
SWITCH = 0.2  # a categorical parameter's chance of another choice
NEAR_ATTR = "sweep:near"


def near_the_best(base, seed: int):
    """``base`` (an Optuna sampler) with a share of its trials drawn near the study's best trial."""
    import optuna

    class NearTheBest(optuna.samplers.BaseSampler):
        def __init__(self):
            self.rng = random.Random(seed)
            self.anchors: dict[int, dict[str, Any] | None] = {}  # trial number -> the best trial's params

        def infer_relative_search_space(self, study, trial):
            return base.infer_relative_search_space(study, trial)

        def sample_relative(self, study, trial, search_space):
            return {} if self._anchor(study, trial) else base.sample_relative(study, trial, search_space)

        def sample_independent(self, study, trial, param_name, param_distribution):
            anchor = self._anchor(study, trial)
            if not anchor or param_name not in anchor:
                return base.sample_independent(study, trial, param_name, param_distribution)
            return neighbour(anchor[param_name], param_distribution, self.rng)

        def before_trial(self, study, trial):
            base.before_trial(study, trial)

        def after_trial(self, study, trial, state, values):
            self.anchors.pop(trial.number, None)
            base.after_trial(study, trial, state, values)

        def reseed_rng(self):
            self.rng.seed()
            base.reseed_rng()

        def _anchor(self, study, trial) -> dict[str, Any] | None:
            """The params this trial is drawn near, chosen once per trial: None for the base sampler's draws."""
            if trial.number not in self.anchors:
                self.anchors[trial.number] = self._choose_anchor(study, trial)
            return self.anchors[trial.number]

        def _choose_anchor(self, study, trial) -> dict[str, Any] | None:
            if self.rng.random() >= NEAR_SHARE:
                return None
            best = best_trial(study.get_trials(deepcopy=False))
            if best is None or not best.params:
                return None
            study._storage.set_trial_system_attr(trial._trial_id, NEAR_ATTR, best.number)
            return dict(best.params)

    return NearTheBest()


def neighbour(value: Any, distribution, rng: random.Random) -> Any:
    """A value near ``value`` within ``distribution`` (an Optuna distribution)."""
    from optuna.distributions import CategoricalDistribution

    if isinstance(distribution, CategoricalDistribution):
        return _another_choice(value, list(distribution.choices), rng)
    low, high, log = distribution.low, distribution.high, distribution.log
    scale = (lambda x: math.log(x)) if log else (lambda x: x)
    start = scale(min(max(value, low), high))
    moved = start + rng.gauss(0.0, STEP * (scale(high) - scale(low)))
    moved = min(max(moved, scale(low)), scale(high))
    return _on_grid(math.exp(moved) if log else moved, distribution)


def _another_choice(value: Any, choices: list, rng: random.Random) -> Any:
    """``value``, or with probability ``SWITCH`` another choice: a neighbouring one where the choices are numbers
    (batch sizes), any other where they are names."""
    if value in choices and (len(choices) == 1 or rng.random() >= SWITCH):
        return value
    if value in choices and all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in choices):
        ordered = sorted(choices)
        at = ordered.index(value)
        return ordered[min(max(at + rng.choice((-1, 1)), 0), len(ordered) - 1)]
    return rng.choice([choice for choice in choices if choice != value] or choices)


def _on_grid(value: float, distribution) -> Any:
    """``value`` on the distribution's grid (its step, integers), within its bounds."""
    from optuna.distributions import IntDistribution

    step = distribution.step
    if step:
        value = distribution.low + step * round((value - distribution.low) / step)
    if isinstance(distribution, IntDistribution):
        value = int(round(value))
    return min(max(value, distribution.low), distribution.high)
