"""The notes' 80/20 split, the same for Fashion-MNIST and a user's own data."""

from __future__ import annotations

import dataclasses

import numpy as np

VALIDATION_SHARE = 0.2
SPLIT_SEED = 42
ALL_ROWS = "all"  # max_train's word for every training row (a run's default; a retrain says it to leave the study's)


@dataclasses.dataclass(frozen=True)
class Split:
    """The notes' 80/20 split of the training rows, scaled to about [0, 1]."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    fingerprint: str  # identifies the data and the split, for caches
    input_shape: tuple[int, ...] = (28, 28)  # one row's shape: (h, w), (h, w, channels) or (features,)
    classes: int = 10
    name: str = "fashion-mnist"

    def describe(self) -> str:
        return f"{self.name}: {len(self.y_train)} train / {len(self.y_val)} validation rows of {self.input_shape}"


def split_rows(x_all: np.ndarray, y_all: np.ndarray, identity: dict, max_train: int | None = None) -> Split:
    """``train_test_split(test_size=0.2, random_state=42)``; ``max_train`` keeps the first N training rows only.

    The validation rows are always the full 20%, so scores stay comparable whatever ``max_train`` is.
    """
    from sklearn.model_selection import train_test_split

    x_train, x_val, y_train, y_val = train_test_split(x_all, y_all, test_size=VALIDATION_SHARE, random_state=SPLIT_SEED)
    if max_train is not None:
        if max_train < 1:
            raise ValueError(f"--max-train must be a positive number of images, got {max_train}")
        x_train, y_train = x_train[:max_train], y_train[:max_train]
    key = f"{identity['fingerprint']}-val{VALIDATION_SHARE}-seed{SPLIT_SEED}-train{len(y_train)}"
    shape, classes = tuple(identity["input_shape"]), identity["classes"]
    return Split(x_train, y_train, x_val, y_val, key, shape, classes, identity["name"])
