"""The ranked table as scripts and people read it: its columns, its two read paths, and bad input."""

from __future__ import annotations

import json
import shutil
import sqlite3
from io import StringIO

import optuna
import pandas as pd
import pytest
from click.testing import CliRunner
from helpers import sweep_cli
from optuna.distributions import CategoricalDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from sweep.cli import main
from sweep.results.sqlite_study import open_sqlite_study
from sweep.results.table import COLUMNS, render, trials_table
from sweep.space.spec import REFERENCE_CONFIG

PRUNED_AFTER = 3  # of the config's 20 epochs


@pytest.fixture(scope="module")
def mixed(tmp_path_factory) -> str:
    """A real SQLite study, written through Optuna's public API, with every kind of row a table shows:
    complete, pruned after 3 of its 20 epochs, failed with its reason, a heartbeat retry of that failure,
    one still running, a KerasTuner trial, and one with parameters but no config attribute."""
    url = f"sqlite:///{tmp_path_factory.mktemp('mixed') / 'mixed.db'}"
    study = optuna.create_study(study_name="mixed", storage=url, direction="maximize")
    study.set_user_attr("baseline", {"val_accuracy": 0.83, "train_images": 2000})
    config = {**REFERENCE_CONFIG, "epochs": 20}
    curve = {epoch: 0.80 + epoch / 100 for epoch in range(1, 21)}
    optuna_choice = {"optimizer": CategoricalDistribution(["sgd", "adam"]), "epochs": IntDistribution(1, 20)}
    study.add_trials(
        [
            create_trial(value=0.87, intermediate_values=curve, user_attrs={"config": config}),
            create_trial(
                state=TrialState.PRUNED,
                intermediate_values={e: curve[e] for e in range(1, PRUNED_AFTER + 1)},
                user_attrs={"config": config},
            ),
            create_trial(state=TrialState.FAIL, user_attrs={"config": config, "fail_reason": "loss diverged (nan)"}),
            create_trial(value=0.86, system_attrs={"failed_trial": 2}, user_attrs={"config": config}),
            create_trial(state=TrialState.RUNNING, user_attrs={"config": config}),
            create_trial(value=0.85, user_attrs={"config": REFERENCE_CONFIG, "engine": "keras-tuner"}),
            create_trial(value=0.84, params={"optimizer": "adam", "epochs": 7}, distributions=optuna_choice),
        ]
    )
    return url


def table_of(url: str, study: str, fmt: str, *args: str) -> str:
    return sweep_cli("table", "--study", study, "--storage", url, "--format", fmt, *args).stdout


def test_epochs_run_is_what_a_trial_ran_and_epochs_its_hyperparameter(mixed, tmp_path):
    from sweep.results.report import write_report

    table = pd.read_csv(StringIO(table_of(mixed, "mixed", "csv")))
    pruned = table[table["state"] == "PRUNED"].iloc[0]
    assert (pruned["epochs_run"], pruned["epochs"]) == (PRUNED_AFTER, 20)
    complete = table[table["trial"] == "0"].iloc[0]
    assert (complete["epochs_run"], complete["epochs"]) == (20, 20)
    # the pruned trial made a model too: ranked on the best of its 3 epochs, below the 0.87 it trails
    assert (pruned["val_accuracy"], pruned["best_epoch"]) == (pytest.approx(0.83), PRUNED_AFTER)
    assert set(table.loc[table["rank"].notna(), "trial"]) == {"0", "1", "3", "5", "6", "baseline"}
    page = write_report(optuna.load_study(study_name="mixed", storage=mixed), tmp_path / "r.html").read_text()
    assert "<th>epochs_run</th>" in page and "<th>epochs</th>" in page


