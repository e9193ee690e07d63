"""A user's own data: one ``.npz`` file with ``x_train``, ``y_train`` and optionally ``x_test``, ``y_test``.

Images of any size, with or without a channel axis, or flat feature vectors; integer class labels
from 0. The input shape and the class count come from the arrays. Pixel scaling is detected
(values above 1 are divided by the training maximum: 255 for 8-bit images, 16 for scikit-learn's
digits) unless the file carries a ``scale`` entry (the divisor). Every fault is refused in one
line that names the file and what is wrong, before any training (scikit-learn's ``check_array`` habit).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import logging
from pathlib import Path

import numpy as np

from sweep.data.errors import DatasetError

log = logging.getLogger(__name__)

KEYS = ("x_train", "y_train", "x_test", "y_test")
LAYOUTS = "(rows, features), (rows, height, width) or (rows, height, width, channels)"


@dataclasses.dataclass(frozen=True)
class OwnData:
    """The file's arrays, checked and scaled to float32."""

    name: str
    path: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray | None
    y_test: np.ndarray | None
    classes: int
    scale: float
    fingerprint: str  # of the raw training arrays: the same data gives the same key wherever it lives

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])


def is_own_data(source) -> bool:
    """True for a data source that is a file (an .npz), False for a Fashion-MNIST folder or None."""
    if source is None:
        return False
    path = Path(source).expanduser()
    return path.suffix == ".npz" or path.is_file()


def _fault(path, message: str) -> DatasetError:
    return DatasetError(f"{path}: {message}")


@functools.lru_cache(maxsize=4)
def load_own_data(source: str) -> OwnData:
    """Read, check and scale the file (cached: once per process and path)."""
    path = Path(source).expanduser().resolve()
    arrays = _read(path)
    x_train, y_train = arrays["x_train"], arrays["y_train"]
    _check_pair(path, "train", x_train, y_train)
    if len(y_train) < 2:
        raise _fault(path, f"x_train holds {len(y_train)} row(s); the 80/20 validation split needs at least 2")
    x_test, y_test = arrays.get("x_test"), arrays.get("y_test")
    if x_test is not None:
        _check_pair(path, "test", x_test, y_test)
        if x_test.shape[1:] != x_train.shape[1:]:
            raise _fault(path, f"x_test rows have shape {x_test.shape[1:]} but x_train rows {x_train.shape[1:]}")
    scale = _scale(path, x_train, arrays.get("scale"))
    labels = [y_train] if y_test is None else [y_train, y_test]
    digest = hashlib.sha256()
    for array in (x_train, y_train):
        digest.update(str((array.dtype, array.shape)).encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    data = OwnData(
        name=path.name,
        path=str(path),
        x_train=x_train.astype(np.float32) / np.float32(scale),  # as train_best.py scales: the same bits
        y_train=y_train.astype(np.int64),
        x_test=None if x_test is None else x_test.astype(np.float32) / np.float32(scale),
        y_test=None if y_test is None else y_test.astype(np.int64),
        classes=int(max(int(y.max()) for y in labels)) + 1,
        scale=scale,
        fingerprint=digest.hexdigest()[:12],
    )
    log.info("own data %s: %d rows of shape %s, %d classes, scaled by 1/%g", path, len(y_train),
             data.input_shape, data.classes, scale)  # fmt: skip
    return data


def _read(path: Path) -> dict[str, np.ndarray]:
    if path.suffix != ".npz":
        raise _fault(path, "own data must be an .npz file with x_train and y_train (numpy.savez)")
    if not path.is_file():
        raise _fault(path, "no such file")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except Exception as error:  # not a zip, pickled objects, truncated: one line, not a traceback
        raise _fault(path, f"not a readable .npz file ({type(error).__name__}: {error})") from None
    missing = [key for key in ("x_train", "y_train") if key not in arrays]
    if missing:
        raise _fault(path, f"missing {', '.join(missing)} (it holds: {', '.join(arrays) or 'nothing'}); "
                     "expected x_train, y_train and optionally x_test, y_test")  # fmt: skip
    if ("x_test" in arrays) != ("y_test" in arrays):
        raise _fault(path, "has one of x_test and y_test but not the other; give both or neither")
    return arrays


def _check_pair(path: Path, part: str, x: np.ndarray, y: np.ndarray) -> None:
    if x.ndim not in (2, 3, 4):
        raise _fault(path, f"x_{part} has shape {x.shape}; expected {LAYOUTS}")
    if not (np.issubdtype(x.dtype, np.number) or x.dtype == bool):
        raise _fault(path, f"x_{part} holds {x.dtype} values; expected numbers")
    if y.ndim != 1:
        raise _fault(path, f"y_{part} has shape {y.shape}; expected one integer label per row")
    if len(x) != len(y):
        raise _fault(path, f"x_{part} has {len(x)} rows but y_{part} has {len(y)} labels")
    if len(y) == 0:
        raise _fault(
            path, f"x_{part} and y_{part} are empty" + (" (leave both out for no test set)" * (part == "test"))
        )
    if not np.issubdtype(y.dtype, np.integer):
        raise _fault(path, f"y_{part} holds {y.dtype} values; labels must be integers 0, 1, 2, ... (use .astype(int))")
    if y.min() < 0:
        raise _fault(path, f"y_{part} holds the label {y.min()}; labels must be 0 or more")
    if np.issubdtype(x.dtype, np.floating) and not np.isfinite(x).all():
        raise _fault(path, f"x_{part} holds NaN or infinite values")


def _scale(path: Path, x_train: np.ndarray, configured) -> float:
    """The divisor that brings the inputs to about [0, 1]: configured, or detected from the training data."""
    if configured is not None:
        scale = float(np.asarray(configured))
        if not scale > 0:
            raise _fault(path, f"scale must be a positive divisor, got {scale}")
        return scale
    largest = float(np.abs(x_train).max())
    return largest if largest > 1.0 else 1.0


def save_arrays(arrays: dict[str, np.ndarray], folder: Path) -> Path:
    """Arrays handed to ``sweep.run`` become an .npz named by their fingerprint, so a study can name its data."""
    digest = hashlib.sha256()
    for key in sorted(arrays):
        digest.update(key.encode() + np.ascontiguousarray(arrays[key]).tobytes())
    path = folder / f"arrays-{digest.hexdigest()[:12]}.npz"
    if not path.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, **{key: np.asarray(value) for key, value in arrays.items()})
    return path
