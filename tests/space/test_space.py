"""The search-space file format: the notes' file, sampling, and every fault refused in one line."""

from __future__ import annotations

import subprocess
import sys

import optuna
import pytest
from click.testing import CliRunner

from sweep.cli import main
from sweep.search.driver import OptunaSuggester
from sweep.space.spec import REFERENCE_CONFIG, SPACES_DIR, SpaceError, load_space
from sweep.space.vocabulary import ACTIVATIONS, OPTIMIZERS

NOTES_AS_DESIGNED = {
    "hidden_layers": ("int", 1, 3),
    "units": ("int", 16, 512),
    "epochs": ("int", 5, 20),
    "learning_rate": ("float", 1.0e-4, 1.0e-1),
}


def sample_many(space, count=60, seed=0):
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    configs = []
    for _ in range(count):
        trial = study.ask()
        configs.append(space.sample(OptunaSuggester(trial)))
        study.tell(trial, 0.0)
    return configs


def test_notes_file_loads_exactly_as_designed():
    space = load_space(SPACES_DIR / "notes.yaml")
    assert space.name == "notes" and "learning rate" in space.description.lower()
    for name, (kind, low, high) in NOTES_AS_DESIGNED.items():
        param = space.params[name]
        assert (param.type, param.low, param.high) == (kind, low, high)
    assert space.params["units"].per_layer and space.params["units"].log
    assert space.params["batch_size"].choices == (32, 64, 128, 256)
    assert space.params["optimizer"].choices == ("sgd", "adagrad", "rmsprop", "adam")
    assert space.params["lr_schedule"].value == "cosine"  # annealed: the anytime benchmark chose it
    assert load_space("notes") == space


def test_sampled_configs_obey_the_notes_space():
    configs = sample_many(load_space("notes"))
    for config in configs:
        assert 1 <= config["hidden_layers"] <= 3
        assert len(config["units"]) == config["hidden_layers"]
        assert all(16 <= units <= 512 for units in config["units"])
        assert config["activation"] in ("sigmoid", "relu", "tanh")
        assert 1e-4 <= config["learning_rate"] <= 1e-1
        assert config["layer_type"] == "dense" and config["dropout"] == 0.0
    assert {c["hidden_layers"] for c in configs} == {1, 2, 3}
    assert {c["optimizer"] for c in configs} == {"sgd", "adagrad", "rmsprop", "adam"}


