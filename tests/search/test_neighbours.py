"""Local search around the best model: a share of TPE's trials are drawn near the study's best trial, within
the space, and say which trial they were drawn near."""

from __future__ import annotations

import random

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from sweep.search.neighbours import NEAR_ATTR, NEAR_SHARE, neighbour
from sweep.search.policy import make_sampler

DISTRIBUTIONS = [
    (IntDistribution(32, 1024, log=True), 128),
    (IntDistribution(1, 4), 4),
    (FloatDistribution(0.0, 0.5, step=0.05), 0.0),
    (FloatDistribution(1e-4, 1e-2, log=True), 1e-3),
    (CategoricalDistribution([32, 64, 128, 256]), 256),
    (CategoricalDistribution(["sgd", "adam", "rmsprop"]), "adam"),
]


@pytest.mark.parametrize(("distribution", "best"), DISTRIBUTIONS)
def test_a_neighbour_is_a_value_the_space_could_draw_and_mostly_near_the_best(distribution, best):
    rng = random.Random(0)
    drawn = [neighbour(best, distribution, rng) for _ in range(500)]
    internal = [distribution.to_internal_repr(value) for value in drawn]
    assert all(distribution._contains(value) for value in internal)
    assert len(set(drawn)) > 1  # it moves ...
    if isinstance(distribution, CategoricalDistribution):
        assert drawn.count(best) > 0.6 * len(drawn)  # ... a choice mostly stays
        if isinstance(best, int):  # batch sizes move to the neighbouring size
            assert set(drawn) <= {128, 256}
    else:
        spread = sorted(abs(value - best) for value in drawn)
        assert spread[len(spread) // 2] < 0.25 * (distribution.high - distribution.low)  # ... by a step


def objective(trial) -> float:
    width = trial.suggest_int("width", 16, 512, log=True)
    rate = trial.suggest_float("rate", 1e-4, 1e-1, log=True)
    kind = trial.suggest_categorical("kind", ["a", "b", "c"])
    for epoch in (1, 2):
        trial.report(width / 512 - abs(rate - 0.01) + (kind == "b"), epoch)
    return width / 512 - abs(rate - 0.01) + (kind == "b")


def test_about_half_the_drawn_trials_are_neighbours_of_the_best_trial_so_far():
    study = optuna.create_study(direction="maximize", sampler=make_sampler("tpe", seed=3, parallel=True))
    study.enqueue_trial({"width": 64, "rate": 0.01, "kind": "b"})  # a centre that is the best for a while
    study.optimize(objective, n_trials=80)
    drawn = study.trials[1:]
    near = [trial for trial in drawn if NEAR_ATTR in trial.system_attrs]
    assert abs(len(near) / len(drawn) - NEAR_SHARE) < 0.2
    anchors = {trial.system_attrs[NEAR_ATTR] for trial in near}
    assert 0 in anchors  # the centre, before anything beat it
    for trial in near:
        best = study.trials[trial.system_attrs[NEAR_ATTR]]
        assert best.number < trial.number and best.state.is_finished()
    kept = sum(trial.params["kind"] == study.trials[trial.system_attrs[NEAR_ATTR]].params["kind"] for trial in near)
    assert kept > 0.6 * len(near)


def test_before_any_trial_made_a_model_every_trial_is_tpes():
    study = optuna.create_study(direction="maximize", sampler=make_sampler("tpe", seed=3, parallel=True))
    asked = [study.ask() for _ in range(4)]
    for trial in asked:
        objective(trial)
    assert not any(NEAR_ATTR in trial.system_attrs for trial in study.get_trials(deepcopy=False))