def test_csv_and_json_keep_every_column_in_one_order(mixed, tiny_sweep):
    _, tiny_url, _ = tiny_sweep
    for url, study in ((mixed, "mixed"), (tiny_url, "tiny")):
        assert table_of(url, study, "csv").splitlines()[0].split(",") == COLUMNS
        assert [list(row) for row in json.loads(table_of(url, study, "json"))] == [COLUMNS] * (
            len(optuna.load_study(study_name=study, storage=url).trials) + 1
        )
    # people's formats hide what says nothing in this study: one engine, no retries, no failures, no conv
    header = table_of(tiny_url, "tiny", "text").splitlines()[0].split()
    assert "epochs_run" in header and "epochs" in header
    assert not {"engine", "retry_of", "fail_reason", "filters", "momentum"} & set(header)
    shown = table_of(mixed, "mixed", "markdown").splitlines()[0]
    assert all(f" {column} " in shown for column in ("engine", "retry_of", "fail_reason"))


def test_sqlite_reader_gives_the_table_optuna_gives(mixed, tiny_sweep):
    for url, name in ((mixed, "mixed"), (tiny_sweep[1], "tiny")):
        ours = trials_table(open_sqlite_study(url, name))
        optunas = trials_table(optuna.load_study(study_name=name, storage=url))
        pd.testing.assert_frame_equal(ours, optunas)
        assert render(ours, "text") == render(optunas, "text")


def test_a_study_of_another_schema_is_read_through_optuna(mixed, tmp_path):
    copy = tmp_path / "older.db"
    shutil.copy(mixed.removeprefix("sqlite:///"), copy)
    with sqlite3.connect(copy) as connection:
        connection.execute("UPDATE version_info SET schema_version = 11")
    url = f"sqlite:///{copy}"
    assert open_sqlite_study(url, "mixed") is None
    assert table_of(url, "mixed", "csv") == table_of(mixed, "mixed", "csv")


def test_a_bad_where_is_one_line_naming_the_expression_and_the_columns(mixed):
    result = sweep_cli("table", "--study", "mixed", "--storage", mixed, "--where", "nonsense ==", check=False)
    assert result.returncode == 2 and result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert "--where 'nonsense =='" in line and "columns: rank, trial, state, val_accuracy" in line


