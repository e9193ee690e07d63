"""Data: Fashion-MNIST or a user's own .npz, the notes' 80/20 split, and the SGDClassifier baseline.

``DataSource`` decides once where the data comes from; everything above asks it. Nothing here
imports TensorFlow: the IDX files and .npz archives are read with numpy alone.
"""

from sweep._lazy import exports

EXPORTS = {
    "DataSource": "source",
    "load_split": "source",
    "Split": "split",
    "ALL_ROWS": "split",
    "DatasetError": "errors",
    "KEYS": "own",
    "save_arrays": "own",
    "as_source": "own",
    "compute_baseline": "baseline",
}
__all__ = sorted(EXPORTS)
__getattr__, __dir__ = exports(__name__, EXPORTS)
