"""Population-based training in a fused group (``--pbt``): a pruned trial's place goes to a copy of the leader,
whose record `sweep train` replays."""

from __future__ import annotations

import json
import random

import optuna
import pytest
from helpers import SMALL, sweep_cli

import sweep
from sweep.results.export import trial_record
from sweep.search.pbt import MIN_EPOCHS_LEFT, child_params, child_rates, pick_leader
from sweep.training import Branch, epoch_learning_rates

RETRAIN_TOLERANCE = 0.01

# A leader, a trial the hopeless rule prunes after 2 epochs (plain SGD at 1e-5) and a weaker one that completes
# after 2 epochs: the study's best then, which the leader is ahead of.
SPACE = """
name: pbt
description: Two starts, one hopeless, for the PBT test.
params:
  hidden_layers: 1
  units:         {type: int, low: 16, high: 64, log: true, per_layer: true}
  activation:    {type: categorical, choices: [relu, sigmoid]}
  batch_size:    64
  epochs:        {type: int, low: 2, high: 6}
  optimizer:     {type: categorical, choices: [adam, sgd]}
  learning_rate: {type: float, low: 1.0e-5, high: 1.0e-2, log: true}
starts:
  - {units: [64], activation: relu, optimizer: adam, learning_rate: 0.003, epochs: 6}
  - {units: [16], activation: sigmoid, optimizer: sgd, learning_rate: 1.0e-5, epochs: 6}
  - {units: [16], activation: sigmoid, optimizer: adam, learning_rate: 1.0e-4, epochs: 2}
"""


def test_a_pruned_trials_place_goes_to_a_copy_of_the_leader_and_sweep_train_replays_it(tmp_path):
    space, url = tmp_path / "pbt.yaml", f"sqlite:///{tmp_path / 'sweep.db'}"
    space.write_text(SPACE)
    sweep_cli("run", "--space", str(space), "--trials", "4", "--fuse", "3", "--pbt", "--max-train", str(SMALL),
              "--storage", url, cwd=tmp_path)  # fmt: skip
    study = optuna.load_study(study_name="pbt", storage=url)
    leader, hopeless, weaker, child = study.get_trials()
    assert hopeless.state.name == "PRUNED" and len(hopeless.intermediate_values) == 2
    assert weaker.state.name == "COMPLETE" and max(leader.intermediate_values.values()) > weaker.value
    assert child.user_attrs["pbt_parent"] == leader.number and child.user_attrs["pbt_epoch"] == 2
    assert child.state.name == "COMPLETE" and len(child.intermediate_values) == 6
    assert [child.intermediate_values[epoch] for epoch in (1, 2)] == [leader.intermediate_values[e] for e in (1, 2)]
    ratio = child.params["learning_rate"] / leader.params["learning_rate"]
    assert ratio in (pytest.approx(0.8), pytest.approx(1.25))
    assert {key: value for key, value in child.params.items() if key != "learning_rate"} == {
        key: value for key, value in leader.params.items() if key != "learning_rate"
    }
    rates = child.user_attrs["config"]["learning_rates"]
    assert rates[:2] == [leader.params["learning_rate"]] * 2 and len(rates) == 6
    assert child.user_attrs["seed"] == leader.user_attrs["seed"]
    assert child.user_attrs["data_order"] == leader.user_attrs["data_order"]

    table = sweep.load("pbt", url).table()  # the child's leader and epoch, not its 6 rates
    assert "learning_rates" not in table.columns
    assert table.set_index("trial").loc[child.number, ["pbt_parent", "pbt_epoch"]].tolist() == [leader.number, 2]

    record = tmp_path / "child.json"
    record.write_text(json.dumps(trial_record(study, child)))
    out = sweep_cli("train", str(record), cwd=tmp_path).stdout
    assert float(out.split("val_accuracy ")[1].split()[0]) == pytest.approx(child.value, abs=RETRAIN_TOLERANCE)


def test_pbt_needs_optunas_fused_groups(tmp_path):
    run = sweep_cli("run", "--trials", "1", "--fuse", "1", "--pbt", cwd=tmp_path, check=False)
    assert run.returncode == 2 and "--pbt" in run.stderr and "--fuse 1" in run.stderr


def test_a_child_moves_the_rate_within_the_spaces_range():
    drawn = {"learning_rate": optuna.distributions.FloatDistribution(1e-4, 1e-2, log=True)}
    for seed in range(20):
        params = child_params({"units_0": 32, "learning_rate": 0.009}, drawn, random.Random(seed))
        assert params["learning_rate"] in (pytest.approx(0.0072), 0.01) and params["units_0"] == 32  # 0.01: the top
    assert child_params({"learning_rate": 0.01}, drawn, random.Random(0)) == {"learning_rate": 0.008}
    assert child_params({"units_0": 32}, {}, random.Random(0)) is None  # the space draws no rate


def test_a_childs_rates_are_its_leaders_then_the_leaders_schedule_scaled():
    cosine = {"learning_rate": 0.01, "epochs": 4, "lr_schedule": "cosine"}
    rates = child_rates(cosine, 0.0125, at_epoch=2)
    annealed = epoch_learning_rates(cosine)
    assert rates == pytest.approx([*annealed[:2], *(1.25 * rate for rate in annealed[2:])])
    assert epoch_learning_rates({**cosine, "learning_rates": rates}) == rates  # training reads the list as it is
    assert child_rates({"learning_rate": 0.01, "epochs": 3}, 0.008, at_epoch=1) == pytest.approx([0.01, 0.008, 0.008])


def test_the_leader_is_the_best_branch_now_with_epochs_to_go():
    def branch(number: int, curve: list[float], epochs: int = 6) -> Branch:
        return Branch(optuna.trial.FixedTrial({}, number=number), f"trial_{number}", {"epochs": epochs}, 0, curve=curve)

    best = {1: 0.80, 2: 0.82, 3: 0.84}  # the study's best trial, epoch by epoch
    strong, weak = branch(0, [0.80, 0.82, 0.85]), branch(1, [0.82, 0.83, 0.83])
    assert pick_leader([weak, strong], set(), best) is strong
    assert pick_leader([weak, strong], {(0, 3)}, best) is None  # it had its child at this epoch
    assert pick_leader([weak], set(), best) is None  # the best running trial is behind the study's best
    near_its_end = branch(3, [0.9] * 5)
    assert (
        near_its_end.config["epochs"] - 5 < MIN_EPOCHS_LEFT and pick_leader([near_its_end, weak], set(), best) is None
    )
