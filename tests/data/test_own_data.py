"""Your own data: an .npz of scikit-learn's bundled digits (8x8, 1,797 images), written by the test.

A small real sweep on it ranks against its own SGDClassifier baseline, exports, and its
train_best.py runs; bad files are refused in one line; shapes reach the model and the space checks.
"""

from __future__ import annotations

import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import sweep_cli

from sweep.data import DatasetError, DataSource, load_split

DIGITS_SPACE = """\
name: digits
description: Small dense nets for 8x8 digits.
params:
  hidden_layers: {type: int, low: 1, high: 2}
  units:         {type: int, low: 32, high: 128, log: true, per_layer: true}
  activation:    {type: categorical, choices: [relu, tanh]}
  batch_size:    32
  epochs:        8
  optimizer:     adam
  learning_rate: {type: float, low: 1.0e-3, high: 1.0e-2, log: true}
"""


def write_digits(path: Path, **changes) -> Path:
    """Digits as 8-bit images: 1,500 to train on (80/20 inside), 297 held out as the test set."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images, labels = digits.images.astype(np.uint8), digits.target
    arrays = {"x_train": images[:1500], "y_train": labels[:1500], "x_test": images[1500:], "y_test": labels[1500:]}
    arrays.update(changes)
    np.savez(path, **{key: value for key, value in arrays.items() if value is not None})
    return path


@pytest.fixture(scope="module")
def digits_sweep(tmp_path_factory):
    """A real 4-trial sweep on digits, run by the CLI; the folder, storage URL and `sweep run` output."""
    folder = tmp_path_factory.mktemp("digits")
    write_digits(folder / "digits.npz")
    (folder / "digits.yaml").write_text(DIGITS_SPACE)
    storage = f"sqlite:///{folder / 'sweep.db'}"
    ran = sweep_cli("run", "--data", "digits.npz", "--space", "digits.yaml", "--trials", "4", "--storage", storage,
                    cwd=folder)  # fmt: skip
    return folder, storage, ran


def test_digits_sweep_ranks_against_its_own_baseline(digits_sweep):
    import sweep

    folder, storage, ran = digits_sweep
    assert "digits.npz: 1200 train / 300 validation rows of (8, 8)" in ran.stderr
    study = sweep.load("digits", storage)
    table = study.table()
    baseline = study.baseline["val_accuracy"]
    assert 0.85 < baseline < 1  # the SGDClassifier on the same split, not Fashion-MNIST's 0.82
    assert study.baseline["train_images"] == 1200
    finished = table[table["state"].isin(["COMPLETE", "PRUNED"])]  # a pruned trial ranks at its best epoch
    assert len(finished) == 4
    assert np.allclose(finished["vs_baseline_pp"], 100 * (finished["val_accuracy"] - baseline))
    assert finished["val_accuracy"].max() > 0.9  # a dense net learns 8x8 digits
    assert study.data["name"] == "digits.npz" and study.data["path"] == str(folder / "digits.npz")
    shown = sweep_cli("table", "--study", "digits", "--storage", storage, "--format", "csv", cwd=folder).stdout
    pd.testing.assert_frame_equal(pd.read_csv(StringIO(shown)), pd.read_csv(StringIO(table.to_csv(index=False))))


def test_digits_export_and_train_best_use_the_recorded_file(digits_sweep):
    import sweep

    folder, storage, _ = digits_sweep
    study = sweep.load("digits", storage)
    out = folder / "export"
    metrics = study.export(out)  # no data named: the .npz the study recorded
    assert metrics["data"]["name"] == "digits.npz" and metrics["test_images"] == 297
    assert metrics["train_images"] == 1200 and 0.8 < metrics["test_accuracy"] <= 1
    assert json.loads((out / "metrics.json").read_text())["test_accuracy"] == metrics["test_accuracy"]
    script = subprocess.run(
        [sys.executable, str(out / "train_best.py")], cwd=folder, capture_output=True, text=True, timeout=300
    )
    assert script.returncode == 0, script.stderr[-2000:]
    assert f"val_accuracy {metrics['val_accuracy']:.4f}" in script.stdout  # the same model, the same seed
    assert "tuned on digits.npz" in (out / "train_best.py").read_text()


def test_a_moved_data_file_is_named_in_one_line(digits_sweep):
    folder, storage, _ = digits_sweep
    (folder / "digits.npz").rename(folder / "digits-moved.npz")
    try:
        failed = sweep_cli("export", "--study", "digits", "--storage", storage, "--out", str(folder / "x"),
                           cwd=folder, check=False)  # fmt: skip
    finally:
        (folder / "digits-moved.npz").rename(folder / "digits.npz")
    assert failed.returncode == 2 and failed.stderr.count("\n") == 1, failed.stderr
    assert f"{folder / 'digits.npz'}, which is missing: pass --data" in failed.stderr


STRAY = np.r_[np.zeros(500, int), np.ones(500, int), np.full(499, 2), 255]  # one stray 255 among 0-2
FEW_IMAGES, FEW_LABELS = np.zeros((8, 8, 8)), np.r_[np.zeros(4, int), np.ones(4, int)]


@pytest.mark.parametrize(
    ("changes", "fault"),
    [
        ({"x_train": None}, "missing x_train (it holds: y_train, x_test, y_test)"),
        ({"y_train": np.zeros(1499, dtype=int)}, "x_train has 1500 rows but y_train has 1499 labels"),
        ({"y_train": np.zeros(1500) + 0.5}, "y_train holds float64 values; labels must be integers"),
        ({"x_test": np.zeros((297, 9, 9))}, "x_test rows have shape (9, 9) but x_train rows (8, 8)"),
        ({"x_test": np.zeros((0, 8, 8)), "y_test": np.zeros(0, dtype=int)}, "x_test and y_test are empty"),
        ({"y_test": None}, "has one of x_test and y_test but not the other"),
        ({"y_train": -np.ones(1500, dtype=int)}, "y_train holds the label -1"),
        ({"x_train": np.full((1500, 8, 8), np.nan)}, "x_train holds NaN or infinite values"),
        ({"x_train": np.zeros((1500, 8, 8, 3, 2))}, "x_train has shape (1500, 8, 8, 3, 2); expected"),
        ({"y_train": STRAY}, "largest label 255 implies 256 classes, but 3, 4, 5, 6, 7 and 247 more never occur"),
        ({"y_train": np.full(1500, 3)}, "y_train holds one class only (3); a classifier needs at least two"),
        ({"x_train": FEW_IMAGES, "y_train": FEW_LABELS}, "class(es) 0, 1 fewer than 5 each"),
        ({"x_train": np.zeros((1, 8, 8)), "y_train": np.zeros(1, dtype=int)}, "one class only"),
        ({"y_test": np.full(297, 12)}, "y_test holds label(s) 12 that y_train never has (classes 0..9)"),
        ({"y_train": np.zeros((1500, 10, 2))}, "y_train has shape (1500, 10, 2); expected one integer label"),
    ],
)
def test_bad_data_is_refused_in_one_line(tmp_path, changes, fault):
    path = write_digits(tmp_path / "bad.npz", **changes)
    with pytest.raises(DatasetError) as error:
        load_split(str(path))
    assert fault in str(error.value) and str(path) in str(error.value) and "\n" not in str(error.value)


def test_one_hot_labels_are_taken_as_their_classes(tmp_path, caplog):
    from sklearn.datasets import load_digits

    labels = load_digits().target
    one_hot = write_digits(tmp_path / "one-hot.npz", y_train=np.eye(10, dtype=int)[labels[:1500]],
                           y_test=np.eye(10)[labels[1500:]])  # fmt: skip
    split = load_split(str(one_hot))
    assert split.classes == 10 and split.y_train.ndim == 1
    assert np.array_equal(DataSource.of(str(one_hot)).test_set()[1], labels[1500:])
    assert "one-hot" in caplog.text


@pytest.mark.parametrize(
    ("changes", "fault"),
    [
        ({"y_train": np.zeros(1500) + 0.5}, "labels must be integers"),
        ({"y_train": STRAY}, "implies 256 classes"),
        ({"y_train": np.full(1500, 3)}, "one class only"),
        ({"x_train": FEW_IMAGES, "y_train": FEW_LABELS}, "need at least 5 rows of every class"),
        ({"y_test": np.full(297, 12)}, "that y_train never has"),
    ],
)
def test_bad_data_is_one_line_from_the_cli_and_stores_nothing(tmp_path, changes, fault):
    path = write_digits(tmp_path / "bad.npz", **changes)
    failed = sweep_cli("run", "--data", str(path), "--space", "notes", "--storage", f"sqlite:///{tmp_path / 's.db'}",
                       cwd=tmp_path, check=False)  # fmt: skip
    assert failed.returncode == 2 and failed.stderr.startswith("sweep: error:") and failed.stderr.count("\n") == 1
    assert fault in failed.stderr and "Traceback" not in failed.stderr
    assert not (tmp_path / "s.db").exists()  # refused before a study was created


def test_shapes_channels_flat_rows_and_scaling(tmp_path):
    rng = np.random.default_rng(0)
    colour = write_digits(tmp_path / "rgb.npz", x_train=rng.integers(0, 256, (1500, 12, 10, 3)).astype(np.uint8),
                          y_train=rng.integers(0, 3, 1500), x_test=None, y_test=None)  # fmt: skip
    split = load_split(str(colour))
    assert split.input_shape == (12, 10, 3) and split.classes == 3 and split.x_train.max() <= 1.0
    with pytest.raises(DatasetError, match="no x_test/y_test in the file"):
        DataSource.of(str(colour)).test_set()
    flat = write_digits(tmp_path / "flat.npz", x_train=rng.normal(size=(100, 5)), y_train=rng.integers(0, 2, 100),
                        x_test=None, y_test=None, scale=np.array(2.0))  # fmt: skip
    flat_split = load_split(str(flat))
    assert flat_split.input_shape == (5,) and flat_split.classes == 2
    assert np.allclose(
        DataSource.of(str(flat)).full_training_set()[0] * 2, np.load(flat)["x_train"], atol=1e-5
    )  # configured


def test_models_and_space_checks_follow_the_shape(tmp_path):
    from sweep.space.checks import check_data_fits
    from sweep.space.spec import SpaceError, load_space
    from sweep.training.model import build_model

    conv = {"layer_type": "conv", "hidden_layers": 3, "filters": [8, 8, 8], "kernel_size": [3, 3, 3],
            "units": [16], "activation": "relu", "optimizer": "adam", "learning_rate": 1e-3}  # fmt: skip
    model = build_model(conv, input_shape=(8, 8, 3), classes=5)
    assert model.input_shape == (None, 8, 8, 3) and model.output_shape == (None, 5)
    dense = {**conv, "layer_type": "dense", "hidden_layers": 1, "units": [16]}
    assert build_model(dense, input_shape=(64,), classes=2).output_shape == (None, 2)
    space = tmp_path / "deep.yaml"
    space.write_text(
        "name: deep\ndescription: d\nparams:\n  layer_type: conv\n  hidden_layers: 4\n"
        "  filters: {type: int, low: 8, high: 16, per_layer: true}\n  kernel_size: 3\n"
    )
    loaded = load_space(space)
    check_data_fits(loaded.path, loaded.params, (28, 28))  # 28 -> 14 -> 7 -> 3 -> 1
    with pytest.raises(SpaceError, match="8x8 images allow at most 3 conv layers, got up to 4"):
        check_data_fits(loaded.path, loaded.params, (8, 8))
    with pytest.raises(SpaceError, match=r"flat rows of \(64,\)"):
        check_data_fits(loaded.path, loaded.params, (64,))
