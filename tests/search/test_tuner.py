"""KerasTuner as a second engine: the same space, the same study and table, and an equal-budget comparison."""

from __future__ import annotations

import io
import json
import re
import shutil

import keras_tuner as kt
import optuna
import pandas as pd
import pytest
import yaml
from helpers import SMALL, SPACES, sweep_cli
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from sweep.search.driver import OptunaSuggester, SweepSettings, run_sweep
from sweep.search.tuner import KerasTunerSuggester, optuna_params
from sweep.space.spec import SPACES_DIR, load_space

DRAWS = 150
# notes.yaml's distributions, as an Optuna trial of it holds them (epochs cut to 1-3 for speed)
NOTES = {
    "hidden_layers": IntDistribution(1, 3),
    "units": IntDistribution(16, 512, log=True),
    "activation": CategoricalDistribution(["sigmoid", "relu", "tanh"]),
    "batch_size": CategoricalDistribution([32, 64, 128, 256]),
    "epochs": IntDistribution(1, 3),
    "optimizer": CategoricalDistribution(["sgd", "adagrad", "rmsprop", "adam"]),
    "learning_rate": FloatDistribution(1e-4, 1e-1, log=True),
}


@pytest.fixture(scope="module")
def hyperband(tmp_path_factory):
    """`sweep run --engine keras-tuner` on notes.yaml with 1-3 epochs: one full Hyperband iteration (6 trials)."""
    folder = tmp_path_factory.mktemp("keras_tuner")
    document = yaml.safe_load((SPACES_DIR / "notes.yaml").read_text())
    document["params"]["epochs"] = {"type": "int", "low": 1, "high": 3}
    del document["starts"]  # the notes' models train 5 and 20 epochs, outside these 1-3
    space_file = folder / "notes-short.yaml"
    space_file.write_text(yaml.safe_dump(document))
    url = f"sqlite:///{folder / 'sweep.db'}"
    args = ["--space", str(space_file), "--trials", "6", "--max-train", str(SMALL), "--storage", url, "--study", "kt"]
    run = sweep_cli("run", "--engine", "keras-tuner", "--tuner", "hyperband", *args, cwd=folder)
    return folder, url, space_file, run


def test_keras_tuner_trials_obey_the_space(hyperband):
    _, url, _, run = hyperband
    trials = optuna.load_study(study_name="kt", storage=url).get_trials()
    assert len(trials) == 6 and "BASELINE" in run.stdout
    for trial in trials:
        config = trial.user_attrs["config"]
        assert trial.state == optuna.trial.TrialState.COMPLETE, trial.user_attrs.get("fail_reason")
        assert (trial.user_attrs["engine"], trial.user_attrs["tuner"]) == ("keras-tuner", "hyperband")
        layers = config["hidden_layers"]
        assert len(config["units"]) == layers
        assert set(trial.params) == {*NOTES, *(f"units_{i}" for i in range(layers))} - {"units"}
        for name, value in trial.params.items():
            expected = NOTES[re.sub(r"_\d+$", "", name)]
            assert trial.distributions[name] == expected, name
            assert inside(expected, value), (name, value)
            assert value == (config["units"][int(name[-1])] if name.startswith("units_") else config[name])
        assert sorted(trial.intermediate_values) == list(range(1, config["epochs"] + 1))
        assert trial.value == max(trial.intermediate_values.values())  # its best epoch, as KerasTuner scores it
        assert trial.intermediate_values[trial.user_attrs["best_epoch"]] == trial.value
        assert trial.duration.total_seconds() > 0


def test_hyperband_continues_a_trial_from_its_checkpoint(hyperband):
    _, url, _, _ = hyperband
    trials = optuna.load_study(study_name="kt", storage=url).get_trials()
    assert {trial.user_attrs["config"]["epochs"] for trial in trials} == {1, 3}  # Hyperband's budgets, in the space
    continued = [trial for trial in trials if "continued_from" in trial.user_attrs]
    assert continued, "one Hyperband iteration over 1-3 epochs promotes one trial"
    for trial in continued:  # it could only complete because its parent's checkpoint was still there
        parent = trials[trial.user_attrs["continued_from"]]
        assert {**parent.user_attrs["config"], "epochs": 3} == trial.user_attrs["config"]
        assert trial.intermediate_values[1] == parent.intermediate_values[1]


