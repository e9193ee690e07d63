"""--epochs-budget: with a held rate, a trial's epochs are found (early stopping), not drawn."""

from __future__ import annotations

import json

import optuna
import pytest
from helpers import SMALL, SPACES, sweep_cli

from sweep.search.epochs import PATIENCE, budgeted, stalled
from sweep.search.policy import OptionConflict, check_options
from sweep.search.study import first_tries
from sweep.space import load_space

RETRAIN_TOLERANCE = 0.01


def _peaks_with_epochs(tmp_path, schedule: str = "constant"):
    """The peaks config (it overfits 2,000 images: its val_accuracy peaks before epoch 10) with epochs drawn."""
    space = tmp_path / "peaks.yaml"
    drawn = "epochs:        {type: int, low: 2, high: 40}"
    text = (SPACES / "peaks.yaml").read_text().replace("epochs:        10", drawn)
    space.write_text(text + f"  lr_schedule:   {schedule}\nstarts:\n  - {{epochs: 3}}\n")
    return space


@pytest.mark.parametrize("fuse", [1, 2])
def test_a_budgeted_trial_stops_after_its_peak_and_its_best_epoch_is_its_epochs(tmp_path, fuse):
    url = f"sqlite:///{tmp_path / 'sweep.db'}"
    space = ["--space", str(_peaks_with_epochs(tmp_path)), "--max-train", str(SMALL), "--storage", url]
    sweep_cli("run", *space, "--trials", "1", "--fuse", str(fuse), "--epochs-budget", cwd=tmp_path)
    (trial,) = optuna.load_study(study_name="peaks", storage=url).get_trials()
    curve = [trial.intermediate_values[epoch] for epoch in sorted(trial.intermediate_values)]
    best_epoch = trial.user_attrs["best_epoch"]
    assert "epochs" not in trial.params and trial.user_attrs["config"]["epochs"] == 40  # a budget, not a draw
    assert trial.state.name == "COMPLETE" and trial.value == max(curve) == curve[best_epoch - 1]
    assert len(curve) == best_epoch + PATIENCE < 40  # stopped early: PATIENCE epochs brought nothing better

    best_file = tmp_path / "best.json"
    sweep_cli("best", "--study", "peaks", "--storage", url, "--out", str(best_file), cwd=tmp_path)
    record = json.loads(best_file.read_text())
    assert record["config"]["epochs"] == record["best_epoch"] == best_epoch
    out = sweep_cli("train", str(best_file), cwd=tmp_path).stdout
    assert float(out.split("val_accuracy ")[1].split()[0]) == pytest.approx(trial.value, abs=RETRAIN_TOLERANCE)


def test_the_budget_is_the_spaces_most_epochs_and_starts_lose_their_epochs(tmp_path):
    budget = budgeted(load_space(_peaks_with_epochs(tmp_path)))
    assert budget.params["epochs"].fixed and budget.params["epochs"].value == 40
    assert budget.starts == ()  # its one start fixed nothing but epochs

    mlp = budgeted(load_space("mlp"))
    earlier = {"hidden_layers": 1, "units": [64], "activation": "relu", "dropout": 0.1, "batch_size": 128,
               "epochs": 7, "optimizer": "adam", "learning_rate": 0.001}  # fmt: skip
    ((_, _, values),) = first_tries(mlp, (earlier,))  # a warm start's best is still tried first
    assert "epochs" not in values and values["units_0"] == 64 and mlp.params["epochs"].value == 30


@pytest.mark.parametrize(
    "space",
    ["notes", SPACES / "residual.yaml"],  # an annealed rate: epochs shape the schedule; epochs fixed by the file
)
def test_epochs_stay_drawn_where_they_are_not_a_budget(space):
    assert budgeted(load_space(space)) is None


def test_the_budget_on_an_annealed_space_is_refused_in_one_line(tmp_path):
    run = sweep_cli("run", "--space", "notes", "--epochs-budget", "--trials", "1", cwd=tmp_path, check=False)
    assert run.returncode == 2 and "--epochs-budget needs" in run.stderr and "'notes'" in run.stderr
    assert run.stderr.strip().count("\n") == 0 and not (tmp_path / "results" / "sweep.db").exists()


@pytest.mark.parametrize(
    ("curve", "stops"),
    [([0.5, 0.6] + [0.6] * 5, True), ([0.5, 0.6] + [0.59] * 4, False), ([0.5] * 6 + [0.51], False), ([], False)],
)
def test_a_trial_stalls_when_patience_epochs_bring_nothing_better(curve, stops):
    assert stalled(curve, PATIENCE) == stops


def test_keras_tuner_refuses_the_budget_in_one_line():
    with pytest.raises(OptionConflict, match="--epochs-budget"):
        check_options("keras-tuner", "median", None, epochs_budget=True)
