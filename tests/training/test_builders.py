"""A model of the user's own: a builder named module:function or handed over as a function, trained as
sweep trains its own (solo and fused, pruned, retried), rebuilt for best, train, export and train_best.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import optuna
import pytest
import yaml
from helpers import SMALL, SPACES, TESTS, sweep_cli

BUILDERS = TESTS / "builders"
RESIDUAL_SPACE = {
    "name": "residual-dict",
    "params": {
        "blocks": {"type": "int", "low": 1, "high": 2},
        "width": {"type": "categorical", "choices": [32, 64]},
        "activation": "relu",
        "dropout": {"type": "float", "low": 0.0, "high": 0.2},
        "batch_size": 128,
        "epochs": 1,
    },
}


@pytest.fixture(scope="module")
def own_sweep(tmp_path_factory):
    """`sweep run --model residual_mlp:build` over a space of its own names, 4 trials fused 4 at a time,
    from the folder that holds the builder's module (as a user runs it)."""
    folder = tmp_path_factory.mktemp("own")
    shutil.copy(BUILDERS / "residual_mlp.py", folder)
    storage = f"sqlite:///{folder / 'sweep.db'}"
    args = ["--model", "residual_mlp:build", "--space", str(SPACES / "residual.yaml"), "--trials", "4", "--fuse", "4"]
    ran = sweep_cli("run", *args, "--max-train", str(SMALL), "--storage", storage, cwd=folder)
    return folder, storage, ran


def test_a_fused_sweep_of_an_own_model_has_the_spaces_columns(own_sweep):
    import sweep

    folder, storage, _ = own_sweep
    study = sweep.load("residual", storage)
    table = study.table()
    trials = table[table["state"] == "COMPLETE"]
    assert len(trials) == 4 and {"blocks", "width", "activation", "dropout"} <= set(table.columns)
    assert trials[["blocks", "width", "dropout"]].notna().all().all()
    assert len({tuple(row) for row in trials[["blocks", "width", "dropout"]].itertuples(index=False)}) == 4
    assert study.model == "residual_mlp:build"
    assert all(trial.user_attrs["fused_with"] for trial in study.optuna.trials)


def test_best_train_and_export_rebuild_the_own_model(own_sweep):
    folder, storage, _ = own_sweep
    sweep_cli("best", "--study", "residual", "--storage", storage, "--out", "best.json", cwd=folder)
    record = json.loads((folder / "best.json").read_text())
    assert record["model"] == "residual_mlp:build" and "width" in record["config"]
    out = sweep_cli("train", "best.json", "--max-train", str(SMALL), cwd=folder).stdout
    assert float(out.split("val_accuracy ")[1].split()[0]) == pytest.approx(record["val_accuracy"], abs=0.01)
    sweep_cli("export", "--study", "residual", "--storage", storage, "--out", "export", "--max-train", str(SMALL),
              cwd=folder)  # fmt: skip
    script = (folder / "export" / "train_best.py").read_text()
    assert "the builder residual_mlp:build, which this script imports" in script
    assert "from residual_mlp import build" in script
    run = subprocess.run([sys.executable, "export/train_best.py", "--max-train", str(SMALL)], cwd=folder,
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert float(run.stdout.split("val_accuracy ")[-1]) == pytest.approx(record["val_accuracy"], abs=0.01)


def test_compare_trains_the_own_model_under_both_engines(tmp_path):
    shutil.copy(BUILDERS / "residual_mlp.py", tmp_path)
    (tmp_path / "space.yaml").write_text(yaml.safe_dump(RESIDUAL_SPACE))  # names no model: --model does
    storage = f"sqlite:///{tmp_path / 's.db'}"
    args = ["--model", "residual_mlp:build", "--space", "space.yaml", "--budget", "5s"]
    args += ["--engines", "optuna,keras-tuner:random", "--max-train", str(SMALL), "--storage", storage]
    sweep_cli("compare", *args, "--format", "csv", cwd=tmp_path)
    for engine in ("optuna", "keras-tuner-random"):
        study = optuna.load_study(study_name=f"residual-dict-compare-{engine}", storage=storage)
        trained = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        assert study.user_attrs["model"] == "residual_mlp:build" and trained, engine
        assert all({"blocks", "width"} <= set(t.user_attrs["config"]) for t in trained), engine


def test_a_dict_space_and_a_function_in_python(tmp_path, monkeypatch):
    import sweep

    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(BUILDERS))
    from residual_mlp import build

    study = sweep.run(RESIDUAL_SPACE, trials=2, model=build, fuse=1, max_train=SMALL, storage="sqlite:///s.db")
    table = study.table()
    assert {"blocks", "width", "dropout"} <= set(table.columns) and (table["state"] == "COMPLETE").sum() == 2
    assert study.model == "residual_mlp:build"
    best = study.best()
    assert study.train(best, max_train=SMALL)["val_accuracy"] == pytest.approx(best["val_accuracy"], abs=0.01)