def half_written(tmp_path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


# (command line with {db}, {tmp} placeholders, what the one line must say, exit code)
BAD_INPUT = [
    ("table --storage {db} --where 'no_such_column > 1'", "no_such_column", 2),
    ("table --storage {db} --where 'optimizer ==' ", "columns: rank", 2),
    ("table --storage {db} --sort accuracy", "--sort 'accuracy' is not a column", 2),
    ("table --storage {db} --top 0", "0 is not in the range x>=1", 2),
    ("table --storage {db} --top many", "'many' is not a valid integer", 2),
    ("table --storage {db} --state done", "'done' is not one of", 2),
    ("table --storage {db} --format xml", "'xml' is not one of", 2),
    ("table --storage {db} --study nope", "no study 'nope'", 2),
    ("table --storage mysql://u:secret@h/db", "is not a storage URL", 2),
    ("table --storage sqlite:///{tmp}/garbage.db", "the file is an Optuna database", 2),
    ("best --storage {db} --study nope", "no study 'nope'", 2),
    ("best --storage {db} --out {tmp}/garbage.db/best.json", "garbage.db", 1),
    ("report --storage {db} --study nope", "no study 'nope'", 2),
    ("export --storage {db} --study nope", "no study 'nope'", 2),
    ("dashboard --storage {db} --port 70000", "70000 is not in the range", 2),
    ("run --trials 0", "0 is not in the range x>=1", 2),
    ("run --timeout 8x", "'8x' is not a duration", 2),
    ("run --timeout 0", "no time at all", 2),
    ("run --timeout -5m", "'-5m' is not a duration", 2),
    ("run --sampler grid", "'grid' is not one of", 2),
    ("run --pruner always", "'always' is not one of", 2),
    ("run --workers 0", "0 is not in the range x>=1", 2),
    ("run --max-failures 0", "0 is not in the range x>=1", 2),
    ("run --engine sklearn", "'sklearn' is not one of", 2),
    ("run --tuner grid", "'grid' is not one of", 2),
    ("run --recycle-after -1", "-1 is not in the range x>=0", 2),
    ("run --seed -1", "-1 is not in the range x>=0", 2),
    ("run --top 0", "0 is not in the range x>=1", 2),
    ("run --max-train 0", "'0' is not a number of training rows; use all or a whole number from 1", 2),
    ("run --data-dir {tmp}/nowhere", "does not exist", 2),
    ("run --space nowhere", "no built-in search space of that name (cnn, mlp, notes, reference)", 2),
    ("run --storage ftp://host/db", "is not a storage URL", 2),
    ("compare --budget 0", "no time at all", 2),
    ("compare --budget soon", "'soon' is not a duration", 2),
    ("compare --space nowhere", "no built-in search space of that name (cnn, mlp, notes, reference)", 2),
    ("compare --engines optuna,nonsense", "engine 'nonsense' is unknown; expected one of optuna, keras-tuner", 2),
    ("compare --engines ,", "engine ',' is unknown", 2),
    ("train {tmp}/missing.json", "does not exist", 2),
    ("table --storage sqlite:///{tmp}/none.db", "none.db does not exist; `sweep run` makes it", 2),
    ("best --storage sqlite:///{tmp}/none.db --study x", "no study 'x'", 2),
    ("run --warm-start nope --storage sqlite:///{tmp}/none.db", "no study 'nope'", 2),
    ("train {tmp}/half.json", "cannot read the config", 2),
    ("train {tmp}/list.json", "no trial config found", 2),
    ("train {tmp}/layers.json", "'units' has 1 values for 3 hidden layers", 2),
    ("train {tmp}/activation.json", "activation 'relux' is not a Keras activation", 2),
    ("train {tmp}/unknown.json", "'neurons' is not in the model's vocabulary", 2),
    ("train {tmp}/seed.json", "'seed' must be a non-negative integer", 2),
    ("train {tmp}/momentum.json", "'momentum' applies to optimizer sgd or rmsprop only", 2),
    ("train {tmp}/reference.json --max-train -3", "'-3' is not a number of training rows", 2),
    ("baseline --max-train zero", "'zero' is not a number of training rows", 2),
    ("space show nowhere", "no built-in search space of that name (cnn, mlp, notes, reference)", 2),
]
CONFIG_FILES = {
    "half.json": '{"hidden_layers": 2, "units": [',
    "list.json": "[1, 2]",
    "layers.json": json.dumps({**REFERENCE_CONFIG, "hidden_layers": 3, "units": [100]}),
    "activation.json": json.dumps({**REFERENCE_CONFIG, "activation": "relux"}),
    "unknown.json": json.dumps({**REFERENCE_CONFIG, "neurons": 10}),
    "seed.json": json.dumps({"config": REFERENCE_CONFIG, "seed": "x"}),
    "momentum.json": json.dumps({**REFERENCE_CONFIG, "optimizer": "adam", "momentum": 0.9}),
    "reference.json": json.dumps(REFERENCE_CONFIG),
    "garbage.db": "this is no database, only a half-written file",
}


@pytest.mark.parametrize(("command", "says", "code"), BAD_INPUT, ids=[row[0] for row in BAD_INPUT])
def test_bad_input_is_one_line_without_traceback(command, says, code, mixed, tmp_path):
    import shlex

    for name, text in CONFIG_FILES.items():
        half_written(tmp_path, name, text)
    args = shlex.split(command.format(db=mixed, tmp=tmp_path))
    result = CliRunner().invoke(main, args)
    assert isinstance(result.exception, SystemExit), result.exception  # nothing escaped as a traceback
    assert result.exit_code == code, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith(("Error:", "sweep: error:"))]
    assert len(errors) == 1 and says in errors[0], result.stderr
    assert "secret" not in result.output and "Traceback" not in result.output
    assert not (tmp_path / "none.db").exists(), "reading a study never creates a database"


def test_table_of_a_sqlite_study_loads_neither_sqlalchemy_nor_alembic(mixed):
    """Their imports were two thirds of `sweep table`'s start-up; the timing itself is in tests/bench."""
    import subprocess
    import sys

    probe = (
        "import sys\nfrom sweep.cli import main\n"
        f"sys.argv = ['sweep', 'table', '--storage', {mixed!r}, '--study', 'mixed']\n"
        "try:\n    main()\nexcept SystemExit as exit:\n    assert not exit.code, exit.code\n"
        "heavy = {'sqlalchemy', 'alembic', 'optuna', 'tensorflow'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "BASELINE" in result.stdout
