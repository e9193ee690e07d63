"""The notes' logistic-regression baseline, scored on the same split the trials use.

``SGDClassifier(loss="log_loss", max_iter=5, random_state=42)`` gives two figures:
the notes' 5-fold cross-validated accuracy on all 60,000 training images, and the
accuracy on our validation split after fitting on our training split. Both take
~20 s, so they are cached on disk per dataset and split, and the driver copies them
into the study's user attributes where tables read them without recomputing.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path

from sweep.data import Split, full_training_set

log = logging.getLogger(__name__)

CACHE_DIR = Path(os.environ.get("SWEEP_CACHE_DIR", "results/.cache"))


def _classifier():
    from sklearn.linear_model import SGDClassifier

    return SGDClassifier(loss="log_loss", max_iter=5, random_state=42)


def compute_baseline(split: Split, data_dir: str | None = None) -> dict[str, float]:
    """Both baseline figures for ``split``, from the disk cache when it has them."""
    cache_file = CACHE_DIR / f"baseline-{split.fingerprint}.json"
    if cache_file.is_file():
        return json.loads(cache_file.read_text())
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import cross_validate

    log.info("computing the SGDClassifier baseline (about 20 s, once per dataset and split)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter=5 is the notes' choice
        x_all, y_all = full_training_set(data_dir)
        cv = cross_validate(_classifier(), _flat(x_all), y_all, cv=5, n_jobs=-1)
        fitted = _classifier().fit(_flat(split.x_train), split.y_train)
    figures = {
        "cv_accuracy": float(cv["test_score"].mean()),
        "val_accuracy": float(fitted.score(_flat(split.x_val), split.y_val)),
        "train_images": len(split.y_train),
    }
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    cache_file.write_text(json.dumps(figures))
    return figures


def _flat(images):
    return images.reshape(len(images), -1)