def test_a_dict_space_is_validated_as_a_file_is():
    import sweep
    from sweep.space import SpaceError

    broken = {**RESIDUAL_SPACE, "params": {**RESIDUAL_SPACE["params"], "width": {"type": "int", "low": 9, "high": 1}}}
    with pytest.raises(SpaceError, match="parameter 'width': low 9 is greater than high 1"):
        sweep.run(broken, model="residual_mlp:build")
    with pytest.raises(SpaceError, match="'blocks' is not in the model's vocabulary"):
        sweep.run(RESIDUAL_SPACE)  # without a builder, the notes' vocabulary stays the rule


@pytest.mark.parametrize(
    ("model", "says"),
    [
        ("no_such_module:build", "no module 'no_such_module' on the Python path"),
        ("residual_mlp:no_such_function", "residual_mlp has no function 'no_such_function'"),
        ("residual_mlp", "is not module:function"),
    ],
)
def test_a_builder_that_cannot_be_found_is_one_line_before_any_study(tmp_path, model, says):
    shutil.copy(BUILDERS / "residual_mlp.py", tmp_path)
    args = ["--model", model, "--space", str(SPACES / "residual.yaml"), "--storage", f"sqlite:///{tmp_path / 's.db'}"]
    failed = sweep_cli("run", *args, cwd=tmp_path, check=False)
    assert failed.returncode == 2 and failed.stderr.count("\n") == 1 and says in failed.stderr, failed.stderr
    assert not (tmp_path / "s.db").exists()


@pytest.mark.parametrize("verb", ["run", "compare"])
def test_a_missing_module_is_refused_before_tensorflow_loads(tmp_path, verb):
    probe = (
        "import sys\nfrom sweep.cli import main\n"
        f"sys.argv = ['sweep', {verb!r}, '--model', 'nowhere:build', '--space', {str(SPACES / 'residual.yaml')!r}]\n"
        "try:\n    main()\nexcept SystemExit as exit:\n    assert exit.code == 2, exit.code\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.parametrize("fuse", ["1", "2"])
def test_a_builder_with_the_wrong_output_fails_each_trial_and_stops_the_sweep(tmp_path, fuse):
    shutil.copy(BUILDERS / "residual_mlp.py", tmp_path)
    args = ["--model", "residual_mlp:wrong_width", "--space", str(SPACES / "residual.yaml"), "--max-failures", "2"]
    storage = f"sqlite:///{tmp_path / 's.db'}"
    args += ["--fuse", fuse, "--max-train", "500", "--storage", storage]
    failed = sweep_cli("run", *args, cwd=tmp_path, check=False)
    errors = [line for line in failed.stderr.splitlines() if line.startswith("sweep: error:")]
    assert failed.returncode == 1 and len(errors) == 1 and "Traceback" not in failed.stderr, failed.stderr
    assert "stopped after 2 failed trials in a row" in errors[0] and "the data has 10 classes" in errors[0]


@pytest.mark.parametrize("fuse", ["1", "2"])
def test_an_own_model_trains_under_jax(tmp_path, fuse):
    shutil.copy(BUILDERS / "residual_mlp.py", tmp_path)
    args = ["--model", "residual_mlp:build", "--space", str(SPACES / "residual.yaml"), "--trials", "2"]
    env = {**os.environ, "KERAS_BACKEND": "jax"}
    ran = subprocess.run([sys.executable, "-m", "sweep", "run", *args, "--fuse", fuse, "--max-train", "1000",
                          "--storage", f"sqlite:///{tmp_path / 's.db'}"], cwd=tmp_path, env=env, capture_output=True,
                         text=True, timeout=600)  # fmt: skip
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert ran.stdout.count("COMPLETE") == 2


def test_keras_tuner_searches_the_same_builder_and_space(tmp_path):
    shutil.copy(BUILDERS / "residual_mlp.py", tmp_path)
    storage = f"sqlite:///{tmp_path / 's.db'}"
    args = ["--model", "residual_mlp:build", "--space", str(SPACES / "residual.yaml"), "--trials", "2"]
    sweep_cli("run", *args, "--engine", "keras-tuner", "--tuner", "random", "--max-train", "1000", "--storage", storage,
              cwd=tmp_path)  # fmt: skip
    import sweep

    table = sweep.load("residual", storage).table(state="complete")
    trials = table[table["state"] == "COMPLETE"]
    assert len(trials) == 2 and set(trials["engine"]) == {"keras-tuner"}
    assert trials["width"].isin([32, 64]).all() and trials["blocks"].isin([1, 2]).all()