def test_project_folder_keeps_no_checkpoints(hyperband):
    folder = hyperband[0]
    project = folder / "results" / "keras_tuner" / "kt" / "hyperband"
    trial_dirs = sorted(project.glob("trial_*"))
    files = [path for path in project.rglob("*") if path.is_file()]
    assert len(trial_dirs) == 6
    assert not [path for path in files if path.name.startswith("checkpoint")]
    # one checkpoint of the smallest model (784x16 weights) alone would be ~50 kB
    assert sum(path.stat().st_size for path in files) < 8_000 * len(trial_dirs), [p.stat().st_size for p in files]


def test_table_shows_both_engines_side_by_side(hyperband, tmp_path):
    folder, _, space_file, _ = hyperband
    shutil.copy(folder / "sweep.db", tmp_path / "mixed.db")
    url = f"sqlite:///{tmp_path / 'mixed.db'}"
    study = run_sweep(SweepSettings(space=str(space_file), storage=url, study="kt", trials=8, max_train=SMALL))
    optuna_trials = [t for t in study.get_trials() if "engine" not in t.user_attrs]
    assert len(optuna_trials) == 2  # TPE read the KerasTuner trials: same params, same distributions
    table = pd.read_csv(io.StringIO(sweep_cli("table", "--study", "kt", "--storage", url, "--format", "csv").stdout))
    assert table["engine"].value_counts().to_dict() == {"keras-tuner": 6, "optuna": 2, "SGDClassifier": 1}
    assert list(table["rank"]) == list(range(1, 10))
    assert "engine" in sweep_cli("table", "--study", "kt", "--storage", url).stdout.splitlines()[0]


def test_best_then_train_reproduces_a_keras_tuner_trial(hyperband, tmp_path):
    _, url, _, _ = hyperband
    best_file = tmp_path / "best.json"
    sweep_cli("best", "--study", "kt", "--storage", url, "--out", str(best_file))
    record = json.loads(best_file.read_text())
    best = optuna.load_study(study_name="kt", storage=url).best_trial
    assert record["trial"] == best.number and best.user_attrs["engine"] == "keras-tuner"
    assert record["config"] == {**best.user_attrs["config"], "epochs": best.user_attrs["best_epoch"]}
    assert record["seed"] == best.user_attrs["seed"]
    out = sweep_cli("train", str(best_file), "--max-train", str(SMALL)).stdout
    val = float(out.split("val_accuracy ")[1].split()[0])
    assert f"{record['config']['epochs']} epochs" in out
    if "continued_from" in best.user_attrs:  # trained on from its parent's weights: a fresh run differs a little
        assert abs(val - record["val_accuracy"]) < 0.05, out
    else:  # the trial's own seed: the very same model
        assert val == pytest.approx(record["val_accuracy"], abs=1e-4), out


def test_a_keras_tuner_trial_retrains_to_its_score_from_its_seed(hyperband):
    from sweep.results.export import retrain

    _, url, _, _ = hyperband
    trials = optuna.load_study(study_name="kt", storage=url).get_trials()
    trial = next(t for t in trials if "continued_from" not in t.user_attrs and t.user_attrs["config"]["epochs"] == 1)
    metrics = retrain(trial.user_attrs["config"], max_train=SMALL, seed=trial.user_attrs["seed"])
    assert metrics["val_accuracy"] == pytest.approx(trial.value, abs=1e-6)


def test_compare_runs_each_engine_in_a_fresh_study(tmp_path):
    url = f"sqlite:///{tmp_path / 'compare.db'}"
    stale = optuna.create_study(study_name="tiny-compare-optuna", storage=url, direction="maximize")
    stale.add_trial(optuna.trial.create_trial(value=0.99))  # a previous comparison's: replaced, not continued
    out = sweep_cli(
        "compare",
        *("--space", str(SPACES / "tiny.yaml"), "--budget", "6s", "--engines", "optuna,keras-tuner:random"),
        *("--max-train", str(SMALL), "--storage", url, "--format", "csv"),
        cwd=tmp_path,
    ).stdout
    table = pd.read_csv(io.StringIO(out))
    assert list(table["engine"]) == ["optuna", "keras-tuner:random"]
    for row in table.itertuples():
        study = optuna.load_study(study_name=row.study, storage=url)
        complete = [t for t in study.get_trials() if t.state == optuna.trial.TrialState.COMPLETE]
        assert row.trials_completed == len(complete) >= 1
        pruned = [t for t in study.get_trials() if t.state.name == "PRUNED" and t.intermediate_values]
        pruned = [max(t.intermediate_values.values()) for t in pruned]
        assert row.best_val_accuracy == pytest.approx(max([t.value for t in complete] + pruned))  # best epochs
        assert {t.user_attrs.get("engine", "optuna") for t in study.get_trials()} == {row.engine.split(":")[0]}
        beaten = row.best_val_accuracy > study.user_attrs["baseline"]["val_accuracy"]
        assert beaten == (row.time_to_beat_baseline_s == row.time_to_beat_baseline_s)  # NaN when never beaten
    project = tmp_path / "results" / "keras_tuner" / "tiny-compare-keras-tuner-random" / "random"
    assert list(project.glob("trial_*")) and not list(project.rglob("checkpoint*"))


