"""Find, verify and load Fashion-MNIST's four IDX files.

The four IDX files are read with numpy alone, so loading data never imports TensorFlow.
Search order: an explicit folder (argument or ``SWEEP_DATA_DIR``), Debian's
``dataset-fashion-mnist`` package, the Keras cache, then Keras's own download.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import logging
import os
import struct
from pathlib import Path

import numpy as np

from sweep.data.errors import DatasetError

log = logging.getLogger(__name__)

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
KERAS_CACHE_DIR = Path("~/.keras/datasets/fashion-mnist").expanduser()

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


def training_set(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """All 60,000 training images (scaled) and labels."""
    raw = load_raw(folder)
    return _scale(raw["train-images-idx3-ubyte.gz"]), raw["train-labels-idx1-ubyte.gz"]


def test_set(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """The 10,000 test images. Only evaluation of an exported config touches them."""
    raw = load_raw(folder)
    return _scale(raw["t10k-images-idx3-ubyte.gz"]), raw["t10k-labels-idx1-ubyte.gz"]


def identity(folder: Path) -> dict:
    """What a study records about Fashion-MNIST."""
    return {"name": FASHION_MNIST, "fingerprint": fingerprint(folder), "path": None,
            "input_shape": list(IMAGE_SHAPE), "classes": CLASSES, "scale": 255.0}  # fmt: skip


def _scale(images: np.ndarray) -> np.ndarray:
    return images.astype(np.float32) / 255.0
