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

from sweep.data.checks import check_arrays, fault

log = logging.getLogger(__name__)

KEYS = ("x_train", "y_train", "x_test", "y_test")


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


@functools.lru_cache(maxsize=4)
def load_own_data(source: str) -> OwnData:
    """Read, check and scale the file (cached: once per process and path)."""
    path = Path(source).expanduser().resolve()
    arrays = check_arrays(path, _read(path))
    x_train, y_train = arrays["x_train"], arrays["y_train"]
    x_test, y_test = arrays.get("x_test"), arrays.get("y_test")
    scale = _scale(path, x_train, arrays.get("scale"))
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
        classes=int(y_train.max()) + 1,  # every class 0..K-1 is present (check_arrays)
        scale=scale,
        fingerprint=digest.hexdigest()[:12],
    )
    log.info("own data %s: %d rows of shape %s, %d classes, scaled by 1/%g", path, len(y_train),
             data.input_shape, data.classes, scale)  # fmt: skip
    return data


def _read(path: Path) -> dict[str, np.ndarray]:
    if path.suffix != ".npz":
        raise fault(path, "own data must be an .npz file with x_train and y_train (numpy.savez)")
    if not path.is_file():
        raise fault(path, "no such file")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except Exception as error:  # not a zip, pickled objects, truncated: one line, not a traceback
        raise fault(path, f"not a readable .npz file ({type(error).__name__}: {error})") from None
    missing = [key for key in ("x_train", "y_train") if key not in arrays]
    if missing:
        raise fault(path, f"missing {', '.join(missing)} (it holds: {', '.join(arrays) or 'nothing'}); "
                     "expected x_train, y_train and optionally x_test, y_test")  # fmt: skip
    if ("x_test" in arrays) != ("y_test" in arrays):
        raise fault(path, "has one of x_test and y_test but not the other; give both or neither")
    return arrays


def _scale(path: Path, x_train: np.ndarray, configured) -> float:
    """The divisor that brings the inputs to about [0, 1]: configured, or detected from the training data."""
    if configured is not None:
        scale = float(np.asarray(configured))
        if not scale > 0:
            raise fault(path, f"scale must be a positive divisor, got {scale}")
        return scale
    largest = float(np.abs(x_train).max())
    return largest if largest > 1.0 else 1.0


def as_source(data, folder: Path) -> str | None:
    """``sweep.run``'s data argument as a source string: None (Fashion-MNIST), a path as given, or arrays (a dict
    of KEYS, or a tuple (x_train, y_train[, x_test, y_test])) saved under ``folder``."""
    if data is None or isinstance(data, (str, Path)):
        return None if data is None else str(data)
    if isinstance(data, (tuple, list)) and len(data) not in (2, 4):
        raise ValueError(
            f"data as a tuple is (x_train, y_train) or (x_train, y_train, x_test, y_test), got {len(data)}"
        )
    arrays = dict(data) if isinstance(data, dict) else dict(zip(KEYS, data, strict=False))
    return str(save_arrays({key: np.asarray(value) for key, value in arrays.items()}, folder))


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
