"""Rate cuts: a held learning rate is cut on a plateau, recorded in the trial, and replayed by `sweep train`."""

from __future__ import annotations

import json

import optuna
import pytest
from helpers import SMALL, SPACES, sweep_cli

from sweep.search.plateau import PLATEAU_EPOCHS, cut_on_plateau, plateaued
from sweep.search.policy import OptionConflict, check_options
from sweep.space import SpaceError, check_config
from sweep.training import epoch_learning_rates

RETRAIN_TOLERANCE = 0.01


def _peaks(tmp_path, epochs: int = 16):
    """The peaks config (Adam at 0.01 on 2,000 images: it stalls within a few epochs), trained longer."""
    space = tmp_path / "peaks.yaml"
    space.write_text((SPACES / "peaks.yaml").read_text().replace("epochs:        10", f"epochs:        {epochs}"))
    return space


def _run_one(tmp_path, *options: str):
    url = f"sqlite:///{tmp_path / 'sweep.db'}"
    space = ["--space", str(_peaks(tmp_path)), "--max-train", str(SMALL), "--storage", url]
    sweep_cli("run", *space, "--trials", "1", *options, cwd=tmp_path)
    (trial,) = optuna.load_study(study_name="peaks", storage=url).get_trials()
    return trial, url


@pytest.mark.parametrize("fuse", [1, 2])
def test_a_stalled_trial_has_its_rate_cut_and_sweep_train_replays_the_cuts(tmp_path, fuse):
    trial, url = _run_one(tmp_path, "--fuse", str(fuse))
    curve = [trial.intermediate_values[epoch] for epoch in sorted(trial.intermediate_values)]
    cuts = trial.user_attrs["config"]["rate_cuts"]
    assert cuts and trial.user_attrs["config"]["cut_factor"] == 0.3
    for index, cut in enumerate(cuts):  # each cut came after PLATEAU_EPOCHS epochs without a better score
        assert plateaued(curve[:cut], cuts[:index]) and not plateaued(curve[: cut - 1], cuts[:index])

    best_file = tmp_path / "best.json"
    sweep_cli("best", "--study", "peaks", "--storage", url, "--out", str(best_file), cwd=tmp_path)
    config = json.loads(best_file.read_text())["config"]
    assert config["rate_cuts"] == [cut for cut in cuts if cut < config["epochs"]] != []  # the best came after a cut
    out = sweep_cli("train", str(best_file), cwd=tmp_path).stdout
    assert float(out.split("val_accuracy ")[1].split()[0]) == pytest.approx(trial.value, abs=RETRAIN_TOLERANCE)


def test_held_rate_trains_as_the_space_says(tmp_path):
    trial, _ = _run_one(tmp_path, "--fuse", "2", "--held-rate")
    assert len(trial.intermediate_values) == 16 and "rate_cuts" not in trial.user_attrs["config"]


@pytest.mark.parametrize(
    ("curve", "cuts", "cut"),
    [
        ([0.5, 0.6, 0.6, 0.59], [], True),  # two epochs since the best
        ([0.5, 0.6, 0.61, 0.59], [], False),  # one
        ([0.5, 0.6, 0.6, 0.59, 0.58], [4], False),  # one since the last cut
        ([0.5, 0.6, 0.6, 0.59, 0.58, 0.57], [4], True),  # two since the last cut
        ([], [], False),
    ],
)
def test_a_plateau_is_patience_epochs_without_a_better_score_since_the_best_or_the_last_cut(curve, cuts, cut):
    assert PLATEAU_EPOCHS == 2 and plateaued(curve, cuts) == cut


def test_a_cut_is_recorded_where_it_can_change_an_epoch():
    held = {"learning_rate": 0.01, "epochs": 5}
    assert cut_on_plateau(held, [0.5, 0.6, 0.6, 0.6]) and held["rate_cuts"] == [4]
    assert epoch_learning_rates(held) == pytest.approx([0.01, 0.01, 0.01, 0.01, 0.003])
    assert not cut_on_plateau(held, [0.5, 0.6, 0.6, 0.6, 0.6])  # the last epoch: nothing left to cut for
    annealed = {"learning_rate": 0.01, "epochs": 5, "lr_schedule": "cosine"}
    assert not cut_on_plateau(annealed, [0.5, 0.6, 0.6]) and "rate_cuts" not in annealed


def test_rates_follow_every_cut_so_far():
    config = {"learning_rate": 0.1, "epochs": 6, "rate_cuts": [2, 4], "cut_factor": 0.5}
    assert epoch_learning_rates(config) == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025, 0.025])
    assert epoch_learning_rates({"learning_rate": 0.1, "epochs": 3}) is None  # held, never cut


def test_a_config_file_with_cuts_that_are_not_a_list_is_refused_in_one_line(tmp_path):
    config = {"hidden_layers": 1, "units": [64], "epochs": 5, "rate_cuts": 3}
    with pytest.raises(SpaceError, match="'rate_cuts': expected a list of the epochs"):
        check_config(config, tmp_path / "best.json")
    check_config({**config, "rate_cuts": [3], "cut_factor": 0.3}, tmp_path / "best.json")  # as `sweep best` writes


def test_rate_cuts_where_they_would_cut_nothing_are_refused_in_one_line(tmp_path):
    run = sweep_cli("run", "--space", "notes", "--rate-cuts", "--trials", "1", cwd=tmp_path, check=False)
    assert run.returncode == 2 and "--rate-cuts cuts a held learning rate" in run.stderr and "'notes'" in run.stderr
    assert run.stderr.strip().count("\n") == 0 and not (tmp_path / "results" / "sweep.db").exists()
    with pytest.raises(OptionConflict, match="--rate-cuts trains Optuna's trials"):
        check_options("keras-tuner", "median", None, rate_cuts=True)
