"""A trial is scored on its best epoch, and `sweep best` + `sweep train` give that score again."""

from __future__ import annotations

import json

import optuna
import pytest
from helpers import SMALL, SPACES, sweep_cli

from sweep.data import compute_baseline, load_split
from sweep.results.export import scored_config
from sweep.space import complete_config
from sweep.training import train

RETRAIN_TOLERANCE = 0.01  # the promise; solo retraining measured exact, fused within 0.002


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
@pytest.mark.parametrize("fuse", [1, 2])
def test_the_best_epoch_is_the_score_and_retraining_stops_there(tmp_path, fuse, schedule):
    url = f"sqlite:///{tmp_path / 'sweep.db'}"
    space = tmp_path / "peaks.yaml"
    space.write_text((SPACES / "peaks.yaml").read_text() + f"  lr_schedule:   {schedule}\n")
    peaks = ["--space", str(space), "--max-train", str(SMALL), "--held-rate"]  # a rate cut would hide the peak
    sweep_cli("run", *peaks, "--trials", "1", "--fuse", str(fuse), "--storage", url, cwd=tmp_path)
    (trial,) = optuna.load_study(study_name="peaks", storage=url).get_trials()
    curve = [trial.intermediate_values[epoch] for epoch in sorted(trial.intermediate_values)]
    best_epoch = trial.user_attrs["best_epoch"]
    assert len(curve) == 10 and trial.value == max(curve) == curve[best_epoch - 1]
    if schedule == "constant":  # annealed, the same model still gains to its last epoch
        assert best_epoch < 10 and curve[-1] < trial.value - RETRAIN_TOLERANCE, "this config overfits: it peaks early"

    table = sweep_cli("table", "--study", "peaks", "--storage", url, "--format", "csv", cwd=tmp_path).stdout
    assert "best_epoch" in table.splitlines()[0]

    best_file = tmp_path / "best.json"
    printed = sweep_cli("best", "--study", "peaks", "--storage", url, "--out", str(best_file), cwd=tmp_path).stdout
    record = json.loads(best_file.read_text())
    assert record["config"]["epochs"] == record["best_epoch"] == best_epoch and f"at epoch {best_epoch}" in printed
    cut_cosine = schedule == "cosine" and best_epoch < 10  # still anneals over the 10 epochs it trained with
    assert record["config"].get("decay_epochs") == (10 if cut_cosine else None)
    out = sweep_cli("train", str(best_file), cwd=tmp_path).stdout  # the study's rows, without being told
    assert f"{best_epoch} epochs" in out and f"the study's {SMALL} training rows" in out
    assert float(out.split("val_accuracy ")[1].split()[0]) == pytest.approx(trial.value, abs=RETRAIN_TOLERANCE)


def test_a_trial_pruned_by_the_deadline_is_a_model_that_best_and_train_give_again(tmp_path):
    """A 1,000-epoch trial cannot end within 40 s: the deadline rule prunes it after its first epochs, and
    the model those epochs made still counts, ranked in the table and retrained by `sweep best` + `train`."""
    url = f"sqlite:///{tmp_path / 'sweep.db'}"
    space = tmp_path / "long.yaml"
    space.write_text((SPACES / "peaks.yaml").read_text().replace("epochs:        10", "epochs:        1000"))
    long = ["--space", str(space), "--max-train", str(SMALL), "--fuse", "2", "--timeout", "40s"]
    compute_baseline(load_split(max_train=SMALL), cross_validated=False)  # cached first: the 40 s go to training
    sweep_cli("run", *long, "--trials", "1", "--storage", url, cwd=tmp_path)
    (trial,) = optuna.load_study(study_name="peaks", storage=url).get_trials()
    assert trial.state.name == "PRUNED" and "--timeout deadline" in trial.user_attrs["fail_reason"]
    curve = [trial.intermediate_values[epoch] for epoch in sorted(trial.intermediate_values)]
    assert 1 <= len(curve) < 1000

    table = sweep_cli("table", "--study", "peaks", "--storage", url, "--format", "json", cwd=tmp_path).stdout
    (row,) = [row for row in json.loads(table) if row["trial"] == trial.number]
    assert row["rank"] is not None and (row["state"], row["val_accuracy"]) == ("PRUNED", pytest.approx(max(curve)))
    assert row["best_epoch"] == curve.index(max(curve)) + 1

    best_file = tmp_path / "best.json"
    printed = sweep_cli("best", "--study", "peaks", "--storage", url, "--out", str(best_file), cwd=tmp_path).stdout
    record = json.loads(best_file.read_text())
    assert (record["state"], record["val_accuracy"]) == ("PRUNED", max(curve)) and "pruned" in printed
    assert record["config"]["epochs"] == row["best_epoch"]
    out = sweep_cli("train", str(best_file), cwd=tmp_path).stdout
    assert float(out.split("val_accuracy ")[1].split()[0]) == pytest.approx(max(curve), abs=RETRAIN_TOLERANCE)


def test_a_cosine_trial_cut_at_its_best_epoch_retrains_to_its_first_epochs():
    split = load_split(max_train=SMALL)
    drawn = {"units": [64], "activation": "relu", "optimizer": "adam", "learning_rate": 0.01, "batch_size": 128}
    config = complete_config({**drawn, "lr_schedule": "cosine", "epochs": 6})
    full = train(config, split, seed=7)
    best = optuna.trial.create_trial(value=full.curve[2], user_attrs={"config": config, "best_epoch": 3})

    cut = scored_config(best)
    assert (cut["epochs"], cut["decay_epochs"]) == (3, 6)
    assert train(cut, split, seed=7).curve == pytest.approx(full.curve[:3], abs=0.002)


def test_train_all_retrains_on_every_row_and_says_the_score_differs(tiny_sweep, tmp_path):
    _, url, _ = tiny_sweep
    best_file = tmp_path / "best.json"
    sweep_cli("best", "--study", "tiny", "--storage", url, "--out", str(best_file), cwd=tmp_path)
    out = sweep_cli("train", str(best_file), "--max-train", "all", cwd=tmp_path).stdout
    assert f"on 48000 training rows, not the study's {SMALL}: the score will differ from the table's" in out