def write(tmp_path, text: str, name: str = "space.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_fixed_values_and_defaults_fill_the_reference_model(tmp_path):
    space = load_space(write(tmp_path, "name: f\nparams:\n  epochs: 2\n  units: [64]\n"))
    (config,) = sample_many(space, count=1)
    assert config == {**REFERENCE_CONFIG, "epochs": 2, "units": [64]}


def test_when_condition_adds_a_parameter_only_under_it(tmp_path):
    space = load_space(
        write(
            tmp_path,
            """
params:
  optimizer: {type: categorical, choices: [sgd, adam]}
  momentum: {type: float, low: 0.0, high: 0.9, when: {optimizer: sgd}}
  nesterov: {type: bool, when: {optimizer: sgd}}
""",
        )
    )
    configs = sample_many(space, count=40)
    for config in configs:
        assert ("momentum" in config) == (config["optimizer"] == "sgd")
    assert {type(c.get("nesterov")) for c in configs} == {bool, type(None)}


def test_conditions_are_sampled_after_their_parent_whatever_the_file_order(tmp_path):
    space = load_space(
        write(
            tmp_path,
            """
params:
  momentum: {type: float, low: 0.1, high: 0.9, when: {optimizer: sgd}}
  units: {type: int, low: 8, high: 16, per_layer: true}
  optimizer: {type: categorical, choices: [sgd]}
  hidden_layers: {type: int, low: 2, high: 2}
""",
        )
    )
    assert list(space.params) == ["optimizer", "momentum", "hidden_layers", "units"]
    (config,) = sample_many(space, count=1)
    assert len(config["units"]) == 2 and 0.1 <= config["momentum"] <= 0.9


def test_a_learning_rate_per_optimizer_through_alternatives(tmp_path):
    space = load_space(
        write(
            tmp_path,
            """
params:
  optimizer: {type: categorical, choices: [sgd, rmsprop, adam]}
  learning_rate:
    - {type: float, low: 1.0e-2, high: 1.0e-1, log: true, when: {optimizer: sgd}}
    - {type: float, low: 1.0e-4, high: 1.0e-3, log: true, when: {optimizer: [rmsprop, adam]}}
""",
        )
    )
    assert {"learning_rate_sgd", "learning_rate_rmsprop_adam"} <= set(space.params)
    configs = sample_many(space, count=40)
    for config in configs:
        low, high = (1e-2, 1e-1) if config["optimizer"] == "sgd" else (1e-4, 1e-3)
        assert low <= config["learning_rate"] <= high
    assert {c["optimizer"] for c in configs} == {"sgd", "rmsprop", "adam"}


GOOD = "name: t\nparams:\n"
BROKEN = [
    ("params: [unclosed", "YAML error at line 1"),
    ("name: t\nparams:\n  epochs: {type: int, low: 1, high: 2\n", "YAML error"),
    ("just a string", "expected a mapping"),
    ("name: t\n", "'params' must be a non-empty mapping"),
    ("name: t\nparams: {}\n", "'params' must be a non-empty mapping"),
    ("name: t\nsurprise: 1\nparams:\n  epochs: 2\n", "unknown top-level key 'surprise'"),
    (GOOD + "  neurons: {type: int, low: 1, high: 3}\n", "'neurons' is not in the model's vocabulary"),
    (GOOD + "  epochs: {type: integer, low: 1, high: 3}\n", "type 'integer' is unknown"),
    (GOOD + "  epochs: {low: 1, high: 3}\n", "type None is unknown"),
    (GOOD + "  epochs: {type: int, low: 1, high: 3, scale: log}\n", "unknown key 'scale'"),
    (GOOD + "  epochs: {type: int, low: 9, high: 3}\n", "low 9 is greater than high 3"),
    (GOOD + "  epochs: {type: int, low: 1.5, high: 3}\n", "'low' must be an integer"),
    (GOOD + "  epochs: {type: int, high: 3}\n", "'low' must be an integer, got None"),
    (GOOD + "  learning_rate: {type: float, low: 0.0, high: 0.1, log: true}\n", "log scale needs low > 0"),
    (GOOD + "  learning_rate: {type: float, low: -1, high: 0.1}\n", "expected a number in"),
    (GOOD + "  learning_rate: {type: float, low: 0.001, high: 0.1, step: 0}\n", "'step' must be a positive"),
    (GOOD + "  learning_rate: {type: float, low: 0.001, high: 0.1, step: 0.01, log: true}\n", "cannot be combined"),
    (GOOD + "  activation: {type: categorical, choices: []}\n", "non-empty list"),
    (GOOD + "  activation: {type: categorical, choices: [relu, relu]}\n", "contain a duplicate"),
    (GOOD + "  activation: {type: categorical, choices: [relu, swishy]}\n", "'swishy' is not a Keras activation"),
    (GOOD + "  optimizer: {type: categorical, choices: [adam, lbfgs]}\n", "optimizer 'lbfgs' is unknown"),
    (GOOD + "  optimizer: lbfgs\n", "optimizer 'lbfgs' is unknown"),
    (GOOD + "  layer_type: {type: categorical, choices: [dense, lstm]}\n", "layer_type 'lstm' is unknown"),
    (GOOD + "  lr_schedule: {type: categorical, choices: [constant, step]}\n", "lr_schedule 'step' is unknown"),
    (GOOD + "  batch_size: {type: categorical, choices: [32, 0]}\n", "expected an integer in [1, 60000], got 0"),
    (GOOD + "  dropout: 1.5\n", "expected a number in [0.0, 0.95]"),
    (GOOD + "  nesterov: maybe\n", "expected true or false"),
    (GOOD + "  activation: {type: categorical, choices: [relu], per_layer: true}\n", "per_layer applies only to"),
    (GOOD + "  momentum: {type: float, low: 0, high: 0.9, when: {optimizer: sgd}}\n", "'when' names 'optimizer'"),
    (
        GOOD + "  optimizer: {type: categorical, choices: [adam]}\n"
        "  momentum: {type: float, low: 0, high: 0.9, when: {optimizer: sgd}}\n",
        "optimizer='sgd', which 'optimizer' can",
    ),
    (GOOD + "  momentum: {type: float, low: 0, high: 0.9, when: sgd}\n", "'when' must map a parameter"),
    (
        GOOD + "  dropout: {type: float, low: 0, high: 0.5, when: {dropout: 0.1}}\n",
        "cannot depend on the parameter itself",
    ),
    (
        GOOD + "  optimizer: {type: categorical, choices: [sgd, adam], when: {momentum: 0.5}}\n"
        "  momentum: {type: float, low: 0, high: 0.9, when: {optimizer: sgd}}\n",
        "form a cycle",
    ),
    (GOOD + "  layer_type: conv\n  hidden_layers: {type: int, low: 1, high: 5}\n", "at most 4 conv layers"),
    (
        GOOD + "  optimizer: {type: categorical, choices: [sgd, adam]}\n  learning_rate:\n"
        "    - {type: float, low: 0.01, high: 0.1}\n"
        "    - {type: float, low: 0.001, high: 0.01, when: {optimizer: adam}}\n",
        "each alternative needs a 'when' on the same single parameter",
    ),
    (
        GOOD + "  optimizer: {type: categorical, choices: [sgd, adam]}\n  learning_rate:\n"
        "    - {type: float, low: 0.01, high: 0.1, when: {optimizer: [sgd, adam]}}\n"
        "    - {type: float, low: 0.001, high: 0.01, when: {optimizer: adam}}\n",
        "alternatives overlap on 'adam'",
    ),
    (GOOD + "  kernel_size: {type: int, low: 3, high: 31}\n", "expected an integer in [1, 28]"),
]


@pytest.mark.parametrize(("text", "message"), BROKEN, ids=[m for _, m in BROKEN])
def test_broken_space_is_refused_in_one_line_with_exit_code_2(tmp_path, text, message):
    path = write(tmp_path, text, "broken.yaml")
    result = CliRunner().invoke(main, ["space", "show", str(path)])
    assert result.exit_code == 2, result.output
    line = result.output.strip()
    assert "\n" not in line and "Traceback" not in line
    assert str(path) in line and message in line


def test_sweep_run_refuses_a_broken_space_before_training(tmp_path, sqlite_url):
    path = write(tmp_path, GOOD + "  epochs: {type: int, low: 9, high: 3}\n", "broken.yaml")
    result = CliRunner().invoke(main, ["run", "--space", str(path), "--storage", sqlite_url])
    assert result.exit_code == 2 and "parameter 'epochs'" in result.output
    assert not (tmp_path / "sweep.db").exists()


def test_missing_space_file_is_named():
    with pytest.raises(SpaceError, match="no-such-space.yaml: cannot read"):
        load_space("no-such-space.yaml")
    with pytest.raises(SpaceError, match="'no-such-space': no built-in search space of that name .*notes"):
        load_space("no-such-space")


def test_an_unknown_activation_is_refused_without_importing_tensorflow(tmp_path):
    path = write(tmp_path, GOOD + "  activation: {type: categorical, choices: [relu, nonsense]}\n", "bad.yaml")
    probe = (
        "import sys\nfrom sweep.cli import main\n"
        f"sys.argv = ['sweep', 'run', '--space', {str(path)!r}, '--storage', 'sqlite:///{tmp_path}/x.db']\n"
        "try:\n    main()\nexcept SystemExit as exit:\n    code = exit.code\n"
        "assert code == 2, code\nassert 'tensorflow' not in sys.modules and 'keras' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stderr.strip().splitlines() == [
        f"sweep: error: {path}: parameter 'activation': activation 'nonsense' is not a Keras activation; "
        f"expected one of {', '.join(ACTIVATIONS)}"
    ]


def test_keras_names_kept_as_data_are_the_ones_keras_knows():
    import keras

    helpers = {"get", "serialize", "deserialize"}
    known = {name for name in dir(keras.activations) if not name.startswith("_") and name not in helpers}
    assert set(ACTIVATIONS) == known - {"threshold"}  # threshold needs two more arguments than a layer gives
    probe = keras.ops.ones((2, 4))
    for name in ACTIVATIONS:
        assert keras.ops.shape(keras.activations.get(name)(probe))[0] == 2, name
    for name in OPTIMIZERS:
        assert isinstance(keras.optimizers.get(name), keras.optimizers.Optimizer), name


def test_a_reader_that_closes_the_pipe_gets_no_error_line():
    """`sweep space show notes | head -1`: the reader leaves early, and sweep stops without a word."""
    command = [sys.executable, "-m", "sweep", "space", "show", "notes"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()
    assert process.stderr.read() == b"" and process.wait() == 1
