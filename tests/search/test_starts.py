"""Configs tried first: a space's `starts:` and `sweep run --warm-start STUDY`."""

from __future__ import annotations

import json

import optuna
import pytest
import yaml
from click.testing import CliRunner
from helpers import SMALL, SPACES, sweep_cli

from sweep.cli import main
from sweep.results.export import trial_record
from sweep.search.study import enqueue_starts
from sweep.space import centre_values, load_space

START = {"hidden_layers": 2, "units": [64, 16], "activation": "tanh", "optimizer": "adam", "epochs": 1}


def tiny_with_starts(folder, starts) -> str:
    document = yaml.safe_load((SPACES / "tiny.yaml").read_text())
    path = folder / "tiny-starts.yaml"
    path.write_text(yaml.safe_dump({**document, "starts": starts}))
    return str(path)


BROKEN_STARTS = [
    ({"neurons": 3}, "'neurons' is not a parameter of this space"),
    ({"epochs": 7}, "epochs 7 is outside the space, which draws from [1, 2]"),
    ({"learning_rate": 0.5}, "learning_rate 0.5 is outside the space, which draws from [0.001, 0.01]"),
    ({"activation": "sigmoid"}, "activation 'sigmoid' is outside the space, which draws from ['relu', 'tanh']"),
    ({"hidden_layers": 2, "units": [64]}, "'units' needs one value per hidden layer"),
    ({"units": [32]}, "'units' needs one value per hidden layer, and hidden_layers with it"),
]


@pytest.mark.parametrize(("start", "message"), BROKEN_STARTS, ids=[m for _, m in BROKEN_STARTS])
def test_a_start_the_space_could_never_draw_is_refused_in_one_line(tmp_path, start, message):
    path = tiny_with_starts(tmp_path, [START, start])
    result = CliRunner().invoke(main, ["space", "show", path])
    assert result.exit_code == 2, result.output
    line = result.output.strip()
    assert "\n" not in line and f"{path}: starts[1]" in line and message in line


def test_starts_must_be_a_list_of_configs(tmp_path):
    result = CliRunner().invoke(main, ["space", "show", tiny_with_starts(tmp_path, {"epochs": 1})])
    assert result.exit_code == 2 and "'starts' must be a list of configs" in result.output


def test_the_notes_start_with_their_own_two_models_then_a_wide_net():
    (reference, relu, wide) = load_space("notes").starts
    assert (reference["activation"], reference["optimizer"], reference["epochs"]) == ("sigmoid", "rmsprop", 5)
    assert (relu["activation"], relu["optimizer"], relu["epochs"]) == ("relu", "adam", 20)
    assert (wide["units"], wide["batch_size"], wide["epochs"]) == ([512, 512], 128, 12)


@pytest.mark.parametrize("fuse", [1, 2])
def test_starts_run_first_then_the_sampler_draws(tmp_path, fuse):
    url = f"sqlite:///{tmp_path / 'sweep.db'}"
    space = tiny_with_starts(tmp_path, [START])
    sweep_cli("run", "--space", space, "--trials", "3", "--fuse", str(fuse), "--max-train", str(SMALL),
              "--storage", url, cwd=tmp_path)  # fmt: skip
    first, *drawn = optuna.load_study(study_name="tiny", storage=url).get_trials()
    assert first.user_attrs["start"] == 0
    config = first.user_attrs["config"]
    assert {name: config[name] for name in START} == START  # what the start left out was drawn
    assert 1e-3 <= config["learning_rate"] <= 1e-2 and config["batch_size"] in (128, 256)
    assert len(drawn) == 2 and not any(trial.user_attrs.keys() & {"start", "centre"} for trial in drawn)
    if fuse > 1:  # the start trains in a group of its own; the sampler's trials join when it is done
        assert all(trial.user_attrs["data_order"]["first_epoch"] == START["epochs"] for trial in drawn)


def test_a_space_without_starts_begins_with_its_centre_whose_first_epochs_answer_first(tmp_path):
    url = f"sqlite:///{tmp_path / 'sweep.db'}"
    space = str(SPACES / "tiny.yaml")
    run = sweep_cli("run", "--space", space, "--trials", "4", "--fuse", "2", "--max-train", str(SMALL),
                    "--storage", url, cwd=tmp_path)  # fmt: skip
    assert "tried first: centre 0 (its model at 1 epoch told first)" in run.stderr
    study = optuna.load_study(study_name="tiny", storage=url)
    centre, rung, *drawn = study.get_trials()
    assert centre.user_attrs["centre"] == 0 and centre.params == centre_values(load_space(space))
    assert centre.user_attrs["first_rung"] == 1  # the space's fewest epochs
    assert (centre.params["optimizer"], centre.params["learning_rate"]) == ("adam", 0.001)
    # the centre's model at the space's fewest epochs, told as a trial of its own before the centre ends
    assert rung.user_attrs["rung_of"] == centre.number and rung.params == {**centre.params, "epochs": 1}
    assert rung.intermediate_values == {1: centre.intermediate_values[1]} and rung.value == rung.intermediate_values[1]
    assert rung.datetime_complete < centre.datetime_complete
    same = ("seed", "data_order")  # the very model: `sweep train` retrains it so
    assert [rung.user_attrs[key] for key in same] == [centre.user_attrs[key] for key in same]
    # the centre trains alone; the sampler's trials join when it is done
    assert len(drawn) == 2 and not any(trial.user_attrs.keys() & {"centre", "first_rung"} for trial in drawn)
    assert all(trial.user_attrs["data_order"]["first_epoch"] == centre.params["epochs"] for trial in drawn)
    # `sweep train` retrains it as the short trial it stands for: one epoch, the cosine over the centre's two
    record = tmp_path / "rung.json"
    record.write_text(json.dumps(trial_record(study, rung)))
    assert trial_record(study, rung)["config"]["decay_epochs"] == centre.params["epochs"]
    out = sweep_cli("train", str(record), cwd=tmp_path).stdout
    assert float(out.split("val_accuracy ")[1].split()[0]) == pytest.approx(rung.value, abs=0.01)


