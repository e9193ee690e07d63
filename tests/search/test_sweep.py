"""End to end: a real sweep into SQLite, its ranked table, the best config and its retraining."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import optuna
import pandas as pd
import pytest
from helpers import SMALL, SPACES, sweep_cli

from sweep.results.table import baseline_rank, trials_table
from sweep.search.driver import SweepSettings, run_sweep


@pytest.fixture
def swept(tiny_sweep):
    """The session's real 4-trial sweep over the tiny space (tests/conftest.py)."""
    return tiny_sweep


def test_sweep_stores_every_trial_complete_with_its_curve(swept):
    _, url, _ = swept
    study = optuna.load_study(study_name="tiny", storage=url)
    trials = study.get_trials()
    assert len(trials) == 4
    for trial in trials:
        assert trial.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
        config = trial.user_attrs["config"]
        assert len(trial.intermediate_values) <= config["epochs"] <= 2
        assert trial.duration.total_seconds() > 0
    assert study.best_value > 0.5


SWEEP_LINE = re.compile(r"^(sweep: |\d\d:\d\d:\d\d )")  # its messages, and its log lines on the console


def test_run_prints_the_ranked_table_and_writes_a_log(swept):
    folder, _, run = swept
    assert "BASELINE" in run.stdout and "val_accuracy" in run.stdout
    assert "best val_accuracy" in (folder / "results" / "tiny.log").read_text()
    # TensorFlow's native start-up lines (absl, "Could not find cuda drivers", cuInit) stay off the console
    noise = [line for line in run.stderr.splitlines() if not SWEEP_LINE.match(line)]
    assert noise == [], noise


def test_table_ranks_trials_against_the_baseline(swept):
    _, url, _ = swept
    study = optuna.load_study(study_name="tiny", storage=url)
    table = trials_table(study)
    baseline = study.user_attrs["baseline"]
    assert 0.70 < baseline["val_accuracy"] < 0.85 and baseline["train_images"] == SMALL
    ranked = table.dropna(subset=["rank"])
    assert list(ranked["rank"]) == list(range(1, len(ranked) + 1))
    assert ranked["val_accuracy"].is_monotonic_decreasing
    row = table[table["state"] == "BASELINE"].iloc[0]
    assert row["val_accuracy"] == pytest.approx(baseline["val_accuracy"]) and row["vs_baseline_pp"] == 0
    assert baseline_rank(table) == int(row["rank"])
    expected_delta = 100 * (table["val_accuracy"] - baseline["val_accuracy"])
    assert (table["vs_baseline_pp"] - expected_delta).abs().max() < 1e-9
    assert {"hidden_layers", "units", "activation", "optimizer", "learning_rate", "batch_size", "epochs"} <= set(table)


@pytest.mark.parametrize("fmt", ["csv", "json", "markdown", "text"])
def test_table_command_formats(swept, fmt):
    _, url, _ = swept
    out = sweep_cli("table", "--study", "tiny", "--storage", url, "--format", fmt).stdout
    assert "BASELINE" in out
    if fmt == "csv":
        from io import StringIO

        table = pd.read_csv(StringIO(out))
        assert len(table) == 5 and table.loc[0, "rank"] == 1
    if fmt == "json":
        assert len(json.loads(out)) == 5


