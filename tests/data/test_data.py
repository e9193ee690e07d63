"""Finding, verifying and splitting the real Fashion-MNIST files."""

from __future__ import annotations

import gzip
import shutil

import numpy as np
import pytest

from sweep.data import DatasetError, DataSource, fashion, load_split


@pytest.fixture
def data_copy(tmp_path):
    """A private copy of the four real files, to break at will."""
    source = fashion.find_data_dir()
    for name in fashion.FILES:
        shutil.copy(source / name, tmp_path / name)
    return tmp_path


def test_finds_the_installed_dataset_without_configuration(monkeypatch):
    monkeypatch.delenv("SWEEP_DATA_DIR", raising=False)
    folder = fashion.find_data_dir()
    assert folder in (fashion.DEBIAN_DIR, fashion.KERAS_CACHE_DIR)


def test_explicit_folder_wins_over_the_environment(data_copy, tmp_path_factory, monkeypatch):
    monkeypatch.setenv("SWEEP_DATA_DIR", str(tmp_path_factory.mktemp("elsewhere")))
    assert fashion.find_data_dir(data_copy) == data_copy


def test_environment_variable_names_the_folder(data_copy, monkeypatch):
    monkeypatch.setenv("SWEEP_DATA_DIR", str(data_copy))
    assert fashion.find_data_dir() == data_copy


def test_split_follows_the_notes():
    split = load_split()
    assert split.x_train.shape == (48000, 28, 28) and split.x_val.shape == (12000, 28, 28)
    assert split.x_train.dtype == np.float32 and split.x_train.min() >= 0.0 and split.x_train.max() == 1.0
    assert set(np.unique(split.y_val)) == set(range(10))
    from sklearn.model_selection import train_test_split

    _, _, _, y_val = train_test_split(*DataSource().full_training_set(), test_size=0.2, random_state=42)
    assert np.array_equal(split.y_val, y_val)


def test_max_train_limits_training_but_keeps_validation():
    split = load_split(max_train=500)
    assert len(split.y_train) == 500 and len(split.y_val) == 12000
    assert split.fingerprint != load_split().fingerprint


def test_test_set_is_separate():
    images, labels = DataSource().test_set()
    assert images.shape == (10000, 28, 28) and labels.shape == (10000,)


def test_truncated_file_is_named_with_the_fix(data_copy):
    path = data_copy / "train-images-idx3-ubyte.gz"
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[: len(raw) // 2]))
    with pytest.raises(DatasetError, match="train-images-idx3-ubyte.gz.*truncated.*dataset-fashion-mnist"):
        fashion.load_raw(data_copy)


def test_cut_gzip_stream_is_reported(data_copy):
    path = data_copy / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(DatasetError, match="t10k-labels-idx1-ubyte.gz"):
        fashion.load_raw(data_copy)


def test_wrong_magic_number_is_refused(data_copy):
    path = data_copy / "train-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[3] = 0x99
    path.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(DatasetError, match="expected magic 2049"):
        fashion.load_raw(data_copy)


def test_missing_file_is_one_line_with_the_fix(data_copy):
    (data_copy / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(DatasetError) as error:
        fashion.find_data_dir(data_copy)
    message = str(error.value)
    assert "t10k-images-idx3-ubyte.gz" in message and "apt-get install" in message and "\n" not in message


def test_cli_reports_a_corrupt_dataset_without_traceback(data_copy):
    from helpers import sweep_cli

    (data_copy / "train-labels-idx1-ubyte.gz").write_bytes(b"not gzip at all")
    result = sweep_cli("baseline", "--data-dir", str(data_copy), check=False)
    assert result.returncode == 2
    assert "train-labels-idx1-ubyte.gz" in result.stderr and "Traceback" not in result.stderr


def test_a_run_scores_the_baseline_on_its_split_and_leaves_the_cross_validation_to_sweep_baseline(tmp_path):
    """A first run's time goes to trials: the notes' 5-fold figure (about 20 s) is `sweep baseline`'s alone."""
    import optuna
    from helpers import SMALL, SPACES, sweep_cli

    cache, url = tmp_path / "cache", f"sqlite:///{tmp_path / 'sweep.db'}"
    tiny = ["--space", str(SPACES / "tiny.yaml"), "--max-train", str(SMALL), "--trials", "1", "--storage", url]
    sweep_cli("run", *tiny, cwd=tmp_path, env={"SWEEP_CACHE_DIR": str(cache)})
    baseline = optuna.load_study(study_name="tiny", storage=url).user_attrs["baseline"]
    assert 0.7 < baseline["val_accuracy"] < 0.85 and "cv_accuracy" not in baseline
    assert [path.name.split("-")[1] for path in cache.iterdir()] == ["val"]