def test_no_first_rung_where_epochs_are_fixed_or_one_trial_is_asked(tmp_path):
    fixed = tmp_path / "fixed.yaml"
    fixed.write_text(
        (SPACES / "tiny.yaml").read_text().replace("epochs:        {type: int, low: 1, high: 2}", "epochs: 2")
    )
    assert [origin for origin, _ in enqueue_starts(optuna.create_study(), load_space(fixed))] == ["centre"]
    one = enqueue_starts(optuna.create_study(), load_space(SPACES / "tiny.yaml"), most=1)
    assert [origin for origin, _ in one] == ["centre"]  # a run of one trial trains the centre


def test_keras_tuner_draws_its_own_first_trial(tmp_path):
    url = f"sqlite:///{tmp_path / 'sweep.db'}"
    sweep_cli("run", "--space", str(SPACES / "tiny.yaml"), "--engine", "keras-tuner", "--tuner", "random",
              "--trials", "1", "--max-train", str(SMALL), "--storage", url, cwd=tmp_path)  # fmt: skip
    (first,) = optuna.load_study(study_name="tiny", storage=url).get_trials()
    assert "centre" not in first.user_attrs  # the centre is Optuna's initial design, not KerasTuner's


def test_warm_start_tries_an_earlier_studys_best_configs_first(tmp_path):
    url = f"sqlite:///{tmp_path / 'sweep.db'}"
    tiny = ["--space", str(SPACES / "tiny.yaml"), "--max-train", str(SMALL), "--storage", url, "--fuse", "1"]
    sweep_cli("run", *tiny, "--trials", "3", cwd=tmp_path)
    earlier = optuna.load_study(study_name="tiny", storage=url)
    ranked = sorted(earlier.get_trials(states=(optuna.trial.TrialState.COMPLETE,)), key=lambda t: -t.value)

    sweep_cli("run", *tiny, "--study", "again", "--trials", "4", "--warm-start", "tiny", cwd=tmp_path)
    trials = optuna.load_study(study_name="again", storage=url).get_trials()
    warm = [trial for trial in trials if "warm_start" in trial.user_attrs]
    assert [trial.number for trial in warm] == list(range(len(ranked)))  # first, best first
    for trial, source in zip(warm, ranked, strict=True):
        expected = {**source.params, "epochs": source.user_attrs["best_epoch"]}  # retrained as it scored
        assert trial.params == expected


def test_warm_start_from_an_unknown_study_is_one_line(tmp_path):
    url = f"sqlite:///{tmp_path / 'sweep.db'}"
    result = sweep_cli("run", "--storage", url, "--warm-start", "nope", cwd=tmp_path, check=False)
    assert result.returncode == 2 and "no study 'nope'" in result.stderr and "Traceback" not in result.stderr


def test_a_trial_count_below_the_starts_runs_exactly_that_many(tmp_path):
    url = f"sqlite:///{tmp_path / 'sweep.db'}"
    space = tiny_with_starts(tmp_path, [START, {**START, "activation": "relu"}])
    sweep_cli("run", "--space", space, "--trials", "1", "--max-train", str(SMALL), "--storage", url, cwd=tmp_path)
    (trial,) = optuna.load_study(study_name="tiny", storage=url).get_trials()
    assert trial.user_attrs["start"] == 0 and trial.state == optuna.trial.TrialState.COMPLETE


def test_an_earlier_best_that_is_one_of_the_starts_is_queued_once(caplog):
    space = load_space("notes")
    study = optuna.create_study(direction="maximize")
    relu, drawn = space.starts[1], {**space.starts[1], "epochs": 12}
    with caplog.at_level("INFO"):
        queued = enqueue_starts(study, space, earlier=(relu, drawn))
    assert queued == [("start", 0), ("start", 1), ("start", 2), ("warm_start", 1)]
    assert len(study.get_trials(states=(optuna.trial.TrialState.WAITING,))) == 4
    assert "warm_start 0 skipped: the same config as start 1" in caplog.text


@pytest.mark.parametrize("tuner", ["random", "hyperband"])
def test_keras_tuner_tries_the_starts_and_the_warm_start_first_too(tmp_path, tuner):
    url = f"sqlite:///{tmp_path / 'sweep.db'}"
    space = tiny_with_starts(tmp_path, [START])
    data = ["--max-train", str(SMALL), "--storage", url]
    sweep_cli("run", "--space", str(SPACES / "tiny.yaml"), *data, "--study", "earlier", "--trials", "1", cwd=tmp_path)
    (best,) = optuna.load_study(study_name="earlier", storage=url).get_trials()

    engine = ["--engine", "keras-tuner", "--tuner", tuner, "--warm-start", "earlier"]
    sweep_cli("run", "--space", space, *data, *engine, "--trials", "3", cwd=tmp_path)
    start, warm, drawn = optuna.load_study(study_name="tiny", storage=url).get_trials()
    chosen = "epochs" if tuner == "hyperband" else None  # Hyperband sets each trial's epochs itself
    wanted = [load_space(space).start_values(START), {**best.params, "epochs": best.user_attrs["best_epoch"]}]
    for trial, values in zip((start, warm), wanted, strict=True):
        assert {name: trial.params[name] for name in values if name != chosen} == {
            name: value for name, value in values.items() if name != chosen
        }
    assert drawn.params != start.params and drawn.params != warm.params
