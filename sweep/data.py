"""Find, verify, load and split the data: Fashion-MNIST by default, or the user's own ``.npz``.

A data source (``data_dir`` everywhere) is either a folder with Fashion-MNIST's four IDX files
(or None: search for them) or the path of an ``.npz`` file of one's own (``sweep.own_data``).
Both give the same ``Split``, with the input shape and the class count on it, so nothing
downstream names Fashion-MNIST.

The four IDX files are read with numpy alone, so loading data never imports TensorFlow.
Search order: an explicit folder (argument or ``SWEEP_DATA_DIR``), Debian's
``dataset-fashion-mnist`` package, the Keras cache, then Keras's own download.
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import hashlib
import logging
import os
import struct
from pathlib import Path

import numpy as np

from sweep.own_data import is_own_data, load_own_data

log = logging.getLogger(__name__)

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
KERAS_CACHE_DIR = Path("~/.keras/datasets/fashion-mnist").expanduser()
VALIDATION_SHARE = 0.2
SPLIT_SEED = 42

# file name -> (IDX magic number, item count, item shape)
FILES = {
    "train-images-idx3-ubyte.gz": (2051, 60000, (28, 28)),
    "train-labels-idx1-ubyte.gz": (2049, 60000, ()),
    "t10k-images-idx3-ubyte.gz": (2051, 10000, (28, 28)),
    "t10k-labels-idx1-ubyte.gz": (2049, 10000, ()),
}
FIX = (
    "install Debian's dataset-fashion-mnist (apt-get install -y dataset-fashion-mnist), "
    "or pass --data-dir / SWEEP_DATA_DIR pointing at the four .gz files"
)


FASHION_MNIST = "fashion-mnist"
IMAGE_SHAPE = (28, 28)
CLASSES = 10


class DatasetError(RuntimeError):
    """The dataset is missing, truncated, or not what it should be (one line says what)."""


@dataclasses.dataclass(frozen=True)
class Split:
    """The notes' 80/20 split of the training images, scaled to about [0, 1]."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    fingerprint: str  # identifies the data and the split, for caches
    input_shape: tuple[int, ...] = IMAGE_SHAPE  # one row's shape: (h, w), (h, w, channels) or (features,)
    classes: int = CLASSES
    name: str = FASHION_MNIST

    def describe(self) -> str:
        return f"{self.name}: {len(self.y_train)} train / {len(self.y_val)} validation rows of {self.input_shape}"


def find_data_dir(explicit: str | os.PathLike | None = None) -> Path:
    """The first folder that holds all four files, or a downloaded Keras cache."""
    explicit = explicit or os.environ.get("SWEEP_DATA_DIR")
    if explicit:
        folder = Path(explicit).expanduser()
        _require_files(folder)
        return folder
    for folder in (DEBIAN_DIR, KERAS_CACHE_DIR):
        if all((folder / name).is_file() for name in FILES):
            return folder
    return _download_with_keras()


def _require_files(folder: Path) -> None:
    for name in FILES:
        if not (folder / name).is_file():
            raise DatasetError(f"Fashion-MNIST file {folder / name} is missing: {FIX}")


def _download_with_keras() -> Path:
    log.info("Fashion-MNIST not found locally; trying Keras's download")
    try:
        import keras

        keras.datasets.fashion_mnist.load_data()
    except Exception as error:  # no network, proxy, ...: one clear line instead
        raise DatasetError(
            f"Fashion-MNIST not found in {DEBIAN_DIR} or {KERAS_CACHE_DIR} and Keras's download "
            f"failed ({type(error).__name__}): {FIX}"
        ) from None
    return KERAS_CACHE_DIR


