"""Population-based training inside a fused group (``--pbt``): a place the pruner frees goes to a copy of the
group's leading branch, not to a fresh draw.

PBT (Jaderberg et al. 2017, arXiv 1711.09846) trains a population and has a weak member *exploit* a strong
one (take its weights) and *explore* (perturb its hyperparameters). Optuna declined it (optuna#287) for want of
shared snapshots, and no Keras tuner offers it (keras-tuner#410); the branches of a fused group share one
process, so a copy costs an assignment. Sweep's median rule already finds the weak members: when it prunes one,
its place goes to a *child* of the group's leader, with the leader's weights and optimizer state at that epoch
and the leader's rate times 0.8 or 1.25 (PBT's perturbation) from the next epoch on.

A child is an ordinary Optuna trial. Its params are the leader's with the new rate; its reports begin with the
leader's curve, since its model is the leader's up to there; its seed and data order are the leader's; and its
config holds the rate of every epoch (``learning_rates``): the leader's, then its own. So ``sweep best`` writes
the whole schedule and ``sweep train`` replays it: the leader's model, with the rate switched where the child's
began (``sweep.training.epoch_learning_rates``).
"""

from __future__ import annotations

import random
from typing import Any

from sweep.search.policy import leads
from sweep.training import epoch_learning_rates

PERTURB = (0.8, 1.25)  # PBT's explore step: the rate times one of these
MIN_EPOCHS_LEFT = 2  # a leader closer to its end has no child: too little is left to explore


def pick_leader(branches, had_a_child: set[tuple[int, int]], best_curve: dict[int, float]):
    """The running branch with the best val_accuracy at its last epoch, if it is level with the study's best
    trial at equal epochs (``policy.leads`` from the first epoch: PBT copies only the strongest), has
    ``MIN_EPOCHS_LEFT`` epochs to go and no child yet at this epoch (one child per leader per epoch); None
    otherwise. In a first run without the first test, the only trial left in a group, at 0.11, had a child."""
    trained = [branch for branch in branches if branch.live and branch.curve]
    if not trained:
        return None
    leader = max(trained, key=lambda branch: branch.curve[-1])
    fresh = (leader.handle.number, len(leader.curve)) not in had_a_child
    time_left = leader.config["epochs"] - len(leader.curve) >= MIN_EPOCHS_LEFT
    return leader if fresh and time_left and leads(leader.curve, best_curve, after=1) else None


def child_params(params: dict[str, Any], distributions: dict[str, Any], rng: random.Random) -> dict | None:
    """The leader's params with its drawn learning rate times 0.8 or 1.25, kept within the space's range (the
    other factor where one would leave it); None where the space draws no rate, or neither factor moves it."""
    name = next((key for key in params if key == "learning_rate" or key.startswith("learning_rate_")), None)
    if name is None:
        return None
    rate, low, high = params[name], distributions[name].low, distributions[name].high
    for factor in rng.sample(PERTURB, len(PERTURB)):
        moved = min(max(rate * factor, low), high)
        if moved != rate:
            return {**params, name: moved}
    return None


def child_rates(leader_config: dict[str, Any], rate: float, at_epoch: int) -> list[float]:
    """Every epoch's rate for a child that took the leader's model after ``at_epoch`` epochs: the leader's rates
    up to there, then the leader's schedule scaled by the child's rate over the leader's."""
    epochs = leader_config["epochs"]
    leader = epoch_learning_rates(leader_config) or [leader_config["learning_rate"]] * epochs
    factor = rate / leader_config["learning_rate"]
    return [*leader[:at_epoch], *(value * factor for value in leader[at_epoch:])]
