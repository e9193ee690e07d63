"""Every check of a user's arrays, in one place, before anything trains (scikit-learn's ``check_array`` habit).

Each fault is one line that names the file, what is wrong and how to fix it. The checks run in order, each
trusting the ones before it (shapes before labels, labels before classes), and take numpy alone, so a bad
file is refused before TensorFlow loads and before a study is created.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from sweep.data.errors import DatasetError

log = logging.getLogger(__name__)

LAYOUTS = "(rows, features), (rows, height, width) or (rows, height, width, channels)"
FOLDS = 5  # the baseline's cross-validation: every class needs this many rows
RELABEL = "relabel them 0..K-1, e.g. y = numpy.unique(y, return_inverse=True)[1]"


def fault(path: Path | str, message: str) -> DatasetError:
    return DatasetError(f"{path}: {message}")


def check_arrays(path: Path, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The arrays as training needs them (one-hot labels become class numbers), or one line on the first fault."""
    arrays = dict(arrays)
    for part in ("train", "test"):
        if f"x_{part}" in arrays:
            arrays[f"y_{part}"] = _class_numbers(path, part, arrays[f"y_{part}"])
            _check_pair(path, part, arrays[f"x_{part}"], arrays[f"y_{part}"])
    classes = _check_classes(path, arrays["y_train"])
    _check_rows(path, arrays["y_train"], classes)
    if "x_test" in arrays:
        _check_test(path, arrays, classes)
    return arrays


def _class_numbers(path: Path, part: str, labels: np.ndarray) -> np.ndarray:
    """One-hot rows (0/1, one 1 each) are accepted as their argmax, and the log says so."""
    if labels.ndim == 2 and labels.shape[1] >= 2 and np.isin(labels, (0, 1)).all() and (labels.sum(axis=1) == 1).all():
        log.warning("%s: y_%s is one-hot (%d columns); using each row's argmax as its class", path, part,
                    labels.shape[1])  # fmt: skip
        return labels.argmax(axis=1)
    return labels


def _check_pair(path: Path, part: str, x: np.ndarray, y: np.ndarray) -> None:
    if x.ndim not in (2, 3, 4):
        raise fault(path, f"x_{part} has shape {x.shape}; expected {LAYOUTS}")
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise fault(path, f"x_{part} holds {x.dtype} values; expected numbers")
    if y.ndim != 1:
        raise fault(path, f"y_{part} has shape {y.shape}; expected one integer label per row (or one-hot rows)")
    if len(x) != len(y):
        raise fault(path, f"x_{part} has {len(x)} rows but y_{part} has {len(y)} labels")
    if len(y) == 0:
        raise fault(path, f"x_{part} and y_{part} are empty" + (" (leave both out for no test set)" * (part == "test")))
    if not np.issubdtype(y.dtype, np.integer):
        raise fault(path, f"y_{part} holds {y.dtype} values; labels must be integers 0, 1, 2, ... (use .astype(int))")
    if y.min() < 0:
        raise fault(path, f"y_{part} holds the label {y.min()}; labels must be 0 or more")
    if np.issubdtype(x.dtype, np.floating) and not np.isfinite(x).all():
        raise fault(path, f"x_{part} holds NaN or infinite values")


def _check_classes(path: Path, y_train: np.ndarray) -> int:
    """Labels 0..K-1 with every class present; K, the class count the model's output will have."""
    present = np.unique(y_train)
    classes = int(present[-1]) + 1
    if len(present) < 2:
        raise fault(path, f"y_train holds one class only ({present[0]}); a classifier needs at least two")
    missing = np.setdiff1d(np.arange(classes), present)
    if len(missing):
        raise fault(path, f"y_train's largest label {classes - 1} implies {classes} classes, but "
                    f"{_listed(missing)} never occur; {RELABEL}")  # fmt: skip
    return classes


def _check_rows(path: Path, y_train: np.ndarray, classes: int) -> None:
    """Enough rows for the 80/20 split and the baseline's 5-fold cross-validation: FOLDS of every class."""
    counts = np.bincount(y_train, minlength=classes)
    scarce = np.flatnonzero(counts < FOLDS)
    if len(scarce):
        raise fault(path, f"x_train has {len(y_train)} rows, and class(es) {_listed(scarce)} fewer than {FOLDS} "
                    f"each; the 80/20 split and the {FOLDS}-fold baseline need at least {FOLDS} rows of every class "
                    f"({FOLDS * classes} rows for {classes} classes)")  # fmt: skip


def _check_test(path: Path, arrays: dict[str, np.ndarray], classes: int) -> None:
    x_train, x_test, y_test = arrays["x_train"], arrays["x_test"], arrays["y_test"]
    if x_test.shape[1:] != x_train.shape[1:]:
        raise fault(path, f"x_test rows have shape {x_test.shape[1:]} but x_train rows {x_train.shape[1:]}")
    unknown = np.unique(y_test[y_test >= classes])
    if len(unknown):
        raise fault(path, f"y_test holds label(s) {_listed(unknown)} that y_train never has (classes "
                    f"0..{classes - 1}); give the test set the training classes, or leave it out")  # fmt: skip


def _listed(values: np.ndarray, most: int = 5) -> str:
    shown = ", ".join(str(int(value)) for value in values[:most])
    return shown + (f" and {len(values) - most} more" if len(values) > most else "")