# One space per option of the file format, and the real spaces: both engines must draw from the same space.
FORMAT_CASES = {
    "int": {"epochs": {"type": "int", "low": 1, "high": 4}},
    "int-log": {"units": {"type": "int", "low": 16, "high": 512, "log": True}},
    "int-step": {"batch_size": {"type": "int", "low": 32, "high": 256, "step": 32}},
    "float": {"dropout": {"type": "float", "low": 0.0, "high": 0.5}},
    "float-log": {"learning_rate": {"type": "float", "low": 1.0e-4, "high": 1.0e-1, "log": True}},
    "float-step": {"dropout": {"type": "float", "low": 0.0, "high": 0.5, "step": 0.1}},
    "categorical": {"activation": {"type": "categorical", "choices": ["relu", "tanh", "sigmoid"]}},
    "bool": {"optimizer": "sgd", "nesterov": {"type": "bool"}},
    "fixed": {"epochs": 3, "optimizer": "adam", "batch_size": {"type": "categorical", "choices": [64, 128]}},
    "per-layer": {
        "hidden_layers": {"type": "int", "low": 1, "high": 3},
        "units": {"type": "int", "low": 16, "high": 64, "per_layer": True},
    },
    "when": {
        "optimizer": {"type": "categorical", "choices": ["sgd", "adam", "rmsprop"]},
        "momentum": {"type": "float", "low": 0.0, "high": 0.9, "when": {"optimizer": ["sgd", "rmsprop"]}},
    },
    "when-fixed-parent": {
        "optimizer": "sgd",
        "momentum": {"type": "float", "low": 0, "high": 1, "when": {"optimizer": "sgd"}},
    },
    "when-chain": {
        "optimizer": {"type": "categorical", "choices": ["sgd", "adam"]},
        "momentum": {"type": "categorical", "choices": [0.0, 0.9], "when": {"optimizer": "sgd"}},
        "nesterov": {"type": "bool", "when": {"momentum": 0.9}},
    },
    "alternatives": {
        "optimizer": {"type": "categorical", "choices": ["sgd", "adam", "rmsprop"]},
        "learning_rate": [
            {"type": "float", "low": 1.0e-3, "high": 1.0e-1, "log": True, "when": {"optimizer": "sgd"}},
            {"type": "float", "low": 1.0e-4, "high": 1.0e-2, "log": True, "when": {"optimizer": ["adam", "rmsprop"]}},
        ],
    },
    "when-per-layer": {
        "layer_type": {"type": "categorical", "choices": ["conv", "dense"]},
        "hidden_layers": {"type": "int", "low": 1, "high": 2},
        "filters": {
            "type": "int",
            "low": 8,
            "high": 64,
            "log": True,
            "per_layer": True,
            "when": {"layer_type": "conv"},
        },
    },
}


@pytest.fixture(params=[*FORMAT_CASES, *(path.stem for path in sorted(SPACES_DIR.glob("*.yaml")))])
def space(request, tmp_path):
    if request.param not in FORMAT_CASES:
        return load_space(request.param)
    path = tmp_path / f"{request.param}.yaml"
    path.write_text(yaml.safe_dump({"name": request.param, "params": FORMAT_CASES[request.param]}))
    return load_space(path)


