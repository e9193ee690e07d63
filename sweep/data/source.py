"""Where a run's data comes from, decided once: Fashion-MNIST (found, or in a given folder) or a user's .npz.

Every layer above asks a ``DataSource`` (its identity, its split, its full training set, its test set)
instead of re-deciding from a path string. It is a small frozen value, so it travels to worker processes
and into settings unchanged; the arrays behind it are loaded once per process (cached).
"""

from __future__ import annotations

import dataclasses
import functools
import os
from pathlib import Path
from typing import Any

import numpy as np

from sweep.data import fashion, own
from sweep.data.errors import DatasetError
from sweep.data.split import ALL_ROWS, Split, split_rows


@dataclasses.dataclass(frozen=True)
class DataSource:
    """Fashion-MNIST (``path`` a folder with its four files, or None to search) or an own ``.npz`` (``own``)."""

    path: str | None = None
    own: bool = False

    @classmethod
    def of(cls, given: DataSource | str | os.PathLike | None) -> DataSource:
        """The source a data argument names: a DataSource as it is, an .npz (or any file), a folder, or None."""
        if isinstance(given, DataSource):
            return given
        if given is None or str(given) == "":
            return cls()
        return cls(str(given), own.is_own_data(given))

    def __str__(self) -> str:
        return self.path or fashion.FASHION_MNIST

    def full_training_set(self) -> tuple[np.ndarray, np.ndarray]:
        """All training rows (scaled) and labels, as the notes' cross-validation uses."""
        if self.own:
            data = own.load_own_data(self.path)
            return data.x_train, data.y_train
        return fashion.training_set(fashion.find_data_dir(self.path))

    def identity(self) -> dict[str, Any]:
        """What a study records about its data: name, fingerprint, path (own data only), shape, classes, scale."""
        if self.own:
            data = own.load_own_data(self.path)
            return {"name": data.name, "fingerprint": data.fingerprint, "path": data.path,
                    "input_shape": list(data.input_shape), "classes": data.classes, "scale": data.scale}  # fmt: skip
        return fashion.identity(fashion.find_data_dir(self.path))

    def split(self, max_train: int | str | None = None) -> Split:
        """The notes' split (cached per process): ``train_test_split(test_size=0.2, random_state=42)``; the first
        ``max_train`` training rows, or every one for None or ``"all"``."""
        return _split(self, None if max_train == ALL_ROWS else max_train)

    @property
    def has_test_set(self) -> bool:
        return not self.own or own.load_own_data(self.path).x_test is not None

    def test_set(self) -> tuple[np.ndarray, np.ndarray]:
        """The test rows. Only evaluation of an exported config touches them."""
        if not self.own:
            return fashion.test_set(fashion.find_data_dir(self.path))
        data = own.load_own_data(self.path)
        if data.x_test is None:
            raise DatasetError(f"{data.path}: no x_test/y_test in the file, so there is no test set to evaluate on")
        return data.x_test, data.y_test

    @classmethod
    def for_study(cls, recorded: dict | None, given: DataSource | str | None = None) -> DataSource:
        """The data to retrain a study's configs on: ``given``, else the own-data file the study recorded.

        A recorded file that is gone or changed is refused in one line naming the file the study needs.
        """
        if given is not None or not recorded or not recorded.get("path"):
            return cls.of(given)
        path, name, wanted = recorded["path"], recorded["name"], recorded["fingerprint"]
        if not Path(path).is_file():
            raise DatasetError(f"the study ran on {name} (fingerprint {wanted}) at {path}, which is missing: "
                               "pass --data (data= in Python) with that .npz file")  # fmt: skip
        if own.load_own_data(path).fingerprint != wanted:
            raise DatasetError(f"{path} changed since the study ran on it (fingerprint {wanted}): "
                               "pass --data (data= in Python) with the file the study used")  # fmt: skip
        return cls(path, own=True)


@functools.lru_cache(maxsize=8)
def _split(source: DataSource, max_train: int | None) -> Split:
    x_all, y_all = source.full_training_set()
    return split_rows(x_all, y_all, source.identity(), max_train)


def load_split(data: DataSource | str | None = None, max_train: int | None = None) -> Split:
    """The split of any data argument (a DataSource, a path or None for Fashion-MNIST)."""
    return DataSource.of(data).split(max_train)