def test_optunas_own_cli_lists_the_same_trials(swept):
    _, url, _ = swept
    optuna_cli = shutil.which("optuna") or shutil.which("optuna", path=os.path.dirname(sys.executable))
    assert optuna_cli, "optuna's console script is installed with optuna"
    out = subprocess.run(
        [optuna_cli, "trials", "--storage", url, "--study-name", "tiny", "-f", "json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert sorted(t["number"] for t in json.loads(out)) == [0, 1, 2, 3]


def test_rerun_continues_the_study_to_the_new_total(swept):
    """The same settings with a higher total run only the missing trial (in-process: the CLI's resume is
    exercised end to end by tests/test_resilience.py)."""
    folder, url, _ = swept
    copy = folder / "continued.db"
    shutil.copy(folder / "sweep.db", copy)
    settings = SweepSettings(space=str(SPACES / "tiny.yaml"), trials=5, max_train=SMALL, storage=f"sqlite:///{copy}")
    trials = run_sweep(settings).get_trials()
    original = optuna.load_study(study_name="tiny", storage=url).get_trials()
    assert len(trials) == 5
    assert [(t.number, t.params, t.value) for t in trials[:4]] == [(t.number, t.params, t.value) for t in original]


def test_best_then_train_round_trip(swept, tmp_path):
    folder, url, _ = swept
    best_file = tmp_path / "best.json"
    sweep_cli("best", "--study", "tiny", "--storage", url, "--out", str(best_file))
    record = json.loads(best_file.read_text())
    study = optuna.load_study(study_name="tiny", storage=url)
    assert record["trial"] == study.best_trial.number and record["val_accuracy"] == study.best_value
    best = study.best_trial  # trained for its best epoch's count of epochs: what gave its score
    assert record["config"] == {**best.user_attrs["config"], "epochs": best.user_attrs["best_epoch"]}
    assert record["versions"]["keras"].startswith("3.") and record["study"] == "tiny"
    trained = sweep_cli("train", str(best_file), "--max-train", str(SMALL), "--test", cwd=tmp_path)
    out = trained.stdout
    val = float(out.split("val_accuracy ")[1].split()[0])
    assert abs(val - record["val_accuracy"]) < 0.005, out  # the trial's seed: the same weights and shuffles
    assert "TEST accuracy" in out and "evaluated once" in out
    assert trained.stderr == ""  # nothing from TensorFlow's native start-up on the console...
    assert "tensorflow.native" in (tmp_path / "results" / "train.log").read_text()  # ...it is kept in the log


def test_table_and_best_do_not_import_tensorflow(swept):
    _, url, _ = swept
    probe = (
        "import sys; from sweep.cli import main; sys.argv=['sweep', {args}];\n"
        "try: main()\nexcept SystemExit: pass\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'heavy import'"
    )
    for args in (
        f"'table', '--storage', '{url}', '--study', 'tiny'",
        "'--help'",
        f"'best', '--storage', '{url}', '--study', 'tiny', '--out', '/dev/null'",
    ):
        subprocess.run([sys.executable, "-c", probe.format(args=args)], check=True, capture_output=True)


def test_unknown_study_is_one_line(sqlite_url):
    result = sweep_cli("table", "--study", "nope", "--storage", sqlite_url, check=False)
    assert result.returncode == 2 and "no study 'nope'" in result.stderr and "Traceback" not in result.stderr


def test_no_model_files_pile_up(swept):
    folder, _, _ = swept
    leftovers = [p for p in folder.rglob("*") if p.suffix in (".keras", ".h5", ".ckpt", ".weights")]
    assert leftovers == []


def test_cnn_space_sweeps_both_layer_types(tmp_path, sqlite_url):
    """cnn.yaml as shipped, cut to one epoch on a small slice: conv and dense trials both train."""
    import yaml

    from sweep.space.spec import SPACES_DIR

    document = yaml.safe_load((SPACES_DIR / "cnn.yaml").read_text())
    document["params"]["epochs"] = 1
    document["params"]["filters"].update(low=8, high=16)
    space = tmp_path / "cnn.yaml"
    space.write_text(yaml.safe_dump(document))
    settings = SweepSettings(
        space=str(space), trials=4, max_train=1000, sampler="random", pruner="none", storage=sqlite_url
    )
    run_sweep(settings)  # in-process: the CLI around it is the tiny sweep's
    trials = optuna.load_study(study_name="cnn", storage=sqlite_url).get_trials()
    configs = [t.user_attrs["config"] for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert {c["layer_type"] for c in configs} == {"conv", "dense"}
    for config in configs:
        assert ("filters" in config) == (config["layer_type"] == "conv")
        if config["layer_type"] == "conv":
            assert len(config["filters"]) == config["hidden_layers"] and min(config["filters"]) >= 8