def test_both_engines_draw_from_the_same_space(space):
    declared = kt.HyperParameters()
    space.sample(KerasTunerSuggester(declared))  # declares every parameter with its conditions
    oracle = kt.oracles.RandomSearchOracle(objective=kt.Objective("val_accuracy", "max"), max_trials=DRAWS, seed=1)
    oracle.update_space(declared)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    by_optuna, by_keras_tuner, distributions = [], [], {}
    for index in range(DRAWS):
        trial = study.ask()
        config = space.sample(OptunaSuggester(trial))
        by_optuna.append((trial.params, config))
        distributions.update(trial.distributions)
        study.tell(trial, 0.0)
        hp = declared.copy()
        hp.values = oracle.populate_space(str(index))["values"]
        by_keras_tuner.append((dict(hp.values), space.sample(KerasTunerSuggester(hp))))
        assert len(hp.space) == len(declared.space)  # the declared space was complete

    # same names and the same range, step, scale or choices for each
    assert {hp.name for hp in declared.space} == set(distributions)
    for hp in declared.space:
        assert shape(hp) == shape(distributions[hp.name]), hp.name
    # same conditions: each engine's draw, replayed in the other, asks for exactly the same parameters
    for params, config in by_keras_tuner:
        assert optuna_params(space, params)[0] == params
        assert space.sample(OptunaSuggester(optuna.trial.FixedTrial(params))) == config
    for params, config in by_optuna:
        hp = declared.copy()
        hp.values = dict(params)
        assert {each.name for each in hp.space if hp.is_active(each)} == set(params)
        assert space.sample(KerasTunerSuggester(hp)) == config
    # both draw only inside the space, both exercise every condition, and both reach every grid point
    for draws in (by_optuna, by_keras_tuner):
        assert all(inside(distributions[name], value) for params, _ in draws for name, value in params.items())
        assert presence(draws, DRAWS) == presence(by_optuna, DRAWS)
        for name, distribution in distributions.items():
            if 0 < len(grid(distribution)) <= 12:
                assert {rounded(params[name]) for params, _ in draws if name in params} == grid(distribution), name


@pytest.mark.parametrize("corner", [0.0, 1.0])
def test_proposals_on_the_bounds_stay_inside_the_space(space, corner):
    """KerasTuner's Bayesian oracle turns a Gaussian-process optimum in [0, 1]^d into values with
    ``prob_to_value``; on the bound 1.0 an int without step comes out one past its high."""
    declared = kt.HyperParameters()
    space.sample(KerasTunerSuggester(declared))
    hp = declared.copy()
    hp.values = {}
    for each in declared.space:  # in declaration order, as the oracle's _vector_to_values does
        if hp.is_active(each):
            hp.values[each.name] = each.prob_to_value(corner)
    config = space.sample(KerasTunerSuggester(hp))
    params, distributions = optuna_params(space, hp.values)
    assert all(inside(distributions[name], value) for name, value in params.items()), params
    assert space.sample(OptunaSuggester(optuna.trial.FixedTrial(params))) == config
    assert optuna.trial.create_trial(value=0.5, params=params, distributions=distributions).params == params


def shape(distribution) -> tuple:
    """An Optuna distribution or a KerasTuner hyperparameter, as (kind, low, high, step, log) or choices."""
    kind = type(distribution).__name__
    if kind == "Boolean":
        return ("categorical", (False, True))
    if kind in ("Choice", "CategoricalDistribution"):
        return ("categorical", tuple(getattr(distribution, "choices", None) or distribution.values))
    if kind in ("Int", "Float"):  # a KerasTuner Int without step takes every integer
        step = distribution.step if distribution.step is not None or kind == "Float" else 1
        bounds = (distribution.min_value, distribution.max_value, step, distribution.sampling == "log")
        return (kind.lower(), *map(rounded, bounds))
    kind = "int" if kind == "IntDistribution" else "float"
    return (kind, rounded(distribution.low), rounded(distribution.high), distribution.step, distribution.log)


def inside(distribution, value) -> bool:
    if isinstance(distribution, CategoricalDistribution):
        return value in distribution.choices
    on_grid = distribution.step is None or abs((value - distribution.low) / distribution.step % 1 - 0.5) > 0.5 - 1e-6
    return distribution.low <= value <= distribution.high and on_grid


def grid(distribution) -> set:
    """Every value a discrete distribution can take (an empty set for continuous and log ones)."""
    if isinstance(distribution, CategoricalDistribution):
        return {rounded(choice) for choice in distribution.choices}
    if distribution.log or distribution.step is None:
        return set()
    count = round((distribution.high - distribution.low) / distribution.step) + 1
    return {rounded(distribution.low + index * distribution.step) for index in range(count)}


def rounded(value):
    return round(value, 9) if isinstance(value, float) else value


def presence(draws, total: int) -> dict[str, str]:
    """For each parameter: drawn 'always' or only 'sometimes' (under its conditions)."""
    counts: dict[str, int] = {}
    for params, _ in draws:
        for name in params:
            counts[name] = counts.get(name, 0) + 1
    return {name: "always" if count == total else "sometimes" for name, count in counts.items()}


def test_the_cli_s_tuner_names_are_keras_tuner_s_tuners():
    """The CLI checks --tuner and --engines against names kept as data; they must name real tuners."""
    from sweep.search.tuner import TUNERS
    from sweep.space.vocabulary import TUNER_NAMES

    assert tuple(TUNERS) == TUNER_NAMES and all(issubclass(tuner, kt.Tuner) for tuner in TUNERS.values())