def read_idx(path: Path, magic: int, count: int, shape: tuple[int, ...]) -> np.ndarray:
    """Read one gzipped IDX file and check its header and length."""
    try:
        with gzip.open(path, "rb") as stream:
            raw = stream.read()
    except (OSError, EOFError) as error:
        raise DatasetError(f"Fashion-MNIST file {path} is unreadable ({error}): {FIX}") from None
    header_size = 4 * (2 + len(shape))
    if len(raw) < header_size:
        raise DatasetError(f"Fashion-MNIST file {path} is truncated (no IDX header): {FIX}")
    header = struct.unpack(f">{2 + len(shape)}I", raw[:header_size])
    if header[0] != magic or header[1] != count or tuple(header[2:]) != shape:
        raise DatasetError(
            f"Fashion-MNIST file {path} has header {header}, expected magic {magic}, {count} items of {shape}: {FIX}"
        )
    expected = header_size + count * int(np.prod(shape, dtype=int))
    if len(raw) != expected:
        raise DatasetError(
            f"Fashion-MNIST file {path} holds {len(raw)} bytes, expected {expected} (truncated or corrupt): {FIX}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape((count, *shape))


@functools.lru_cache(maxsize=4)
def load_raw(folder: Path) -> dict[str, np.ndarray]:
    """All four arrays, verified, keyed by file name. Cached: read once per process."""
    log.info("loading Fashion-MNIST from %s", folder)
    return {name: read_idx(folder / name, *spec) for name, spec in FILES.items()}


def fingerprint(folder: Path) -> str:
    """A short hash of the training files, so caches follow the data and not its path."""
    digest = hashlib.sha256()
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        digest.update((folder / name).read_bytes())
    return digest.hexdigest()[:12]


def full_training_set(data_dir: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """All training images (scaled) and labels, as the notes' cross-validation uses."""
    if is_own_data(data_dir):
        own = load_own_data(str(data_dir))
        return own.x_train, own.y_train
    raw = load_raw(find_data_dir(data_dir))
    return _scale(raw["train-images-idx3-ubyte.gz"]), raw["train-labels-idx1-ubyte.gz"]


@functools.lru_cache(maxsize=8)
def load_split(data_dir: str | None = None, max_train: int | None = None) -> Split:
    """The notes' split: ``train_test_split(test_size=0.2, random_state=42)``.

    ``max_train`` keeps only the first N training images (for quick runs and tests); the
    validation split is always the full 12,000 images so scores stay comparable.
    """
    from sklearn.model_selection import train_test_split

    x_all, y_all = full_training_set(data_dir if is_own_data(data_dir) else find_data_dir(data_dir))
    x_train, x_val, y_train, y_val = train_test_split(x_all, y_all, test_size=VALIDATION_SHARE, random_state=SPLIT_SEED)
    if max_train is not None:
        if max_train < 1:
            raise ValueError(f"--max-train must be a positive number of images, got {max_train}")
        x_train, y_train = x_train[:max_train], y_train[:max_train]
    identity = data_identity(data_dir)
    key = f"{identity['fingerprint']}-val{VALIDATION_SHARE}-seed{SPLIT_SEED}-train{len(y_train)}"
    shape, classes = tuple(identity["input_shape"]), identity["classes"]
    return Split(x_train, y_train, x_val, y_val, key, shape, classes, identity["name"])


def data_identity(data_dir: str | os.PathLike | None = None) -> dict:
    """What a study records about its data: name, fingerprint, path (own data only), shape, classes, scale."""
    if is_own_data(data_dir):
        own = load_own_data(str(data_dir))
        return {"name": own.name, "fingerprint": own.fingerprint, "path": own.path,
                "input_shape": list(own.input_shape), "classes": own.classes, "scale": own.scale}  # fmt: skip
    folder = find_data_dir(data_dir)
    return {"name": FASHION_MNIST, "fingerprint": fingerprint(folder), "path": None,
            "input_shape": list(IMAGE_SHAPE), "classes": CLASSES, "scale": 255.0}  # fmt: skip


def source_for(recorded: dict | None, given: str | None = None) -> str | None:
    """The data to retrain a study's configs on: ``given``, else the own-data file the study recorded.

    A recorded file that is gone or changed is refused in one line naming the file the study needs.
    """
    if given is not None or not recorded or not recorded.get("path"):
        return given
    path, name, wanted = recorded["path"], recorded["name"], recorded["fingerprint"]
    if not Path(path).is_file():
        raise DatasetError(f"the study ran on {name} (fingerprint {wanted}) at {path}, which is missing: "
                           "pass --data (data= in Python) with that .npz file")  # fmt: skip
    if load_own_data(path).fingerprint != wanted:
        raise DatasetError(f"{path} changed since the study ran on it (fingerprint {wanted}): "
                           "pass --data (data= in Python) with the file the study used")  # fmt: skip
    return path


def has_test_set(data_dir: str | os.PathLike | None = None) -> bool:
    return not is_own_data(data_dir) or load_own_data(str(data_dir)).x_test is not None


def load_test(data_dir: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The test images. Only evaluation of an exported config touches them."""
    if is_own_data(data_dir):
        own = load_own_data(str(data_dir))
        if own.x_test is None:
            raise DatasetError(f"{own.path}: no x_test/y_test in the file, so there is no test set to evaluate on")
        return own.x_test, own.y_test
    raw = load_raw(find_data_dir(data_dir))
    return _scale(raw["t10k-images-idx3-ubyte.gz"]), raw["t10k-labels-idx1-ubyte.gz"]


def _scale(images: np.ndarray) -> np.ndarray:
    return images.astype(np.float32) / 255.0
